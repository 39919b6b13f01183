"""The board manager's daily digest: counts only (no case content), one email per manager per
day, queued in the outbox like every other email. It tells the board of every ending in the day
before it (issue 13): resolutions proposed, resolved, withdrawn, contested and reopened, and the
watched resolutions still waiting on agreed actions, with how many of those actions are overdue."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from escalation.casework.actions import action_times
from escalation.outbox import notifications
from escalation.outbox.kinds import MessageKind
from escalation.outbox.rows import QUEUED
from escalation.rules import statemachine as sm
from escalation.rules.calendar import date_text, due_text, local_date
from escalation.store.models import AgreedAction, Disagreement, Event, OutboxMessage, Person
from escalation.store.pinned_policies import policy_for

DAY = timedelta(days=1)  # the digest is daily: "since the last one" is the day before it
# The chronology's events that end (or undo the ending of) a stage, and the digest's word for each.
ENDINGS = {
    "resolve": "proposed",
    "complete": "resolved",
    "withdraw": "withdrawn",
    "contest": "contested",
    "reopen": "reopened",
}


def digest_counts(session: Session, partnership: str, now: datetime) -> dict:
    def count(*where) -> int:
        query = select(func.count()).select_from(Disagreement)
        return session.execute(
            query.where(Disagreement.partnership == partnership, *where)
        ).scalar_one()

    open_ = Disagreement.status == "open"
    undelivered = session.execute(
        select(func.count())
        .select_from(OutboxMessage)
        .join(Disagreement, OutboxMessage.disagreement_id == Disagreement.id)
        .where(
            Disagreement.partnership == partnership,
            OutboxMessage.status.in_(("dead", "failed_permanent")),
        )
    ).scalar_one()
    return {
        "open": count(open_),
        "new": count(Disagreement.recorded_at > now - DAY),
        "overdue": count(open_, Disagreement.due_at <= now),
        "reached_manager": count(open_, Disagreement.stage_key == "board_manager"),
        "reached_chair": count(open_, Disagreement.stage_key == "chair"),
        "undelivered": undelivered,
        "most_overdue": _most_overdue(session, partnership, now),
        "endings": ending_counts(session, partnership, now),
        **watched_actions(session, partnership, now),
    }


def ending_counts(session: Session, partnership: str, now: datetime) -> dict[str, int]:
    """How many of each ending the partnership's chronology records in the day before `now`,
    by the digest's word for it (all five, zero or not)."""
    rows = session.execute(
        select(Event.kind, func.count())
        .join(Disagreement, Event.disagreement_id == Disagreement.id)
        .where(
            Disagreement.partnership == partnership,
            Event.kind.in_(ENDINGS),
            Event.at > now - DAY,
            Event.at <= now,
        )
        .group_by(Event.kind)
    )
    counts = dict(rows.tuples().all())
    return {word: counts.get(kind, 0) for kind, word in ENDINGS.items()}


def watched_actions(session: Session, partnership: str, now: datetime) -> dict[str, int]:
    """Watched disagreements (their resolution accepted) with agreed actions still open, as on
    the dashboard, and how many of those actions are overdue: their date (a meeting's time) has
    passed and they are not confirmed done, so the sweep has chased or will chase them."""
    rows = session.execute(
        select(Disagreement, AgreedAction)
        .join(AgreedAction, AgreedAction.disagreement_id == Disagreement.id)
        .where(
            Disagreement.partnership == partnership,
            Disagreement.status == "open",
            Disagreement.resolution_state == sm.WATCHED,
            AgreedAction.ended.is_(None),
        )
    ).tuples()
    cases, overdue = set(), 0
    for disagreement, item in rows:
        cases.add(disagreement.id)
        overdue += action_times(policy_for(session, disagreement), item).chase_at <= now
    return {"watched": len(cases), "actions_overdue": overdue}


def _most_overdue(
    session: Session, partnership: str, now: datetime, limit: int = 10
) -> list[list[str]]:
    """References and deadlines (never case content) of the longest-overdue open disagreements."""
    rows = session.execute(
        select(Disagreement.reference, Disagreement.due_at)
        .where(
            Disagreement.partnership == partnership,
            Disagreement.status == "open",
            Disagreement.due_at <= now,
        )
        .order_by(Disagreement.due_at, Disagreement.id)
        .limit(limit)
    )
    return [[reference, due_text(due)] for reference, due in rows]


def queue_digests(session: Session, now: datetime) -> int:
    """One digest per board manager of every partnership; again on the same day queues nothing."""
    day = local_date(now)
    partnerships = sorted(set(session.execute(select(Person.partnership)).scalars()))
    before = session.info.get(QUEUED, 0)
    for partnership in partnerships:
        notifications.alert_board_managers(
            session,
            kind=MessageKind.DIGEST,
            partnerships=[partnership],
            key=day.isoformat(),
            context={"day": date_text(day), **digest_counts(session, partnership, now)},
            now=now,
        )
    return session.info.get(QUEUED, 0) - before
