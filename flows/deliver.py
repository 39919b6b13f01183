"""deliver-notifications: every 30 s (an interval in UTC), deployment concurrency limit 1 with
CANCEL_NEW.

1. Check the sweep is alive (no completed sweep in 3x its interval raises the alarm and emails
   the board managers: this flow is a separate deployment, so it watches the sweep).
2. Send what is due in the outbox, as one task (aiosmtplib, reused connections, bounded
   concurrency; see escalation.outbox.delivery for the outcomes).
"""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from escalation import runtime
from escalation.casework import health
from escalation.casework.sweep import SWEEP
from escalation.outbox.delivery import deliver
from escalation.rules.calendar import parse_instant
from escalation.settings import get_settings
from escalation.store.db import transaction


@task(cache_policy=NO_CACHE, persist_result=False)
def check_sweep_alive(now_iso: str) -> str:
    with transaction(runtime.sessions()) as session:
        interval = get_settings().sweep_interval_seconds
        return health.check_sweep(session, SWEEP, parse_instant(now_iso), interval).message


@task(cache_policy=NO_CACHE, persist_result=False)
async def send_due_emails(now_iso: str, limit: int) -> dict:
    summary = await deliver(runtime.delivery(), now=parse_instant(now_iso), limit=limit)
    return summary.as_dict()


@flow(name="deliver-notifications", persist_result=False)
async def deliver_notifications(now: str | None = None, limit: int = 500) -> dict:
    now_iso = now or datetime.now(UTC).isoformat()
    sweep_status = check_sweep_alive(now_iso)
    summary = await send_due_emails(now_iso, limit)
    get_run_logger().info("delivery at %s: %s (%s)", now_iso, summary, sweep_status)
    return summary
