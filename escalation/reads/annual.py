"""The section on professional disagreements for the partnership's yearly report (Working
Together 2023 asks partnerships to report how their arrangements worked): counts, how far
disagreements went, how long they took, how they ended, what was learnt, and whether what was
agreed got done. One partnership, one period; the board's annual page and its CSV show it.

How the figures are counted (the page says the same under "How these figures are counted"):
* The period runs from `since` (included) to `until` (excluded). A period not yet over is
  counted up to `now`: its figures are "to date".
* Raised: raised in the period. Resolved and withdrawn: closed in the period, whenever raised.
  Open at the start and still open at the end make the four add up:
  open at the start + raised = resolved + withdrawn + still open at the end.
* How far they went: the disagreements raised in the period, by the highest stage each had
  reached by the end of the period (stages only go up).
* Time to resolution: the disagreements resolved in the period (not withdrawn), in working days
  of the policy's calendar from the day raised to the day resolved (0: the same working day);
  weekends, bank holidays and closure days are not counted, as the procedures' timescales are
  in working days. The median is the middle value (the mean of the two middle ones); the 90th
  percentile the nearest rank (the smallest value at least 90% of them are at or under).
* Outcomes and learning: the disagreements closed in the period.
* Agreed actions: those agreed in the period. Done on time: confirmed done by close of business
  on its date (for a meeting, by then or its start if later), the moment the sweep would chase it.
* Proposed, contested, reopened: those events in the period (a disagreement may have several).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from escalation.casework.actions import action_times
from escalation.casework.endings import ACCEPTED, BY_SILENCE
from escalation.reads.report_tables import SYSTEMIC, Table, stage_titles
from escalation.reads.reports import OUTCOME_WORDS
from escalation.rules.calendar import local_date
from escalation.rules.policy import Policy
from escalation.store.models import AgreedAction, Disagreement, Event, ResolutionSay, StagePeriod


@dataclass(frozen=True)
class Figure:
    """One row of the CSV: the table it is in, what it measures, its value (None: none)."""

    section: str
    measure: str
    value: int | float | str | None


@dataclass(frozen=True)
class AnnualSection:
    """The figures for one period, as tables (a header row, then rows: a label and numbers)."""

    partnership: str
    first_day: date  # local dates, both included
    last_day: date
    as_at: datetime  # the end of the period, or `now` if it is not over
    complete: bool  # the period is over
    counts: dict[str, int]
    tables: list[Table]
    headlines: list[str]  # sentences to open the section with

    def figures(self) -> list[Figure]:
        """Every number of every table, one a row: the CSV's rows, the page's numbers."""
        rows = []
        for table in self.tables:
            single = len(table.headers) == 2
            for label, *values in table.rows:
                for header, value in zip(table.headers[1:], values, strict=True):
                    measure = label if single else f"{label}: {header}"
                    rows.append(Figure(table.title, measure, value))
        return rows

    def table(self, name: str) -> Table:
        return next(table for table in self.tables if table.name == name)


def annual_section(
    session: Session,
    partnership: str,
    since: datetime,
    until: datetime,
    now: datetime,
    *,
    policy: Policy | None = None,
) -> AnnualSection:
    """The section for disagreements of `partnership` in [since, until), counted at `now`;
    stages, themes and working days are `policy`'s (by default the partnership's own)."""
    policy = policy or _partnership_policy(partnership)
    as_at = min(until, now)
    days = _resolution_days(session, partnership, policy, since, as_at)
    themes = _themes(session, partnership, since, as_at)
    counts = _counts(session, partnership, since, as_at)
    tables = [
        _counts_table(counts),
        _stages_table(_stages_reached(session, partnership, since, as_at), policy),
        _time_table(days),
        _outcomes_table(_closed(session, partnership, since, as_at, Disagreement.outcome)),
        _learning_table(themes, policy),
        _actions_table(_actions(session, partnership, policy, since, as_at)),
        _proposals_table(_proposals(session, partnership, since, as_at)),
    ]
    first_day = policy.calendar.local_date(since)
    last_day = policy.calendar.local_date(until - timedelta(microseconds=1))
    complete = until <= now
    period = f"From {day_words(first_day)} to " + (
        day_words(last_day) if complete else f"date ({day_words(policy.calendar.local_date(now))})"
    )
    tables_by_name = {table.name: table for table in tables}
    return AnnualSection(
        partnership,
        first_day,
        last_day,
        as_at,
        complete,
        counts,
        tables,
        _headlines(period, complete, counts, tables_by_name, days, themes, policy),
    )


def day_words(day: date) -> str:
    """'1 April 2025', as a yearly report writes a date."""
    return f"{day.day} {day:%B %Y}"


def reporting_year(day: date) -> int:
    """The April-to-March year `day` falls in, by the year it starts: 2025 for 1 April 2025 to
    31 March 2026."""
    return day.year if day.month >= 4 else day.year - 1


def first_year(session: Session, partnership: str, timezone: str) -> int | None:
    """The reporting year of the partnership's first disagreement (None: it has none)."""
    first = session.execute(
        select(func.min(Disagreement.raised_at)).where(Disagreement.partnership == partnership)
    ).scalar_one()
    return reporting_year(local_date(first, timezone)) if first else None


def median(values: list[int]) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    half = (ordered[middle - 1] + ordered[middle]) / 2
    return int(half) if half.is_integer() else half


def percentile_90(values: list[int]) -> int | None:
    """The nearest rank: the smallest value that at least 90% of the values are at or under."""
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1] if ordered else None


# --- the queries --------------------------------------------------------------------------------


def _counts(session: Session, partnership: str, since: datetime, as_at: datetime) -> dict:
    ours = Disagreement.partnership == partnership

    def count(*where) -> int:
        return session.execute(
            select(func.count()).select_from(Disagreement).where(ours, *where)
        ).scalar_one()

    def open_at(moment: datetime) -> int:
        still = Disagreement.closed_at.is_(None) | (Disagreement.closed_at >= moment)
        return count(Disagreement.raised_at < moment, still)

    def closed(status: str) -> int:
        return count(
            Disagreement.status == status,
            Disagreement.closed_at >= since,
            Disagreement.closed_at < as_at,
        )

    return {
        "open_at_start": open_at(since),
        "raised": count(Disagreement.raised_at >= since, Disagreement.raised_at < as_at),
        "resolved": closed("resolved"),
        "withdrawn": closed("withdrawn"),
        "still_open": open_at(as_at),
    }


def _closed(session, partnership, since, as_at, *columns) -> list:
    """`columns` of the disagreements closed in the period."""
    return session.execute(
        select(*columns).where(
            Disagreement.partnership == partnership,
            Disagreement.status != "open",
            Disagreement.closed_at >= since,
            Disagreement.closed_at < as_at,
        )
    ).all()


def _resolution_days(session, partnership, policy: Policy, since, as_at) -> list[int]:
    """Working days from raised to resolved (working_days_overdue counts the working days
    after the first day up to the second, the same way)."""
    rows = _closed(
        session,
        partnership,
        since,
        as_at,
        Disagreement.status,
        Disagreement.raised_at,
        Disagreement.closed_at,
    )
    calendar = policy.calendar
    return sorted(
        calendar.working_days_overdue(raised, closed)
        for status, raised, closed in rows
        if status == "resolved"
    )


def _stages_reached(session, partnership, since, as_at) -> dict[str, Counter]:
    """'highest': stage key -> how many had it as their highest by the end; 'reached': stage
    key -> how many had been at it."""
    rows = session.execute(
        select(StagePeriod.disagreement_id, StagePeriod.stage_key, StagePeriod.stage_index)
        .join(Disagreement, StagePeriod.disagreement_id == Disagreement.id)
        .where(
            Disagreement.partnership == partnership,
            Disagreement.raised_at >= since,
            Disagreement.raised_at < as_at,
            StagePeriod.entered_at < as_at,
        )
        .order_by(StagePeriod.disagreement_id, StagePeriod.entered_at, StagePeriod.id)
    ).all()
    highest: dict[int, tuple[int, str]] = {}
    reached: dict[int, set[str]] = {}
    for disagreement_id, key, index in rows:
        if index >= highest.get(disagreement_id, (-1, ""))[0]:
            highest[disagreement_id] = (index, key)
        reached.setdefault(disagreement_id, set()).add(key)
    return {
        "highest": Counter(key for _, key in highest.values()),
        "reached": Counter(key for keys in reached.values() for key in keys),
    }


def _themes(session, partnership, since, as_at) -> dict[str, Counter]:
    """'all' and 'systemic': theme -> disagreements closed in the period; 'closed': with and
    without learning recorded, and how many of those with it point to a systemic issue."""
    rows = _closed(
        session,
        partnership,
        since,
        as_at,
        Disagreement.learning_themes,
        Disagreement.learning_systemic,
    )
    counts = {"all": Counter(), "systemic": Counter(), "closed": Counter()}
    for themes, systemic in rows:
        counts["closed"]["with" if themes else "without"] += 1
        counts["closed"]["systemic"] += bool(themes and systemic)
        for theme in themes or []:
            counts["all"][theme] += 1
            counts["systemic"][theme] += bool(systemic)
    return counts


def _actions(session, partnership, policy: Policy, since, as_at) -> Counter:
    """Agreed actions (and convened meetings) agreed in the period, by how they ended."""
    items = session.execute(
        select(AgreedAction)
        .join(Disagreement, AgreedAction.disagreement_id == Disagreement.id)
        .where(
            Disagreement.partnership == partnership,
            AgreedAction.created_at >= since,
            AgreedAction.created_at < as_at,
        )
    ).scalars()
    counts = Counter()
    for item in items:
        counts["agreed"] += 1
        counts[_how_it_ended(policy, item, as_at)] += 1
    return counts


def _how_it_ended(policy: Policy, item: AgreedAction, as_at: datetime) -> str:
    """As at the end of the period: an action ended after it is still open then."""
    if item.ended is None or item.ended_at >= as_at:
        return "open"
    if item.ended != "done":
        return item.ended
    return "on_time" if item.ended_at <= action_times(policy, item).chase_at else "late"


def _proposals(session, partnership, since, as_at) -> Counter:
    events = session.execute(
        select(Event.kind, func.count())
        .join(Disagreement, Event.disagreement_id == Disagreement.id)
        .where(
            Disagreement.partnership == partnership,
            Event.kind.in_(("resolve", "contest", "reopen")),
            Event.at >= since,
            Event.at < as_at,
        )
        .group_by(Event.kind)
    ).all()
    says = session.execute(
        select(ResolutionSay.answer, func.count())
        .join(Disagreement, ResolutionSay.disagreement_id == Disagreement.id)
        .where(
            Disagreement.partnership == partnership,
            ResolutionSay.answer.in_((ACCEPTED, BY_SILENCE)),
            ResolutionSay.answered_at >= since,
            ResolutionSay.answered_at < as_at,
        )
        .group_by(ResolutionSay.answer)
    ).all()
    return Counter(dict(events)) + Counter(dict(says))


# --- the tables ---------------------------------------------------------------------------------

COUNT_WORDS = {
    "open_at_start": "Open at the start of the period",
    "raised": "Raised",
    "resolved": "Resolved",
    "withdrawn": "Withdrawn",
    "still_open": "Still open at the end of the period",
}


def _counts_table(counts: dict[str, int]) -> Table:
    rows = [(words, counts[key]) for key, words in COUNT_WORDS.items()]
    return Table("counts", "Disagreements", ("Disagreements", "Number"), rows, [])


def _stages_table(reached: dict[str, Counter], policy: Policy) -> Table:
    rows = [
        (title, reached["reached"][key], reached["highest"][key])
        for key, title in stage_titles(policy, reached["reached"])
    ]
    return Table(
        "stages",
        "How far the disagreements raised went",
        ("Stage", "Reached this stage", "Went no further"),
        rows,
        [],
        "The disagreements raised in the period, by the stages they had reached by its end.",
    )


def _time_table(days: list[int]) -> Table:
    rows = [
        ("Disagreements resolved", len(days)),
        ("Median time to resolution (working days)", median(days)),
        ("90th percentile time to resolution (working days)", percentile_90(days)),
    ]
    return Table(
        "time-to-resolution",
        "Time from raising to resolution",
        ("Measure", "Value"),
        rows,
        [],
        "Working days from the day a disagreement was raised to the day it was resolved "
        "(0: the same working day), for those resolved in the period.",
    )


def _outcomes_table(rows: list) -> Table:
    counts = Counter(outcome for (outcome,) in rows)
    keys = list(OUTCOME_WORDS) + sorted(set(counts) - set(OUTCOME_WORDS))
    return Table(
        "outcomes",
        "How the disagreements closed ended",
        ("Outcome", "Disagreements"),
        [(OUTCOME_WORDS.get(key, key), counts[key]) for key in keys],
        [],
    )


def _learning_table(themes: dict[str, Counter], policy: Policy) -> Table:
    words = policy.endings.learning_themes
    keys = list(words) + sorted(set(themes["all"]) - set(words))
    rows = [(words.get(key, key), themes["all"][key], themes["systemic"][key]) for key in keys]
    closed = themes["closed"]
    rows += [
        ("Closed with learning recorded", closed["with"], closed["systemic"]),
        ("Closed without learning recorded", closed["without"], None),
    ]
    return Table(
        "learning",
        "What was learnt from the disagreements closed",
        ("Learning theme", "Disagreements", SYSTEMIC),
        rows,
        [],
        "A disagreement may have several themes.",
    )


ACTION_WORDS = {
    "agreed": "Agreed actions and convened meetings",
    "on_time": "Done on time",
    "late": "Done late",
    "missed": "Missed (the disagreement reopened a stage higher)",
    "cancelled": "Cancelled (contested, reopened or withdrawn)",
    "open": "Still open at the end of the period",
}


def _actions_table(counts: Counter) -> Table:
    return Table(
        "agreed-actions",
        "Whether what was agreed got done",
        ("Agreed actions", "Number"),
        [(words, counts[key]) for key, words in ACTION_WORDS.items()],
        [],
        "Actions agreed in the period. On time: confirmed done by close of business on "
        "its date (a meeting: recorded by then, or by its start if later).",
    )


PROPOSAL_WORDS = {
    "resolve": "Resolutions proposed",
    ACCEPTED: "Accepted by the person asked",
    BY_SILENCE: "Accepted by silence (no answer in time)",
    "contest": "Contested (moved up a stage)",
    "reopen": "Reopened a stage higher (an action or meeting missed)",
}


def _proposals_table(counts: Counter) -> Table:
    return Table(
        "proposals",
        "Proposed resolutions: accepted, contested and reopened",
        ("Proposed resolutions", "Number"),
        [(words, counts[key]) for key, words in PROPOSAL_WORDS.items()],
        [],
        "Each is counted when it happened in the period: the raiser (and the professional "
        "whose decision stands) is asked for their say on each proposal.",
    )


# --- the headline sentences ---------------------------------------------------------------------


def _headlines(period, complete, counts, tables, days, themes, policy: Policy) -> list[str]:
    return [
        _raised_sentence(period, counts, complete),
        _stages_sentence(counts, tables["stages"], policy),
        _time_sentence(days),
        _learning_sentence(themes, policy),
        _actions_sentence(dict(tables["agreed-actions"].rows)),
        _proposals_sentence(dict(tables["proposals"].rows)),
    ]


def _raised_sentence(period: str, counts: dict[str, int], complete: bool) -> str:
    already = counts["open_at_start"]
    return (
        f"{period}, {_many(counts['raised'], 'professional disagreement')} "
        f"{_were(counts['raised'])} raised"
        + (f" ({already} {_were(already)} already open at the start)" if already else "")
        + f"; {counts['resolved']} {_were(counts['resolved'])} resolved, "
        f"{counts['withdrawn']} withdrawn and {counts['still_open']} "
        + ("still open at the end." if complete else "still open now.")
    )


def _stages_sentence(counts: dict[str, int], stages: Table, policy: Policy) -> str:
    first, final = policy.stages[0], policy.stages[-1]
    rows = {title: (reached, highest) for title, reached, highest in stages.rows}
    settled, final_reached = rows[first.title][1], rows[final.title][0]
    return (
        f"Of the {counts['raised']} raised, {settled} went no further than the first stage "
        f"({first.title.lower()}) and {final_reached} reached the final stage "
        f"({final.title.lower()})."
    )


def _time_sentence(days: list[int]) -> str:
    if not days:
        return "None was resolved in the period."
    return (
        f"Those resolved took a median of {_days(median(days))} from being raised; nine in "
        f"ten were resolved within {_days(percentile_90(days))}."
    )


def _learning_sentence(themes: dict[str, Counter], policy: Policy) -> str:
    closed = themes["closed"]
    total = closed["with"] + closed["without"]
    if not total:
        return "No disagreement was closed in the period."
    if not closed["with"]:
        return f"No learning was recorded for the {_many(total, 'disagreement')} closed."
    words = policy.endings.learning_themes
    top = sorted(themes["all"].items(), key=lambda item: (-item[1], item[0]))[:3]
    listed = [f"{words.get(key, key).lower()} ({count})" for key, count in top]
    named = listed[0] if len(listed) == 1 else f"{', '.join(listed[:-1])} and {listed[-1]}"
    return (
        f"Learning was recorded for {closed['with']} of the {total} disagreements closed; "
        f"the themes recorded most often were {named}. Of these, {closed['systemic']} pointed "
        "to a systemic issue."
    )


def _actions_sentence(rows: dict[str, int]) -> str:
    values = [rows[words] for words in ACTION_WORDS.values()]
    agreed, on_time, late, missed, cancelled, still = values
    if not agreed:
        return "No actions were agreed in the period."
    return (
        f"{_many(agreed, 'action or meeting', 'actions and meetings')} {_were(agreed)} agreed: "
        f"{on_time} done on time, {late} done late, {missed} missed, {cancelled} cancelled "
        f"and {still} still open."
    )


def _proposals_sentence(rows: dict[str, int]) -> str:
    proposed, accepted, silent, contested, reopened = (
        rows[words] for words in PROPOSAL_WORDS.values()
    )
    if not proposed:
        return "No resolution was proposed in the period."
    silence = f" and stayed silent {_times(silent)} (taken as acceptance)" if silent else ""
    return (
        f"{_many(proposed, 'resolution')} {_were(proposed)} proposed; those asked for their "
        f"say accepted {_times(accepted)}{silence}; {contested} {_were(contested)} contested, "
        f"moving the disagreement up a stage, and {_many(reopened, 'disagreement')} reopened "
        "a stage higher because an agreed action or meeting was missed."
    )


def _times(count: int) -> str:
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


def _many(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else many or one + 's'}"


def _were(count: int) -> str:
    return "was" if count == 1 else "were"


def _days(value: float | None) -> str:
    text = f"{value:g}"
    return f"{text} working day" + ("" if value == 1 else "s")


def _partnership_policy(partnership: str) -> Policy:
    from escalation.rules.policy import load_policies, partnership_policy
    from escalation.settings import get_settings

    settings = get_settings()
    policies = load_policies(settings.policies_dir)
    return partnership_policy(policies, partnership, settings.default_policy)
