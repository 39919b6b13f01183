"""The board manager's directory admin: add and edit people, import and export one partnership's
CSV, and the gaps in the directory that would stall escalation.

The form and the CSV share one set of rules (escalation.directory.people.DirectoryRow), which refuses
control characters (NUL, CR, LF, tab...) in every text field. Everything is scoped to one
partnership: a person of another partnership is "not found", an import that touches another
partnership is refused whole, and an address held in another partnership is refused in words
that do not say so (FOREIGN_ADDRESS). An import has at most MAX_IMPORT_ROWS (5,000) rows; the
export neutralises cells a spreadsheet would run as a formula (escalation.rules.csv_cells).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from escalation.directory.people import (
    CSV_COLUMNS,
    NO_CONTROL,
    ROLE_WORDS,
    DirectoryRow,
    csv_records,
    csv_rows,
    find_person,
    import_records,
    normalise_email,
    people_by_email,
    role_holders,
    unknown_deputy,
)
from escalation.rules.errors import DirectoryError, InvalidInput, NotFound
from escalation.rules.policy import Policy
from escalation.store.models import ROLES, Disagreement, Person, PersonRole

PARTNERSHIP_ROLES = ("designated_professional", "board_manager", "chair")
PAGE_SIZE = 100  # people on one page of the directory
# A board import is refused whole above this many rows: checking and writing 5,000 people takes
# a few seconds, and the file's transaction holds the database's write lock all that time.
MAX_IMPORT_ROWS = 5_000
MAX_LENGTHS = {"name": 200, "email": 320, "organisation": 200, "job_title": 200}  # the columns'
FIELD_WORDS = {
    "name": "Enter their name",
    "email": "Enter an email address in the correct format, like name@example.org.uk",
    "organisation": "Enter their organisation",
    "roles": "Select roles from the list",
    "absent_from": "The start of the absence must be a real date, like 27 3 2026",
    "absent_until": "The end of the absence must be a real date, like 27 3 2026",
}
FIELD_LABELS = {
    "name": "Name",
    "email": "Email address",
    "organisation": "Organisation",
    "job_title": "Job title",
}
# An address held in ANOTHER partnership: the words say neither that it exists nor where (a
# board manager may not learn another partnership's people); the service administrator, who
# sees every partnership, can move the person.
FOREIGN_ADDRESS = "cannot be added to your directory; check it, or ask the service administrator"
ABSENCE_PROBE = {
    "name": "-",
    "email": "probe@example.org",
    "organisation": "-",
    "roles": [],
    "deputy_email": "",
}
# DirectoryRow's rules across fields, by their message: the form field to show them on, in words.
ROW_RULES = {
    "absent_until: is before absent_from": (
        "absent_until",
        "The end of the absence must be the same as or after its start",
    ),
    "absent_until: give absent_from as well": (
        "absent_from",
        "Enter when the absence starts, as well as when it ends",
    ),
    "deputy_email: a person cannot be their own deputy": (
        "deputy",
        "A person cannot be their own deputy",
    ),
}


# --- add and edit -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonForm:
    """What the form gave, as typed. Dates are ISO text ("" when blank); deputy is a person id."""

    name: str = ""
    email: str = ""
    organisation: str = ""
    job_title: str = ""
    roles: tuple[str, ...] = ()
    deputy: str = ""
    absent_from: str = ""
    absent_until: str = ""
    active: bool = True

    @classmethod
    def of(cls, person: Person) -> PersonForm:
        return cls(
            name=person.name,
            email=person.email,
            organisation=person.organisation,
            job_title=person.job_title,
            roles=tuple(role for role in ROLES if role in person.roles),
            deputy=str(person.deputy_id or ""),
            absent_from=_iso(person.absent_from),
            absent_until=_iso(person.absent_until),
            active=person.active,
        )


def person_in(session: Session, partnership: str, person_id: int) -> Person:
    """The person, if they are in `partnership`; otherwise NotFound (never "forbidden")."""
    person = session.get(Person, person_id)
    if person is None or person.partnership != partnership:
        raise NotFound("no such person in your partnership")
    return person


def deputy_choices(session: Session, partnership: str, person: Person | None) -> list:
    """Everyone in the partnership but `person`, by name, as rows of (id, name, organisation,
    active): the form's deputy list. Columns, not Person objects (a list of 52,000 people)."""
    query = (
        select(Person.id, Person.name, Person.organisation, Person.active)
        .where(Person.partnership == partnership)
        .order_by(Person.name, Person.id)
    )
    if person is not None:
        query = query.where(Person.id != person.id)
    return list(session.execute(query))


def page_count(total: int) -> int:
    """How many directory pages `total` people fill (at least one, even when there is nobody)."""
    return max(1, -(-total // PAGE_SIZE))


def page_of_people(session: Session, partnership: str, page: int) -> tuple[list[Person], int]:
    """Page `page` (1 is the first; past the last gives the last) of the partnership's people,
    PAGE_SIZE of them by name, with their deputies loaded; and how many people there are."""
    total = session.execute(
        select(func.count()).select_from(Person).where(Person.partnership == partnership)
    ).scalar_one()
    page = min(max(page, 1), page_count(total))
    people = session.execute(
        select(Person)
        .where(Person.partnership == partnership)
        .order_by(Person.name, Person.id)
        .options(selectinload(Person.deputy))
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).scalars()
    return list(people), total


def save_person(
    session: Session,
    *,
    partnership: str,
    form: PersonForm,
    person: Person | None = None,
    editor_id: int | None = None,
) -> Person:
    """Add a person (`person` None) or update one, in `partnership`.

    Raises InvalidInput mapping each form field to what is wrong; nothing is changed then.
    """
    problems = {
        field: f"Must be {most} characters or fewer"
        for field, most in MAX_LENGTHS.items()
        if len(getattr(form, field).strip()) > most
    }
    deputy = _deputy(session, partnership, form.deputy, person, problems)
    row = _row(form, partnership, deputy, problems)
    if row is not None:
        holder = find_person(session, row.email)
        if holder is not None and holder is not person:
            problems.setdefault("email", _taken_words(holder, partnership))
    if person is not None and person.id == editor_id:
        _keep_own_access(person, form, problems)
    if problems:
        raise InvalidInput(problems)
    person = person or Person(partnership=partnership)
    person.name, person.email, person.organisation = row.name, row.email, row.organisation
    person.job_title = row.job_title.strip()
    person.absent_from, person.absent_until = row.absent_from, row.absent_until
    person.deputy, person.active = deputy, form.active
    person.listed = True  # saved by the board: a directory person (may sign in if active)
    _set_roles(person, row.roles)
    session.add(person)
    session.flush()
    return person


def _row(
    form: PersonForm, partnership: str, deputy: Person | None, problems: dict[str, str]
) -> DirectoryRow | None:
    fields = {
        "name": form.name,
        "email": form.email,
        "organisation": form.organisation,
        "partnership": partnership,
        "roles": list(form.roles),
        "job_title": form.job_title,
        "deputy_email": deputy.email if deputy else "",
        "absent_from": form.absent_from,
        "absent_until": form.absent_until,
    }
    try:
        return DirectoryRow(**fields)
    except ValidationError as error:
        items = error.errors()
    if not any(item["loc"] and str(item["loc"][0]).startswith("absent") for item in items):
        items += _absence_errors(fields)
    for item in items:
        field, words = _form_problem(item)
        problems.setdefault(field, words)
    return None


def _taken_words(holder: Person, partnership: str) -> str:
    if holder.partnership != partnership:
        return f"This email address {FOREIGN_ADDRESS}"
    return f"{holder.name} already has this email address in your directory"


def _absence_errors(fields: dict) -> list:
    # Pydantic skips the row-wide rules when any field is wrong; check the absence on its own
    # (same rules, other fields set aside) so the form shows every problem at once.
    try:
        DirectoryRow(**{**fields, **ABSENCE_PROBE})
    except ValidationError as error:
        return error.errors()
    return []


def _form_problem(item: dict) -> tuple[str, str]:
    message = item["msg"].removeprefix("Value error, ")
    if not item["loc"]:
        return ROW_RULES.get(message, ("form", message))
    field = str(item["loc"][0])
    if message == NO_CONTROL:
        return field, f"{FIELD_LABELS.get(field, field)} {NO_CONTROL}"
    return field, FIELD_WORDS.get(field, message[:1].upper() + message[1:])


def _deputy(
    session: Session,
    partnership: str,
    deputy_id: str,
    person: Person | None,
    problems: dict[str, str],
) -> Person | None:
    deputy_id = deputy_id.strip()
    if not deputy_id:
        return None
    deputy = session.get(Person, int(deputy_id)) if is_id(deputy_id) else None
    if deputy is None or deputy.partnership != partnership:
        problems["deputy"] = "Select a deputy from the list"
        return None
    if person is not None and deputy.id == person.id:
        problems["deputy"] = "A person cannot be their own deputy"
        return None
    return deputy


def _keep_own_access(person: Person, form: PersonForm, problems: dict[str, str]) -> None:
    # Otherwise a board manager could lock themselves (and perhaps the partnership) out: the
    # sign-in session is held by email, and the board pages need an active board manager.
    if normalise_email(form.email) != person.email:
        problems["email"] = "You cannot change your own email address; ask another board manager"
    if "board_manager" not in form.roles:
        problems["roles"] = (
            "You cannot remove your own board manager role; ask another board manager"
        )
    if not form.active:
        problems["active"] = "You cannot make yourself inactive; ask another board manager"
    if "chair" in form.roles and "chair" not in person.roles:
        # The chair approves what managers ask for (deadline extensions): two people.
        problems.setdefault(
            "roles", "You cannot make yourself the chair; ask another board manager"
        )


def _set_roles(person: Person, roles: Iterable[str]) -> None:
    wanted = list(dict.fromkeys(roles))
    kept = [row for row in person.role_rows if row.role in wanted]
    held = {row.role for row in kept}
    person.role_rows = kept + [PersonRole(role=role) for role in wanted if role not in held]


def is_id(text: str) -> bool:
    """Digits that fit a database integer (a longer number would be a database error)."""
    return text.isdigit() and len(text) <= 9


def open_stages_owned(session: Session, person_id: int) -> int:
    return session.execute(
        select(func.count())
        .select_from(Disagreement)
        .where(Disagreement.owner_id == person_id, Disagreement.status == "open")
    ).scalar_one()


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


# --- gaps that would stall escalation ---------------------------------------------------------


def role_gaps(
    session: Session, *, partnership: str, policies: Iterable[Policy], on: date
) -> list[str]:
    """Warnings, in words, about roles the partnership's policies need but nobody can take up
    on local date `on`: no active holder, or every holder absent. Empty when all is well."""
    policies = [policy for policy in policies if policy.partnership == partnership]
    if not policies:
        return [f"No escalation policy is loaded for {partnership}, so no stage has an owner."]
    # The board manager holds any stage whose role has nobody, so the partnership always needs one.
    needed = {stage.owner for policy in policies for stage in policy.stages} | {"board_manager"}
    warnings = []
    if "named_professional" in needed:
        named = _named_professionals_by_organisation(session, partnership)
        for organisation in _organisations_with_practitioners(session, partnership):
            holders = named.get(organisation.lower(), [])
            warnings += _gap("named_professional", holders, on, f" in {organisation}")
    for role in PARTNERSHIP_ROLES:
        if role in needed:
            warnings += _gap(role, role_holders(session, role, partnership), on, "")
    return warnings + _inactive_owners(session, partnership)


def _gap(role: str, holders: list[Person], on: date, where: str) -> list[str]:
    words = ROLE_WORDS[role]
    if not holders:
        if role == "board_manager":
            return [
                "Nobody is an active board manager: a stage whose owner is missing has "
                "nobody to hold it, and escalation will stall."
            ]
        return [f"Nobody is an active {words}{where}: their stages will go to the board manager."]
    if all(holder.is_absent_on(on) for holder in holders):
        names = ", ".join(holder.name for holder in holders)
        return [
            f"Every {words}{where} is absent today ({names}): their stages go to a "
            "deputy, or the board manager."
        ]
    return []


def _named_professionals_by_organisation(
    session: Session, partnership: str
) -> dict[str, list[Person]]:
    """role_holders("named_professional") of every organisation at once, by lower-case name."""
    by_key: dict[str, list[Person]] = {}
    for person in role_holders(session, "named_professional", partnership):
        by_key.setdefault(person.organisation.strip().lower(), []).append(person)
    return by_key


def _organisations_with_practitioners(session: Session, partnership: str) -> list[str]:
    names = session.execute(
        select(Person.organisation)
        .distinct()
        .join(PersonRole)
        .where(PersonRole.role == "practitioner", Person.partnership == partnership, Person.active)
    ).scalars()
    by_key = {name.strip().lower(): name.strip() for name in names}
    return sorted(by_key.values(), key=str.lower)


def _inactive_owners(session: Session, partnership: str) -> list[str]:
    rows = session.execute(
        select(Person.name, func.count(Disagreement.id))
        .join(Disagreement, Disagreement.owner_id == Person.id)
        .where(
            Person.partnership == partnership,
            Person.active.is_(False),
            Disagreement.status == "open",
        )
        .group_by(Person.id, Person.name)
        .order_by(Person.name)
    ).all()
    return [
        f"{name} is inactive but still owns {stages_words(count)}: "
        "reassign them from the dashboard."
        for name, count in rows
    ]


def stages_words(count: int) -> str:
    return f"{count} open stage{'s' if count != 1 else ''}"


# --- one partnership's CSV --------------------------------------------------------------------


def export_partnership_csv(session: Session, partnership: str) -> str:
    """The partnership's active people, in the columns import_csv reads; text cells a
    spreadsheet would run as a formula are neutralised (directory.csv_rows), and the import
    takes the neutralising off again, so the file round-trips.

    Inactive people are left out: the CSV has no "active" column and an import makes everyone
    in the file active, so exporting them would bring them back on the round trip. So are
    raisers an agency system named (not listed): an import lists everyone in the file, which
    would let them sign in.
    """
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(
        csv_rows(session, Person.partnership == partnership, Person.active, Person.listed)
    )
    return out.getvalue()


def import_partnership_csv(
    session: Session, *, text: str, partnership: str, editor_email: str = ""
) -> int:
    """import_csv, refusing the whole file if it has more than MAX_IMPORT_ROWS rows, or if any
    row is for, or would take a person or deputy from, another partnership, or would change the
    editor's own board roles (the same guard as the form). Raises DirectoryError with one line
    per problem ("row 3: ..."); nothing is changed then. Another partnership's address is
    refused in words that do not say it exists (FOREIGN_ADDRESS, unknown_deputy). Returns the
    number of people added or updated."""
    try:
        header, records = csv_records(text)
    except csv.Error as error:
        raise DirectoryError(f"the file could not be read as CSV ({error})") from None
    if len(records) > MAX_IMPORT_ROWS:
        raise DirectoryError(
            f"the file has {len(records):,} rows; import at most {MAX_IMPORT_ROWS:,} people at "
            "a time (split the file)"
        )
    problems = _foreign_rows(session, records, partnership, normalise_email(editor_email))
    with session.begin_nested():  # raising inside undoes import_records' writes
        try:
            count = import_records(session, header, records)
        except DirectoryError as error:
            problems += str(error).splitlines()
        if problems:
            raise DirectoryError("\n".join(sorted(problems, key=_row_number)))
    return count


def _foreign_rows(
    session: Session, records: list[tuple[int, dict[str, str]]], partnership: str, editor: str
) -> list[str]:
    known = people_by_email(
        session, [cells.get(key, "") for _, cells in records for key in ("email", "deputy_email")]
    )
    problems = []
    for number, cells in records:
        email = normalise_email(cells.get("email", ""))
        if email == editor:
            problems += _own_row_problems(session, cells, editor, number)
        given = cells.get("partnership", "").strip()
        if given and given != partnership:
            problems.append(
                f"row {number}: partnership: {given!r} is not your partnership ({partnership})"
            )
            continue
        if _elsewhere(known.get(email), partnership):
            problems.append(f"row {number}: email: {email} {FOREIGN_ADDRESS}")
        deputy = normalise_email(cells.get("deputy_email", ""))
        if _elsewhere(known.get(deputy), partnership):
            problems.append(unknown_deputy(number, deputy))
    return problems


def _elsewhere(person: Person | None, partnership: str) -> bool:
    return person is not None and person.partnership != partnership


def _own_row_problems(session: Session, cells: dict, editor_email: str, number: int) -> list[str]:
    roles = set(cells.get("roles", "").replace(",", ";").replace(" ", "").split(";"))
    held = find_person(session, editor_email).roles
    problems = []
    if "board_manager" not in roles:
        problems.append(f"row {number}: roles: you cannot remove your own board manager role")
    if "chair" in roles - held:
        problems.append(f"row {number}: roles: you cannot make yourself the chair")
    return problems


def _row_number(problem: str) -> int:
    found = re.match(r"row (\d+):", problem)
    return int(found.group(1)) if found else 0
