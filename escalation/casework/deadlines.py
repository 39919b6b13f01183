"""What happens at a stage's deadline (the sweep calls these): escalate it, or at the final stage
flag it and keep reminding the chair and the board every few working days; and remind the owner
before the deadline. A disagreement that is ending (proposed, watched) has no stage deadline:
casework/watching.py looks after it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from escalation.casework.lifecycle import IS_OPEN, SYSTEM, load_for_event, record
from escalation.outbox import notifications
from escalation.rules.calendar import due_text
from escalation.rules.errors import NotAllowed
from escalation.store.models import Disagreement


def flag_final_stage_overdue(session: Session, *, reference: str, now: datetime) -> Disagreement:
    """At the final stage nothing escalates further: an overdue one stays open and is flagged."""
    disagreement, policy = load_for_event(session, reference, "flag_final_stage_overdue")
    if disagreement.final_stage_overdue_at is not None:
        raise NotAllowed("already flagged as overdue at the final stage")
    if not disagreement.is_overdue(now):
        raise NotAllowed("the final stage is not overdue yet")
    disagreement.final_stage_overdue_at = now
    disagreement.remind_at = _next_final_reminder(policy, now)
    stage = disagreement.stage_key
    note = f"due {due_text(disagreement.due_at, policy.timezone)}; the final stage stays open"
    record(session, disagreement, now, SYSTEM, "flag_final_stage_overdue", stage, stage, note)
    notifications.final_stage_overdue(session, disagreement, policy, now)
    return disagreement


def remind(session: Session, *, reference: str, now: datetime) -> bool:
    """Remind the owner once that the stage's deadline is near (the sweep calls this); at the
    final stage, still overdue, remind the chair and the board managers again every
    `final_stage_reminder_working_days`.

    False if it is already past the deadline: the sweep escalates or flags it instead."""
    disagreement, policy = load_for_event(session, reference, "remind")
    if disagreement.remind_at is None or disagreement.remind_at > now:
        raise NotAllowed("no reminder is due")
    stage = disagreement.stage_key
    due = due_text(disagreement.due_at, policy.timezone)
    if disagreement.final_stage_overdue_at is not None:
        disagreement.remind_at = _next_final_reminder(policy, now)
        note = f"still overdue at the final stage (due {due}): reminded again"
        record(session, disagreement, now, SYSTEM, "remind", stage, stage, note)
        notifications.final_stage_overdue(session, disagreement, policy, now, again=True)
        return True
    disagreement.remind_at = None
    if disagreement.is_overdue(now):
        return False
    note = f"reminded {disagreement.owner.email}: due {due}"
    record(session, disagreement, now, SYSTEM, "remind", stage, stage, note)
    notifications.reminder(session, disagreement, policy, now)
    return True


def _next_final_reminder(policy, now: datetime) -> datetime:
    return policy.calendar.add_working_days(now, policy.endings.final_stage_reminder_working_days)


def due_references(session: Session, *, now: datetime, limit: int = 1000) -> list[str]:
    """Open, unflagged disagreements past their deadline, most overdue first."""
    return list(session.execute(due_query(now=now, limit=limit)).scalars())


def due_query(*, now: datetime, limit: int = 1000) -> Select:
    """The sweep's question as SQL: a range on the indexed due_at, never a scan of open rows."""
    return (
        select(Disagreement.reference)
        .where(
            IS_OPEN,
            Disagreement.resolution_state.is_(None),
            Disagreement.final_stage_overdue_at.is_(None),
            Disagreement.due_at <= now,
        )
        .order_by(Disagreement.due_at)
        .limit(limit)
    )
