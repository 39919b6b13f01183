"""Figures for the board's quarterly meetings and annual report, for one partnership at `now`.

Each function answers one question the procedures ask of the board (DOMAIN.md): where open
disagreements are and how old; at which stage they get resolved; whether stages keep to the
policy's clock; what the outcomes are; who raises with whom; about what; whether the same child
keeps coming back; how many were urgent; which organisations never raise (under-use); and
what the board learnt from the disagreements it closed, at which stage, between which agencies
and when (closed_with_learning).
A breach is a stage that ran past its deadline: it ended at or after its due time (the sweep
escalates at the deadline), or is still open past it.

A reporting period (`since`, `until`: raised at or after `since` and before `until`) narrows
every figure to the disagreements raised in it; the open figures are still as at `now`.
report_tables.py lays the figures out for the board's pages, CSV downloads and the command line.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from escalation.rules.calendar import local_date
from escalation.rules.vocabulary import OUTCOMES
from escalation.store.models import Disagreement, Organisation, Person, StagePeriod

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


@dataclass(frozen=True)
class Learnt:
    """One closed disagreement's learning, as the learning figures count it. Each side is named
    by its organisation and that organisation's agency type ("" when the directory gives none)."""

    stage: str  # the stage it was closed at
    raiser: tuple[str, str]  # (agency type, organisation)
    receiver: tuple[str, str]
    closed_at: datetime
    themes: tuple[str, ...]
    systemic: bool


def closed_with_learning(
    session: Session,
    partnership: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Learnt]:
    """The closed (resolved or withdrawn) disagreements with learning themes recorded, oldest
    closing first. A withdrawal has no resolved stage: it counts at the stage it was at.

    Agency types are the directory's now (an organisation has one; the disagreement keeps only
    the organisation's name as it was when raised)."""
    rows = session.execute(
        select(
            func.coalesce(Disagreement.resolved_stage, Disagreement.stage_key),
            Disagreement.raiser_organisation,
            Disagreement.counterpart_organisation,
            Disagreement.closed_at,
            Disagreement.learning_themes,
            Disagreement.learning_systemic,
        )
        .where(
            *_raised(partnership, since, until),
            Disagreement.status != "open",
            Disagreement.learning_themes.is_not(None),
        )
        .order_by(Disagreement.closed_at, Disagreement.id)
    ).all()
    types = agency_types(session, {name for row in rows for name in row[1:3]})
    return [
        Learnt(
            stage,
            (types.get(raiser.strip().lower(), ""), raiser),
            (types.get(receiver.strip().lower(), ""), receiver),
            closed_at,
            tuple(themes),
            bool(systemic),
        )
        for stage, raiser, receiver, closed_at, themes, systemic in rows
        if themes
    ]


def agency_types(session: Session, organisations: set[str]) -> dict[str, str]:
    """Organisation key (its name in lower case) -> agency type, for those the directory types."""
    keys = sorted({name.strip().lower() for name in organisations})
    if not keys:
        return {}
    return dict(
        session.execute(
            select(Organisation.key, Organisation.agency_type).where(Organisation.key.in_(keys))
        ).all()
    )


def quarter_of(instant: datetime, timezone: str) -> tuple[int, int]:
    """(year, quarter 1-4) of the local calendar day `instant` falls on."""
    day = local_date(instant, timezone)
    return day.year, (day.month - 1) // 3 + 1


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
    """Organisations in the directory that have never raised a disagreement (under-use): those
    of its listed people (not the decision-makers and API-named raisers recorded unlisted)."""
    listed = set(
        session.execute(
            select(Person.organisation).where(
                Person.partnership == partnership, Person.active, Person.listed
            )
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


# What the outcomes figure calls each outcome (a withdrawal is an outcome there).
OUTCOME_WORDS = {**OUTCOMES, "withdrawn": "Withdrawn by the person who raised it"}
