"""What the board manager and chair do to a disagreement: record a resolution meeting, reassign
the stage owner, extend a deadline (the board manager asks, the chair approves), close it with an
outcome and the learning. Each writes its chronology event in the caller's transaction.

Decisions:
* Only a partnership's board manager or chair acts, and only on that partnership's records.
* A deadline is extended at most once per stage period, by at most the stage's own timescale
  (5 working days on a 5-working-day stage; 8 hours on an 8-hour urgent stage): "bounded by the
  policy" without a new policy field. It counts from the deadline, or from the approval if the
  deadline has already passed (so an approved extension always gives real time). The chair
  approves, and never their own request; a request lapses if the stage moves on first.
* Reassigning keeps the stage's clock (the new owner inherits the deadline).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation.casework.disagreements import resolve
from escalation.casework.endings import ActionInput, Learning
from escalation.casework.lifecycle import (
    change_owner,
    current_period,
    get,
    load_for_event,
    move_deadline,
    record,
    require_board,
)
from escalation.directory.people import find_person, normalise_email
from escalation.outbox import notifications
from escalation.rules.calendar import date_text, due_text
from escalation.rules.errors import InvalidInput, NotAllowed
from escalation.rules.policy import Policy
from escalation.store.models import DeadlineExtension, Disagreement, ResolutionMeeting

MAX_TEXT = 5000


def record_meeting(
    session: Session,
    *,
    reference: str,
    actor: str,
    now: datetime,
    held_on: date | None,
    attendees: str,
    outcome: str,
) -> ResolutionMeeting:
    problems = {}
    if held_on is None:
        problems["held_on"] = "Enter the date of the meeting, like 3 12 2026"
    attendees, outcome = attendees.strip(), outcome.strip()
    if not attendees:
        problems["attendees"] = "Enter who attended"
    if not outcome:
        problems["meeting_outcome"] = "Enter what the meeting decided"
    _check_lengths(problems, attendees=attendees, meeting_outcome=outcome)
    disagreement, policy = load_for_event(session, reference, "meeting")
    if held_on is not None and held_on > policy.calendar.local_date(now):
        problems["held_on"] = "The meeting date must be today or in the past"
    elif held_on is not None and held_on < policy.calendar.local_date(disagreement.raised_at):
        problems["held_on"] = "The meeting date must be on or after the day it was raised"
    if problems:
        raise InvalidInput(problems)
    board = require_board(session, disagreement, actor)
    meeting = ResolutionMeeting(
        disagreement_id=disagreement.id,
        held_on=held_on,
        attendees=attendees,
        outcome=outcome,
        recorded_by=board.email,
        recorded_at=now,
    )
    session.add(meeting)
    note = f"resolution meeting on {date_text(held_on)}; attendees: {attendees}; outcome: {outcome}"
    stage = disagreement.stage_key
    record(session, disagreement, now, board.email, "meeting", stage, stage, note)
    return meeting


def reassign(
    session: Session,
    *,
    reference: str,
    actor: str,
    now: datetime,
    new_owner_email: str,
    reason: str,
) -> Disagreement:
    reason = reason.strip()
    problems = {} if reason else {"reason": "Enter why the stage is being reassigned"}
    _check_lengths(problems, reason=reason)
    new_owner = find_person(session, new_owner_email) if new_owner_email.strip() else None
    disagreement, policy = load_for_event(session, reference, "reassign")
    board = require_board(session, disagreement, actor)
    if (
        new_owner is None
        or not new_owner.active
        or disagreement.partnership not in new_owner.partnerships
    ):
        problems["new_owner"] = "Select someone in this partnership's directory"
    elif new_owner.id == disagreement.owner_id:
        problems["new_owner"] = "Select someone other than the current owner"
    if problems:
        raise InvalidInput(problems)
    previous = disagreement.owner
    why = f"reassigned by {board.name}: {reason}"
    change_owner(session, disagreement, new_owner, now, "reassign", why)
    stage = disagreement.stage_key
    note = f"from {previous.name} to {new_owner.name}: {reason}; owner {new_owner.name} ({why})"
    record(session, disagreement, now, board.email, "reassign", stage, stage, note)
    notifications.reassigned(session, disagreement, policy, now)
    return disagreement


def request_extension(
    session: Session, *, reference: str, actor: str, now: datetime, amount: int | None, reason: str
) -> DeadlineExtension:
    disagreement, policy = load_for_event(session, reference, "request_extension")
    board = require_board(session, disagreement, actor)
    unit, limit = extension_limit(disagreement, policy)
    reason = reason.strip()
    problems = {}
    if amount is None or not 1 <= amount <= limit:
        problems["amount"] = f"Enter a whole number of {unit.replace('_', ' ')} from 1 to {limit}"
    if not reason:
        problems["extension_reason"] = "Enter why the deadline should move"
    _check_lengths(problems, extension_reason=reason)
    if problems:
        raise InvalidInput(problems)
    period = current_period(disagreement)
    if _extension_at_stage(session, disagreement) is not None:
        raise NotAllowed("this stage's deadline has already had an extension requested")
    extension = DeadlineExtension(
        disagreement_id=disagreement.id,
        stage_period_id=period.id,
        amount=amount,
        unit=unit,
        reason=reason,
        requested_by=board.email,
        requested_at=now,
    )
    session.add(extension)
    stage = disagreement.stage_key
    note = f"asked the chair to extend the deadline by {amount} {unit.replace('_', ' ')}: {reason}"
    record(session, disagreement, now, board.email, "request_extension", stage, stage, note)
    return extension


def decide_extension(
    session: Session, *, reference: str, actor: str, now: datetime, approve: bool
) -> DeadlineExtension:
    disagreement, policy = load_for_event(session, reference, "decide_extension")
    chair = require_board(session, disagreement, actor, roles=("chair",))
    extension = _extension_at_stage(session, disagreement)
    if extension is None or extension.decision is not None:
        raise NotAllowed("there is no extension waiting for a decision on this stage")
    if normalise_email(extension.requested_by) == chair.email:
        raise NotAllowed("the chair cannot approve an extension they asked for")
    extension.decision = "approved" if approve else "refused"
    extension.decided_by, extension.decided_at = chair.email, now
    stage = disagreement.stage_key
    if approve:
        old_due = disagreement.due_at
        new_due = policy.calendar.extended(max(old_due, now), extension.amount, extension.unit)
        extension.new_due_at = new_due
        extension.stage_period_id = current_period(disagreement).id  # the period it moved
        move_deadline(disagreement, policy, new_due, now)
        was, now_due = due_text(old_due, policy.timezone), due_text(new_due, policy.timezone)
        note = f"extension approved: now due {now_due} (was {was})"
    else:
        note = "extension refused: the deadline stands"
    record(session, disagreement, now, chair.email, "decide_extension", stage, stage, note)
    return extension


def close(
    session: Session,
    *,
    reference: str,
    actor: str,
    now: datetime,
    outcome: str,
    summary: str,
    learning: Learning | None,
    actions: tuple[ActionInput, ...] = (),
) -> Disagreement:
    """The board manager or chair proposes how it ends, with the learning (as any stage owner
    does, casework/endings.py), whoever owns the stage."""
    problems = {}
    _check_lengths(problems, summary=summary)
    if problems:
        raise InvalidInput(problems)
    require_board(session, get(session, reference), actor)
    return resolve(
        session,
        reference=reference,
        actor=actor,
        now=now,
        outcome=outcome,
        summary=summary,
        learning=learning,
        actions=actions,
    )


def extension_limit(disagreement: Disagreement, policy: Policy) -> tuple[str, int]:
    """The unit and largest extension the policy allows for the current stage."""
    timescale = policy.timescale(disagreement.stage_key, disagreement.urgent)
    if timescale.hours is not None:
        return "hours", timescale.hours
    return "working_days", timescale.working_days


def pending_extensions(session: Session, partnership: str) -> list[tuple[DeadlineExtension, str]]:
    rows = session.execute(
        select(DeadlineExtension, Disagreement.reference)
        .join(Disagreement, DeadlineExtension.disagreement_id == Disagreement.id)
        .where(
            Disagreement.partnership == partnership,
            DeadlineExtension.decision.is_(None),
            Disagreement.status == "open",
            DeadlineExtension.requested_at >= Disagreement.stage_entered_at,
        )
        .order_by(DeadlineExtension.requested_at)
    )
    return [(row[0], row[1]) for row in rows]


# --- helpers ----------------------------------------------------------------------------------


def _extension_at_stage(session: Session, disagreement: Disagreement) -> DeadlineExtension | None:
    """The extension asked for since the current stage began (reassigning keeps the stage, so
    it does not reset the once-per-stage limit); a request from an earlier stage has lapsed."""
    return session.execute(
        select(DeadlineExtension)
        .where(
            DeadlineExtension.disagreement_id == disagreement.id,
            DeadlineExtension.requested_at >= disagreement.stage_entered_at,
        )
        .order_by(DeadlineExtension.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _check_lengths(problems: dict, **texts: str) -> None:
    for field, value in texts.items():
        if len(value) > MAX_TEXT:
            problems.setdefault(field, f"Use {MAX_TEXT} characters or fewer")
        if "\0" in value:
            problems.setdefault(field, "Remove the invisible control character")
