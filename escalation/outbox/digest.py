"""The board manager's daily digest: counts only (no case content), one email per manager per
day, queued in the outbox like every other email."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from escalation.outbox import notifications
from escalation.outbox.kinds import MessageKind
from escalation.outbox.rows import QUEUED
from escalation.rules.calendar import date_text, due_text, local_date
from escalation.store.models import Disagreement, OutboxMessage, Person


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
        "new": count(Disagreement.recorded_at > now - timedelta(days=1)),
        "overdue": count(open_, Disagreement.due_at <= now),
        "reached_manager": count(open_, Disagreement.stage_key == "board_manager"),
        "reached_chair": count(open_, Disagreement.stage_key == "chair"),
        "undelivered": undelivered,
        "most_overdue": _most_overdue(session, partnership, now),
    }


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
