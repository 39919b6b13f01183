"""The state of one delivery run and of the batch it is sending, and the two tasks that run
beside a batch's connections: one commits their outcomes in groups, one renews the leases.
(delivery.py runs them; outcomes.py does the database work.)"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from escalation.outbox.leases import renew
from escalation.outbox.outcomes import DeliverySummary, record_many

log = logging.getLogger(__name__)

GROUP, GROUP_SECONDS = 50, 0.5  # outcomes committed together: this many, or this often


@dataclass
class Run:
    """One run's shared state: its summary, whether to stop, its permanent failures so far."""

    summary: DeliverySummary = field(default_factory=DeliverySummary)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    permanent: int = 0
    alerted: bool = False
    ahead: list = field(default_factory=list)  # rows claimed for the next batch, not yet sent
    clients: list = field(default_factory=list)  # connected, idle between batches


@dataclass
class Batch:
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


async def keep_recording(delivery, batch: Batch, now, rng, run: Run, done) -> None:
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


async def keep_leased(delivery, run: Run, batch: Batch, now: datetime, sent) -> None:
    """Renew the batch's lease (and the next batch's, claimed meanwhile) every third of it until
    the batch is done (`sent` is set)."""
    began, every = time.monotonic(), delivery.lease.total_seconds() / 3
    while True:
        try:
            await asyncio.wait_for(sent.wait(), timeout=every)
            return
        except TimeoutError:
            pass
        until = now + timedelta(seconds=time.monotonic() - began) + delivery.lease
        try:
            await asyncio.to_thread(renew, delivery.sessions, batch.held() + run.ahead, until)
        except Exception:  # the sends will meet the same fault and stop the run
            log.exception("could not renew the lease of %s emails", len(batch.held()))
