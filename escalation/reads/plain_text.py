"""Plain-text views for the command line: a deadline table, one-line summaries, a full record
(with both sides of every stage, from reads/casefile.py, as the case pages show them), and the
board's report (the tables of reads/report_tables.py, as its web page shows them)."""

from __future__ import annotations

from datetime import datetime
from textwrap import wrap

from sqlalchemy.orm import Session

from escalation.casework.lifecycle import state_of
from escalation.reads.casefile import Casefile, StageLine, casefile
from escalation.reads.report_tables import tables
from escalation.reads.table import Table
from escalation.rules.calendar import date_text, due_text, utc_text
from escalation.rules.policy import Policy
from escalation.rules.vocabulary import CATEGORIES, OUTCOMES
from escalation.store.models import Disagreement


def when(instant: datetime, tz: str = "Europe/London") -> str:
    """'17:00 Tue 29 Dec 2026 GMT (2026-12-29T17:00Z)': local for people, UTC to check."""
    return f"{due_text(instant, tz)} ({utc_text(instant)})"


def deadlines_table(policy: Policy, started_at: datetime, urgent: bool) -> str:
    track = "urgent track (child at immediate risk)" if urgent else "standard track"
    lines = [
        f"{policy.name} — {policy.id} version {policy.version}, {track}",
        f"Each stage as if it began at {when(started_at, policy.timezone)}; "
        f"close of business {policy.close_of_business.strftime('%H:%M')}, "
        f"{policy.nation} bank holidays",
        "",
    ]
    first = policy.first_stage(urgent)
    for stage in policy.stages[policy.stage_index(first.key) :]:
        timescale = policy.timescale(stage.key, urgent)
        due = policy.due_at(stage.key, urgent, started_at)
        lines.append(f"{stage.key:<26} {timescale.describe():<16} due {when(due, policy.timezone)}")
        if timescale.working_days:
            skipped = policy.calendar.skipped_days(started_at, timescale.working_days)
            if skipped:
                days = ", ".join(f"{date_text(day)} ({why})" for day, why in skipped)
                lines.append(f"{'':<26} not counted: {days}")
    return "\n".join(lines)


def summary_line(disagreement: Disagreement, now: datetime | None = None) -> str:
    flags = []
    if disagreement.urgent:
        flags.append("URGENT")
    if now is not None and disagreement.is_overdue(now):
        flags.append("OVERDUE")
    if disagreement.final_stage_overdue_at:
        flags.append("OVERDUE AT FINAL STAGE")
    if disagreement.counterpart_silent_at:
        flags.append("COUNTERPART SILENT")
    flag_text = f" [{', '.join(flags)}]" if flags else ""
    if not disagreement.is_open:
        return (
            f"{disagreement.reference}  {disagreement.status} at {disagreement.stage_key}"
            f"{flag_text}"
        )
    return (
        f"{disagreement.reference}  {state_of(disagreement).replace('_', ' ')} at "
        f"{disagreement.stage_key}, owner {disagreement.owner.label()}, due "
        f"{when(disagreement.due_at)}{flag_text}"
    )


def record(session: Session, disagreement: Disagreement, now: datetime) -> str:
    file = casefile(session, disagreement)
    policy = file.policy
    stage = policy.stage(disagreement.stage_key)
    risk = "no"
    if disagreement.immediate_risk:
        risk = f"yes; protective action: {disagreement.protective_action}"
    lines = [
        summary_line(disagreement, now),
        "",
        f"Policy:            {policy.name} ({policy.id} version {policy.version})",
        f"Stage:             {disagreement.stage_index + 1} of {len(policy.stages)}, {stage.title}",
        f"Owner:             {disagreement.owner.label()}",
        f"Due:               {when(disagreement.due_at)}",
        f"Raised:            {when(disagreement.raised_at)} by {disagreement.raiser_name}, "
        f"{disagreement.raiser_role}, {disagreement.raiser_organisation}",
        f"Decision by:       {disagreement.counterpart_name}, {disagreement.counterpart_role}, "
        f"{disagreement.counterpart_organisation} <{disagreement.counterpart_email}>",
        f"Child reference:   {disagreement.child_reference}",
        f"Category:          {CATEGORIES[disagreement.category]}",
        f"Decision disputed: {disagreement.decision_disputed} "
        f"(made {date_text(disagreement.decision_date)})",
        f"Reason:            {disagreement.reason}",
        f"Outcome sought:    {disagreement.outcome_sought}",
        f"Immediate risk:    {risk}",
    ]
    if disagreement.outcome:
        label = OUTCOMES.get(disagreement.outcome, disagreement.outcome)
        lines.append(f"Outcome:           {label}: {disagreement.outcome_summary}")
    lines += learning_lines(disagreement, policy)
    lines += ending_lines(file)
    lines += ["", "Stages, both sides"]
    for line in file.stages:
        lines += stage_lines(line)
    lines += ["", "Chronology"]
    for event in file.events:
        move = f" {event.from_stage or ''} -> {event.to_stage or ''}".rstrip(" ->")
        note = f": {event.note}" if event.note else ""
        lines.append(f"  {when(event.at)}  {event.kind}{move}  by {event.actor}{note}")
    return "\n".join(lines)


def learning_lines(disagreement: Disagreement, policy: Policy) -> list[str]:
    if not disagreement.learning_themes:
        return []
    themes = policy.endings.learning_themes
    words = "; ".join(themes.get(key, key) for key in disagreement.learning_themes)
    systemic = "yes" if disagreement.learning_systemic else "no"
    return [
        f"Learning:          {words} (systemic: {systemic})",
        f"Lesson:            {disagreement.learning_lesson}",
    ]


def ending_lines(file: Casefile) -> list[str]:
    """Agreed actions and meetings, the says on the current proposal, the formal records."""
    lines = []
    if file.actions:
        lines += ["", "Agreed actions and meetings"]
        for action in file.actions:
            done = f": {action.done}" if action.done else ""
            lines.append(f"  [{action.state}] {action.what}, {action.owner}, {action.when}{done}")
    if file.says:
        lines += ["", "Says on the proposed resolution"]
        for say in file.says:
            reason = f": {say.reason}" if say.reason else ""
            lines.append(f"  the {say.part} ({say.email}): {say.answer}{reason}")
    if file.records:
        lines += ["", "Formal records"]
        for record in file.records:
            lines.append(
                f"  {record.title}, {record.stage}, {record.decided}, signed by {record.signed_by}"
            )
    return lines


def stage_lines(line: StageLine) -> list[str]:
    """One stage period: when, its owner and counterpart with why, the response, the deadline."""

    def who(name: str, detail: str, reason: str) -> str:
        about = f", {detail}" if detail else ""
        why = f" ({reason})" if reason else ""
        return f"{name}{about}{why}" if name else f"nobody{why}"

    ended = f"; {line.ended}" if line.ended else " (current)"
    return [
        f"  {line.title}: began {line.entered}{ended}",
        f"    Owner:        {who(line.owner, line.owner_detail, line.owner_reason)}",
        f"    Counterpart:  "
        f"{who(line.counterpart, line.counterpart_detail, line.counterpart_reason)}",
        f"    Response:     {line.response}",
        f"    Deadline:     {line.deadline}",
    ]


def board_report(session: Session, partnership: str, now: datetime, policy: Policy) -> str:
    """The board's report as its web page has it (every figure's table, all rows), in text."""
    produced = (
        f"All disagreements raised so far. Produced at {when(now, policy.timezone)}; open "
        "disagreements are counted as at that time."
    )
    lines = [f"Professional disagreements: board report ({partnership})", *wrap(produced, 100)]
    for table in tables(session, partnership, now, policy):
        lines += ["", *table_lines(table)]
    return "\n".join(lines)


def table_lines(table: Table) -> list[str]:
    """A figure's title, its header and rows in columns (labels left, numbers right), its note."""
    cells = [[str(cell) for cell in row] for row in [table.headers, *table.rows]]
    widths = [max(len(row[column]) for row in cells) for column in range(len(table.headers))]

    def line(row: list[str]) -> str:
        label, *numbers = (
            cell.rjust(width) if column else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        return "  ".join([label, *numbers]).rstrip()

    lines = [table.title, *(f"  {line(row)}" for row in cells)]
    if not table.rows:
        lines.append("  (none)")
    return lines + wrap(table.note, 100)
