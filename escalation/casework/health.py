"""The engine watches itself: heartbeats of the scheduled jobs, and alerts people must see.

Each sweep records when it started and completed, and a long sweep records its progress as it
goes (the `escalation-sweep/progress` row: every 50 disagreements or 15 s), so a sweep of
thousands of due cases is alive, not stalled. If the sweep has neither completed nor made
progress within 3x its interval, `check_sweep` raises the `sweep_stalled` alert and emails every
board manager (once per stall). Three independent callers run it: the delivery flow (a separate
deployment), `escalation health --alarm` (a timer on the web machine, not a worker) and the web
tier's /ops/sweep-stalled (called by the Prefect server's "sweep expected" automation); the two
last send the alarm at once (`pending_alarms`). The stall clock starts when the service is
deployed or started (`expect_sweeps`); before that no sweep is expected and `sweep_health` says
so, as unhealthy: a fresh install is not green.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from escalation.outbox import notifications
from escalation.outbox.kinds import MessageKind
from escalation.rules.calendar import time_text
from escalation.store.db import insert_ignoring_duplicates
from escalation.store.models import Alert, Heartbeat, OutboxMessage, Person

STALL_FACTOR = 3
PROGRESS = "/progress"  # the suffix of the row a long sweep writes as it goes
NEVER_EXPECTED = (
    "no sweep has ever been expected: run scripts/production/deploy (or `escalation health "
    "--start-clock`) to start the stall clock"
)


@dataclass(frozen=True)
class SweepHealth:
    last_completed_at: datetime | None
    stalled: bool
    message: str
    expected: bool = True  # False until the stall clock has been started
    alive_at: datetime | None = None  # the last completion, or later progress of a long sweep

    @property
    def healthy(self) -> bool:
        return self.expected and not self.stalled


def sweep_started(session: Session, name: str, now: datetime) -> None:
    _beat(session, name, last_started_at=now)


def sweep_completed(session: Session, name: str, now: datetime, detail: dict) -> None:
    _beat(session, name, last_completed_at=now, detail=detail)


def sweep_progress(session: Session, name: str, started_at: datetime, at: datetime, done: int):
    """A sweep that started at `started_at` has done `done` disagreements by `at`: alive."""
    _beat(
        session,
        name + PROGRESS,
        last_started_at=started_at,
        last_completed_at=at,
        detail={"done": done},
    )


def expect_sweeps(session: Session, name: str, now: datetime) -> None:
    """Start the stall clock when the service is deployed or starts, before any sweep has
    completed (kept as it is once started: a redeploy must not hide a stall)."""
    beat = _heartbeat(session, name)
    if beat.last_completed_at is None:
        beat.last_completed_at = now


def sweep_health(session: Session, name: str, now: datetime, interval_seconds: int) -> SweepHealth:
    """Is the sweep alive at `now`? Its last completion (or, before any, the start of the stall
    clock or of a first sweep) or a long sweep's progress within 3x the interval."""
    beat = session.get(Heartbeat, name)
    since = beat and (beat.last_completed_at or beat.last_started_at)
    if since is None:
        return SweepHealth(None, False, NEVER_EXPECTED, expected=False)
    progress = session.get(Heartbeat, name + PROGRESS)
    progress_at = progress.last_completed_at if progress is not None else None
    alive_at = max(since, progress_at or since)
    limit = timedelta(seconds=STALL_FACTOR * interval_seconds)
    age = now - alive_at
    if age > limit:
        message = (
            f"no sweep has completed since {since:%Y-%m-%d %H:%M:%S} UTC"
            + (f" nor made progress since {alive_at:%H:%M:%S} UTC" if alive_at > since else "")
            + f" ({int(age.total_seconds())} s; limit {int(limit.total_seconds())} s): "
            "deadlines are not being enforced"
        )
        return SweepHealth(beat.last_completed_at, True, message, alive_at=alive_at)
    message = "sweeps are running"
    if progress_at is not None and progress_at > since:
        done = progress.detail.get("done", 0)
        message = f"a long sweep is running ({done} done by {progress_at:%H:%M:%S} UTC)"
    return SweepHealth(beat.last_completed_at, False, message, alive_at=alive_at)


def check_sweep(session: Session, name: str, now: datetime, interval_seconds: int) -> SweepHealth:
    """Raise the alarm (alert + one email per board manager per stall) if the sweep has stalled;
    clear the alert once it runs again. Nothing before the stall clock has started."""
    status = sweep_health(session, name, now, interval_seconds)
    if not status.expected:
        return status
    if not status.stalled:
        clear_alert(session, key=f"stalled/{name}", now=now)
        return status
    raise_alert(
        session, key=f"stalled/{name}", kind="sweep_stalled", message=status.message, now=now
    )
    partnerships = sorted(set(session.execute(select(Person.partnership)).scalars()))
    notifications.alert_board_managers(
        session,
        kind=MessageKind.SWEEP_STALLED,
        partnerships=partnerships,
        key=status.alive_at.isoformat(),  # one email per stall: a new sign of life, a new stall
        context={"since": time_text(status.alive_at)},
        now=now,
    )
    return status


def pending_alarms(session: Session) -> list[int]:
    """The stall alarm emails not yet sent, for a caller that sends them at once (the health
    timer, the Prefect webhook) rather than waiting for a delivery run."""
    query = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.status == "pending",
            OutboxMessage.kind == MessageKind.SWEEP_STALLED.value,
        )
        .order_by(OutboxMessage.id)
    )
    return list(session.execute(query).scalars())


def raise_alert(session: Session, *, key: str, kind: str, message: str, now: datetime) -> Alert:
    """Open (or count again) the alert `key`; safe when two processes raise it together."""
    insert = insert_ignoring_duplicates(session, Alert, "key")
    values = dict(key=key, kind=kind, message=message, first_at=now, last_at=now, count=0)
    session.execute(insert.values(**values))
    alert = session.execute(
        select(Alert)
        .where(Alert.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    if alert.cleared_at is not None:
        alert.first_at, alert.count, alert.cleared_at = now, 0, None
    alert.message, alert.last_at, alert.count = message, now, alert.count + 1
    return alert


def clear_alert(session: Session, *, key: str, now: datetime) -> None:
    alert = session.execute(select(Alert).where(Alert.key == key)).scalar_one_or_none()
    if alert is not None and alert.cleared_at is None:
        alert.cleared_at = now


def open_alerts(session: Session) -> list[Alert]:
    return list(
        session.execute(
            select(Alert).where(Alert.cleared_at.is_(None)).order_by(Alert.first_at)
        ).scalars()
    )


def _beat(session: Session, name: str, **values) -> None:
    """Write `values` to the job's row, created if new, in one statement (INSERT ... ON CONFLICT
    DO UPDATE: safe when two sweeps start together). Decision: one statement, not insert, lock
    and update, because an idle sweep is little more than its heartbeats."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(Heartbeat).values(name=name, **{"detail": {}, **values})
    session.execute(
        statement.on_conflict_do_update(index_elements=[Heartbeat.name], set_=values),
        execution_options={"synchronize_session": False},
    )
    beat = session.identity_map.get(session.identity_key(Heartbeat, name))  # read before here
    if beat is not None:
        session.expire(beat)


def _heartbeat(session: Session, name: str) -> Heartbeat:
    """The job's row, locked; created first if new (safely, when two sweeps start together)."""
    insert = insert_ignoring_duplicates(session, Heartbeat, "name")
    session.execute(insert.values(name=name, detail={}))
    return session.get(Heartbeat, name, with_for_update=True, populate_existing=True)
