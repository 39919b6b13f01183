"""Plain-text views for the command line: a deadline table, one-line summaries, a full record."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy.orm import Session

from escalation.casework.chronology import events_of
from escalation.casework.lifecycle import state_of
from escalation.rules.calendar import date_text, due_text
from escalation.rules.policy import Policy
from escalation.rules.vocabulary import CATEGORIES, OUTCOMES
from escalation.store.models import Disagreement
from escalation.store.pinned_policies import policy_for


def when(instant: datetime, tz: str = "Europe/London") -> str:
    """'17:00 Tue 29 Dec 2026 GMT (2026-12-29T17:00Z)': local for people, UTC to check."""
    utc = instant.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%MZ")
    return f"{due_text(instant, tz)} ({utc})"


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
    for stage in policy.stages[policy.stage_index(first.key):]:
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
    flag_text = f" [{', '.join(flags)}]" if flags else ""
    if not disagreement.is_open:
        return (f"{disagreement.reference}  {disagreement.status} at {disagreement.stage_key}"
                f"{flag_text}")
    return (
        f"{disagreement.reference}  {state_of(disagreement).replace('_', ' ')} at "
        f"{disagreement.stage_key}, owner {disagreement.owner.label()}, due "
        f"{when(disagreement.due_at)}{flag_text}"
    )


def record(session: Session, disagreement: Disagreement, now: datetime) -> str:
    policy = policy_for(session, disagreement)
    stage = policy.stage(disagreement.stage_key)
    lines = [
        summary_line(disagreement, now),
        "",
        f"Policy:            {policy.name} ({policy.id} version {policy.version})",
        f"Stage:             {disagreement.stage_index + 1} of {len(policy.stages)}, {stage.title}",
        f"Owner:             {disagreement.owner.label()}",
        f"Due:               {when(disagreement.due_at)}",
        f"Raised:            {when(disagreement.raised_at)} by {disagreement.raiser_name}, "
        f"{disagreement.raiser_role}, {disagreement.raiser_organisation}",
        f"Counterpart:       {disagreement.counterpart_name}, {disagreement.counterpart_role}, "
        f"{disagreement.counterpart_organisation} <{disagreement.counterpart_email}>",
        f"Child reference:   {disagreement.child_reference}",
        f"Category:          {CATEGORIES[disagreement.category]}",
        f"Decision disputed: {disagreement.decision_disputed} "
        f"(made {disagreement.decision_date.isoformat()})",
        f"Reason:            {disagreement.reason}",
        f"Outcome sought:    {disagreement.outcome_sought}",
        f"Immediate risk:    {'yes; protective action: ' + disagreement.protective_action if disagreement.immediate_risk else 'no'}",
    ]
    if disagreement.outcome:
        label = OUTCOMES.get(disagreement.outcome, disagreement.outcome)
        lines.append(f"Outcome:           {label}: {disagreement.outcome_summary}")
    lines += ["", "Chronology"]
    for event in events_of(session, disagreement):
        move = f" {event.from_stage or ''} -> {event.to_stage or ''}".rstrip(" ->")
        note = f": {event.note}" if event.note else ""
        lines.append(f"  {when(event.at)}  {event.kind}{move}  by {event.actor}{note}")
    return "\n".join(lines)


def board_report(session: Session, partnership: str, now: datetime) -> str:
    """The board's figures as plain text (escalation/reads/reports.py computes them)."""
    from escalation.reads import reports

    lines = [f"Professional disagreements, {partnership}, at {when(now)}", ""]
    lines.append("Open, by stage and age:")
    for stage, bands in sorted(reports.open_by_stage_and_age(session, partnership, now).items()):
        lines.append(f"  {stage}: " + ", ".join(f"{band} {n}" for band, n in sorted(bands.items())))
    lines.append("Resolved, by the stage that resolved them:")
    for stage, (count, share) in reports.resolved_by_stage(session, partnership).items():
        lines.append(f"  {stage}: {count} ({share:.0%})")
    lines.append("Stages against the policy clock:")
    for stage, entry in reports.stage_clock(session, partnership, now).items():
        lines.append(f"  {stage}: {entry['periods']} periods, {entry['breaches']} past the "
                     f"deadline, median {entry['median_hours']:.1f} h")
    lines.append("Outcomes: " + _mix(reports.outcome_mix(session, partnership)))
    lines.append("Categories: " + _mix(reports.category_mix(session, partnership)))
    lines.append("Learning themes: " + _mix(reports.learning_theme_mix(session, partnership)))
    lines.append("Raised by -> about a decision of:")
    for (raiser, receiver), count in reports.organisation_matrix(session, partnership).most_common():
        lines.append(f"  {raiser} -> {receiver}: {count}")
    repeats = reports.repeat_children(session, partnership)
    lines.append(f"Children with more than one disagreement: {len(repeats)}")
    lines.append(f"Urgent track: {reports.urgent_count(session, partnership)}")
    lines.append("Organisations that have never raised one: "
                 + (", ".join(reports.never_raised(session, partnership)) or "none"))
    return "\n".join(lines)


def _mix(counts) -> str:
    return ", ".join(f"{key} {count}" for key, count in counts.most_common()) or "none"
