"""What the board learnt from the disagreements it closed, for one partnership: how many were
tagged with each learning theme (learning_theme_mix), and each closed disagreement's learning with
the stage it was closed at, the agencies on either side and when (closed_with_learning), counted
by quarter (quarter_of). A reporting period narrows them as it does every figure (reports.py).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from escalation.reads.reports import raised_in
from escalation.rules.calendar import local_date
from escalation.store.models import Disagreement, Organisation


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
            *raised_in(partnership, since, until),
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
            *raised_in(partnership, since, until),
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
