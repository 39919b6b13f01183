"""What the fault bench counts, read afterwards from the app's database (the chronology, the
outbox, the alerts), Prefect's database (the sweep's runs) and the relay's log.

Per phase (from its start to the next phase's start):
- escalations: each case made due in the phase must have exactly one `escalate_automatically`
  event; none is lost, more than one is doubled. Lateness is the event's time (the sweep's
  `now`) minus the due time given.
- emails: each outbox row created in the phase must reach the relay once under its Message-ID.
  Lost: `sent` but never received, or `dead` / `failed_permanent`; still `pending` at the end is
  counted apart; `superseded` (the stage moved on before it went) is by design. Doubled: a
  Message-ID received more than once.
- recovery: from the fault's end to the end of the next completed sweep, to the last
  escalation more than 1.5 intervals late (one interval is the schedule's own lateness), and
  to the arrival of the last email queued before the fault's end.
- alarm: from the fault's start to the first stall email to a board manager.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, text

from bench.fault_actions import Phase
from bench.fault_load import Cases
from bench.fault_sink import Arrival

LOST_STATUSES = ("dead", "failed_permanent")
# Late beyond what the schedule alone explains: a case due just after a sweep began waits one
# interval for the next, plus that run's start-up (the sweep's `now` is taken once it runs).
LATE = 1.5


@dataclass(frozen=True)
class Email:
    message_id: str
    kind: str
    status: str
    created_at: datetime
    recipient: str


@dataclass
class Observed:
    escalations: dict[str, list[datetime]]
    emails: list[Email]
    arrivals: list[Arrival]
    sweeps: list[
        tuple[str, datetime, datetime | None, datetime | None]
    ]  # state, expected, start, end
    alerts: list[tuple[str, datetime]]  # kind, first raised (or raised again after clearing)
    handed_on: list[datetime]  # hand_to_deputy events by the system
    timer_alarms: list[datetime] = field(default_factory=list)  # health --alarm sent one


@dataclass
class Row:
    phase: Phase
    due: int = 0
    escalations_lost: int = 0
    escalations_doubled: int = 0
    late_median: float | None = None
    late_max: float | None = None
    emails: int = 0
    emails_lost: int = 0
    emails_doubled: int = 0
    emails_pending: int = 0
    undeliverable: int = 0
    handed_on: int = 0
    sweep_after: float | None = None
    late_until: float | None = None
    mail_after: float | None = None
    alarm_after: float | None = None
    alarm_by: str = ""
    sweeps: str = ""
    alerts: str = ""


def observe(app: Engine, prefect: Engine, arrivals: list[Arrival]) -> Observed:
    with app.connect() as connection:
        escalations = defaultdict(list)
        for reference, at in connection.execute(
            text(
                "SELECT d.reference, e.at FROM events e JOIN disagreements d "
                "ON d.id = e.disagreement_id WHERE e.kind = 'escalate_automatically'"
            )
        ):
            escalations[reference].append(at)
        emails = [
            Email(*row)
            for row in connection.execute(
                text("SELECT message_id, kind, status, created_at, recipient_email FROM outbox")
            )
        ]
        alerts = list(connection.execute(text("SELECT kind, first_at FROM alerts")).tuples())
        handed_on = list(
            connection.execute(
                text("SELECT at FROM events WHERE kind = 'hand_to_deputy' AND actor = 'system'")
            ).scalars()
        )
    with prefect.connect() as connection:
        sweeps = list(
            connection.execute(
                text(
                    "SELECT f.state_type::text, f.expected_start_time, f.start_time, f.end_time "
                    "FROM flow_run f JOIN deployment d ON d.id = f.deployment_id "
                    "WHERE d.name = 'escalation-sweep' AND f.state_type <> 'SCHEDULED'"
                )
            ).tuples()
        )
    return Observed(dict(escalations), emails, arrivals, sweeps, alerts, handed_on)


def timer_alarms(checks) -> list[datetime]:
    """When `escalation health --alarm` said it sent an alarm email ("alarm: 1 of 1 ...")."""
    return [
        check.at
        for check in checks
        if any(re.match(r"alarm: [1-9]", line) for line in check.output.splitlines())
    ]


def health_alerts(checks) -> list[tuple[str, datetime]]:
    """(kind, when) for each open alert a health check printed ("alert: KIND: ..."): an alert
    raised, cleared and raised again keeps one row, so its first time alone can mislead."""
    return [
        (line.split(":")[1].strip(), check.at)
        for check in checks
        for line in check.output.splitlines()
        if line.startswith("alert: ")
    ]


def measure(phases: list[Phase], cases: Cases, seen: Observed, interval: int) -> list[Row]:
    received = Counter(arrival.message_id for arrival in seen.arrivals)
    kinds = {email.message_id: email.kind for email in seen.emails}
    rows = []
    for phase in phases:
        row = Row(phase)
        _escalations(row, phase, cases, seen, interval)
        _emails(row, phase, seen, received)
        _recovery(row, phase, seen)
        row.alarm_after = _alarm(phase, seen.arrivals, kinds)
        if row.alarm_after is not None:
            row.alarm_by = _alarm_path(phase, row.alarm_after, seen.timer_alarms)
        row.sweeps = _sweep_states(phase, seen.sweeps)
        row.alerts = ", ".join(sorted({kind for kind, at in seen.alerts if _within(phase, at)}))
        row.handed_on = sum(1 for at in seen.handed_on if _within(phase, at))
        rows.append(row)
    return rows


def _escalations(row: Row, phase: Phase, cases: Cases, seen: Observed, interval: int) -> None:
    lateness, late_at = [], []
    for reference, (due, key) in cases.due.items():
        if key != phase.key:
            continue
        row.due += 1
        events = seen.escalations.get(reference, [])
        row.escalations_lost += not events
        row.escalations_doubled += len(events) > 1
        if events:
            late = (min(events) - due).total_seconds()
            lateness.append(late)
            if late > LATE * interval:
                late_at.append(min(events))
    if lateness:
        row.late_median, row.late_max = statistics.median(lateness), max(lateness)
    if phase.fault_end is not None:
        row.late_until = max([0.0, *((at - phase.fault_end).total_seconds() for at in late_at)])


def _emails(row: Row, phase: Phase, seen: Observed, received: Counter) -> None:
    for email in seen.emails:
        if not _within(phase, email.created_at):
            continue
        row.emails += 1
        row.emails_doubled += received[email.message_id] > 1
        row.emails_pending += email.status == "pending"
        row.undeliverable += email.kind == "undeliverable"
        row.emails_lost += email.status in LOST_STATUSES or (
            email.status == "sent" and received[email.message_id] == 0
        )


def _recovery(row: Row, phase: Phase, seen: Observed) -> None:
    end = phase.fault_end
    if end is None:
        return
    completed = [
        finish
        for state, _, _, finish in seen.sweeps
        if state == "COMPLETED" and finish is not None and finish >= end
    ]
    if completed:
        row.sweep_after = (min(completed) - end).total_seconds()
    backlog = {
        email.message_id
        for email in seen.emails
        if _within(phase, email.created_at) and email.created_at <= end
    }
    arrived = [arrival.at for arrival in seen.arrivals if arrival.message_id in backlog]
    if arrived:
        row.mail_after = max(0.0, (max(arrived) - end).total_seconds())


def _alarm(phase: Phase, arrivals: list[Arrival], kinds: dict[str, str]) -> float | None:
    """Seconds from the fault's start to the first stall email (by its outbox kind, or, for an
    email sent without an outbox row, its subject)."""
    if phase.fault_start is None:
        return None
    for arrival in sorted(arrivals, key=lambda arrival: arrival.at):
        stall = kinds.get(arrival.message_id) == "sweep_stalled" or arrival.subject.startswith(
            "ALARM"
        )
        if stall and _within(phase, arrival.at) and arrival.at >= phase.fault_start:
            return (arrival.at - phase.fault_start).total_seconds()
    return None


def _alarm_path(phase: Phase, after: float, timer_alarms: list[datetime]) -> str:
    """Who sent the alarm: the health timer (it says so) or else the web tier, called by the
    Prefect automation."""
    sent = phase.fault_start + timedelta(seconds=after)
    by_timer = any(abs((at - sent).total_seconds()) < 30 for at in timer_alarms)
    return "health timer" if by_timer else "web tier (Prefect automation)"


def _sweep_states(phase: Phase, sweeps) -> str:
    """The sweep's runs expected in the phase, by final state (e.g. COMPLETED 5, CANCELLED 2)."""
    states = Counter(state for state, expected, _, _ in sweeps if _within(phase, expected))
    return ", ".join(f"{state.lower()} {count}" for state, count in sorted(states.items()))


def _within(phase: Phase, at: datetime | None) -> bool:
    return at is not None and phase.start <= at and (phase.end is None or at < phase.end)
