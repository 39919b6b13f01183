"""The fault bench's tables, in Markdown (for the issue's closing note), and the targets:
recovery within two sweep intervals after a crash, the alarm email within 5 minutes when every
worker is down, nothing lost, and no duplicate but the documented crash-after-250 one."""

from __future__ import annotations

from bench.fault_measure import Row

CRASHES = {"a", "b", "c", "f"}  # a sweep must complete within two intervals of the fault's end
ALARM_SECONDS = 300


def tables(rows: list[Row], interval: int) -> str:
    return "\n".join(
        [
            "Escalations and recovery (seconds; the recovery clock starts at the fault's end):",
            "",
            "| fault | due | lost | doubled | late median / max | next completed sweep after "
            "| last escalation > 1.5 intervals late, after the fault's end | sweep runs in the phase |",
            "|---|---|---|---|---|---|---|---|",
            *(_escalation_line(row) for row in rows),
            "",
            "Emails and the alarm (seconds):",
            "",
            "| fault | emails queued | lost | doubled | pending at the end | backlog delivered after "
            "| undeliverable notices / deputy hand-overs | alarm email after the fault began "
            "| alerts raised |",
            "|---|---|---|---|---|---|---|---|---|",
            *(_email_line(row) for row in rows),
            "",
            "Targets:",
            "",
            "| fault | target | measured | held |",
            "|---|---|---|---|",
            *(line for row in rows for line in _target_lines(row, interval)),
        ]
    )


def notes(rows: list[Row]) -> str:
    lines = []
    for row in rows:
        phase = row.phase
        window = f"{phase.start:%H:%M:%S}–{phase.end:%H:%M:%S}" if phase.end else ""
        fault = (
            f"fault {phase.fault_start:%H:%M:%S}–{phase.fault_end:%H:%M:%S}"
            if phase.fault_start and phase.fault_end
            else "fault not applied"
        )
        lines.append(
            f"- ({phase.key}) {phase.title}: phase {window} UTC, {fault}. " + "; ".join(phase.notes)
        )
    return "\n".join(lines)


def _escalation_line(row: Row) -> str:
    late = f"{_s(row.late_median)} / {_s(row.late_max)}"
    return (
        f"| ({row.phase.key}) {row.phase.title} | {row.due} | {row.escalations_lost} "
        f"| {row.escalations_doubled} | {late} | {_s(row.sweep_after)} | {_s(row.late_until)} "
        f"| {row.sweeps or '-'} |"
    )


def _email_line(row: Row) -> str:
    return (
        f"| ({row.phase.key}) {row.phase.title} | {row.emails} | {row.emails_lost} "
        f"| {row.emails_doubled} | {row.emails_pending} | {_s(row.mail_after)} "
        f"| {row.undeliverable} / {row.handed_on} | {_alarm(row)} | {row.alerts or '-'} |"
    )


def _target_lines(row: Row, interval: int) -> list[str]:
    name = f"({row.phase.key})"
    lines = [
        _target(
            name,
            "no escalation lost or doubled",
            f"{row.escalations_lost} lost, {row.escalations_doubled} doubled",
            row.escalations_lost == row.escalations_doubled == 0,
        ),
        _target(
            name,
            "no email lost; none doubled (but the crash-after-250 case)",
            f"{row.emails_lost} lost, {row.emails_doubled} doubled, {row.emails_pending} pending",
            row.emails_lost == 0 and row.emails_pending == 0 and row.emails_doubled <= 1,
        ),
    ]
    if row.phase.key in CRASHES:
        limit = 2 * interval
        lines.append(
            _target(
                name,
                f"a completed sweep within {limit} s of the fault's end",
                f"{_s(row.sweep_after)} s",
                row.sweep_after is not None and row.sweep_after <= limit,
            )
        )
    if row.phase.key == "b":
        lines.append(
            _target(
                name,
                f"alarm email within {ALARM_SECONDS} s of the workers dying",
                f"{_s(row.alarm_after)} s",
                row.alarm_after is not None and row.alarm_after <= ALARM_SECONDS,
            )
        )
    if row.phase.key == "e":
        lines.append(
            _target(
                name,
                "a relay refusal hands no case to a deputy",
                f"{row.undeliverable} undeliverable notices, {row.handed_on} hand-overs",
                row.undeliverable == row.handed_on == 0,
            )
        )
    return lines


def _target(name: str, target: str, measured: str, held: bool) -> str:
    return f"| {name} | {target} | {measured} | {'held' if held else '**not held**'} |"


def _alarm(row: Row) -> str:
    return "-" if row.alarm_after is None else f"{row.alarm_after:.0f} ({row.alarm_by})"


def _s(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.0f}"
