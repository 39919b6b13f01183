"""The directory: who holds each role, their deputies and absences, and who owns a stage.

Owner resolution (one accountable owner per stage, always):
1. the holder of the stage's role (for a named professional: in the raiser's organisation;
   otherwise in the partnership); several holders -> the first by name, so the choice is stable;
2. nobody holds the role -> the partnership's board manager holds the stage, and the chronology
   says so (a gap in the directory must not stall escalation);
3. the chosen person is absent that day -> their deputy (following the deputy's own deputy if
   they are absent too); no deputy available -> the board manager.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from escalation.rules.calendar import date_text
from escalation.rules.errors import DirectoryError
from escalation.store.models import Person, PersonRole

EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
# Control characters (C0 with tab, CR, LF and NUL; DEL; C1) and the Unicode line and paragraph
# separators: never part of a name, a role, an organisation or an address. NUL cannot be stored
# on PostgreSQL; a line break forges lines in emails, logs and CSV files.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
NO_CONTROL = "must not contain line breaks, tabs or other control characters"
LOOKUP_CHUNK = 500
ROLE_WORDS = {
    "named_professional": "named professional",
    "designated_professional": "designated professional",
    "board_manager": "board manager",
    "chair": "chair",
    "raiser": "raiser",
    "practitioner": "practitioner",
}
MAX_DEPUTY_HOPS = 5


@dataclass(frozen=True)
class Assignment:
    """Who owns a stage, and (when it is not the obvious holder) why, for the chronology."""

    person: Person
    note: str = ""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_person(session: Session, email: str) -> Person | None:
    """The person with this address (any case, surrounding spaces ignored), or None. An address
    with a control character is nobody's (and is never sent to the database)."""
    if CONTROL.search(email.strip()):
        return None
    return session.execute(
        select(Person).where(Person.email == normalise_email(email))
    ).scalar_one_or_none()


def people_by_email(session: Session, emails: Iterable[str]) -> dict[str, Person]:
    """The people holding any of `emails`, by normalised address: one query per 500 addresses
    (an import reads its people at once, not one by one). Blank addresses and addresses with a
    control character match nobody."""
    wanted = sorted({normalise_email(email) for email in emails} - {""})
    wanted = [email for email in wanted if not CONTROL.search(email)]
    found: dict[str, Person] = {}
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start : start + LOOKUP_CHUNK]
        people = session.execute(select(Person).where(Person.email.in_(chunk))).scalars()
        found.update({person.email: person for person in people})
    return found


def role_holders(
    session: Session, role: str, partnership: str, organisation: str | None = None
) -> list[Person]:
    query = (
        select(Person)
        .join(PersonRole)
        .where(PersonRole.role == role, Person.partnership == partnership, Person.active)
        .order_by(Person.name, Person.id)
    )
    if organisation is not None:
        query = query.where(func.lower(Person.organisation) == organisation.strip().lower())
    return list(session.execute(query).scalars())


def resolve_owner(
    session: Session, *, role: str, partnership: str, raiser: Person, on: date
) -> Assignment:
    """The one accountable owner for a stage owned by `role`, on local date `on`."""
    if role == "raiser":
        return _available(session, raiser, partnership, on)
    organisation = raiser.organisation if role == "named_professional" else None
    holders = role_holders(session, role, partnership, organisation)
    if holders:
        return _available(session, holders[0], partnership, on)
    where = f" in {organisation}" if organisation else ""
    manager = _board_manager(session, partnership, role)
    gap = f"nobody holds the {ROLE_WORDS[role]} role{where} in the directory"
    return Assignment(manager, f"{gap}; the board manager holds this stage")


def deputy_of(session: Session, person: Person, partnership: str, on: date) -> Assignment:
    """The person's named deputy (for "hand to deputy"), skipping absent deputies."""
    if person.deputy is None:
        raise DirectoryError(f"{person.name} has no deputy in the directory")
    cover = _first_present_deputy(person, on)
    if cover is None:
        raise DirectoryError(f"{person.name}'s deputies are all absent on {date_text(on)}")
    return Assignment(cover, f"handed by {person.name} to their deputy {cover.name}")


def _available(session: Session, person: Person, partnership: str, on: date) -> Assignment:
    if not person.is_absent_on(on):
        return Assignment(person)
    absence = f"{person.name} is absent on {date_text(on)}"
    cover = _first_present_deputy(person, on)
    if cover is not None:
        return Assignment(cover, f"{absence}; their deputy {cover.name} holds this stage")
    manager = _board_manager(session, partnership, "board_manager", exclude=person)
    return Assignment(manager, f"{absence} and has no deputy available; the board manager holds it")


def _first_present_deputy(person: Person, on: date) -> Person | None:
    seen = {person.id}
    deputy = person.deputy
    for _ in range(MAX_DEPUTY_HOPS):
        if deputy is None or deputy.id in seen:
            return None
        if deputy.active and not deputy.is_absent_on(on):
            return deputy
        seen.add(deputy.id)
        deputy = deputy.deputy
    return None


def _board_manager(
    session: Session, partnership: str, wanted_role: str, exclude: Person | None = None
) -> Person:
    managers = [
        person
        for person in role_holders(session, "board_manager", partnership)
        if exclude is None or person.id != exclude.id
    ]
    if not managers:
        raise DirectoryError(
            f"nobody can own the {ROLE_WORDS.get(wanted_role, wanted_role)} stage: partnership "
            f"{partnership!r} has no available board manager in the directory"
        )
    return managers[0]
