"""Figures for the board's quarterly meetings and annual report, for one partnership at `now`.

Each function answers one question the procedures ask of the board (DOMAIN.md): where open
disagreements are and how old; at which stage they get resolved; whether stages keep to the
policy's clock; what the outcomes are; who raises with whom; about what; whether the same child
keeps coming back; how many were urgent; which organisations never raise (under-use); and
what the board learnt from the disagreements it closed.
A breach is a stage that ran past its deadline: it ended at or after its due time (the sweep
escalates at the deadline), or is still open past it.

A reporting period (`since`, `until`: raised at or after `since` and before `until`) narrows
every figure to the disagreements raised in it; the open figures are still as at `now`.
`tables` lays the figures out for the board's pages and CSV downloads.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from escalation.rules.policy import Policy
from escalation.rules.vocabulary import CATEGORIES, LEARNING_THEMES, OUTCOMES
from escalation.store.models import Disagreement, Person, StagePeriod

AGE_BANDS = ((0, 7, "0-7 days"), (8, 30, "8-30 days"), (31, None, "over 30 days"))


def open_by_stage_and_age(
    session: Session,
    partnership: str,
    now: datetime,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Counter]:
    """Open disagreements by current stage, then by calendar days since raised."""
    table: dict[str, Counter] = {}
    for stage, raised_at in session.execute(
        select(Disagreement.stage_key, Disagreement.raised_at).where(
            *_raised(partnership, since, until), Disagreement.status == "open"
        )
    ):
        # A clock stepped back a little (NTP) can put `now` just before a raise: age 0, not -1.
        table.setdefault(stage, Counter())[_band(max((now - raised_at).days, 0))] += 1
    return table


def resolved_by_stage(
    session: Session,
    partnership: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, tuple[int, float]]:
    """How many resolved disagreements were resolved at each stage, and their share."""
    counts = Counter(
        dict(
            session.execute(
                select(Disagreement.resolved_stage, func.count())
                .where(*_raised(partnership, since, until), Disagreement.status == "resolved")
                .group_by(Disagreement.resolved_stage)
            ).all()
        )
    )
    total = sum(counts.values())
    return {stage: (count, count / total) for stage, count in counts.items()}


def stage_clock(
    session: Session,
    partnership: str,
    now: datetime,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, dict]:
    """Per stage: periods, breaches (past the deadline), and the median hours spent."""
    rows = session.execute(
        select(
            StagePeriod.stage_key, StagePeriod.entered_at, StagePeriod.ended_at, StagePeriod.due_at
        )
        .join(Disagreement, StagePeriod.disagreement_id == Disagreement.id)
        .where(*_raised(partnership, since, until))
    ).all()
    report: dict[str, dict] = {}
    for stage, entered, ended, due in rows:
        entry = report.setdefault(stage, {"periods": 0, "breaches": 0, "hours": []})
        entry["periods"] += 1
        entry["breaches"] += ended >= due if ended else now > due
        entry["hours"].append(((ended or now) - entered).total_seconds() / 3600)
    for entry in report.values():
        hours = sorted(entry.pop("hours"))
        middle = len(hours) // 2
        entry["median_hours"] = (
            hours[middle] if len(hours) % 2 else (hours[middle - 1] + hours[middle]) / 2
        )
    return report


def outcome_mix(
    session: Session,
    partnership: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Counter:
    return _count(
        session,
        _raised(partnership, since, until),
        Disagreement.outcome,
        Disagreement.outcome.is_not(None),
    )


def category_mix(
    session: Session,
    partnership: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Counter:
    return _count(session, _raised(partnership, since, until), Disagreement.category)


def learning_theme_mix(
    session: Session,
    partnership: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Counter:
    """How many closed disagreements the board tagged with each learning theme.

    Counted here rather than in SQL: SQLite and PostgreSQL unpack JSON lists differently.
    """
    lists = session.execute(
        select(Disagreement.learning_themes).where(
            *_raised(partnership, since, until),
            Disagreement.status != "open",
            Disagreement.learning_themes.is_not(None),
        )
    ).scalars()
    return Counter(theme for themes in lists for theme in themes or [])


def organisation_matrix(
    session: Session,
    partnership: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Counter:
    """(raising organisation, receiving organisation) -> number of disagreements."""
    return Counter(
        {
            (raiser, receiver): count
            for raiser, receiver, count in session.execute(
                select(
                    Disagreement.raiser_organisation,
                    Disagreement.counterpart_organisation,
                    func.count(),
                )
                .where(*_raised(partnership, since, until))
                .group_by(Disagreement.raiser_organisation, Disagreement.counterpart_organisation)
            )
        }
    )


def repeat_children(
    session: Session,
    partnership: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, int]:
    """Child references with more than one disagreement (a pattern the board should look at)."""
    return dict(
        session.execute(
            select(Disagreement.child_reference, func.count())
            .where(*_raised(partnership, since, until))
            .group_by(Disagreement.child_reference)
            .having(func.count() > 1)
        ).all()
    )


def urgent_count(
    session: Session,
    partnership: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> int:
    return session.execute(
        select(func.count())
        .select_from(Disagreement)
        .where(*_raised(partnership, since, until), Disagreement.urgent)
    ).scalar_one()


def never_raised(
    session: Session,
    partnership: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[str]:
    """Organisations in the directory that have never raised a disagreement (under-use)."""
    listed = set(
        session.execute(
            select(Person.organisation).where(Person.partnership == partnership, Person.active)
        ).scalars()
    )
    raised = set(
        session.execute(
            select(Disagreement.raiser_organisation)
            .distinct()
            .where(*_raised(partnership, since, until))
        ).scalars()
    )
    return sorted(listed - raised)


def _raised(partnership: str, since: datetime | None, until: datetime | None) -> list:
    where = [Disagreement.partnership == partnership]
    if since is not None:
        where.append(Disagreement.raised_at >= since)
    if until is not None:
        where.append(Disagreement.raised_at < until)
    return where


def _count(session: Session, where: list, column, *more) -> Counter:
    return Counter(
        dict(
            session.execute(
                select(column, func.count()).where(*where, *more).group_by(column)
            ).all()
        )
    )


def _band(days: int) -> str:
    for low, high, label in AGE_BANDS:
        if days >= low and (high is None or days <= high):
            return label
    raise ValueError(days)


# --- the figures as tables, for the board's pages and CSV downloads ---------------------------

OUTCOME_WORDS = {**OUTCOMES, "withdrawn": "Withdrawn by the person who raised it"}


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
    figures = _Figures(session, partnership, now, {"since": since, "until": until})
    builders = {
        "open-by-stage-and-age": lambda: _open_table(figures.open_now, policy),
        "resolved-by-stage": lambda: _resolved_table(figures.resolved, policy),
        "time-at-stage": lambda: _clock_table(figures.clock, policy),
        "breaches": lambda: _breaches_table(figures.clock, policy),
        "outcomes": lambda: _mix_table(
            "outcomes", "Outcomes", "Outcome", figures.outcomes, OUTCOME_WORDS
        ),
        "organisations": lambda: _matrix_table(figures.matrix),
        "categories": lambda: _mix_table(
            "categories",
            "What the disagreements were about",
            "Category",
            figures.categories,
            CATEGORIES,
        ),
        "learning-themes": lambda: _mix_table(
            "learning-themes",
            "What the board learnt from the disagreements it closed",
            "Learning theme",
            figures.themes,
            LEARNING_THEMES,
        ),
        "repeat-children": lambda: _repeats_table(figures.repeats),
        "urgent-track": lambda: _urgent_table(figures.urgent, sum(figures.categories.values())),
        "under-use": lambda: _under_use_table(figures.matrix, figures.never),
    }
    return [builders[name]() for name in FIGURES if only in (None, name)]


class _Figures:
    """The queries behind the tables, each run on first use (several tables share one)."""

    def __init__(self, session: Session, partnership: str, now: datetime, period: dict) -> None:
        self.session, self.partnership, self.now, self.period = session, partnership, now, period

    def _run(self, query, *now):
        return query(self.session, self.partnership, *now, **self.period)

    @cached_property
    def open_now(self):
        return self._run(open_by_stage_and_age, self.now)

    @cached_property
    def resolved(self):
        return self._run(resolved_by_stage)

    @cached_property
    def clock(self):
        return self._run(stage_clock, self.now)

    @cached_property
    def outcomes(self):
        return self._run(outcome_mix)

    @cached_property
    def matrix(self):
        return self._run(organisation_matrix)

    @cached_property
    def categories(self):
        return self._run(category_mix)

    @cached_property
    def themes(self):
        return self._run(learning_theme_mix)

    @cached_property
    def repeats(self):
        return self._run(repeat_children)

    @cached_property
    def urgent(self):
        return self._run(urgent_count)

    @cached_property
    def never(self):
        return self._run(never_raised)


def _open_table(open_now: dict[str, Counter], policy: Policy) -> Table:
    bands = [label for _, _, label in AGE_BANDS]
    rows, bars = [], []
    for key, title in _stages(policy, open_now):
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
    for key, title in _stages(policy, resolved):
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
        for key, title in _stages(policy, clock)
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
    for key, title in _stages(policy, clock):
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


def _stages(policy: Policy, seen) -> list[tuple[str, str]]:
    """(key, title) for the policy's stages in order, then any other stage key in `seen`."""
    known = [(stage.key, stage.title) for stage in policy.stages]
    others = sorted(set(seen) - {key for key, _ in known})
    return known + [(key, key) for key in others]


def _timescales(policy: Policy, key: str) -> str:
    if key not in {stage.key for stage in policy.stages}:
        return ""
    standard = policy.stage(key).timescale.describe()
    urgent = policy.urgent.timescales.get(key)
    return f"{standard}; urgent track {urgent.describe()}" if urgent else standard


def _percent(share: float) -> int:
    return int(share * 100 + 0.5)  # half up: 12.5% reads as 13%, as people expect
