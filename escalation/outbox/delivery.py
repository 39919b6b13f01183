"""Delivery: send pending outbox rows through aiosmtplib, then record what the server said.

1. Claim a batch: rows due for an attempt get a short lease (PostgreSQL: FOR UPDATE SKIP LOCKED;
   SQLite: BEGIN IMMEDIATE), so two relays never send the same row at the same time.
2. A few connections (reused across messages) send in parallel; each message has one recipient.
3. Each outcome is committed on its own:
   - 2xx: `sent`. Only after the server's 250; a crash between the 250 and that commit sends the
     message again once the lease ends, with the same Message-ID: a duplicate, never a loss.
   - 4xx, disconnect, timeout (including no reply after DATA): retried with exponential backoff
     and jitter until the attempt budget is spent, then `dead`.
   - 5xx: `failed_permanent`, never retried.
   - 530/535 (authentication) or a relay that will not do the TLS asked for: a configuration
     fault, not the message's. Sending stops, the rows stay pending untouched, an alert is raised.
   A `dead` or `failed_permanent` email to a stage owner offers the stage to their deputy and
   tells the board manager (disagreements.offer_to_deputy).
4. An owner's email (stage_assigned, reminder) whose stage has moved on or whose case has closed
   by the time it would go is not sent: `superseded`, not a failure (no deputy, not counted as
   undelivered). The web process sends sign-in and fresh-link emails at once (immediate.py).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

import aiosmtplib
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from escalation.casework import disagreements, health
from escalation.outbox import links
from escalation.outbox.kinds import OWNER_KINDS
from escalation.outbox.mail import (
    CONFIG,
    RETRY,
    SENT,
    Renderer,
    SmtpConfig,
    classify,
    discard,
    send_one,
)
from escalation.store.db import transaction
from escalation.store.models import Disagreement, OutboxMessage

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: attempt n waits base*2^(n-1) (capped), between half and
    all of it. After `max_attempts` the row is `dead` (defaults: about 17 hours in all)."""

    base_seconds: float = 60
    cap_seconds: float = 3600
    max_attempts: int = 24

    def next_attempt(self, attempts: int, now: datetime, rng: random.Random) -> datetime | None:
        if attempts >= self.max_attempts:
            return None
        delay = min(self.cap_seconds, self.base_seconds * 2 ** (attempts - 1))
        return now + timedelta(seconds=delay * (0.5 + rng.random() / 2))


@dataclass
class DeliverySummary:
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    failed_permanent: int = 0
    superseded: int = 0  # an owner's email for a stage that had moved on: not sent
    stopped: str = ""  # why sending stopped early (a configuration fault), if it did

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Delivery:
    """Everything one pass needs besides the clock."""

    sessions: sessionmaker[Session]
    smtp: SmtpConfig
    renderer: Renderer
    base_url: str
    connections: int = 4
    retry: RetryPolicy = RetryPolicy()
    lease: timedelta = LEASE


async def deliver(
    delivery: Delivery,
    *,
    now: datetime,
    limit: int = 500,
    rng: random.Random | None = None,
    after_send: Callable[[int], None] | None = None,
) -> DeliverySummary:
    """One pass over what is due to be sent at `now`. `after_send(row_id)` runs between the
    server's 250 and recording it (used to inject a crash there)."""
    rng = rng or random.Random()
    ids = await asyncio.to_thread(claim, delivery.sessions, now, limit, delivery.lease)
    summary = DeliverySummary()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for row_id in ids:
        queue.put_nowait(row_id)
    stop = asyncio.Event()
    workers = min(delivery.connections, len(ids))
    await asyncio.gather(
        *(_worker(delivery, queue, stop, summary, now, rng, after_send) for _ in range(workers))
    )
    if stop.is_set():
        left = [queue.get_nowait() for _ in range(queue.qsize())]
        await asyncio.to_thread(release, delivery.sessions, left)
    elif summary.sent:
        await asyncio.to_thread(_relay_works_again, delivery.sessions, now)
    return summary


def claim(
    sessions: sessionmaker[Session], now: datetime, limit: int, lease: timedelta, only=None
) -> list[int]:
    """Lease what is due (of the ids `only`, if given) and not leased by another sender."""
    query = select(OutboxMessage).where(
        OutboxMessage.status == "pending",
        OutboxMessage.next_attempt_at <= now,
        (OutboxMessage.locked_until.is_(None)) | (OutboxMessage.locked_until <= now),
    )
    if only is not None:
        query = query.where(OutboxMessage.id.in_(only))
    with transaction(sessions) as session:
        rows = (
            session.execute(
                query.order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            .scalars()
            .all()
        )
        for row in rows:
            row.locked_until = now + lease
        return [row.id for row in rows]


async def _worker(delivery, queue, stop, summary, now, rng, after_send) -> None:
    client: aiosmtplib.SMTP | None = None
    try:
        while not stop.is_set() and not queue.empty():
            row_id = queue.get_nowait()
            try:
                message = await asyncio.to_thread(prepare, delivery, row_id, now, summary)
            except DBAPIError:
                raise
            except Exception as error:  # a row that cannot be rendered must not block the rest
                log.exception("could not prepare email %s", row_id)
                detail = f"could not prepare the message: {type(error).__name__}: {error}"[:500]
                await asyncio.to_thread(record, delivery, row_id, RETRY, detail, now, rng, summary)
                continue
            if message is None:
                continue
            try:
                if client is None or not client.is_connected:
                    client = delivery.smtp.client()
                    await client.connect()
                await send_one(client, message)
                outcome, detail = SENT, "250"
            except Exception as error:  # every failure is classified, none escapes silently
                outcome, detail = classify(error)
                client = await discard(client)
            if outcome == SENT and after_send is not None:
                after_send(row_id)
            if outcome == CONFIG:
                stop.set()
                await asyncio.to_thread(_stop_for_config, delivery, row_id, detail, now)
                summary.stopped = detail
                return
            await asyncio.to_thread(record, delivery, row_id, outcome, detail, now, rng, summary)
    finally:
        await discard(client)


def prepare(delivery: Delivery, row_id: int, now: datetime, summary) -> EmailMessage | None:
    with transaction(delivery.sessions) as session:
        row = session.get(OutboxMessage, row_id)
        if row is None or row.status != "pending":
            return None
        if moved_on(session, row):
            row.status, row.locked_until, row.last_error = "superseded", None, "stage moved on"
            summary.superseded += 1
            return None
        link = links.link_for(session, row, base_url=delivery.base_url, now=now)
        several = links.links_for(session, row, base_url=delivery.base_url, now=now)
        return delivery.renderer.render(row, link=link, links=several, now=now)


def moved_on(session: Session, row: OutboxMessage) -> bool:
    """An owner's email (stage_assigned, reminder) for a stage the case has left, or a closed case."""
    if row.kind not in OWNER_KINDS or row.disagreement_id is None:
        return False
    case = session.get(Disagreement, row.disagreement_id)
    return not case.is_open or case.stage_key != row.stage_key


def record(delivery, row_id, outcome, detail, now, rng, summary) -> None:
    with transaction(delivery.sessions) as session:
        row = session.get(OutboxMessage, row_id, with_for_update=True)
        if row is None or row.status != "pending":
            return
        row.attempts += 1
        row.locked_until = None
        if outcome == SENT:
            row.status, row.sent_at, row.last_error = "sent", now, ""
            summary.sent += 1
            return
        row.last_error = detail
        next_attempt = (
            delivery.retry.next_attempt(row.attempts, now, rng) if outcome == RETRY else None
        )
        if next_attempt is not None:
            row.next_attempt_at = next_attempt
            summary.retrying += 1
            return
        row.status = "dead" if outcome == RETRY else "failed_permanent"
        if row.status == "dead":
            summary.dead += 1
        else:
            summary.failed_permanent += 1
        log.error(
            "email %s to %s is %s: %s", row.message_id, row.recipient_email, row.status, detail
        )
        _owner_unreachable(session, row, now)


def _owner_unreachable(session: Session, row: OutboxMessage, now: datetime) -> None:
    if row.kind not in OWNER_KINDS or row.recipient_role != "owner" or row.disagreement_id is None:
        return
    reference = session.get(Disagreement, row.disagreement_id).reference
    what = disagreements.offer_to_deputy(
        session,
        reference=reference,
        undeliverable_email=row.recipient_email,
        now=now,
        error=row.last_error,
    )
    log.warning("%s: owner %s unreachable: %s", reference, row.recipient_email, what)


def _stop_for_config(delivery: Delivery, row_id: int, detail: str, now: datetime) -> None:
    log.error("mail relay refused us (%s): sending stopped, emails stay pending", detail)
    release(delivery.sessions, [row_id])
    with transaction(delivery.sessions) as session:
        health.raise_alert(
            session,
            key="smtp/config",
            kind="smtp_config",
            message=f"the mail relay refused to send ({detail}); emails are waiting, unsent",
            now=now,
        )


def _relay_works_again(sessions: sessionmaker[Session], now: datetime) -> None:
    with transaction(sessions) as session:
        health.clear_alert(session, key="smtp/config", now=now)


def release(sessions: sessionmaker[Session], ids: list[int]) -> None:
    """Give claimed rows back untouched (not an attempt: nothing was their fault)."""
    if not ids:
        return
    with transaction(sessions) as session:
        for row in session.execute(
            select(OutboxMessage).where(OutboxMessage.id.in_(ids))
        ).scalars():
            row.locked_until = None
