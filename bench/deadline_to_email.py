"""Deadline to email: `--cases` disagreements fall due one after another over `--window`
seconds; the escalation-sweep flow's own steps (the sweep, then its in-flow delivery of what it
queued) run every `--interval` seconds at the clock's time, as a scheduled run does; a real
SMTP server on loopback notes when each "you now own stage 2" email arrives. Prints arrival
minus deadline (median, 95th percentile, max) against the bound: the interval + 5 s.
With `--separate SECONDS` the sweep does not deliver; delivery runs on its own schedule every
SECONDS instead, as it did before the sweep sent its own emails (the figure to compare), each
delivery one second before a sweep: the case the issue names, a delivery run that starts just
before the sweep commits.

    .venv/bin/python -m bench.deadline_to_email [--cases 100] [--interval 10] [--window 60]
                                                [--separate 30] [--postgres URL]

The flow's tasks are called directly (.fn), not through a Prefect server and worker, so the
scheduler's own lateness (a run starting a few seconds late) is not in these figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime

from sqlalchemy import update

from bench.common import temporary_schema
from tests.smtp_server import ScriptedHandler, Server

BASE_URL = "https://rpd.example.org"


class Timed(ScriptedHandler):
    """Keeps each accepted message's arrival time (time.time()) with it."""

    def __init__(self):
        super().__init__()
        self.arrivals: list[tuple[float, str]] = []

    async def handle_DATA(self, server, session, envelope):
        reply = await super().handle_DATA(server, session, envelope)
        if reply.startswith("250"):
            self.arrivals.append((time.time(), str(self.messages[-1]["Subject"])))
        return reply


def _configure(url: str, smtp_url: str):
    os.environ.update(
        ESCALATION_DATABASE_URL=url,
        ESCALATION_SMTP_URL=smtp_url,
        ESCALATION_PUBLIC_BASE_URL=BASE_URL,
    )
    from escalation import runtime
    from escalation.settings import get_settings

    get_settings.cache_clear()
    runtime.sessions.cache_clear()
    return runtime


def _cases_due(runtime, cases: int, window: float) -> dict[str, float]:
    """`cases` raised now, their raise emails sent; then each made due at its own second of the
    window (from 5 s on). {reference: deadline as time.time()}."""
    import asyncio

    from escalation.outbox.delivery import deliver
    from escalation.store.db import transaction
    from escalation.store.models import Disagreement
    from escalation.store.schema import upgrade
    from tests.factories import load_directory, raise_one

    sessions = runtime.sessions()
    upgrade(sessions.kw["bind"])
    load_directory(sessions)
    now = datetime.now(UTC)
    references = [raise_one(sessions, now) for _ in range(cases)]
    asyncio.run(deliver(runtime.delivery(), now=now))
    start = time.time() + 5
    deadlines = {}
    with transaction(sessions) as session:
        for number, reference in enumerate(references):
            deadline = start + window * number / cases
            deadlines[reference] = deadline
            session.execute(
                update(Disagreement)
                .where(Disagreement.reference == reference)
                .values(due_at=datetime.fromtimestamp(deadline, UTC), remind_at=None)
            )
    return deadlines


def measure(url: str, cases: int, interval: float, window: float, separate: float = 0) -> None:
    handler, server = Timed(), Server()
    server.handler = server.controller.handler = handler
    with server:
        runtime = _configure(url, server.url())
        from flows.sweep import deliver_queued, sweep_due

        deadlines = _cases_due(runtime, cases, window)
        handler.arrivals.clear()
        ends = max(deadlines.values()) + interval + separate + 5
        tick = time.time()
        sending = tick - 1
        while min(tick, sending if separate else tick) < ends:
            if separate and sending < tick:  # the delivery deployment's own schedule
                time.sleep(max(0.0, sending - time.time()))
                deliver_queued.fn()
                sending += separate
                continue
            time.sleep(max(0.0, tick - time.time()))
            summary = sweep_due.fn(datetime.now(UTC).isoformat())
            if summary["queued_emails"] and not separate:
                deliver_queued.fn()
            tick += interval
        time.sleep(1)
        arrivals = handler.arrivals
    name = "postgresql" if url.startswith("postgresql") else "sqlite"
    how = f"delivery every {separate:g} s" if separate else "the sweep delivers"
    _report(f"{name:<10} {how}:", deadlines, arrivals, interval)


def _report(name: str, deadlines: dict[str, float], arrivals, interval: float) -> None:
    lags, missing = [], 0
    for reference, deadline in deadlines.items():
        seen = [at for at, subject in arrivals if reference in subject and "stage 2" in subject]
        if seen:
            lags.append(min(seen) - deadline)
        else:
            missing += 1
    lags.sort()
    p95 = lags[int(0.95 * (len(lags) - 1))] if lags else float("nan")
    print(
        f"{name} {len(deadlines)} cases, sweep every {interval:g} s: deadline to email "
        f"median {statistics.median(lags):.1f} s, p95 {p95:.1f} s, max {max(lags):.1f} s "
        f"(bound {interval + 5:g} s: {'met' if max(lags) <= interval + 5 else 'missed'}); "
        f"{missing} never arrived",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument("--interval", type=float, default=10)
    parser.add_argument("--window", type=float, default=60)
    parser.add_argument("--separate", type=float, default=0)
    parser.add_argument("--postgres")
    args = parser.parse_args()
    shape = (args.cases, args.interval, args.window, args.separate)
    with tempfile.TemporaryDirectory() as directory:
        measure(f"sqlite:///{directory}/d.db", *shape)
    if args.postgres:
        with temporary_schema(args.postgres) as url:
            measure(url, *shape)


if __name__ == "__main__":
    main()
