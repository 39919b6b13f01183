"""Delivery: send pending outbox rows through aiosmtplib, then record what the server said.

1. A run claims a batch (`batch_size` rows) on a short lease (leases.py): alarms first, then
   the longest due; in the same transaction it mints the batch's link tokens and renders its
   messages (outcomes.prepare_batch). It sends the batch, and claims again while batches come
   back full, for up to `max_run_seconds`; so a burst is sent by one run, not one batch per run.
2. A few connections (reused across messages and batches) send in parallel, one recipient a
   message. A batch's lease is renewed while it is sent, so a slow relay never lets it run out.
   However the run ends (done, stopped, an exception,
   cancelled), the rows it had not started to send are released at once (untouched: not an
   attempt). A row whose send had started keeps its lease: the server may have taken it.
3. Outcomes are committed in groups (every GROUP outcomes or GROUP_SECONDS, and whatever is
   left when the batch ends, however it ends: outcomes.record_many):
   - 2xx: `sent`. Only after the server's 250; a crash between the 250 and that commit sends the
     message again once the lease ends, with the same Message-ID: a duplicate, never a loss.
     Grouping widens that window to the answers not yet committed (under GROUP_SECONDS, at
     most GROUP plus what arrives while a group commits): the same duplicate, never a loss.
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
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from escalation.outbox import mail_health
from escalation.outbox.leases import LEASE, claim, release, renew
from escalation.outbox.mail import (
    RETRY,
    SENT,
    Renderer,
    SmtpConfig,
    Stopped,
    classify,
    discard,
    send_one,
)
from escalation.outbox.outcomes import (
    STOPPING,
    DeliverySummary,
    RetryPolicy,
    admit,
    prepare,
    prepare_batch,
    record,
    record_many,
    relay_works_again,
    stop_sending,
)
from escalation.store.db import transaction

__all__ = ["Delivery", "DeliverySummary", "RetryPolicy", "claim", "deliver", "prepare", "record"]
__all__ += ["release"]

log = logging.getLogger(__name__)

GROUP, GROUP_SECONDS = 50, 0.5  # outcomes committed together: this many, or this often


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
    alerted: bool = False
    clients: list = field(default_factory=list)  # connected, idle between batches


@dataclass
class _Batch:
    """One claimed batch: what is still queued, what is being sent, what is settled."""

    ready: list  # outcomes.Prepared
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    sending: set[int] = field(default_factory=set)
    settled: set[int] = field(default_factory=set)
    waiting: list = field(default_factory=list)  # (row id, outcome, detail), not yet recorded
    wake: asyncio.Event = field(default_factory=asyncio.Event)  # a group is full, or all done

    def __post_init__(self):
        self.ids = [prepared.row_id for prepared in self.ready]
        for prepared in self.ready:
            self.queue.put_nowait(prepared)

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
    try:
        while True:
            at = clock() if clock else now
            full = await _send_batch(delivery, run, at, size, rng, after_send)
            if run.summary.stopped or not full:
                break
            if time.monotonic() - started >= delivery.max_run_seconds:
                break
    finally:
        for client in run.clients:
            await asyncio.shield(discard(client))
    if run.summary.sent and not run.summary.stopped:
        await asyncio.to_thread(relay_works_again, delivery.sessions, at)
    await asyncio.to_thread(_record_run, delivery.sessions, at, run.summary)
    return run.summary


async def _send_batch(delivery, run, now, size, rng, after_send) -> bool:
    """Claim and send one batch; True when it was full (more may be due)."""
    claimed, ready = await asyncio.to_thread(prepare_batch, delivery, now, size, run.summary)
    if not claimed:
        return False
    run.summary.batches += 1
    batch = _Batch(ready)
    sent, done = asyncio.Event(), asyncio.Event()
    renewing = asyncio.create_task(_keep_leased(delivery, batch, now, sent))
    recording = asyncio.create_task(_keep_recording(delivery, batch, now, rng, run, done))
    try:
        async with asyncio.TaskGroup() as workers:
            for _ in range(min(delivery.connections, len(ready))):
                workers.create_task(_worker(delivery, run, batch, now, rng, after_send))
    except ExceptionGroup as failed:  # the first failure, as the run's (the others are logged)
        for other in failed.exceptions[1:]:
            log.error("another connection failed too: %r", other)
        raise failed.exceptions[0] from None
    finally:
        # Shielded: a cancelled run still gives its unsent rows back.
        done.set()
        batch.wake.set()
        await asyncio.shield(_give_back(delivery, batch, (recording, renewing), sent))
    return claimed == size


async def _give_back(delivery: Delivery, batch: _Batch, tasks, sent) -> None:
    """Record what is left (the recorder's last group), stop renewing (a renewal under way
    finishes first, so it cannot lease again what is given back), then release the rows whose
    send never started. A failure to record is the run's, after the rest is given back."""
    recorded = await asyncio.gather(tasks[0], return_exceptions=True)
    sent.set()
    await tasks[1]
    await asyncio.to_thread(release, delivery.sessions, batch.unstarted())
    if isinstance(recorded[0], BaseException):
        raise recorded[0]


async def _keep_recording(delivery, batch: _Batch, now, rng, run: _Run, done) -> None:
    """Commit the batch's outcomes in groups: GROUP of them, or every GROUP_SECONDS; when the
    batch is done (`done`), what is left. One group at a time, so none overtakes another. If
    recording fails the run stops sending: nothing more is sent that could not be recorded."""
    try:
        while not done.is_set() or batch.waiting:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(batch.wake.wait(), timeout=GROUP_SECONDS)
            batch.wake.clear()
            group, batch.waiting = batch.waiting, []
            if group:
                await asyncio.to_thread(record_many, delivery, group, now, rng, run.summary)
                batch.settled.update(row_id for row_id, _, _ in group)
    except BaseException:
        run.stop.set()
        raise


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
    client = run.clients.pop() if run.clients else None
    try:
        while not run.stop.is_set() and not batch.queue.empty():
            prepared = batch.queue.get_nowait()
            row_id = prepared.row_id
            if prepared.message is None:  # could not be rendered: retried later, not blocking
                await asyncio.to_thread(
                    record, delivery, row_id, RETRY, prepared.error, now, rng, run.summary
                )
                batch.settled.add(row_id)
                continue
            try:
                if client is None or not client.is_connected:
                    client = delivery.smtp.client()
                    await client.connect()
                batch.sending.add(row_id)
                await send_one(client, prepared.message, run.stop.is_set)
                outcome, detail = SENT, "250"
            except Stopped:  # no DATA was sent: given back with the rest
                batch.sending.discard(row_id)
                return
            except Exception as error:  # every failure is classified, none escapes silently
                outcome, detail = classify(error)
                if outcome in STOPPING:
                    run.stop.set()  # at once: the other connections start nothing more
                client = await discard(client)
            if outcome == SENT and after_send is not None:
                after_send(row_id)
            outcome = admit(delivery.permanent_failure_limit, run, outcome)
            if outcome in STOPPING:
                batch.sending.discard(row_id)  # refused, so not sent: given back with the rest
                await _stop(delivery, run, outcome, detail, now)
                return
            batch.waiting.append((row_id, outcome, detail))
            if len(batch.waiting) >= GROUP:
                batch.wake.set()
        if client is not None and client.is_connected:
            run.clients.append(client)  # kept for the next batch
            client = None
    finally:
        await discard(client)


async def _stop(delivery: Delivery, run: _Run, why: str, detail: str, now: datetime) -> None:
    run.stop.set()
    if run.alerted:
        return
    run.alerted = True
    run.summary.stopped = await asyncio.to_thread(
        stop_sending, delivery.sessions, why, detail, now, delivery.permanent_failure_limit
    )


def _record_run(sessions: sessionmaker[Session], now: datetime, summary: DeliverySummary) -> None:
    with transaction(sessions) as session:
        mail_health.record_run(session, now, summary.as_dict())
