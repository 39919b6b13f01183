"""escalation-sweep: every 60 s (an interval in UTC), deployment concurrency limit 1 with
CANCEL_NEW, so an overlapping or late-burst run is cancelled rather than queued.

1. Take one `now` for the whole sweep (the given instant, or the clock).
2. Run the sweep as one task (a batch, never a task per disagreement); a long one records its
   progress as it goes, so the stall alarm does not take it for a dead one.
3. Return its summary.

On production workers the run sends a heartbeat every 30 s; if they stop, the Prefect server
marks the run Crashed (freeing the deployment's slot) and runs a sweep at once
(flows/automations.py).

Prefect may run this more than once (retries, late runs, duplicates): the database makes it
exactly-once in effect (see escalation.casework.sweep).
"""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from escalation import runtime
from escalation.casework.sweep import run_sweep
from escalation.rules.calendar import parse_instant


@task(cache_policy=NO_CACHE, persist_result=False, retries=2, retry_delay_seconds=[5, 30])
def sweep_due(now_iso: str) -> dict:
    return run_sweep(runtime.sessions(), now=parse_instant(now_iso)).as_dict()


@flow(name="escalation-sweep", persist_result=False)
def escalation_sweep(now: str | None = None) -> dict:
    now_iso = now or datetime.now(UTC).isoformat()
    summary = sweep_due(now_iso)
    get_run_logger().info("sweep at %s: %s", now_iso, summary)
    return summary
