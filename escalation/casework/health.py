"""The engine watches itself: heartbeats of the scheduled jobs, and alerts people must see.

Each sweep records when it started and completed. If no sweep has completed within 3x its
interval, `check_sweep` raises the `sweep_stalled` alert and emails every board manager (once per
stall). The check runs in the delivery flow, a separate deployment, so a dead sweep cannot hide
its own death; `escalation health` and (later) the web pages show the same alarm.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation.outbox import notifications
from escalation.outbox.kinds import MessageKind
from escalation.rules.calendar import time_text
from escalation.store.db import insert_ignoring_duplicates
from escalation.store.models import Alert, Heartbeat, Person

STALL_FACTOR = 3


@dataclass(frozen=True)
class SweepHealth:
    last_completed_at: datetime | None
    stalled: bool
    message: str


def sweep_started(session: Session, name: str, now: datetime) -> None:
    _heartbeat(session, name).last_started_at = now


def sweep_completed(session: Session, name: str, now: datetime, detail: dict) -> None:
    beat = _heartbeat(session, name)
    beat.last_completed_at, beat.detail = now, detail


def expect_sweeps(session: Session, name: str, now: datetime) -> None:
    """Start the stall clock when the service starts, even before any sweep has completed."""
    beat = _heartbeat(session, name)
    if beat.last_completed_at is None:
        beat.last_completed_at = now


def sweep_health(session: Session, name: str, now: datetime, interval_seconds: int) -> SweepHealth:
    beat = session.get(Heartbeat, name)
    if beat is None or beat.last_completed_at is None:
        return SweepHealth(None, False, "no sweep expected yet (the service has not started)")
    limit = timedelta(seconds=STALL_FACTOR * interval_seconds)
    age = now - beat.last_completed_at
    if age > limit:
        return SweepHealth(
            beat.last_completed_at,
            True,
            f"no sweep has completed since {beat.last_completed_at:%Y-%m-%d %H:%M:%S} UTC "
            f"({int(age.total_seconds())} s; limit {int(limit.total_seconds())} s): deadlines "
            "are not being enforced",
        )
    return SweepHealth(beat.last_completed_at, False, "sweeps are running")


def check_sweep(session: Session, name: str, now: datetime, interval_seconds: int) -> SweepHealth:
    """Raise the alarm (alert + one email per board manager per stall) if the sweep has stalled."""
    status = sweep_health(session, name, now, interval_seconds)
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
        key=status.last_completed_at.isoformat(),
        context={"since": time_text(status.last_completed_at)},
        now=now,
    )
    return status


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


def _heartbeat(session: Session, name: str) -> Heartbeat:
    """The job's row, locked; created first if new (safely, when two sweeps start together)."""
    insert = insert_ignoring_duplicates(session, Heartbeat, "name")
    session.execute(insert.values(name=name, detail={}))
    return session.get(Heartbeat, name, with_for_update=True, populate_existing=True)
