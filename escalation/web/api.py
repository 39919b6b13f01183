"""JSON API for agency case-management systems (documented by /api/openapi.json).

Every call carries `X-API-Key`; a revoked or expired key is 401 at once. A key acts for one
organisation of one partnership: it may raise disagreements whose raiser belongs to that
organisation, about children who live in its partnership's area (`child_area`, if given, must be
that partnership: a disagreement it could raise elsewhere it could not read back), under that
area's policies; it reads the ones its organisation raised or is the counterpart in; anything
else is 404, as if it did not exist. Without `child_area` the key's partnership's policy applies,
as before child_area existed. The raiser it names is the agency system's word only: never a board
manager or chair, and not thereby someone who may sign in. The counterpart must be a directory
person or at one of the area's secure domains (casework.counterparts_check).

How a disagreement ends can be acted on too: a stage owner proposes the resolution (outcome,
summary, learning, agreed actions), the raiser (or, when the decision stands, the counterpart)
accepts or contests it, an action's owner confirms it done. The acting person is named in the
body as `actor` (a work email), and the rule is:
* the key must be able to read the disagreement (else 404, as above);
* the actor's organisation must be the key's (else 422 on `actor`): a key speaks only for its
  own organisation's people. The actor's organisation is their directory entry's; someone not in
  the directory is known only as the raiser or the counterpart the disagreement names, with the
  organisation named there (so a raiser the agency system named can have their say through it);
* the casework's own checks decide the rest, exactly as for the person acting through their
  emailed link: only the stage owner proposes, only someone asked for their say answers, only
  the action's owner confirms it (409 saying who may, otherwise).
As with the raiser, `actor` is the agency system's word: the key vouches for its organisation's
people, and the chronology records the person and that it came through the API.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from escalation.casework import disagreements as d
from escalation.casework.intake import RaiseRequest, area_policy
from escalation.rules.errors import NotFound
from escalation.settings import get_settings
from escalation.store.db import transaction
from escalation.store.models import Disagreement
from escalation.web import api_endings
from escalation.web.api_common import Key, raise_invalid, record_of, summary_of, visible
from escalation.web.api_common import Unauthorised as Unauthorised  # for the app's handler
from escalation.web.api_models import ERRORS, DisagreementRecord, DisagreementSummary
from escalation.web.ratelimit import limited

router = APIRouter(
    prefix="/api/v1", tags=["disagreements"], dependencies=[Depends(limited("api", 600, 60))]
)


@router.post("/disagreements", status_code=201, response_model=DisagreementRecord, responses=ERRORS)
def raise_disagreement(
    request: Request,
    response: Response,
    body: RaiseRequest,
    key: Key,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> DisagreementRecord:
    """Raise a disagreement (same fields as the web form). `child_area`: the partnership whose
    area the child lives in; it must be the key's (422 otherwise), and may be left out. The
    counterpart must be in the directory or at one of the area's secure domains (422 on
    `counterpart.email` saying why). `raised_at` may be in the past, for a disagreement first
    raised by phone. Repeating a request with the same `Idempotency-Key` header returns the
    first one's record (200) and creates nothing."""
    if body.raiser.organisation.strip().lower() != key.organisation.lower():
        raise_invalid("raiser.organisation", f"this key raises for {key.organisation} only")
    if body.child_area is not None and body.child_area != key.partnership:
        raise_invalid("child_area", f"this key raises for children in {key.partnership} only")
    now = request.app.state.clock()
    policy = area_policy(
        request.app.state.policies,
        key.partnership,
        policy_id=body.policy,
        default_id=get_settings().default_policy,
    )
    if idempotency_key:
        body = body.model_copy(update={"idempotency_key": f"api:{key.id}:{idempotency_key}"})
    with transaction(request.app.state.sessions) as session:
        if body.idempotency_key and (earlier := _by_idempotency_key(session, body.idempotency_key)):
            response.status_code = 200
            return record_of(session, earlier, now)
        disagreement = d.raise_disagreement(
            session, request=body, policy=policy, now=now, from_agency=True
        )
        return record_of(session, disagreement, now)


def _by_idempotency_key(session: Session, key: str) -> Disagreement | None:
    return session.execute(
        select(Disagreement).where(Disagreement.idempotency_key == key)
    ).scalar_one_or_none()


@router.get("/disagreements/{reference}", response_model=DisagreementRecord, responses=ERRORS)
def get_disagreement(request: Request, reference: str, key: Key) -> DisagreementRecord:
    """The record, its current stage with owner and `due_at`, and its chronology."""
    now = request.app.state.clock()
    with transaction(request.app.state.sessions) as session:
        disagreement = d.get(session, reference)
        if not visible(disagreement, key):
            raise NotFound(reference)
        d.record_view(
            session,
            reference=disagreement.reference,
            actor=f"api:{key.organisation}",
            now=now,
            how=f"read through the API with key {key.prefix}...",
        )
        return record_of(session, disagreement, now)


@router.get("/disagreements", response_model=list[DisagreementSummary], responses=ERRORS)
def list_disagreements(
    request: Request,
    key: Key,
    status: Annotated[str | None, Query(pattern="^(open|resolved|withdrawn)$")] = None,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DisagreementSummary]:
    """Your organisation's disagreements, most urgent deadline first."""
    now = request.app.state.clock()
    organisation = key.organisation.lower()
    query = (
        select(Disagreement)
        .where(
            Disagreement.partnership == key.partnership,
            or_(
                func.lower(Disagreement.raiser_organisation) == organisation,
                func.lower(Disagreement.counterpart_organisation) == organisation,
            ),
        )
        .order_by(Disagreement.due_at)
        .limit(limit)
    )
    if status:
        query = query.where(Disagreement.status == status)
    if overdue:
        query = query.where(Disagreement.status == "open", Disagreement.due_at <= now)
    with transaction(request.app.state.sessions) as session:
        return [summary_of(row, now) for row in session.execute(query).scalars()]


# How a disagreement ends (escalation/web/api_endings.py): the acting person is in the body.
ACTING = {"response_model": DisagreementRecord, "responses": ERRORS}
router.post("/disagreements/{reference}/resolution", **ACTING)(api_endings.propose_resolution)
router.post("/disagreements/{reference}/say", **ACTING)(api_endings.say)
router.post("/disagreements/{reference}/actions/{action_id}/done", **ACTING)(
    api_endings.action_done
)
