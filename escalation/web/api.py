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
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from escalation.access import apikeys
from escalation.casework import disagreements as d
from escalation.casework.chronology import events_of
from escalation.casework.intake import RaiseRequest, area_policy
from escalation.rules.errors import EscalationError, InvalidInput, NotFound
from escalation.settings import get_settings
from escalation.store.db import transaction
from escalation.store.models import ApiKey, Disagreement
from escalation.store.pinned_policies import policy_for
from escalation.web.ratelimit import limited

router = APIRouter(
    prefix="/api/v1", tags=["disagreements"], dependencies=[Depends(limited("api", 600, 60))]
)


class Unauthorised(EscalationError):
    pass


class Owner(BaseModel):
    name: str
    email: str
    organisation: str


class CurrentStage(BaseModel):
    key: str
    title: str
    number: int
    owner: Owner
    due_at: datetime
    acknowledged_at: datetime | None
    overdue: bool


class ChronologyEntry(BaseModel):
    at: datetime
    actor: str
    kind: str
    from_stage: str | None
    to_stage: str | None
    note: str


class DisagreementSummary(BaseModel):
    reference: str
    status: str
    urgent: bool
    category: str
    raiser_organisation: str
    counterpart_organisation: str
    raised_at: datetime
    stage: CurrentStage | None


class DisagreementRecord(DisagreementSummary):
    child_reference: str
    raiser_name: str
    raiser_email: str
    raiser_role: str
    counterpart_name: str
    counterpart_email: str
    counterpart_role: str
    decision_disputed: str
    decision_date: date
    reason: str
    outcome_sought: str
    immediate_risk: bool
    protective_action: str
    outcome: str | None
    outcome_summary: str | None
    chronology: list[ChronologyEntry]


class ErrorBody(BaseModel):
    errors: dict[str, str] | None = None
    error: str | None = None


ERRORS = {code: {"model": ErrorBody} for code in (401, 404, 409, 422, 429, 503)}


def api_key(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> ApiKey:
    with transaction(request.app.state.sessions) as session:
        key = apikeys.find_key(session, x_api_key, now=request.app.state.clock())
    if key is None:
        raise Unauthorised("a valid X-API-Key header is required")
    return key


Key = Annotated[ApiKey, Depends(api_key)]


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
            return _record(session, earlier, now)
        disagreement = d.raise_disagreement(
            session, request=body, policy=policy, now=now, from_agency=True
        )
        return _record(session, disagreement, now)


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
        if not _visible(disagreement, key):
            raise NotFound(reference)
        d.record_view(
            session,
            reference=disagreement.reference,
            actor=f"api:{key.organisation}",
            now=now,
            how=f"read through the API with key {key.prefix}...",
        )
        return _record(session, disagreement, now)


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
        return [_summary(row, now) for row in session.execute(query).scalars()]


def raise_invalid(field: str, message: str):
    raise InvalidInput({field: message})


def _visible(disagreement: Disagreement, key: ApiKey) -> bool:
    organisation = key.organisation.lower()
    return disagreement.partnership == key.partnership and organisation in (
        disagreement.raiser_organisation.lower(),
        disagreement.counterpart_organisation.lower(),
    )


def _summary(disagreement: Disagreement, now: datetime) -> DisagreementSummary:
    return DisagreementSummary(**_summary_fields(disagreement, now))


def _summary_fields(disagreement: Disagreement, now: datetime) -> dict:
    stage = None
    if disagreement.is_open:
        owner = disagreement.owner
        stage = CurrentStage(
            key=disagreement.stage_key,
            title=disagreement.stage_key.replace("_", " "),
            number=disagreement.stage_index + 1,
            owner=Owner(name=owner.name, email=owner.email, organisation=owner.organisation),
            due_at=disagreement.due_at,
            acknowledged_at=disagreement.stage_acknowledged_at,
            overdue=disagreement.is_overdue(now),
        )
    return dict(
        reference=disagreement.reference,
        status=disagreement.status,
        urgent=disagreement.urgent,
        category=disagreement.category,
        raiser_organisation=disagreement.raiser_organisation,
        counterpart_organisation=disagreement.counterpart_organisation,
        raised_at=disagreement.raised_at,
        stage=stage,
    )


def _record(session: Session, disagreement: Disagreement, now: datetime) -> DisagreementRecord:
    fields = _summary_fields(disagreement, now)
    if fields["stage"] is not None:
        policy = policy_for(session, disagreement)
        fields["stage"].title = policy.stage(disagreement.stage_key).title
    return DisagreementRecord(
        **fields,
        **{
            name: getattr(disagreement, name)
            for name in (
                "child_reference",
                "raiser_name",
                "raiser_email",
                "raiser_role",
                "counterpart_name",
                "counterpart_email",
                "counterpart_role",
                "decision_disputed",
                "decision_date",
                "reason",
                "outcome_sought",
                "immediate_risk",
                "protective_action",
                "outcome",
                "outcome_summary",
            )
        },
        chronology=[
            ChronologyEntry(
                at=e.at,
                actor=e.actor,
                kind=e.kind,
                from_stage=e.from_stage,
                to_stage=e.to_stage,
                note=e.note,
            )
            for e in events_of(session, disagreement)
        ],
    )
