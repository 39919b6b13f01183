"""Everything on the record about one disagreement, as the board's case page shows it: each
stage's owner and deadline with the working-day arithmetic in words, the chronology (every event
and every view), meetings and extension requests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation.casework.chronology import events_of
from escalation.rules.calendar import date_text, due_text, time_text
from escalation.rules.policy import Policy
from escalation.store.models import (
    DeadlineExtension,
    Disagreement,
    Event,
    ResolutionMeeting,
    StagePeriod,
)
from escalation.store.pinned_policies import policy_for


@dataclass(frozen=True)
class StageLine:
    title: str
    owner: str
    entered: str
    deadline: str  # the arithmetic in words
    ended: str


@dataclass(frozen=True)
class Casefile:
    disagreement: Disagreement
    policy: Policy
    stages: list[StageLine]
    events: list[Event]
    meetings: list[ResolutionMeeting]
    extensions: list[DeadlineExtension]


def casefile(session: Session, disagreement: Disagreement) -> Casefile:
    policy = policy_for(session, disagreement)
    periods = (
        session.execute(
            select(StagePeriod)
            .where(StagePeriod.disagreement_id == disagreement.id)
            .order_by(StagePeriod.id)
        )
        .scalars()
        .all()
    )
    extensions = (
        session.execute(
            select(DeadlineExtension)
            .where(DeadlineExtension.disagreement_id == disagreement.id)
            .order_by(DeadlineExtension.id)
        )
        .scalars()
        .all()
    )
    approved = {e.stage_period_id: e for e in extensions if e.decision == "approved"}
    stages = [
        StageLine(
            title=policy.stage(period.stage_key).title,
            owner=period.owner.name,
            entered=time_text(period.entered_at, policy.timezone),
            deadline=explain_deadline(policy, disagreement.urgent, period, approved.get(period.id)),
            ended=f"{_ending(period.ended_by)} {time_text(period.ended_at, policy.timezone)}"
            if period.ended_at
            else "",
        )
        for period in periods
    ]
    events = events_of(session, disagreement)
    meetings = (
        session.execute(
            select(ResolutionMeeting)
            .where(ResolutionMeeting.disagreement_id == disagreement.id)
            .order_by(ResolutionMeeting.held_on, ResolutionMeeting.id)
        )
        .scalars()
        .all()
    )
    return Casefile(disagreement, policy, stages, events, list(meetings), list(extensions))


def explain_deadline(
    policy: Policy, urgent: bool, period: StagePeriod, extension: DeadlineExtension | None = None
) -> str:
    """'due 17:00 Tue 29 Dec 2026: 2 working days after Wed 23 Dec; not counted: Fri 25 Dec
    (Christmas Day), Mon 28 Dec (Boxing Day (substitute day))'."""
    timescale = policy.timescale(period.stage_key, urgent)
    start = period.clock_start
    original = policy.due_at(period.stage_key, urgent, start)
    tz = policy.timezone
    if timescale.hours is not None:
        words = f"due {due_text(original, tz)}: {timescale.describe()} after {time_text(start, tz)}"
    else:
        counted_from = _counted_from(policy, start)
        words = f"due {due_text(original, tz)}: {timescale.describe()} after {counted_from}"
        skipped = policy.calendar.skipped_days(start, timescale.working_days)
        if skipped:
            days = ", ".join(f"{date_text(day)} ({why})" for day, why in skipped)
            words += f"; not counted: {days}"
    if period.clock_started_at and period.clock_started_at != period.entered_at:
        words += " (the stage's clock, kept when it changed hands)"
    if extension is not None and extension.new_due_at is not None:
        words += (
            f"; extended by {extension.amount} {extension.unit.replace('_', ' ')} to "
            f"{due_text(extension.new_due_at, tz)}, approved by the chair"
        )
    elif period.due_at != original:
        words += f"; now due {due_text(period.due_at, tz)}"
    return words


def _counted_from(policy: Policy, start: datetime) -> str:
    calendar = policy.calendar
    began = calendar.local_date(start)
    counted = calendar.counting_day(start)
    if counted == began:
        return date_text(began)
    why = calendar.non_working_reason(began) or f"after {calendar.close_of_business:%H:%M}"
    return (
        f"{date_text(counted)} (it began {date_text(began)}, {why}, "
        "so counts from the next working day)"
    )


def _ending(how: str | None) -> str:
    return {
        "escalate": "escalated",
        "resolve": "resolved",
        "withdraw": "withdrawn",
        "hand_to_deputy": "handed to deputy",
        "reassign": "reassigned",
    }.get(how or "", how or "ended")
