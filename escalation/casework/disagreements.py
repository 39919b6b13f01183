"""Disagreements: raise one, and apply the events of its life (see statemachine.py).

Every function here takes the session (the caller owns the transaction), keyword arguments and
`now`; it changes the disagreement and writes the chronology event in that same transaction, or
raises an EscalationError having changed nothing. `actor` is the acting person's work email, or
SYSTEM for the automatic sweep.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, literal_column, select
from sqlalchemy.orm import Session, lazyload

from escalation.casework.chronology import append_event
from escalation.casework.intake import RaiseRequest
from escalation.directory.people import (
    Assignment,
    deputy_of,
    find_person,
    normalise_email,
    resolve_owner,
)
from escalation.outbox import notifications
from escalation.rules import statemachine as sm
from escalation.rules.calendar import due_text, time_text
from escalation.rules.errors import DirectoryError, InvalidInput, NotAllowed, NotFound
from escalation.rules.policy import Policy, Stage
from escalation.rules.vocabulary import OUTCOMES
from escalation.store.models import Disagreement, Person, PersonRole, StagePeriod
from escalation.store.pinned_policies import pin_policy, policy_for

SYSTEM = "system"
# A literal, not a bound parameter, so the planners can use the partial indexes on open rows.
IS_OPEN = Disagreement.status == literal_column("'open'")
REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read over the phone
REFERENCE_SHAPE = re.compile(r"RPD-[0-9A-Z]{4}-[0-9A-Z]{4}")
BOARD_ROLES = ("board_manager", "chair")


def raise_disagreement(
    session: Session,
    *,
    request: RaiseRequest,
    policy: Policy,
    now: datetime,
    from_agency: bool = False,
) -> Disagreement:
    """Record a new disagreement at its first stage (a later one on the urgent track).

    A repeated `idempotency_key` returns the disagreement it first created, unchanged. Dates
    later than `now` are refused (InvalidInput, see RaiseRequest.check_against).

    `from_agency`: an agency system sent it (the JSON API), so the raiser is only that system's
    word: a board manager or chair cannot be named as the raiser (InvalidInput on raiser.email),
    and a raiser not yet in the directory is recorded unlisted (they own their first stage but
    this does not let them sign in; see signin.may_sign_in).
    """
    if request.idempotency_key:
        existing = session.execute(
            select(Disagreement).where(Disagreement.idempotency_key == request.idempotency_key)
        ).scalar_one_or_none()
        if existing is not None:
            return existing
    request.check_against(now)
    raised_at = request.raised_at or now
    pin_policy(session, policy, now=now)
    raiser = _raiser_person(session, request, policy, from_agency=from_agency)
    stage = policy.first_stage(request.immediate_risk)
    assignment = _assign(session, policy, stage, raiser, raised_at)
    disagreement = _new_disagreement(request, policy, raiser, stage, assignment, raised_at, now)
    session.add(disagreement)
    session.flush()
    _open_stage_period(session, disagreement, assignment.person, raised_at)
    note = _join(
        "urgent track: the child is at immediate risk" if request.immediate_risk else "",
        f"first raised at {time_text(raised_at, policy.timezone)}" if raised_at != now else "",
        assignment.note,
    )
    _record(session, disagreement, now, raiser.email, "raise", None, stage.key, note)
    notifications.stage_entered(session, disagreement, policy, now)
    return disagreement


def acknowledge(session: Session, *, reference: str, actor: str, now: datetime) -> Disagreement:
    disagreement, _ = _load_for_event(session, reference, "acknowledge")
    _require_owner_or_board(session, disagreement, actor)
    disagreement.stage_acknowledged_at = now
    _current_period(disagreement).acknowledged_at = now
    _record(session, disagreement, now, actor, "acknowledge", disagreement.stage_key)
    return disagreement


def escalate(
    session: Session, *, reference: str, actor: str, now: datetime, reason: str = ""
) -> Disagreement:
    """Move to the next stage, with a new owner and clock. Refused at the final stage."""
    disagreement, policy = _load_for_event(session, reference, "escalate")
    if actor != SYSTEM:
        _require_owner_or_board(session, disagreement, actor)
    stage = policy.next_stage(disagreement.stage_key)
    assignment = _assign(session, policy, stage, disagreement.raised_by, now)
    from_stage, missed = disagreement.stage_key, disagreement.due_at
    _end_stage_period(disagreement, now, "escalate")
    _enter_stage(session, disagreement, policy, stage, assignment, now)
    kind = "escalate" if actor != SYSTEM else "escalate_automatically"
    passed = f"the stage was due {due_text(missed, policy.timezone)} and was not resolved" if actor == SYSTEM else ""
    note = _join(reason, passed, assignment.note)
    _record(session, disagreement, now, actor, kind, from_stage, stage.key, note)
    notifications.stage_entered(session, disagreement, policy, now)
    return disagreement


def resolve(
    session: Session, *, reference: str, actor: str, now: datetime, outcome: str, summary: str
) -> Disagreement:
    if outcome not in OUTCOMES:
        raise InvalidInput({"outcome": f"must be one of {', '.join(OUTCOMES)}"})
    if not summary.strip():
        raise InvalidInput({"summary": "say how it was resolved"})
    disagreement, policy = _load_for_event(session, reference, "resolve")
    _require_owner_or_board(session, disagreement, actor)
    _close(disagreement, now, "resolve", "resolved")
    disagreement.outcome, disagreement.outcome_summary = outcome, summary.strip()
    disagreement.resolved_stage = disagreement.stage_key
    note = f"{OUTCOMES[outcome]}: {summary.strip()}"
    _record(session, disagreement, now, actor, "resolve", disagreement.stage_key, None, note)
    notifications.closed(session, disagreement, policy, now)
    return disagreement


def withdraw(
    session: Session, *, reference: str, actor: str, now: datetime, reason: str
) -> Disagreement:
    """Only the raiser withdraws, and says why."""
    if not reason.strip():
        raise InvalidInput({"reason": "say why the disagreement is withdrawn"})
    disagreement, policy = _load_for_event(session, reference, "withdraw")
    if normalise_email(actor) != disagreement.raiser_email:
        raise NotAllowed("only the practitioner who raised the disagreement can withdraw it")
    _close(disagreement, now, "withdraw", "withdrawn")
    disagreement.outcome, disagreement.outcome_summary = "withdrawn", reason.strip()
    _record(
        session, disagreement, now, actor, "withdraw", disagreement.stage_key, None, reason.strip()
    )
    notifications.closed(session, disagreement, policy, now)
    return disagreement


def hand_to_deputy(
    session: Session, *, reference: str, actor: str, now: datetime, reason: str = ""
) -> Disagreement:
    """The owner hands the current stage to their named deputy; the clock does not restart.

    SYSTEM does this when the owner's email cannot be delivered (see offer_to_deputy).
    """
    disagreement, policy = _load_for_event(session, reference, "hand_to_deputy")
    if actor != SYSTEM:
        _require_owner_or_board(session, disagreement, actor)
    try:
        assignment = deputy_of(session, disagreement.owner, disagreement.partnership, policy.calendar.local_date(now))
    except DirectoryError as error:
        raise NotAllowed(str(error)) from None
    period = _current_period(disagreement)
    clock_start = period.clock_started_at or period.entered_at
    _end_stage_period(disagreement, now, "hand_to_deputy")
    disagreement.owner = assignment.person
    _open_stage_period(session, disagreement, assignment.person, now).clock_started_at = clock_start
    stage = disagreement.stage_key
    note = _join(reason, assignment.note)
    _record(session, disagreement, now, actor, "hand_to_deputy", stage, stage, note)
    notifications.reassigned(session, disagreement, policy, now)
    return disagreement


def offer_to_deputy(
    session: Session, *, reference: str, undeliverable_email: str, now: datetime, error: str
) -> str:
    """An owner's email could not be delivered: their deputy takes the stage (if they have one
    available) and the board manager is told either way. Returns what happened, in words.

    Nothing happens if the address no longer owns the current stage (it moved on meanwhile).
    """
    disagreement, policy = _load_for_event(session, reference, "add_note")
    if not disagreement.is_open or disagreement.owner.email != normalise_email(undeliverable_email):
        return "no longer the owner; nothing to do"
    why = f"email to the owner {undeliverable_email} could not be delivered ({error})"
    notifications.undeliverable(session, disagreement, policy, undeliverable_email, now)
    try:
        hand_to_deputy(session, reference=reference, actor=SYSTEM, now=now, reason=why)
        return f"handed to deputy {disagreement.owner.email}"
    except NotAllowed as refusal:
        stage = disagreement.stage_key
        note = f"{why}; not handed on: {refusal}; the board manager has been told"
        _record(session, disagreement, now, SYSTEM, "add_note", stage, stage, note)
        return "board manager told; no deputy available"


def add_note(
    session: Session, *, reference: str, actor: str, now: datetime, note: str
) -> Disagreement:
    if not note.strip():
        raise InvalidInput({"note": "must not be empty"})
    disagreement, _ = _load_for_event(session, reference, "add_note")
    stage = disagreement.stage_key
    _record(session, disagreement, now, actor, "add_note", stage, stage, note.strip())
    return disagreement


RESPONSES = {
    "decision_changed": "The decision has been changed",
    "decision_stands": "The decision stands; the rationale is",
}


def record_response(
    session: Session, *, reference: str, actor: str, now: datetime, position: str, text: str
) -> Disagreement:
    """The counterpart (whose decision is disputed) answers: into the chronology, and emailed to
    the stage owner. Only the owner resolves or escalates."""
    if position not in RESPONSES:
        raise InvalidInput({"position": f"must be one of {', '.join(RESPONSES)}"})
    if not text.strip():
        raise InvalidInput({"response": "say what changed, or why the decision stands"})
    disagreement, policy = _load_for_event(session, reference, "respond")
    if normalise_email(actor) != disagreement.counterpart_email:
        raise NotAllowed("only the professional whose decision is disputed can respond")
    stage = disagreement.stage_key
    note = f"{RESPONSES[position]}: {text.strip()}"
    _record(session, disagreement, now, actor, "respond", stage, stage, note)
    notifications.counterpart_responded(session, disagreement, policy, now)
    return disagreement


def record_view(session: Session, *, reference: str, actor: str, now: datetime, how: str) -> None:
    """Who looked at the case, when and how: every view by a link holder is on the record."""
    disagreement, _ = _load_for_event(session, reference, "view")
    stage = disagreement.stage_key
    _record(session, disagreement, now, actor, "view", stage, stage, how)


def flag_final_stage_overdue(session: Session, *, reference: str, now: datetime) -> Disagreement:
    """At the final stage nothing escalates further: an overdue one stays open and is flagged."""
    disagreement, policy = _load_for_event(session, reference, "flag_final_stage_overdue")
    if disagreement.final_stage_overdue_at is not None:
        raise NotAllowed("already flagged as overdue at the final stage")
    if not disagreement.is_overdue(now):
        raise NotAllowed("the final stage is not overdue yet")
    disagreement.final_stage_overdue_at = now
    disagreement.remind_at = None
    stage = disagreement.stage_key
    note = f"due {due_text(disagreement.due_at, policy.timezone)}; the final stage stays open"
    _record(session, disagreement, now, SYSTEM, "flag_final_stage_overdue", stage, stage, note)
    notifications.final_stage_overdue(session, disagreement, policy, now)
    return disagreement


def remind(session: Session, *, reference: str, now: datetime) -> bool:
    """Remind the owner once that the stage's deadline is near (the sweep calls this).

    False if it is already past the deadline: the sweep escalates or flags it instead."""
    disagreement, policy = _load_for_event(session, reference, "remind")
    if disagreement.remind_at is None or disagreement.remind_at > now:
        raise NotAllowed("no reminder is due")
    disagreement.remind_at = None
    if disagreement.is_overdue(now):
        return False
    stage = disagreement.stage_key
    note = f"reminded {disagreement.owner.email}: due {due_text(disagreement.due_at, policy.timezone)}"
    _record(session, disagreement, now, SYSTEM, "remind", stage, stage, note)
    notifications.reminder(session, disagreement, policy, now)
    return True


@dataclass(frozen=True)
class DueAction:
    reference: str
    action: str  # "escalate" or "flag_final_stage_overdue"


def act_if_due(session: Session, *, reference: str, now: datetime) -> DueAction | None:
    """What the sweep does for one disagreement: escalate it, flag it, or nothing if not due.

    Reads the row under lock first, so a disagreement another sweep has just moved is left alone.
    """
    disagreement, policy = _load_for_event(session, reference, "add_note")
    if not disagreement.is_overdue(now) or disagreement.final_stage_overdue_at is not None:
        return None
    if policy.is_final(disagreement.stage_key):
        flag_final_stage_overdue(session, reference=reference, now=now)
        return DueAction(reference, "flag_final_stage_overdue")
    escalate(session, reference=reference, actor=SYSTEM, now=now)
    return DueAction(reference, "escalate")


def due_references(session: Session, *, now: datetime, limit: int = 1000) -> list[str]:
    """Open, unflagged disagreements past their deadline, most overdue first."""
    return list(session.execute(due_query(now=now, limit=limit)).scalars())


def due_query(*, now: datetime, limit: int = 1000) -> Select:
    """The sweep's question as SQL: a range on the indexed due_at, never a scan of open rows."""
    return (
        select(Disagreement.reference)
        .where(
            IS_OPEN,
            Disagreement.final_stage_overdue_at.is_(None),
            Disagreement.due_at <= now,
        )
        .order_by(Disagreement.due_at)
        .limit(limit)
    )


def reference_key(reference: str) -> str:
    """The reference as stored (trimmed, upper case). Text not shaped like one (RPD-XXXX-XXXX)
    is NotFound here, before any query: a NUL or a megabyte never reaches the database."""
    key = reference.strip().upper()
    if not REFERENCE_SHAPE.fullmatch(key):
        raise NotFound(f"no disagreement with reference {reference[:40]!r}")
    return key


def get(session: Session, reference: str) -> Disagreement:
    disagreement = session.execute(
        select(Disagreement).where(Disagreement.reference == reference_key(reference))
    ).scalar_one_or_none()
    if disagreement is None:
        raise NotFound(f"no disagreement with reference {reference!r}")
    return disagreement


def state_of(disagreement: Disagreement) -> str:
    if disagreement.status != "open":
        return disagreement.status
    return sm.ACKNOWLEDGED if disagreement.stage_acknowledged_at else sm.AWAITING


# --- helpers ----------------------------------------------------------------------------------


def _load_for_event(
    session: Session, reference: str, event: str
) -> tuple[Disagreement, Policy]:
    """Lock the row and check the event is allowed now; NotAllowed leaves everything unchanged.

    Returns the disagreement and the policy version it is pinned to.
    """
    # No eager join to the owner here: on PostgreSQL a row locked after a concurrent change of
    # owner would be re-checked against the old owner's row and silently dropped.
    disagreement = session.execute(
        select(Disagreement)
        .options(lazyload(Disagreement.owner))
        .where(Disagreement.reference == reference_key(reference))
        .with_for_update(of=Disagreement)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if disagreement is None:
        raise NotFound(f"no disagreement with reference {reference!r}")
    policy = policy_for(session, disagreement)
    at_final = disagreement.is_open and policy.is_final(disagreement.stage_key)
    sm.next_state(state_of(disagreement), event, at_final_stage=at_final)
    return disagreement, policy


def _require_owner_or_board(session: Session, disagreement: Disagreement, actor: str) -> None:
    email = normalise_email(actor)
    if email == disagreement.owner.email:
        return
    person = find_person(session, email)
    if person and person.partnership == disagreement.partnership and person.roles & set(BOARD_ROLES):
        return
    raise NotAllowed(
        f"only the stage owner ({disagreement.owner.name}) or the partnership's board manager "
        "or chair can do this"
    )


def _raiser_person(
    session: Session, request: RaiseRequest, policy: Policy, *, from_agency: bool
) -> Person:
    """The raiser as a directory entry; a practitioner not yet in it is added as one (unlisted,
    when an agency system named them). An agency system may not name the board as the raiser."""
    person = find_person(session, request.raiser.email)
    if person is not None:
        if from_agency and person.roles & set(BOARD_ROLES):
            raise InvalidInput(
                {"raiser.email": "must be a practitioner's address, not a board manager's or chair's"}
            )
        return person
    person = Person(
        name=request.raiser.name,
        email=request.raiser.email,
        organisation=request.raiser.organisation,
        partnership=policy.partnership,
        job_title=request.raiser.role,
        role_rows=[PersonRole(role="practitioner")],
        listed=not from_agency,
    )
    session.add(person)
    session.flush()
    return person


def _assign(
    session: Session, policy: Policy, stage: Stage, raiser: Person, at: datetime
) -> Assignment:
    try:
        return resolve_owner(
            session, role=stage.owner, partnership=policy.partnership, raiser=raiser,
            on=policy.calendar.local_date(at),
        )
    except DirectoryError as error:
        raise NotAllowed(str(error)) from None


def _new_disagreement(
    request: RaiseRequest,
    policy: Policy,
    raiser: Person,
    stage: Stage,
    assignment: Assignment,
    raised_at: datetime,
    now: datetime,
) -> Disagreement:
    return Disagreement(
        reference=_new_reference(),
        idempotency_key=request.idempotency_key,
        partnership=policy.partnership,
        policy_id=policy.id,
        policy_version=policy.version,
        status="open",
        stage_key=stage.key,
        stage_index=policy.stage_index(stage.key),
        stage_entered_at=raised_at,
        due_at=policy.due_at(stage.key, request.immediate_risk, raised_at),
        remind_at=policy.reminder_at(stage.key, request.immediate_risk, raised_at),
        owner=assignment.person,
        urgent=request.immediate_risk,
        raised_at=raised_at,
        recorded_at=now,
        raised_by=raiser,
        raiser_name=request.raiser.name,
        raiser_email=request.raiser.email,
        raiser_role=request.raiser.role,
        raiser_organisation=request.raiser.organisation,
        counterpart_name=request.counterpart.name,
        counterpart_email=request.counterpart.email,
        counterpart_role=request.counterpart.role,
        counterpart_organisation=request.counterpart.organisation,
        child_reference=request.child_reference,
        category=request.category,
        decision_disputed=request.decision_disputed,
        decision_date=request.decision_date,
        reason=request.reason,
        outcome_sought=request.outcome_sought,
        immediate_risk=request.immediate_risk,
        protective_action=request.protective_action,
        level_of_need=request.level_of_need,
    )


def _enter_stage(
    session: Session,
    disagreement: Disagreement,
    policy: Policy,
    stage: Stage,
    assignment: Assignment,
    now: datetime,
) -> None:
    disagreement.stage_key = stage.key
    disagreement.stage_index = policy.stage_index(stage.key)
    disagreement.stage_entered_at = now
    disagreement.stage_acknowledged_at = None
    disagreement.due_at = policy.due_at(stage.key, disagreement.urgent, now)
    disagreement.remind_at = policy.reminder_at(stage.key, disagreement.urgent, now)
    disagreement.owner = assignment.person
    _open_stage_period(session, disagreement, assignment.person, now)


def _open_stage_period(
    session: Session, disagreement: Disagreement, owner: Person, now: datetime
) -> StagePeriod:
    period = StagePeriod(
        disagreement_id=disagreement.id,
        stage_key=disagreement.stage_key,
        stage_index=disagreement.stage_index,
        owner=owner,
        entered_at=now,
        due_at=disagreement.due_at,
    )
    session.add(period)
    disagreement.stages.append(period)
    return period


def _current_period(disagreement: Disagreement) -> StagePeriod:
    return disagreement.stages[-1]


def _end_stage_period(disagreement: Disagreement, now: datetime, how: str) -> None:
    period = _current_period(disagreement)
    period.ended_at, period.ended_by = now, how


def _close(disagreement: Disagreement, now: datetime, how: str, status: str) -> None:
    _end_stage_period(disagreement, now, how)
    disagreement.status = status
    disagreement.closed_at = now
    disagreement.remind_at = None


def _record(
    session: Session,
    disagreement: Disagreement,
    now: datetime,
    actor: str,
    kind: str,
    from_stage: str | None,
    to_stage: str | None = None,
    note: str = "",
) -> None:
    actor = actor if actor == SYSTEM else normalise_email(actor)
    append_event(
        session, disagreement=disagreement, at=now, actor=actor, kind=kind,
        from_stage=from_stage, to_stage=to_stage, note=note,
    )


def _new_reference() -> str:
    code = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"RPD-{code[:4]}-{code[4:]}"


def _join(*parts: str) -> str:
    return "; ".join(part for part in parts if part)
