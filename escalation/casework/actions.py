"""Agreed actions and convened meetings, and the says awaited on a proposed resolution: checking
and adding them, which are open, and when the sweep must look at them (remind before the date,
chase at it, and after the policy's grace reopen or move the case up: casework/watching.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation.casework.lifecycle import SYSTEM
from escalation.directory.people import find_person, normalise_email
from escalation.rules.calendar import date_text, due_text
from escalation.rules.errors import NotAllowed
from escalation.rules.policy import Policy
from escalation.store.models import AgreedAction, Disagreement, Person, ResolutionSay

MAX_TEXT = 5000
LAPSED = "lapsed"


@dataclass(frozen=True)
class ActionInput:
    """One agreed action as entered: a meeting when `meeting_at` is given (its date is due_on)."""

    what: str
    owner_email: str
    due_on: date | None
    meeting_at: datetime | None = None
    place: str = ""


def check_action(session, disagreement, policy, now, action: ActionInput):
    problems = {}
    what = action.what.strip()
    if not what:
        problems["what"] = "Enter what will be done"
    elif len(what) > MAX_TEXT:
        problems["what"] = f"Use {MAX_TEXT} characters or fewer"
    owner = find_person(session, action.owner_email) if action.owner_email.strip() else None
    if owner is None or not owner.active or not in_case(disagreement, owner):
        owner = None
        problems["owner"] = "Select who will do it from this partnership's directory"
    today = policy.calendar.local_date(now)
    day = policy.calendar.local_date(action.meeting_at) if action.meeting_at else action.due_on
    if day is None:
        problems["due_on"] = "Enter the date it will be done by, like 3 12 2026"
    elif day < today:
        problems["due_on"] = "The date must be today or in the future"
    if action.meeting_at is not None and action.meeting_at <= now:
        problems["meeting_at"] = "The meeting must be in the future"
    if disagreement.child_reference and disagreement.child_reference in action.place:
        problems["place"] = "Do not put the child's reference in the meeting details"
    return owner, problems


def in_case(disagreement: Disagreement, person: Person) -> bool:
    """Someone in the partnership's directory, or the decision-maker (who may be unlisted)."""
    return (
        disagreement.partnership in person.partnerships or person.id == disagreement.counterpart_id
    )


def add_action(
    session, disagreement, policy, action: ActionInput, owner, actor, now
) -> AgreedAction:
    policy_day = action.due_on
    if action.meeting_at is not None:
        policy_day = policy.calendar.local_date(action.meeting_at)
    item = AgreedAction(
        disagreement_id=disagreement.id,
        stage_key=disagreement.stage_key,
        kind="meeting" if action.meeting_at else "action",
        what=action.what.strip(),
        owner=owner,
        due_on=policy_day,
        meeting_at=action.meeting_at,
        place=action.place.strip(),
        invitees=[],
        created_by=normalise_email(actor) if actor != SYSTEM else SYSTEM,
        created_at=now,
        done_note="",
        attendees="",
    )
    session.add(item)
    session.flush()
    return item


def open_actions(session: Session, disagreement: Disagreement) -> list[AgreedAction]:
    return [item for item in all_actions(session, disagreement) if item.is_open]


def all_actions(session: Session, disagreement: Disagreement) -> list[AgreedAction]:
    return list(
        session.execute(
            select(AgreedAction)
            .where(AgreedAction.disagreement_id == disagreement.id)
            .order_by(AgreedAction.id)
        ).scalars()
    )


def open_action(session, disagreement, action_id) -> AgreedAction:
    for item in open_actions(session, disagreement):
        if item.id == action_id:
            return item
    raise NotAllowed("that action is not open on this disagreement")


def end_actions(session, disagreement, now, how: str) -> None:
    for item in open_actions(session, disagreement):
        item.ended, item.ended_at = how, now


def pending_says(session: Session, disagreement: Disagreement) -> list[ResolutionSay]:
    return list(
        session.execute(
            select(ResolutionSay)
            .where(ResolutionSay.disagreement_id == disagreement.id, ResolutionSay.answer.is_(None))
            .order_by(ResolutionSay.id)
        ).scalars()
    )


def lapse_says(session, disagreement, now) -> None:
    for say in pending_says(session, disagreement):
        say.answer, say.answered_at = LAPSED, now


@dataclass(frozen=True)
class ActionTimes:
    remind_at: datetime | None  # before its date
    chase_at: datetime  # its date has passed with no confirmation
    reopen_at: datetime  # the grace has run out too


def action_times(policy: Policy, item: AgreedAction) -> ActionTimes:
    calendar = policy.calendar
    due = calendar.close_of_business_at(item.due_on)
    if item.meeting_at is not None:
        due = max(due, item.meeting_at)
    grace_day = item.due_on
    for _ in range(policy.endings.action_grace_working_days):
        grace_day = calendar.next_working_day(grace_day)
    reopen = max(due, calendar.close_of_business_at(grace_day))
    remind_day = _working_days_before(
        policy, item.due_on, policy.endings.action_reminder_working_days
    )
    remind = calendar.instant_at(remind_day, time(9, 0))
    if (
        remind <= item.created_at
        or remind >= due
        or not policy.endings.action_reminder_working_days
    ):
        remind = None
    return ActionTimes(remind, due, reopen)


def _working_days_before(policy: Policy, day: date, count: int) -> date:
    calendar = policy.calendar
    while count > 0:
        day -= timedelta(days=1)
        if calendar.is_working_day(day):
            count -= 1
    return day


def schedule(session: Session, disagreement: Disagreement, policy: Policy) -> None:
    """When the sweep must next look (watch_at); while it is ending, its next date (due_at)."""
    moments, dates = [], []
    for item in open_actions(session, disagreement):
        times = action_times(policy, item)
        if times.remind_at and item.reminded_at is None:
            moments.append(times.remind_at)
        if item.chased_at is None:
            moments.append(times.chase_at)
        moments.append(times.reopen_at)
        dates.append(times.chase_at)
    says = pending_says(session, disagreement) if disagreement.resolution_state else []
    moments += [say.due_at for say in says]
    dates += [say.due_at for say in says]
    disagreement.watch_at = min(moments) if moments else None
    if disagreement.resolution_state and dates:
        disagreement.due_at = min(dates)


def item_words(policy: Policy, item: AgreedAction) -> str:
    if item.kind == "meeting":
        return f"meeting on {due_text(item.meeting_at, policy.timezone)}"
    return f"{item.what} (due {date_text(item.due_on)})"
