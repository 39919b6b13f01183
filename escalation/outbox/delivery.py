"""Delivery: send pending outbox rows through aiosmtplib, then record what the server said.

1. A run claims a batch (`batch_size` rows) on a short lease (leases.py): alarms first, then
   the longest due. It sends the batch, and claims again while batches come back full, for up
   to `max_run_seconds`; so a burst is sent by one run, not one batch per scheduled run.
2. A few connections (reused across messages) send in parallel; each message has one recipient.
   While a batch is being sent its lease is renewed, so a slow relay never lets the lease run
   out under a message being sent. However the run ends (done, stopped, an exception,
   cancelled), the rows it had not started to send are released at once (untouched: not an
   attempt). A row whose send had started keeps its lease: the server may have taken it.
3. Each outcome is committed on its own (outcomes.record):
   - 2xx: `sent`. Only after the server's 250; a crash between the 250 and that commit sends the
     message again once the lease ends, with the same Message-ID: a duplicate, never a loss.
   - 4xx, disconnect, timeout (including no reply after DATA): retried with exponential backoff
     and jitter until the attempt budget is spent, then `dead`.
   - 5xx for the mailbox (5.1.x, 5.2.x, 5.4.x, or no enhanced code: mail.classify):
     `failed_permanent`, never retried. A `dead` or `failed_permanent` email to a stage owner
     offers the stage to their deputy and tells the board manager (disagreements.offer_to_deputy).
4. The run stops sending, with an alert, and the rows stay pending untouched (no deputy, no
   "undeliverable" email) when the fault is the relay's, not a mailbox's:
   - 530/535 (authentication) or a relay that will not do the TLS asked for (`smtp/config`);
   - a relay or policy refusal: 5.7.x, 5.3.x, 5.5.x, 5.6.x, 554, our sender refused (`smtp/relay`);
   - more than `permanent_failure_limit` permanent failures in one run (`smtp/permanent`): the
     first ones are recorded, the rest wait for the next run.
   A run that sends mail and does not stop clears these alerts.
5. An owner's email (stage_assigned, reminder) whose stage has moved on or whose case has closed
   by the time it would go is not sent: `superseded`, not a failure (no deputy, not counted as
   undelivered). The web process sends sign-in and fresh-link emails at once (immediate.py).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import aiosmtplib
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from escalation.outbox import mail_health
from escalation.outbox.leases import LEASE, claim, release, renew
from escalation.outbox.mail import (
    CONFIG,
    PERMANENT,
    RELAY,
    RETRY,
    SENT,
    Renderer,
    SmtpConfig,
    classify,
    discard,
    send_one,
)
from escalation.outbox.outcomes import BURST, prepare, record, relay_works_again, stop_sending
from escalation.store.db import transaction

__all__ = ["Delivery", "DeliverySummary", "RetryPolicy", "claim", "deliver", "prepare", "record"]
__all__ += ["release"]

log = logging.getLogger(__name__)

STOPPING = (CONFIG, RELAY, BURST)


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
    stopped: str = ""  # why sending stopped early (the relay's fault), if it did
    batches: int = 0  # how many batches this run claimed

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Delivery:
    """Everything one run needs besides the clock."""

    sessions: sessionmaker[Session]
    smtp: SmtpConfig
    renderer: Renderer
    base_url: str
    connections: int = 4
    retry: RetryPolicy = RetryPolicy()
    lease: timedelta = LEASE
    batch_size: int = 200
    max_run_seconds: float = 600
    permanent_failure_limit: int = 5


@dataclass
class _Run:
    """One run's shared state: its summary, whether to stop, its permanent failures so far."""

    summary: DeliverySummary = field(default_factory=DeliverySummary)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    permanent: int = 0


@dataclass
class _Batch:
    """One claimed batch: what is still queued, what is being sent, what is settled."""

    ids: list[int]
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    sending: set[int] = field(default_factory=set)
    settled: set[int] = field(default_factory=set)

    def __post_init__(self):
        for row_id in self.ids:
            self.queue.put_nowait(row_id)

    def held(self) -> list[int]:
        """Rows still leased to this batch: neither settled nor given back."""
        return [row_id for row_id in self.ids if row_id not in self.settled]

    def unstarted(self) -> list[int]:
        """Rows whose send never started (safe to give back at once)."""
        return [row_id for row_id in self.held() if row_id not in self.sending]


async def deliver(
    delivery: Delivery,
    *,
    now: datetime,
    limit: int | None = None,
    rng: random.Random | None = None,
    after_send: Callable[[int], None] | None = None,
    clock: Callable[[], datetime] | None = None,
) -> DeliverySummary:
    """Send what is due: batches of `limit` (default `delivery.batch_size`) rows, while they come
    back full, for up to `delivery.max_run_seconds`. Each batch is claimed at `clock()`, or at
    `now` when no clock is given (tests, `--now`). `after_send(row_id)` runs between the
    server's 250 and recording it (used to inject a crash there)."""
    run, rng = _Run(), rng or random.Random()
    size = limit or delivery.batch_size
    started = time.monotonic()
    while True:
        at = clock() if clock else now
        full = await _send_batch(delivery, run, at, size, rng, after_send)
        if run.summary.stopped or not full:
            break
        if time.monotonic() - started >= delivery.max_run_seconds:
            break
    if run.summary.sent and not run.summary.stopped:
        await asyncio.to_thread(relay_works_again, delivery.sessions, at)
    await asyncio.to_thread(_record_run, delivery.sessions, at, run.summary)
    return run.summary


async def _send_batch(delivery, run, now, size, rng, after_send) -> bool:
    """Claim and send one batch; True when it was full (more may be due)."""
    ids = await asyncio.to_thread(claim, delivery.sessions, now, size, delivery.lease)
    if not ids:
        return False
    run.summary.batches += 1
    batch = _Batch(ids)
    sent = asyncio.Event()
    renewing = asyncio.create_task(_keep_leased(delivery, batch, now, sent))
    try:
        async with asyncio.TaskGroup() as workers:
            for _ in range(min(delivery.connections, len(ids))):
                workers.create_task(_worker(delivery, run, batch, now, rng, after_send))
    except ExceptionGroup as failed:  # the first failure, as the run's (the others are logged)
        for other in failed.exceptions[1:]:
            log.error("another connection failed too: %r", other)
        raise failed.exceptions[0] from None
    finally:
        # Shielded: a cancelled run still gives its unsent rows back.
        await asyncio.shield(_give_back(delivery, batch, renewing, sent))
    return len(ids) == size


async def _give_back(delivery: Delivery, batch: _Batch, renewing: asyncio.Task, sent) -> None:
    """Stop renewing (a renewal under way finishes first, so it cannot lease again what is
    given back), then release the rows whose send never started."""
    sent.set()
    await renewing
    await asyncio.to_thread(release, delivery.sessions, batch.unstarted())


async def _keep_leased(delivery: Delivery, batch: _Batch, now: datetime, sent) -> None:
    """Renew the batch's lease every third of it until the batch is done (`sent` is set)."""
    began, every = time.monotonic(), delivery.lease.total_seconds() / 3
    while True:
        try:
            await asyncio.wait_for(sent.wait(), timeout=every)
            return
        except TimeoutError:
            pass
        until = now + timedelta(seconds=time.monotonic() - began) + delivery.lease
        try:
            await asyncio.to_thread(renew, delivery.sessions, batch.held(), until)
        except Exception:  # the sends will meet the same fault and stop the run
            log.exception("could not renew the lease of %s emails", len(batch.held()))


async def _worker(delivery, run: _Run, batch: _Batch, now, rng, after_send) -> None:
    client: aiosmtplib.SMTP | None = None
    try:
        while not run.stop.is_set() and not batch.queue.empty():
            row_id = batch.queue.get_nowait()
            message = await _prepared(delivery, row_id, now, rng, run.summary)
            if message is None:
                batch.settled.add(row_id)
                continue
            try:
                if client is None or not client.is_connected:
                    client = delivery.smtp.client()
                    await client.connect()
                batch.sending.add(row_id)
                await send_one(client, message)
                outcome, detail = SENT, "250"
            except Exception as error:  # every failure is classified, none escapes silently
                outcome, detail = classify(error)
                client = await discard(client)
            if outcome == SENT and after_send is not None:
                after_send(row_id)
            outcome = _admit(delivery, run, outcome)
            if outcome in STOPPING:
                batch.sending.discard(row_id)  # refused, so not sent: given back with the rest
                await _stop(delivery, run, outcome, detail, now)
                return
            await asyncio.to_thread(
                record, delivery, row_id, outcome, detail, now, rng, run.summary
            )
            batch.settled.add(row_id)
    finally:
        await discard(client)


async def _prepared(delivery, row_id, now, rng, summary):
    """The message for the row, or None; a row that cannot be rendered is retried later and
    must not block the rest."""
    try:
        return await asyncio.to_thread(prepare, delivery, row_id, now, summary)
    except DBAPIError:
        raise
    except Exception as error:
        log.exception("could not prepare email %s", row_id)
        detail = f"could not prepare the message: {type(error).__name__}: {error}"[:500]
        await asyncio.to_thread(record, delivery, row_id, RETRY, detail, now, rng, summary)
        return None


def _admit(delivery: Delivery, run: _Run, outcome: str) -> str:
    """A permanent failure past the run's limit stops the run (BURST) instead of being recorded.
    Counted here, in the event loop, so parallel connections cannot overshoot the limit."""
    if outcome != PERMANENT:
        return outcome
    if run.permanent >= delivery.permanent_failure_limit:
        return BURST
    run.permanent += 1
    return outcome


async def _stop(delivery: Delivery, run: _Run, why: str, detail: str, now: datetime) -> None:
    if run.stop.is_set():
        return
    run.stop.set()
    run.summary.stopped = await asyncio.to_thread(
        stop_sending, delivery.sessions, why, detail, now, delivery.permanent_failure_limit
    )


def _record_run(sessions: sessionmaker[Session], now: datetime, summary: DeliverySummary) -> None:
    with transaction(sessions) as session:
        mail_health.record_run(session, now, summary.as_dict())
