"""Figures for the board's quarterly meetings and annual report, for one partnership at `now`.

Each function answers one question the procedures ask of the board (DOMAIN.md): where open
disagreements are and how old; at which stage they get resolved; whether stages keep to the
policy's clock; what the outcomes are; who raises with whom; about what; whether the same child
keeps coming back; how many were urgent; which organisations never raise (under-use). What the
board learnt from the disagreements it closed is counted in learning.py.
A breach is a stage that ran past its deadline: it ended at or after its due time (the sweep
escalates at the deadline), or is still open past it.

A reporting period (`since`, `until`: raised at or after `since` and before `until`) narrows
every figure to the disagreements raised in it; the open figures are still as at `now`.
report_tables.py lays the figures out for the board's pages, CSV downloads and the command line.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from escalation.rules.vocabulary import OUTCOMES
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
            *raised_in(partnership, since, until), Disagreement.status == "open"
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
                .where(*raised_in(partnership, since, until), Disagreement.status == "resolved")
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
        .where(*raised_in(partnership, since, until))
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
        raised_in(partnership, since, until),
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
    return _count(session, raised_in(partnership, since, until), Disagreement.category)


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
                .where(*raised_in(partnership, since, until))
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
            .where(*raised_in(partnership, since, until))
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
        .where(*raised_in(partnership, since, until), Disagreement.urgent)
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
            .where(*raised_in(partnership, since, until))
        ).scalars()
    )
    return sorted(listed - raised)


def raised_in(partnership: str, since: datetime | None, until: datetime | None) -> list:
    """The conditions for `partnership`'s disagreements raised in the period (None: open-ended)."""
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
