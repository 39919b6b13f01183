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

import re
from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from escalation.access import apikeys
from escalation.casework import disagreements as d
from escalation.casework.chronology import events_of
from escalation.casework.endings import ActionInput, Learning, all_actions
from escalation.casework.intake import RaiseRequest, area_policy
from escalation.casework.lifecycle import state_of
from escalation.directory.people import CONTROL, EMAIL, find_person, normalise_email
from escalation.rules.errors import EscalationError, InvalidInput, NotFound
from escalation.rules.vocabulary import OUTCOMES
from escalation.settings import get_settings
from escalation.store.db import transaction
from escalation.store.models import AgreedAction, ApiKey, Disagreement, ResolutionSay
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


class AgreedActionLine(BaseModel):
    id: int
    kind: Literal["action", "meeting"]
    what: str
    owner: Owner
    due_on: date
    meeting_at: datetime | None
    state: Literal["open", "done", "missed", "cancelled"]
    ended_at: datetime | None


class Say(BaseModel):
    part: str
    email: str
    asked_at: datetime
    due_at: datetime
    answer: Literal["awaited", "accepted", "contested", "accepted_by_silence", "lapsed"]
    answered_at: datetime | None
    reason: str


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
    state: str = Field(
        description="awaiting_acknowledgement or acknowledged (the stage's clock runs), "
        "resolution_proposed (waiting for the says), watched (agreed actions open), resolved "
        "or withdrawn"
    )
    actions: list[AgreedActionLine]
    says: list[Say]
    chronology: list[ChronologyEntry]


class ErrorBody(BaseModel):
    errors: dict[str, str] | None = None
    error: str | None = None


ERRORS = {code: {"model": ErrorBody} for code in (401, 404, 409, 422, 429, 503)}
# Dates the calendar can count working days from and to (a date in year 9999 has no next day).
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)
_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _no_nul(value: object) -> object:
    """NUL cannot be stored (PostgreSQL refuses it) and is never meant: refuse it as input."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("must not contain a NUL character")
    return value


def _in_range(day: date) -> date:
    if not EARLIEST <= day <= LATEST:
        raise ValueError(f"must be between {EARLIEST} and {LATEST}")
    return day


class LearningBody(BaseModel):
    model_config = _STRICT
    _text = field_validator("*", mode="before")(_no_nul)
    themes: list[Annotated[str, Field(max_length=100)]] = Field(
        default=[], max_length=20, description="Keys from the policy's learning themes."
    )
    systemic: bool | None = Field(default=None, description="Does it point to a systemic issue?")
    lesson: str = Field(default="", max_length=20_000)


class ActionBody(BaseModel):
    model_config = _STRICT
    _text = field_validator("*", mode="before")(_no_nul)
    what: str = Field(max_length=20_000)
    owner_email: str = Field(
        max_length=320, description="A directory person of the partnership, either side."
    )
    due_on: date | None = Field(default=None, description="Not needed for a meeting.")
    meeting_at: datetime | None = Field(
        default=None, description="A meeting or conference: when it is held (with a UTC offset)."
    )
    place: str = Field(default="", max_length=2000, description="A meeting's place or call.")

    @field_validator("due_on")
    @classmethod
    def due_in_range(cls, value: date | None) -> date | None:
        return None if value is None else _in_range(value)

    @field_validator("meeting_at")
    @classmethod
    def aware(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("give a UTC offset, e.g. 2026-11-24T09:30:00+00:00")
        try:
            value = value.astimezone(UTC)
        except OverflowError:
            raise ValueError("must be a real date and time") from None
        _in_range(value.date())
        return value

    def as_input(self) -> ActionInput:
        return ActionInput(self.what, self.owner_email, self.due_on, self.meeting_at, self.place)


class ActingBody(BaseModel):
    model_config = _STRICT
    _text = field_validator("*", mode="before")(_no_nul)
    actor: str = Field(max_length=320, description="Work email of the person acting.")

    @field_validator("actor")
    @classmethod
    def email_shape(cls, value: str) -> str:
        value = normalise_email(value)
        if CONTROL.search(value) or not EMAIL.match(value):
            raise ValueError("enter a work email address, like name@example.nhs.uk")
        return value


class ResolutionBody(ActingBody):
    outcome: str = Field(description="One of: " + ", ".join(OUTCOMES))
    summary: str = Field(max_length=20_000)
    learning: LearningBody | None = None
    actions: list[ActionBody] = Field(default=[], max_length=20)


class SayBody(ActingBody):
    answer: Literal["accept", "contest"]
    reason: str = Field(default="", max_length=20_000, description="Why, when contesting.")


class DoneBody(ActingBody):
    note: str = Field(max_length=20_000, description="What was done (a meeting: what it decided).")
    attendees: str = Field(default="", max_length=20_000, description="A meeting: who came.")


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


@router.post(
    "/disagreements/{reference}/resolution", response_model=DisagreementRecord, responses=ERRORS
)
def propose_resolution(
    request: Request, reference: str, body: ResolutionBody, key: Key
) -> DisagreementRecord:
    """The stage owner (`actor`) proposes how it ends: the outcome, a summary, the learning and
    the agreed actions (outcomes that arrange something need them; a "convened" one needs a
    meeting among them; "decision changed" and "decision upheld" have none). The raiser is then
    asked for their say, and the agreed actions are watched until each is confirmed done."""
    learning = body.learning and Learning(
        tuple(body.learning.themes), body.learning.systemic, body.learning.lesson
    )

    def act(session: Session, now: datetime) -> None:
        d.resolve(
            session,
            reference=reference,
            actor=body.actor,
            now=now,
            outcome=body.outcome,
            summary=body.summary,
            learning=learning,
            actions=tuple(action.as_input() for action in body.actions),
        )

    return _act(request, key, reference, body.actor, act, "resolution proposed")


@router.post("/disagreements/{reference}/say", response_model=DisagreementRecord, responses=ERRORS)
def say(request: Request, reference: str, body: SayBody, key: Key) -> DisagreementRecord:
    """Someone asked for their say on a proposed resolution (`actor`: the raiser, or the
    counterpart when the decision stands) accepts it, or contests it with a `reason`: it then
    moves up a stage at once."""

    def act(session: Session, now: datetime) -> None:
        if body.answer == "accept":
            d.accept(session, reference=reference, actor=body.actor, now=now)
        else:
            d.contest(session, reference=reference, actor=body.actor, now=now, reason=body.reason)

    words = "proposed resolution accepted" if body.answer == "accept" else "contested"
    return _act(request, key, reference, body.actor, act, words)


@router.post(
    "/disagreements/{reference}/actions/{action_id}/done",
    response_model=DisagreementRecord,
    responses=ERRORS,
)
def action_done(
    request: Request,
    reference: str,
    action_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: DoneBody,
    key: Key,
) -> DisagreementRecord:
    """The action's owner (`actor`) confirms it done with a note of what happened; a meeting's
    record names who attended. The last one done closes an accepted resolution."""

    def act(session: Session, now: datetime) -> None:
        d.confirm_action(
            session,
            reference=reference,
            actor=body.actor,
            now=now,
            action_id=action_id,
            note=body.note,
            attendees=body.attendees,
        )

    return _act(request, key, reference, body.actor, act, f"agreed action {action_id} done")


def _act(request: Request, key: ApiKey, reference: str, actor: str, act, words: str):
    """Check the key may read it and speaks for the actor (see the module's docstring), act,
    note on the record that it came through the API, and return the record as it now is."""
    now = request.app.state.clock()
    with transaction(request.app.state.sessions) as session:
        disagreement = d.get(session, reference)
        if not _visible(disagreement, key):
            raise NotFound(reference)
        _check_actor(session, disagreement, key, actor)
        try:
            act(session, now)
        except InvalidInput as error:
            raise InvalidInput(_body_fields(error.problems)) from None
        d.add_note(
            session,
            reference=disagreement.reference,
            actor=f"api:{key.organisation}",
            now=now,
            note=f"{words} for {actor} through the API with key {key.prefix}...",
        )
        return _record(session, disagreement, now)


def _check_actor(session: Session, disagreement: Disagreement, key: ApiKey, actor: str) -> None:
    organisation = _organisation_of(session, disagreement, actor)
    if organisation is None:
        raise_invalid("actor", "not in the directory, nor the raiser or the counterpart here")
    if organisation.strip().lower() != key.organisation.lower():
        raise_invalid("actor", f"this key acts for people of {key.organisation} only")


def _organisation_of(session: Session, disagreement: Disagreement, actor: str) -> str | None:
    """The directory's word first; else what the disagreement names for its raiser or
    counterpart (an agency system's raiser may be known only from the raise)."""
    person = find_person(session, actor)
    if person is not None:
        return person.organisation
    named = {
        disagreement.raiser_email: disagreement.raiser_organisation,
        disagreement.counterpart_email: disagreement.counterpart_organisation,
    }
    return named.get(actor)


# The casework names fields as the web form does; the API names them as its body does.
BODY_FIELDS = {
    "learning_themes": "learning.themes",
    "systemic": "learning.systemic",
    "lesson": "learning.lesson",
}
ACTION_FIELD = re.compile(r"^actions\[(\d+)\]\.(\w+)$")


def _body_fields(problems: dict[str, str]) -> dict[str, str]:
    """`actions[1].owner` (numbered from 1) becomes `actions.0.owner_email`, as the API's
    validation names the body's fields; `learning_themes` becomes `learning.themes`."""
    named = {}
    for field, message in problems.items():
        if match := ACTION_FIELD.match(field):
            name = "owner_email" if match[2] == "owner" else match[2]
            field = f"actions.{int(match[1]) - 1}.{name}"
        named[BODY_FIELDS.get(field, field)] = message
    return named


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
        state=state_of(disagreement),
        actions=[_action_line(item) for item in all_actions(session, disagreement)],
        says=[_say(say) for say in _says(session, disagreement)],
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


def _action_line(item: AgreedAction) -> AgreedActionLine:
    owner = item.owner
    return AgreedActionLine(
        id=item.id,
        kind=item.kind,
        what=item.what,
        owner=Owner(name=owner.name, email=owner.email, organisation=owner.organisation),
        due_on=item.due_on,
        meeting_at=item.meeting_at,
        state=item.ended or "open",
        ended_at=item.ended_at,
    )


def _says(session: Session, disagreement: Disagreement) -> list[ResolutionSay]:
    return list(
        session.execute(
            select(ResolutionSay)
            .where(ResolutionSay.disagreement_id == disagreement.id)
            .order_by(ResolutionSay.id)
        ).scalars()
    )


def _say(say: ResolutionSay) -> Say:
    return Say(
        part=say.part,
        email=say.email,
        asked_at=say.asked_at,
        due_at=say.due_at,
        answer=say.answer or "awaited",
        answered_at=say.answered_at,
        reason=say.reason,
    )
