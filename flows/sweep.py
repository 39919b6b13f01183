"""escalation-sweep: every 60 s (an interval in UTC), deployment concurrency limit 1 with
CANCEL_NEW, so an overlapping or late-burst run is cancelled rather than queued.

1. Take one `now` for the whole sweep (the given instant, or the clock).
2. Run the sweep as one task (a batch, never a task per disagreement); a long one records its
   progress as it goes, so the stall alarm does not take it for a dead one.
3. If it queued emails and ran at the clock's time (a scheduled run, not a replay at a given
   `--now`), send them at once, in this run (`deliver_queued`), rather than at the next
   deliver-notifications run (up to its 30 s interval later, and only if that run starts after
   this sweep commits): deadline to email is then the sweep's interval and a second or two.
   The same delivery as deliver-notifications, through the same leases, so the two never send
   one email twice; bounded to IN_FLOW_SECONDS, so a burst never holds up the next sweep (the
   delivery deployment sends the rest); its failure is logged, never the sweep's.
4. Seal every disagreement's record that changed (casework/chain_anchor.py), after the emails
   so they never wait for it; a failure is logged, and the next run seals what this one did not.
5. Return the sweep's summary.

On production workers the run sends a heartbeat every 30 s; if they stop, the Prefect server
marks the run Crashed (freeing the deployment's slot) and runs a sweep at once
(flows/automations.py).

Prefect may run this more than once (retries, late runs, duplicates): the database makes it
exactly-once in effect (see escalation.casework.sweep).
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from escalation import runtime
from escalation.casework.sweep import run_sweep
from escalation.rules.calendar import parse_instant

IN_FLOW_SECONDS = 10  # at most this long delivering in the sweep's run (then the next batch)


@task(cache_policy=NO_CACHE, persist_result=False, retries=2, retry_delay_seconds=[5, 30])
def sweep_due(now_iso: str) -> dict:
    return run_sweep(runtime.sessions(), now=parse_instant(now_iso)).as_dict()


@task(cache_policy=NO_CACHE, persist_result=False)
def deliver_queued() -> dict:
    """Send what is due now, at the clock's time, for up to IN_FLOW_SECONDS. (Imported here: a
    sweep that queues nothing never loads the mail machinery.)"""
    from escalation.outbox.delivery import deliver

    outbox = dataclasses.replace(runtime.delivery(), max_run_seconds=IN_FLOW_SECONDS)
    return asyncio.run(deliver(outbox, now=_utc_now(), clock=_utc_now)).as_dict()


@task(cache_policy=NO_CACHE, persist_result=False)
def seal_records(now_iso: str) -> int:
    """Seal the chain heads that moved; how many."""
    from escalation.casework.chain_anchor import seal
    from escalation.store.db import transaction

    with transaction(runtime.sessions()) as session:
        anchor = seal(session, parse_instant(now_iso))
        return anchor.heads if anchor else 0


@flow(name="escalation-sweep", persist_result=False)
def escalation_sweep(now: str | None = None) -> dict:
    now_iso = now or _utc_now().isoformat()
    summary = sweep_due(now_iso)
    get_run_logger().info("sweep at %s: %s", now_iso, summary)
    if now is None and summary["queued_emails"]:
        try:
            sent = deliver_queued()
            get_run_logger().info("emails the sweep queued, sent at once: %s", sent)
        except Exception:  # the next delivery run sends them
            get_run_logger().exception("could not send the sweep's emails at once")
    try:
        get_run_logger().info("records sealed: %s", seal_records(now_iso))
    except Exception:  # the next run seals them
        get_run_logger().exception("could not seal the records")
    return summary


def _utc_now() -> datetime:
    return datetime.now(UTC)
