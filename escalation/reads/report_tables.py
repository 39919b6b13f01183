"""The board's figures (reports.py and learning.py) as tables: a header row, rows (a label, then
numbers), the bars of a chart and a note on how to read it. The board's report page, its CSV
downloads and `escalation board-report` all show these, so the three cannot disagree.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from functools import cache

from sqlalchemy.orm import Session

from escalation.reads.learning import closed_with_learning, learning_theme_mix
from escalation.reads.learning_tables import (
    learning_by_pair,
    learning_by_stage,
    learning_over_time,
)
from escalation.reads.reports import (
    AGE_BANDS,
    OUTCOME_WORDS,
    category_mix,
    never_raised,
    open_by_stage_and_age,
    organisation_matrix,
    outcome_mix,
    repeat_children,
    resolved_by_stage,
    stage_clock,
    urgent_count,
)
from escalation.reads.table import Bar, Table, stage_titles
from escalation.rules.policy import Policy
from escalation.rules.vocabulary import CATEGORIES, LEARNING_THEMES

FIGURES = (
    "open-by-stage-and-age",
    "resolved-by-stage",
    "time-at-stage",
    "breaches",
    "outcomes",
    "organisations",
    "categories",
    "learning-themes",
    "learning-by-stage",
    "learning-by-agency-pair",
    "learning-over-time",
    "repeat-children",
    "urgent-track",
    "under-use",
)


def tables(
    session: Session,
    partnership: str,
    now: datetime,
    policy: Policy,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    only: str | None = None,
) -> list[Table]:
    """Every figure (or just `only`), in the order the board's report reads; stages titled by
    `policy`. Each query runs once, and only for the figures asked for."""
    period = {"since": since, "until": until}

    @cache
    def figure(query, *at_now):
        """A query's answer, run on first use only (several tables share one)."""
        return query(session, partnership, *at_now, **period)

    builders = {
        "open-by-stage-and-age": lambda: _open_table(figure(open_by_stage_and_age, now), policy),
        "resolved-by-stage": lambda: _resolved_table(figure(resolved_by_stage), policy),
        "time-at-stage": lambda: _clock_table(figure(stage_clock, now), policy),
        "breaches": lambda: _breaches_table(figure(stage_clock, now), policy),
        "outcomes": lambda: _mix_table(
            "outcomes", "Outcomes", "Outcome", figure(outcome_mix), OUTCOME_WORDS
        ),
        "organisations": lambda: _matrix_table(figure(organisation_matrix)),
        "categories": lambda: _mix_table(
            "categories",
            "What the disagreements were about",
            "Category",
            figure(category_mix),
            CATEGORIES,
        ),
        "learning-themes": lambda: _mix_table(
            "learning-themes",
            "What the board learnt from the disagreements it closed",
            "Learning theme",
            figure(learning_theme_mix),
            LEARNING_THEMES,
        ),
        "learning-by-stage": lambda: learning_by_stage(figure(closed_with_learning), policy),
        "learning-by-agency-pair": lambda: learning_by_pair(figure(closed_with_learning), policy),
        "learning-over-time": lambda: learning_over_time(figure(closed_with_learning), policy),
        "repeat-children": lambda: _repeats_table(figure(repeat_children)),
        "urgent-track": lambda: _urgent_table(
            figure(urgent_count), sum(figure(category_mix).values())
        ),
        "under-use": lambda: _under_use_table(figure(organisation_matrix), figure(never_raised)),
    }
    return [builders[name]() for name in FIGURES if only in (None, name)]


def _open_table(open_now: dict[str, Counter], policy: Policy) -> Table:
    bands = [label for _, _, label in AGE_BANDS]
    rows, bars = [], []
    for key, title in stage_titles(policy, open_now):
        counts = open_now.get(key, Counter())
        rows.append((title, *(counts[band] for band in bands), sum(counts.values())))
        if counts:
            bars += [Bar(f"{title}, {band}", counts[band], str(counts[band])) for band in bands]
    return Table(
        "open-by-stage-and-age",
        "Open disagreements, by stage and age",
        ("Stage", *bands, "Total"),
        rows,
        bars,
        "Age is in calendar days since the disagreement was raised.",
    )


def _resolved_table(resolved: dict[str, tuple[int, float]], policy: Policy) -> Table:
    rows = []
    for key, title in stage_titles(policy, resolved):
        count, share = resolved.get(key, (0, 0.0))
        rows.append((title, count, _percent(share)))
    return Table(
        "resolved-by-stage",
        "Resolved disagreements, by the stage that resolved them",
        ("Stage", "Resolved", "Share (%)"),
        rows,
        [Bar(title, count, f"{count} ({share}%)") for title, count, share in rows],
    )


def _clock_table(clock: dict[str, dict], policy: Policy) -> Table:
    rows = [
        (
            title,
            _timescales(policy, key),
            clock[key]["periods"],
            round(clock[key]["median_hours"], 1),
        )
        for key, title in stage_titles(policy, clock)
        if key in clock
    ]
    return Table(
        "time-at-stage",
        "Time spent at each stage, against the policy's clock",
        ("Stage", "Policy timescale", "Periods at the stage", "Median hours at the stage"),
        rows,
        [Bar(title, hours, f"{hours:.1f} h") for title, _, _, hours in rows],
        "Elapsed hours from entering a stage to leaving it, or to now if it is still "
        "there. A timescale in working days runs to close of business on its last day: "
        "5 working days from 10:00 on a Monday is 175 hours.",
    )


def _breaches_table(clock: dict[str, dict], policy: Policy) -> Table:
    rows = []
    for key, title in stage_titles(policy, clock):
        if key in clock:
            periods, breaches = clock[key]["periods"], clock[key]["breaches"]
            rows.append((title, periods, breaches, _percent(breaches / periods)))
    return Table(
        "breaches",
        "Stages that ran past their deadline",
        ("Stage", "Periods at the stage", "Past the deadline", "Share past the deadline (%)"),
        rows,
        [Bar(title, breaches, f"{breaches} of {periods}") for title, periods, breaches, _ in rows],
        "A stage is past its deadline if it ended at or after its due time, or is still "
        "open after it.",
    )


def _mix_table(
    name: str, title: str, heading: str, counts: Counter, words: dict[str, str]
) -> Table:
    keys = list(words) + sorted(set(counts) - set(words))
    rows = [(words.get(key, key), counts[key]) for key in keys]
    return Table(
        name,
        title,
        (heading, "Disagreements"),
        rows,
        [Bar(label, count, str(count)) for label, count in rows],
    )


def _matrix_table(matrix: Counter) -> Table:
    raisers = sorted({raiser for raiser, _ in matrix})
    receivers = sorted({receiver for _, receiver in matrix})
    rows = [
        (
            raiser,
            *(matrix[raiser, receiver] for receiver in receivers),
            sum(matrix[raiser, receiver] for receiver in receivers),
        )
        for raiser in raisers
    ]
    pairs = sorted(matrix.items(), key=lambda item: (-item[1], item[0]))
    return Table(
        "organisations",
        "Who raises disagreements about whose decisions",
        ("Raising organisation", *receivers, "Total"),
        rows,
        [Bar(f"{raiser} → {receiver}", count, str(count)) for (raiser, receiver), count in pairs],
        "Rows: the organisation that raised it. Columns: the organisation whose decision "
        "was disputed.",
    )


def _repeats_table(repeats: dict[str, int]) -> Table:
    rows = sorted(repeats.items(), key=lambda item: (-item[1], item[0]))
    return Table(
        "repeat-children",
        "Children with more than one disagreement",
        ("Child reference", "Disagreements"),
        rows,
        [Bar(child, count, str(count)) for child, count in rows],
    )


def _urgent_table(urgent: int, total: int) -> Table:
    rows = [("Urgent track (child at immediate risk)", urgent), ("Standard track", total - urgent)]
    return Table(
        "urgent-track",
        "Disagreements on the urgent track",
        ("Track", "Disagreements"),
        rows,
        [Bar(label, count, str(count)) for label, count in rows],
    )


def _under_use_table(matrix: Counter, never: list[str]) -> Table:
    raised = Counter()
    for (raiser, _), count in matrix.items():
        raised[raiser] += count
    rows = [(organisation, 0) for organisation in never]
    rows += sorted(raised.items(), key=lambda item: (-item[1], item[0]))
    return Table(
        "under-use",
        "Disagreements raised, by organisation",
        ("Organisation", "Raised"),
        rows,
        [Bar(organisation, count, str(count)) for organisation, count in rows],
        "Organisations in the partnership's directory that have raised none come first: "
        "the procedure may be under-used there.",
    )


def _timescales(policy: Policy, key: str) -> str:
    stages = {stage.key: stage for stage in (*policy.stages, *policy.route_stages)}
    if key not in stages:
        return ""
    standard = stages[key].timescale.describe()
    urgent = policy.urgent.timescales.get(key)
    return f"{standard}; urgent track {urgent.describe()}" if urgent else standard


def _percent(share: float) -> int:
    return int(share * 100 + 0.5)  # half up: 12.5% reads as 13%, as people expect
