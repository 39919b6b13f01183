"""Delivery: send pending outbox rows through aiosmtplib, then record what the server said.

1. A run claims a batch (`batch_size` rows) on a short lease (leases.py): alarms first, then
   the longest due; in the same transaction it mints the batch's link tokens and renders its
   messages (outcomes.prepare_batch). While a full batch is sent the next is claimed and
   rendered, for up to `max_run_seconds`; so a burst is sent by one run, not one batch per run.
2. A few connections (reused across messages and batches) send in parallel, one recipient a
   message. The leases (this batch's, and the next's) are renewed while it is sent, so a slow
   relay never lets them run out. However the run ends (done, stopped, an exception, cancelled),
   the rows it had not started to send are released at once (untouched: not an attempt),
   the next batch's too. A row whose send had started keeps its lease: the server may have it.
3. Outcomes are committed in groups (batches.py: every GROUP outcomes or GROUP_SECONDS, and
   whatever is left when the batch ends, however it ends; outcomes.record_many):
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
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from escalation.outbox import mail_health
from escalation.outbox.batches import GROUP, Batch, Run, keep_leased, keep_recording
from escalation.outbox.leases import LEASE, claim, release
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
    relay_works_again,
    stop_sending,
)
from escalation.store.db import transaction

__all__ = ["Delivery", "DeliverySummary", "RetryPolicy", "claim", "deliver", "prepare", "record"]
__all__ += ["release"]

log = logging.getLogger(__name__)


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
    run, rng = Run(), rng or random.Random()
    size = limit or delivery.batch_size
    started, ahead = time.monotonic(), None
    try:
        at = clock() if clock else now
        batch = await _prepare(delivery, run, at, size)
        while batch is not None:
            at = batch[0]
            if batch[1] == size and time.monotonic() - started < delivery.max_run_seconds:
                # Full: the next batch is claimed and rendered while this one is sent.
                ahead = asyncio.create_task(
                    _prepare(delivery, run, clock() if clock else now, size)
                )
            await _send_batch(delivery, run, *batch, rng, after_send)
            if run.summary.stopped or ahead is None:
                break
            batch, ahead = await ahead, None
    finally:
        if ahead is not None:  # not sent after all: given back untouched
            await asyncio.shield(_give_back_ahead(delivery, run, ahead))
        for client in run.clients:
            await asyncio.shield(discard(client))
    if run.summary.sent and not run.summary.stopped:
        await asyncio.to_thread(relay_works_again, delivery.sessions, at)
    await asyncio.to_thread(_record_run, delivery.sessions, at, run.summary)
    return run.summary


async def _prepare(delivery, run: Run, at: datetime, size: int):
    """Claim, token and render a batch at `at`: (at, how many claimed, ready), or None if
    nothing was due. Until it is sent, its rows are renewed with the batch being sent."""
    claimed, ready = await asyncio.to_thread(prepare_batch, delivery, at, size, run.summary)
    run.ahead = [prepared.row_id for prepared in ready]
    return (at, claimed, ready) if claimed else None


async def _give_back_ahead(delivery, run: Run, ahead: asyncio.Task) -> None:
    await asyncio.gather(ahead, return_exceptions=True)
    await asyncio.to_thread(release, delivery.sessions, run.ahead)


async def _send_batch(delivery, run, now, claimed, ready, rng, after_send) -> None:
    """Send one claimed batch."""
    run.ahead = []
    run.summary.batches += 1
    batch = Batch(ready)
    sent, done = asyncio.Event(), asyncio.Event()
    renewing = asyncio.create_task(keep_leased(delivery, run, batch, now, sent))
    recording = asyncio.create_task(keep_recording(delivery, batch, now, rng, run, done))
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


async def _give_back(delivery: Delivery, batch: Batch, tasks, sent) -> None:
    """Record what is left (the recorder's last group), stop renewing (a renewal under way
    finishes first, so it cannot lease again what is given back), then release the rows whose
    send never started. A failure to record is the run's, after the rest is given back."""
    recorded = await asyncio.gather(tasks[0], return_exceptions=True)
    sent.set()
    await tasks[1]
    await asyncio.to_thread(release, delivery.sessions, batch.unstarted())
    if isinstance(recorded[0], BaseException):
        raise recorded[0]


async def _worker(delivery, run: Run, batch: Batch, now, rng, after_send) -> None:
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


async def _stop(delivery: Delivery, run: Run, why: str, detail: str, now: datetime) -> None:
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
