"""deliver-notifications: every 30 s (an interval in UTC), deployment concurrency limit 1 with
CANCEL_NEW.

1. Check the sweep is alive (no completed sweep in 3x its interval raises the alarm and emails
   the board managers: this flow is a separate deployment, so it watches the sweep).
2. Send what is due in the outbox, as one task (aiosmtplib, reused connections, bounded
   concurrency; see escalation.outbox.delivery for the outcomes): batches of
   ESCALATION_DELIVERY_BATCH_SIZE, claimed again while mail is waiting, for up to
   ESCALATION_DELIVERY_MAX_RUN_SECONDS. Each batch is claimed at the current time, unless the
   run was given `now`. The run records its counts for `escalation health` (outbox.mail_health).

A failed run is retried (RETRIES times, RETRY_DELAY_SECONDS apart). That is safe: a failed run
gives back the emails it had not started to send, and each sent email is recorded as it goes,
so a retry sends only what is still pending.
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

RETRIES, RETRY_DELAY_SECONDS = 2, 10


@task(cache_policy=NO_CACHE, persist_result=False)
def check_sweep_alive(now_iso: str) -> str:
    with transaction(runtime.sessions()) as session:
        interval = get_settings().sweep_interval_seconds
        return health.check_sweep(session, SWEEP, parse_instant(now_iso), interval).message


@task(cache_policy=NO_CACHE, persist_result=False)
async def send_due_emails(now_iso: str | None, limit: int | None = None) -> dict:
    """Send what is due; at `now_iso` for every batch if given, else at the clock's time."""
    clock = None if now_iso else _utc_now
    now = parse_instant(now_iso) if now_iso else _utc_now()
    summary = await deliver(runtime.delivery(), now=now, limit=limit, clock=clock)
    return summary.as_dict()


@flow(
    name="deliver-notifications",
    persist_result=False,
    retries=RETRIES,
    retry_delay_seconds=RETRY_DELAY_SECONDS,
)
async def deliver_notifications(now: str | None = None, limit: int | None = None) -> dict:
    now_iso = now or _utc_now().isoformat()
    sweep_status = check_sweep_alive(now_iso)
    summary = await send_due_emails(now, limit)
    get_run_logger().info("delivery at %s: %s (%s)", now_iso, summary, sweep_status)
    return summary


def _utc_now() -> datetime:
    return datetime.now(UTC)
