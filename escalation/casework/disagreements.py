"""The events of a disagreement's life (see rules/statemachine.py): acknowledge, escalate,
resolve, withdraw, hand to the deputy, note, respond, view; and what the sweep does at a deadline
(remind, escalate, flag at the final stage). Raising one is in raising.py, the board's own
actions in board_actions.py, what they share in lifecycle.py.

Every function here takes the session (the caller owns the transaction), keyword arguments and
`now`; it changes the disagreement and writes the chronology event in that same transaction, or
raises an EscalationError having changed nothing. `actor` is the acting person's work email, or
SYSTEM for the automatic sweep.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from escalation.casework import action_events, endings, records, watching
from escalation.casework.assignment import assign
from escalation.casework.counterparts import (
    RESPONSES,
    change_counterpart,
    counterpart_silent,
    record_response,
)
from escalation.casework.deadlines import (
    due_query,
    due_references,
    flag_final_stage_overdue,
    remind,
)
from escalation.casework.endings import ActionInput, Learning, propose
from escalation.casework.lifecycle import (
    IS_OPEN,
    SYSTEM,
    change_owner,
    close,
    current_period,
    end_stage_period,
    enter_stage,
    get,
    join,
    load_for_event,
    locked,
    record,
    reference_key,
    require_owner_or_board,
    state_of,
)
from escalation.casework.raising import raise_disagreement
from escalation.casework.urgency import make_urgent
from escalation.directory.people import deputy_of, normalise_email
from escalation.outbox import ending_notices, notifications
from escalation.rules.calendar import due_text
from escalation.rules.errors import DirectoryError, InvalidInput, NotAllowed
from escalation.store.models import Disagreement

# The whole life of a disagreement, for its callers (`d.get`, `d.escalate`, `d.SYSTEM`, ...).
__all__ = [
    "IS_OPEN",
    "SYSTEM",
    "RESPONSES",
    "DueAction",
    "get",
    "raise_disagreement",
    "reference_key",
    "state_of",
    "acknowledge",
    "escalate",
    "resolve",
    "accept",
    "contest",
    "confirm_action",
    "convene_meeting",
    "watch",
    "Learning",
    "ActionInput",
    "withdraw",
    "hand_to_deputy",
    "offer_to_deputy",
    "add_note",
    "record_response",
    "change_counterpart",
    "make_urgent",
    "record_view",
    "flag_final_stage_overdue",
    "remind",
    "act_if_due",
    "due_references",
    "due_query",
]


def acknowledge(session: Session, *, reference: str, actor: str, now: datetime) -> Disagreement:
    disagreement, _ = load_for_event(session, reference, "acknowledge")
    require_owner_or_board(session, disagreement, actor)
    period = current_period(disagreement)  # read before any change: no flush of its own
    disagreement.stage_acknowledged_at = now
    period.acknowledged_at = now
    record(session, disagreement, now, actor, "acknowledge", disagreement.stage_key)
    return disagreement


def escalate(
    session: Session, *, reference: str, actor: str, now: datetime, reason: str = ""
) -> Disagreement:
    """Move to the next stage, with a new owner and clock. Refused at the final stage."""
    disagreement, policy = load_for_event(session, reference, "escalate")
    if actor != SYSTEM:
        require_owner_or_board(session, disagreement, actor)
    stage = policy.next_stage(disagreement.stage_key)
    holders = assign(session, policy, stage, now, disagreement=disagreement)
    from_stage, missed = disagreement.stage_key, disagreement.due_at
    silent = counterpart_silent(disagreement, now) if actor == SYSTEM else ""
    kind = "escalate" if actor != SYSTEM else "escalate_automatically"
    due = due_text(missed, policy.timezone)
    passed = f"the stage was due {due} and was not resolved" if actor == SYSTEM else ""
    holder = f"{holders.owner.person.name} ({holders.owner.person.organisation}): {stage.title}"
    why = join(reason, passed, silent)
    records.write(
        session,
        disagreement,
        policy,
        now,
        kind="escalation",
        actor=actor,
        why=why,
        next_holder=holder,
    )
    end_stage_period(disagreement, now, "escalate")
    enter_stage(session, disagreement, policy, stage, holders, now)
    record(
        session, disagreement, now, actor, kind, from_stage, stage.key, join(why, holders.note())
    )
    notifications.stage_entered(session, disagreement, policy, now)
    return disagreement


def resolve(
    session: Session,
    *,
    reference: str,
    actor: str,
    now: datetime,
    outcome: str,
    summary: str,
    learning: Learning | None = None,
    actions: tuple[ActionInput, ...] = (),
) -> Disagreement:
    """The stage owner (or the board) proposes how it ends (casework/endings.py): the raiser has
    their say, agreed actions are watched, and only then is it resolved."""
    return propose(
        session,
        reference=reference,
        actor=actor,
        now=now,
        outcome=outcome,
        summary=summary,
        learning=learning,
        actions=actions,
    )


def withdraw(
    session: Session,
    *,
    reference: str,
    actor: str,
    now: datetime,
    reason: str,
    learning: Learning | None = None,
) -> Disagreement:
    """Only the raiser withdraws, and says why; the learning is theirs to add (optional here:
    the board's close records it when they do not). Open agreed actions are cancelled."""
    if not reason.strip():
        raise InvalidInput({"reason": "say why the disagreement is withdrawn"})
    disagreement, policy = load_for_event(session, reference, "withdraw")
    if normalise_email(actor) != disagreement.raiser_email:
        raise NotAllowed("only the practitioner who raised the disagreement can withdraw it")
    if learning is not None:
        problems = endings.learning_problems(policy, learning)
        if problems:
            raise InvalidInput(problems)
        endings.record_learning(disagreement, learning, actor)
    endings.end_open(session, disagreement, now)
    disagreement.outcome_summary = reason.strip()
    records.write(session, disagreement, policy, now, kind="withdrawal", actor=actor, why=reason)
    close(disagreement, now, "withdraw", "withdrawn")
    disagreement.outcome, disagreement.outcome_summary = "withdrawn", reason.strip()
    record(
        session, disagreement, now, actor, "withdraw", disagreement.stage_key, None, reason.strip()
    )
    notifications.closed(session, disagreement, policy, now)
    ending_notices.ending(session, disagreement, policy, "withdraw", now)
    return disagreement


def hand_to_deputy(
    session: Session, *, reference: str, actor: str, now: datetime, reason: str = ""
) -> Disagreement:
    """The owner hands the current stage to their named deputy; the clock does not restart.

    SYSTEM does this when the owner's email cannot be delivered (see offer_to_deputy).
    """
    disagreement, policy = load_for_event(session, reference, "hand_to_deputy")
    if actor != SYSTEM:
        require_owner_or_board(session, disagreement, actor)
    today = policy.calendar.local_date(now)
    try:
        assignment = deputy_of(session, disagreement.owner, disagreement.partnership, today)
    except DirectoryError as error:
        raise NotAllowed(str(error)) from None
    change_owner(session, disagreement, assignment.person, now, "hand_to_deputy", assignment.note)
    stage = disagreement.stage_key
    note = join(reason, f"owner {assignment.person.name} ({assignment.note})")
    record(session, disagreement, now, actor, "hand_to_deputy", stage, stage, note)
    notifications.reassigned(session, disagreement, policy, now)
    return disagreement


def offer_to_deputy(
    session: Session, *, reference: str, undeliverable_email: str, now: datetime, error: str
) -> str:
    """An owner's email could not be delivered: their deputy takes the stage (if they have one
    available) and the board manager is told either way. Returns what happened, in words.

    Nothing happens if the address no longer owns the current stage (it moved on meanwhile).
    """
    disagreement, policy = locked(session, reference)
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
        record(session, disagreement, now, SYSTEM, "add_note", stage, stage, note)
        return "board manager told; no deputy available"


accept = endings.accept
contest = endings.contest
confirm_action = action_events.confirm_action
convene_meeting = action_events.convene_meeting
watch = watching.watch


def add_note(
    session: Session, *, reference: str, actor: str, now: datetime, note: str
) -> Disagreement:
    if not note.strip():
        raise InvalidInput({"note": "must not be empty"})
    disagreement, _ = load_for_event(session, reference, "add_note")
    stage = disagreement.stage_key
    record(session, disagreement, now, actor, "add_note", stage, stage, note.strip())
    return disagreement


def record_view(session: Session, *, reference: str, actor: str, now: datetime, how: str) -> None:
    """Who looked at the case, when and how: every view by a link holder is on the record.
    Read without locking the row (a view is allowed in every state, and is recorded outside the
    chain: chronology.py), so a reader never waits for a writer on the same case."""
    disagreement = get(session, reference)
    stage = disagreement.stage_key
    record(session, disagreement, now, actor, "view", stage, stage, how)


@dataclass(frozen=True)
class DueAction:
    reference: str
    action: str  # "escalate" or "flag_final_stage_overdue"


def act_if_due(session: Session, *, reference: str, now: datetime) -> DueAction | None:
    """What the sweep does for one disagreement: escalate it, flag it, or nothing if not due.

    Reads the row under lock first, so a disagreement another sweep has just moved is left alone.
    """
    disagreement, policy = locked(session, reference)
    if (
        not disagreement.is_overdue(now)
        or disagreement.final_stage_overdue_at is not None
        or disagreement.resolution_state is not None
    ):
        return None
    if policy.is_final(disagreement.stage_key):
        flag_final_stage_overdue(session, reference=reference, now=now)
        return DueAction(reference, "flag_final_stage_overdue")
    escalate(session, reference=reference, actor=SYSTEM, now=now)
    return DueAction(reference, "escalate")
