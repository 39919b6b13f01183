"""The directory: who holds each role (in which partnerships, organisations and agency types),
their deputies and absences. Who owns a stage is routing.py's answer, built on these; an absent
person's stage goes to their deputy (following the deputy's own deputy if they are absent too),
and with no deputy available to the board manager.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, inspect, or_, select
from sqlalchemy.orm import Session, joinedload

from escalation.rules.calendar import date_text
from escalation.rules.errors import DirectoryError
from escalation.rules.vocabulary import ROLES, ROUTE_PEOPLE
from escalation.store.models import Organisation, Person, PersonPartnership, PersonRole

EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
# Control characters (C0 with tab, CR, LF and NUL; DEL; C1) and the Unicode line and paragraph
# separators: never part of a name, a role, an organisation or an address. NUL cannot be stored
# on PostgreSQL; a line break forges lines in emails, logs and CSV files.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
NO_CONTROL = "must not contain line breaks, tabs or other control characters"
LOOKUP_CHUNK = 500
ROLE_WORDS = {**ROLES, **ROUTE_PEOPLE}
MAX_DEPUTY_HOPS = 5
MEMO = "directory_reads"  # session.info key of memoised_reads' answers
# One person with their roles and other partnerships in one query (a row or two each), not the
# model's two selectin queries after it, which are for lists of people. Loaded all the same:
# callers read them after their transaction has ended.
WITH_ROLES = (joinedload(Person.role_rows), joinedload(Person.other_partnership_rows))
FOUND = "people_found"  # session.info key of find_person's answers in the current transaction


@dataclass(frozen=True)
class Assignment:
    """Who owns a stage, and (when it is not the obvious holder) why, for the chronology."""

    person: Person
    note: str = ""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_person(session: Session, email: str) -> Person | None:
    """The person with this address (any case, surrounding spaces ignored), or None. An address
    with a control character is nobody's (and is never sent to the database).

    Asked again in the same transaction, the person found is answered without a query while it
    is still in the session under that address (a raise asks for its counterpart three times:
    the form's check, the casework's, and the decision-maker): the query would return the very
    same object from the session's identity map. "Nobody" is never remembered (the caller may
    add them), and a new transaction asks again."""
    if CONTROL.search(email.strip()):
        return None
    email = normalise_email(email)
    found = _found(session)
    person = found.get(email)
    if person is not None and _still_there(person, email):
        return person
    person = (
        session.execute(select(Person).options(*WITH_ROLES).where(Person.email == email))
        .unique()
        .scalar_one_or_none()
    )
    if person is not None:
        found[email] = person
    return person


def _found(session: Session) -> dict[str, Person]:
    """find_person's answers in the session's current transaction (a new one starts empty;
    outside any transaction nothing is kept)."""
    current = session.get_transaction()
    if current is None:
        return {}
    held = session.info.get(FOUND)
    if held is None or held[0] is not current:
        held = session.info[FOUND] = (current, {})
    return held[1]


def _still_there(person: Person, email: str) -> bool:
    """Still in the session (not deleted, not rolled back out of it) and still at `email`."""
    state = inspect(person)
    return state.persistent and not state.expired and person.email == email


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
    session: Session,
    role: str,
    partnership: str,
    organisation: str | None = None,
    *,
    agency: str | None = None,
    groups: tuple[str, ...] = (),
) -> list[Person]:
    """The active holders of `role` in `partnership` (their home one or another they serve),
    optionally only in `organisation`, of agency type `agency` and of professional `groups`.
    Ordered by id: a stable order for lists, never a choice between them (routing decides)."""
    memo = session.info.get(MEMO)
    if memo is not None:  # every holder of the role at once, then filtered here
        key = ("role_holders", role, partnership)
        if key not in memo:
            memo[key] = _holders_query(session, role, partnership, None, None, ())
        return [
            person
            for person in memo[key]
            if (organisation is None or _same(person.organisation, organisation))
            and (agency is None or agency_of(session, person.organisation) == agency)
            and (not groups or person.professional_group in groups)
        ]
    return _holders_query(session, role, partnership, organisation, agency, groups)


def _holders_query(
    session: Session,
    role: str,
    partnership: str,
    organisation: str | None,
    agency: str | None,
    groups: tuple[str, ...],
) -> list[Person]:
    serves = or_(
        Person.partnership == partnership,
        Person.id.in_(
            select(PersonPartnership.person_id).where(PersonPartnership.partnership == partnership)
        ),
    )
    query = (
        select(Person)
        .join(PersonRole)
        .where(PersonRole.role == role, serves, Person.active)
        .order_by(Person.id)
    )
    if organisation is not None:
        query = query.where(func.lower(Person.organisation) == organisation.strip().lower())
    if agency is not None:
        query = query.join(Organisation, Organisation.key == func.lower(Person.organisation))
        query = query.where(Organisation.agency_type == agency)
    if groups:
        query = query.where(Person.professional_group.in_(groups))
    return list(session.execute(query).scalars())


def _same(organisation: str, other: str) -> bool:
    return organisation.strip().lower() == other.strip().lower()


def agency_of(session: Session, organisation: str) -> str:
    """The agency type the directory gives `organisation`; "other" for one it does not list."""
    memo = session.info.get(MEMO)
    if memo is not None:  # every organisation's type at once
        if "agency_of" not in memo:
            rows = session.execute(select(Organisation.key, Organisation.agency_type))
            memo["agency_of"] = dict(rows.tuples().all())
        return memo["agency_of"].get(organisation.strip().lower(), "other")
    found = session.execute(
        select(Organisation.agency_type).where(Organisation.key == organisation.strip().lower())
    ).scalar_one_or_none()
    return found or "other"


@contextmanager
def memoised_reads(session: Session) -> Iterator[None]:
    """Within this block, the session answers each directory question (role_holders, agency_of)
    once: for a pass that routes many cases, the gap dry run, or one of the sweep's groups (one
    transaction: casework never changes the directory). Never across transactions."""
    outer = session.info.get(MEMO)
    session.info[MEMO] = outer if outer is not None else {}
    try:
        yield
    finally:
        if outer is None:
            session.info.pop(MEMO, None)


def deputy_of(session: Session, person: Person, partnership: str, on: date) -> Assignment:
    """The person's named deputy (for "hand to deputy"), skipping absent deputies."""
    if person.deputy is None:
        raise DirectoryError(f"{person.name} has no deputy in the directory")
    cover = _first_present_deputy(person, on)
    if cover is None:
        raise DirectoryError(f"{person.name}'s deputies are all absent on {date_text(on)}")
    return Assignment(cover, f"handed by {person.name} to their deputy {cover.name}")


def available(session: Session, person: Person, partnership: str, on: date) -> Assignment:
    if not person.is_absent_on(on):
        return Assignment(person)
    absence = f"{person.name} is absent on {date_text(on)}"
    cover = _first_present_deputy(person, on)
    if cover is not None:
        return Assignment(cover, f"{absence}; their deputy {cover.name} holds this stage")
    manager = board_manager(session, partnership, "board_manager", exclude=person)
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


def board_manager(
    session: Session, partnership: str, wanted_role: str, exclude: Person | None = None
) -> Person:
    managers = [
        person
        for person in role_holders(session, "board_manager", partnership)
        if exclude is None or person.id != exclude.id
    ]
    stage = ROLE_WORDS.get(wanted_role, wanted_role)
    if not managers:
        raise DirectoryError(
            f"nobody can own the {stage} stage: partnership "
            f"{partnership!r} has no available board manager in the directory"
        )
    if len(managers) == 1:
        return managers[0]
    primary = [person for person in managers if "board_manager" in person.primary_roles]
    if len(primary) == 1:
        return primary[0]
    # Several board managers and no one primary: refusing (the sweep alerts and retries) is
    # better than an arbitrary pick; the directory page warns about it beforehand.
    names = ", ".join(person.name for person in managers)
    raise DirectoryError(
        f"nobody can own the {stage} stage: partnership {partnership!r} has "
        f"{len(managers)} board managers ({names}) and not exactly one is marked primary"
    )
