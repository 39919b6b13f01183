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
from sqlalchemy.orm import Session

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
    the organisation record's name when there is one, else the text first named. One query,
    which first makes each side's names distinct as typed, so the keys and the join to the
    organisation records are made for those, not for two names per disagreement (1.4 s at
    100,000 disagreements on SQLite; the distinct scans are 60-110 ms)."""
    here = Disagreement.partnership == partnership
    named = union(  # each side's names distinct first: a few dozen, not two per disagreement
        select(Person.organisation.label("name")).where(Person.partnership == partnership),
        select(Disagreement.raiser_organisation).where(here).distinct(),
        select(Disagreement.counterpart_organisation).where(here).distinct(),
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


def undelivered_count(session: Session, partnership: str) -> int:
    """The partnership's emails that could not be delivered (the dashboard's warning)."""
    return session.execute(
        select(func.count())
        .select_from(OutboxMessage)
        .join(Disagreement, OutboxMessage.disagreement_id == Disagreement.id)
        .where(Disagreement.partnership == partnership, OutboxMessage.status.in_(UNDELIVERED))
    ).scalar_one()
