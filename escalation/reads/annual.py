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

The queries are in annual_counts.py, the tables in annual_tables.py and the sentences that open
the section in annual_headlines.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from escalation.reads import annual_counts
from escalation.reads.annual_headlines import headlines
from escalation.reads.annual_tables import (
    actions_table,
    counts_table,
    learning_table,
    outcomes_table,
    proposals_table,
    stages_table,
    time_table,
)
from escalation.reads.table import Table
from escalation.rules.calendar import local_date
from escalation.rules.policy import Policy
from escalation.store.models import Disagreement


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
    days = annual_counts.resolution_days(session, partnership, policy, since, as_at)
    themes = annual_counts.themes(session, partnership, since, as_at)
    counts = annual_counts.period_counts(session, partnership, since, as_at)
    tables = [
        counts_table(counts),
        stages_table(annual_counts.stages_reached(session, partnership, since, as_at), policy),
        time_table(days),
        outcomes_table(
            annual_counts.closed_in(session, partnership, since, as_at, Disagreement.outcome)
        ),
        learning_table(themes, policy),
        actions_table(annual_counts.actions(session, partnership, policy, since, as_at)),
        proposals_table(annual_counts.proposals(session, partnership, since, as_at)),
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
        headlines(period, complete, counts, tables_by_name, days, themes, policy),
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


def _partnership_policy(partnership: str) -> Policy:
    from escalation.rules.policy import load_policies, partnership_policy
    from escalation.settings import get_settings

    settings = get_settings()
    policies = load_policies(settings.policies_dir)
    return partnership_policy(policies, partnership, settings.default_policy)
