"""Organisations and their agency types (models.Organisation), as the directory's ways in give
them: one agency type per organisation, created or changed by an import or the board's form.

People name their organisation as text; an organisation is that text in lower case
(`Organisation.key`). A row that leaves `agency_type` blank says nothing about it: the
organisation keeps its type. Rows of one organisation that give different types are refused,
naming the rows. An organisation is shared by every partnership whose people work there, so a
board (scoped to its partnership) may give a type to an organisation that has none, or change
the type of one only its own partnership's people name; any other change is the service
administrator's (the whole-service import).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from escalation.rules.errors import RowProblem
from escalation.store.models import Organisation, Person

NOT_YOURS = "only the service administrator can change the agency type of {name} (it is {type!r})"


class Given(NamedTuple):
    """An agency type as a row (its spreadsheet number; None for the form) gives it."""

    row: int | None
    organisation: str
    agency_type: str

    @property
    def key(self) -> str:
        return self.organisation.strip().lower()


def disagreements(given: Iterable[Given]) -> list[RowProblem]:
    """Each row whose agency type differs from the first row's for the same organisation."""
    first: dict[str, Given] = {}
    problems = []
    for item in given:
        if not item.agency_type:
            continue
        earlier = first.setdefault(item.key, item)
        if earlier.agency_type != item.agency_type:
            message = (
                f"{item.agency_type!r} differs from row {earlier.row}'s {earlier.agency_type!r} "
                f"for {item.organisation}: give one agency type per organisation"
            )
            problems.append(RowProblem(item.row, "agency_type", message))
    return problems


def save(session: Session, given: Iterable[Given]) -> None:
    """Create or change each organisation given a type (after `disagreements` found none)."""
    wanted = {item.key: item for item in given if item.agency_type}
    stored = _stored(session, wanted)
    for key, item in wanted.items():
        organisation = stored.get(key) or Organisation(key=key, name=item.organisation.strip())
        organisation.agency_type = item.agency_type
        session.add(organisation)


def listed(session: Session, partnership: str) -> dict[str, str]:
    """The organisations the board's person form offers, key to name: each one the
    partnership's people name, by its record's name when it has one (so names that differ only
    in case are one organisation, and reports group by it). One query."""
    key = func.lower(func.trim(Person.organisation))
    rows = session.execute(
        select(key, func.min(func.trim(Person.organisation)), func.min(Organisation.name))
        .outerjoin(Organisation, Organisation.key == key)
        .where(Person.partnership == partnership, func.trim(Person.organisation) != "")
        .group_by(key)
    ).all()
    return dict(
        sorted(((k, record or typed) for k, typed, record in rows), key=lambda i: i[1].lower())
    )


def agency_type_of(session: Session, organisation: str) -> str:
    """The organisation's agency type; "" when the directory gives it none."""
    found = _stored(session, [organisation.strip().lower()]).get(organisation.strip().lower())
    return found.agency_type if found else ""


def changes_not_ours(
    session: Session, given: Iterable[Given], partnership: str
) -> list[RowProblem]:
    """For a board import or form: each row changing the type of an organisation that people of
    another partnership name too (see the module's doc)."""
    wanted = [item for item in given if item.agency_type]
    stored = _stored(session, [item.key for item in wanted])
    changed = {
        item.key
        for item in wanted
        if item.key in stored and stored[item.key].agency_type != item.agency_type
    }
    shared = _named_elsewhere(session, changed, partnership)
    return [
        RowProblem(
            item.row,
            "agency_type",
            NOT_YOURS.format(name=stored[item.key].name, type=stored[item.key].agency_type),
        )
        for item in wanted
        if item.key in shared
    ]


def _stored(session: Session, keys: Iterable[str]) -> dict[str, Organisation]:
    keys = sorted(set(keys))
    if not keys:
        return {}
    found = session.execute(select(Organisation).where(Organisation.key.in_(keys))).scalars()
    return {organisation.key: organisation for organisation in found}


def _named_elsewhere(session: Session, keys: set[str], partnership: str) -> set[str]:
    if not keys:
        return set()
    names = session.execute(
        select(func.lower(Person.organisation))
        .where(func.lower(Person.organisation).in_(sorted(keys)))
        .where(Person.partnership != partnership)
        .distinct()
    ).scalars()
    return set(names)
