"""The board's figures (reports.py) as tables: a header row, rows (a label, then numbers), the
bars of a chart and a note on how to read it. The board's report page, its CSV downloads and
`escalation board-report` all show these, so the three cannot disagree.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import NamedTuple

from sqlalchemy.orm import Session

from escalation.reads.reports import (
    AGE_BANDS,
    OUTCOME_WORDS,
    Learnt,
    category_mix,
    closed_with_learning,
    learning_theme_mix,
    never_raised,
    open_by_stage_and_age,
    organisation_matrix,
    outcome_mix,
    quarter_of,
    repeat_children,
    resolved_by_stage,
    stage_clock,
    urgent_count,
)
from escalation.rules.policy import Policy
from escalation.rules.vocabulary import AGENCY_TYPES, CATEGORIES, LEARNING_THEMES


class Bar(NamedTuple):
    label: str
    value: float
    text: str  # the number as printed beside the bar


@dataclass(frozen=True)
class Table:
    """One figure: `name` (its CSV file's), a header row, rows (a label, then numbers), the bars
    of its chart, and a note on how to read it."""

    name: str
    title: str
    headers: tuple[str, ...]
    rows: list[tuple]
    bars: list[Bar]
    note: str = ""


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
        "learning-by-stage": lambda: _learning_by_stage(figure(closed_with_learning), policy),
        "learning-by-agency-pair": lambda: _learning_by_pair(figure(closed_with_learning), policy),
        "learning-over-time": lambda: _learning_over_time(figure(closed_with_learning), policy),
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


SYSTEMIC = "Points to a systemic issue"
WITH_LEARNING = "Closed with learning recorded"
LEARNING_NOTE = (
    "Closed (resolved or withdrawn) disagreements whose learning was recorded; one may have "
    "several themes, so the themes add up to more than the disagreements."
)


def _learning_by_stage(learnt: list[Learnt], policy: Policy) -> Table:
    """Rows: the policy's learning themes (then any other recorded), the systemic ones and all;
    columns: the stage each was closed at."""
    stages = stage_titles(policy, {item.stage for item in learnt})
    rows = [
        (label, *(sum(1 for item in chosen if item.stage == key) for key, _ in stages), len(chosen))
        for label, chosen in _learning_rows(learnt, policy)
    ]
    return Table(
        "learning-by-stage",
        "Learning themes, by the stage the disagreement was closed at",
        ("Learning theme", *(title for _, title in stages), "Total"),
        rows,
        [Bar(row[0], row[-1], str(row[-1])) for row in rows[:-2]],
        LEARNING_NOTE,
    )


def _learning_by_pair(learnt: list[Learnt], policy: Policy) -> Table:
    """Rows: who raised it with whom; columns: the themes, the systemic ones and all."""
    pairs: dict[str, list[Learnt]] = {}
    for item in learnt:
        pairs.setdefault(f"{_side(*item.raiser)} → {_side(*item.receiver)}", []).append(item)
    keys = _theme_keys(policy, learnt)
    rows = [
        (
            pair,
            *(sum(key in item.themes for item in items) for key in keys),
            sum(item.systemic for item in items),
            len(items),
        )
        for pair, items in sorted(pairs.items(), key=lambda entry: (-len(entry[1]), entry[0]))
    ]
    words = policy.endings.learning_themes
    return Table(
        "learning-by-agency-pair",
        "Learning themes, by the agencies that disagreed",
        ("Raising → receiving agency", *(words.get(key, key) for key in keys), SYSTEMIC, "Total"),
        rows,
        [Bar(row[0], row[-1], str(row[-1])) for row in rows],
        "Each side is named by its agency type where the directory gives its organisation one, "
        "else by the organisation. " + LEARNING_NOTE,
    )


def _learning_over_time(learnt: list[Learnt], policy: Policy) -> Table:
    """Rows: the themes, the systemic ones and all; columns: each quarter (calendar, local time)
    from the first closing to the last, those with none included."""
    quarters = _quarters([quarter_of(item.closed_at, policy.timezone) for item in learnt])
    rows = [
        (
            label,
            *(
                sum(1 for item in chosen if quarter_of(item.closed_at, policy.timezone) == q)
                for q in quarters
            ),
            len(chosen),
        )
        for label, chosen in _learning_rows(learnt, policy)
    ]
    labels = [_quarter_words(q) for q in quarters]
    return Table(
        "learning-over-time",
        "Learning themes, by the quarter the disagreement was closed in",
        ("Learning theme", *labels, "Total"),
        rows,
        [
            Bar(label, count, str(count))
            for label, count in zip(labels, rows[-1][1:-1], strict=True)
        ],
        LEARNING_NOTE,
    )


def _learning_rows(learnt: list[Learnt], policy: Policy) -> list[tuple[str, list[Learnt]]]:
    """(label, the disagreements it counts) for each theme, then the systemic ones, then all."""
    words = policy.endings.learning_themes
    rows = [
        (words.get(key, key), [item for item in learnt if key in item.themes])
        for key in _theme_keys(policy, learnt)
    ]
    return rows + [
        (SYSTEMIC, [item for item in learnt if item.systemic]),
        (WITH_LEARNING, learnt),
    ]


def _theme_keys(policy: Policy, learnt: list[Learnt]) -> list[str]:
    """The policy's themes in its order, then any other recorded (an earlier list's)."""
    known = list(policy.endings.learning_themes)
    return known + sorted({key for item in learnt for key in item.themes} - set(known))


def _side(agency_type: str, organisation: str) -> str:
    return AGENCY_TYPES.get(agency_type, agency_type) if agency_type else organisation


def _quarters(seen: list[tuple[int, int]]) -> list[tuple[int, int]]:
    if not seen:
        return []
    (year, quarter), last = min(seen), max(seen)
    quarters = []
    while (year, quarter) <= last:
        quarters.append((year, quarter))
        year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
    return quarters


def _quarter_words(quarter: tuple[int, int]) -> str:
    year, number = quarter
    return f"{('Jan–Mar', 'Apr–Jun', 'Jul–Sep', 'Oct–Dec')[number - 1]} {year}"


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


def stage_titles(policy: Policy, seen) -> list[tuple[str, str]]:
    """(key, title) for the policy's stages in order, then its category routes' own stages that
    `seen` holds, then any other stage key in `seen` (a stage of an earlier policy version)."""
    known = [(stage.key, stage.title) for stage in policy.stages]
    known += [(stage.key, stage.title) for stage in policy.route_stages if stage.key in seen]
    others = sorted(set(seen) - {key for key, _ in known})
    return known + [(key, key) for key in others]


def _timescales(policy: Policy, key: str) -> str:
    stages = {stage.key: stage for stage in (*policy.stages, *policy.route_stages)}
    if key not in stages:
        return ""
    standard = stages[key].timescale.describe()
    urgent = policy.urgent.timescales.get(key)
    return f"{standard}; urgent track {urgent.describe()}" if urgent else standard


def _percent(share: float) -> int:
    return int(share * 100 + 0.5)  # half up: 12.5% reads as 13%, as people expect
