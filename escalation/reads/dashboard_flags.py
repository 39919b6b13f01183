"""The dashboard's flags as SQL expressions on a disagreement row, each usable both as a column
of the page's one query and as a filter (never a query per row): a missed deadline (an earlier
stage that escalated at or after its deadline: the sweep escalates a stage automatically when
its deadline passes), an automatic escalation (the service moved it up: a deadline passed, an
agreed action was missed, a watched case reopened) and an unacknowledged stage (a stage whose
owner has not acknowledged it, while it is active). And the organisations the filters offer:
every one the partnership's directory names, and every one named on its disagreements, one
choice per organisation record (names that differ only in case are one). And how many of the
partnership's emails could not be delivered."""

from __future__ import annotations

from sqlalchemy import and_, exists, func, select, union
from sqlalchemy.orm import Session, aliased

from escalation.casework.lifecycle import SYSTEM
from escalation.store.models import (
    Disagreement,
    Event,
    Organisation,
    OutboxMessage,
    Person,
    StagePeriod,
)

AUTOMATIC_KINDS = ("escalate_automatically", "reopen")
UNDELIVERED = ("dead", "failed_permanent")
FLAG_WORDS = {
    "missed_deadline": "Missed deadline",
    "escalated_automatically": "Escalated automatically",
    "unacknowledged": "Not acknowledged",
}


def missed_deadline():
    """An earlier stage of the row's disagreement escalated at or after its deadline."""
    return exists().where(
        StagePeriod.disagreement_id == Disagreement.id,
        StagePeriod.ended_by == "escalate",
        StagePeriod.ended_at >= StagePeriod.due_at,
    )


def escalated_automatically():
    """The service moved the row's disagreement up at least once (see AUTOMATIC_KINDS)."""
    return exists().where(
        Event.disagreement_id == Disagreement.id,
        Event.kind.in_(AUTOMATIC_KINDS),
        Event.actor == SYSTEM,
    )


def unacknowledged():
    """The row's current stage is active and its owner has not acknowledged it."""
    return and_(
        Disagreement.status == "open",
        Disagreement.resolution_state.is_(None),
        Disagreement.stage_acknowledged_at.is_(None),
    )


FLAGS = {
    "missed_deadline": missed_deadline,
    "escalated_automatically": escalated_automatically,
    "unacknowledged": unacknowledged,
}


def same_organisation(column, name: str):
    """`column` names the organisation `name` (in any case, as Organisation.key does)."""
    return func.lower(column) == name.strip().lower()


def organisation_options(session: Session, partnership: str) -> list[tuple[str, str]]:
    """(value, text) per organisation the partnership's people or disagreements name, by name:
    the organisation record's name when there is one, else the text first named. One query:
    each side's names distinct first (a few dozen), by a walk of that side's index (see
    _distinct_names), then keyed and joined to the organisation records."""
    named = union(  # each side's names distinct first: a few dozen, not two per disagreement
        select(Person.organisation.label("name")).where(Person.partnership == partnership),
        _distinct_names(Disagreement.raiser_organisation, partnership),
        _distinct_names(Disagreement.counterpart_organisation, partnership),
    ).subquery("named")
    key = func.lower(func.trim(named.c.name))
    rows = session.execute(
        select(key, func.min(func.trim(named.c.name)), func.min(Organisation.name))
        .select_from(named)
        .outerjoin(Organisation, Organisation.key == key)
        .where(func.trim(named.c.name) != "")
        .group_by(key)
    ).all()
    names = sorted((record or typed for _, typed, record in rows), key=str.lower)
    return [(name, name) for name in names]


def _distinct_names(column, partnership: str):
    """The distinct values of `column` on the partnership's disagreements by a loose index scan
    of (partnership, column) (migration 0013): the first name, then again and again the next
    one after it, one index probe each, a few dozen in all, never a scan of the rows.
    PostgreSQL has no skip scan of its own: SELECT DISTINCT reads the whole index (10-40 ms at
    100,000 rows; without the index, 40-70 ms a side)."""
    later = aliased(Disagreement)
    later_name = getattr(later, column.key)
    first = select(column).where(Disagreement.partnership == partnership).order_by(column)
    found = select(first.limit(1).scalar_subquery().label("name")).cte(
        f"names_{column.key}", recursive=True
    )
    following = (
        select(later_name)
        .where(later.partnership == partnership, later_name > found.c.name)
        .order_by(later_name)
        .limit(1)
        .scalar_subquery()
    )
    found = found.union_all(select(following).where(found.c.name.is_not(None)))
    return select(found.c.name).where(found.c.name.is_not(None))


def undelivered_count(session: Session, partnership: str) -> int:
    """The partnership's emails that could not be delivered (the dashboard's warning)."""
    return session.execute(
        select(func.count())
        .select_from(OutboxMessage)
        .join(Disagreement, OutboxMessage.disagreement_id == Disagreement.id)
        .where(Disagreement.partnership == partnership, OutboxMessage.status.in_(UNDELIVERED))
    ).scalar_one()
