"""Leases on outbox rows: who may send a row now.

A run claims the rows due at `now` (alarms first: `outbox.priority`, then the oldest due) and
holds each for a short lease, so two senders never send the same row at the same time
(PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: BEGIN IMMEDIATE). The run renews the lease of what
it still holds while it sends, and gives back (`release`) what it has not started to send when
it stops for any reason, so another run can take those rows at once rather than after the lease.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from escalation.store.db import transaction
from escalation.store.models import OutboxMessage

LEASE = timedelta(minutes=2)


def claim(
    sessions: sessionmaker[Session], now: datetime, limit: int, lease: timedelta, only=None
) -> list[int]:
    """Lease what is due (of the ids `only`, if given) and not leased by another sender."""
    with transaction(sessions) as session:
        return [row.id for row in claim_rows(session, now, limit, lease, only)]


def claim_rows(session: Session, now: datetime, limit: int, lease: timedelta, only=None):
    """`claim` inside the caller's transaction: the leased rows themselves."""
    query = claim_query(now, limit)
    if only is not None:
        query = query.where(OutboxMessage.id.in_(only))
    rows = session.execute(query.with_for_update(skip_locked=True)).scalars().all()
    if rows:  # one UPDATE, not one a row (the objects keep their old locked_until)
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_([row.id for row in rows]))
            .values(locked_until=now + lease)
            .execution_options(synchronize_session=False)
        )
    return rows


def claim_query(now: datetime, limit: int):
    """The next `limit` rows due and free at `now`: the alarms first, then the longest due (the
    index ix_outbox_claim answers it in this order, without sorting what is due)."""
    return (
        select(OutboxMessage)
        .where(
            OutboxMessage.status == "pending",
            OutboxMessage.next_attempt_at <= now,
            (OutboxMessage.locked_until.is_(None)) | (OutboxMessage.locked_until <= now),
        )
        .order_by(OutboxMessage.priority, OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )


def renew(sessions: sessionmaker[Session], ids: Iterable[int], until: datetime) -> None:
    """Hold these rows (still pending) until `until`: a batch that takes long keeps its rows."""
    ids = list(ids)
    if not ids:
        return
    with transaction(sessions) as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "pending")
            .values(locked_until=until)
        )


def release(sessions: sessionmaker[Session], ids: Iterable[int]) -> None:
    """Give claimed rows back untouched (not an attempt: nothing was their fault)."""
    ids = list(ids)
    if not ids:
        return
    with transaction(sessions) as session:
        session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(locked_until=None)
        )
