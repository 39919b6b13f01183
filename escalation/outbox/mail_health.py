"""Is mail getting out? Two signs an operator can act on, shown by `escalation health`.

1. The oldest email that is due and not yet sent. An email is due from when it is queued, and
   again when its backoff after a 4xx ends. One due for more than `DUE_LIMIT` (10 minutes) means
   delivery is not running or not keeping up: unhealthy. The oldest pending email of all (a row
   waiting out its backoff too) is shown, not judged: one mailbox that is full for an hour is
   that recipient's problem, not the service's.
2. The share of send attempts the relay refused for now (4xx, disconnect, timeout) in the last
   `RECENT_RUNS` delivery runs that tried to send (within the last hour). More than half (and at
   least `MIN_REFUSED` refusals, so one greylisted message does not turn health red) means the
   relay is in trouble: unhealthy.

Each delivery run records its counts (`record_run`) in the `heartbeats` row "deliver-notifications".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from escalation.store.db import insert_ignoring_duplicates
from escalation.store.models import Heartbeat, OutboxMessage

DELIVERY = "deliver-notifications"  # the heartbeat row of the delivery runs
DUE_LIMIT = timedelta(minutes=10)
RECENT_RUNS = 5
KEPT_RUNS = 20
RECENT_WINDOW = timedelta(hours=1)
RETRY_SHARE_LIMIT = 0.5
MIN_REFUSED = 3


@dataclass(frozen=True)
class MailHealth:
    lines: list[str] = field(default_factory=list)
    unhealthy: bool = False


def mail_health(session: Session, now: datetime) -> MailHealth:
    """The mail lines of `escalation health`, and whether any needs attention."""
    checks = [_pending(session, now), _overdue(session, now), _refusals(session, now)]
    lines = [line for line, _ in checks if line]
    return MailHealth(lines=lines, unhealthy=any(bad for _, bad in checks))


def record_run(session: Session, now: datetime, counts: dict) -> None:
    """Keep one delivery run's outcome counts (sent, retrying, dead, failed_permanent, stopped)
    with the last `KEPT_RUNS` runs'; safe when two runs record together (the row is locked)."""
    session.execute(
        insert_ignoring_duplicates(session, Heartbeat, "name").values(name=DELIVERY, detail={})
    )
    beat = session.get(Heartbeat, DELIVERY, with_for_update=True, populate_existing=True)
    run = {"at": now.isoformat(), **{key: counts.get(key, 0) for key in _COUNTED}}
    run["stopped"] = counts.get("stopped", "")
    runs = [*(beat.detail or {}).get("runs", []), run][-KEPT_RUNS:]
    beat.last_completed_at, beat.detail = now, {"runs": runs}


_COUNTED = ("sent", "retrying", "dead", "failed_permanent", "superseded")


def _pending(session: Session, now: datetime) -> tuple[str, bool]:
    count, oldest = session.execute(
        select(func.count(), func.min(OutboxMessage.created_at)).where(
            OutboxMessage.status == "pending"
        )
    ).one()
    if not count:
        return "mail: no email pending", False
    return f"mail: {count} email(s) pending; the oldest waiting {_minutes(now - oldest)}", False


def _overdue(session: Session, now: datetime) -> tuple[str, bool]:
    due_since = session.execute(
        select(func.min(OutboxMessage.next_attempt_at)).where(
            OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now
        )
    ).scalar()
    if due_since is None or now - due_since <= DUE_LIMIT:
        return "", False
    return (
        f"mail: an email due {_minutes(now - due_since)} ago has not been sent (limit "
        f"{_minutes(DUE_LIMIT)}): delivery is not running or not keeping up",
        True,
    )


def _refusals(session: Session, now: datetime) -> tuple[str, bool]:
    runs = recent_runs(session, now)
    attempts = sum(
        run["sent"] + run["retrying"] + run["dead"] + run["failed_permanent"] for run in runs
    )
    refused = sum(run["retrying"] + run["dead"] for run in runs)
    if not attempts:
        return "", False
    share = refused / attempts
    bad = share > RETRY_SHARE_LIMIT and refused >= MIN_REFUSED
    line = (
        f"mail: {share:.0%} of attempts in the last {len(runs)} run(s) were refused for now "
        f"(4xx, disconnect or timeout; {refused} of {attempts})"
    )
    return line + (": the relay is in trouble" if bad else ""), bad


def recent_runs(session: Session, now: datetime) -> list[dict]:
    """The last `RECENT_RUNS` delivery runs within `RECENT_WINDOW` that attempted a send."""
    beat = session.get(Heartbeat, DELIVERY)
    runs = (beat.detail or {}).get("runs", []) if beat else []
    since = now - RECENT_WINDOW
    tried = [
        run
        for run in runs
        if datetime.fromisoformat(run["at"]) >= since
        and run["sent"] + run["retrying"] + run["dead"] + run["failed_permanent"]
    ]
    return tried[-RECENT_RUNS:]


def _minutes(delta: timedelta) -> str:
    """A wait as an operator reads it: 40 s, 9 min, 5 h, 8 days."""
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    if seconds <= 2 * 3600:
        return f"{seconds // 60} min"
    if seconds <= 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"
