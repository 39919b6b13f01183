"""The directory as CSV rows, for both scopes: the whole-service import (all rows checked first;
any error, no change) and export, and the column reader both exports share (`csv_rows`). The
row model, behind the board's form too, is row.DirectoryRow.

Every refused import names its file (`source`: the command line's path, the board's upload's
name) on each line, then the row and the field: "people.csv: row 3: deputy_email: ...".
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from pydantic import ValidationError
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, aliased

from escalation.directory import organisations
from escalation.directory.facts import set_other_partnerships, set_roles
from escalation.directory.loops import LINKS, import_loop_problems
from escalation.directory.people import people_by_email
from escalation.directory.row import DirectoryRow, broken_rule
from escalation.rules.csv_cells import neutralised, unneutralised
from escalation.rules.errors import DirectoryError, RowProblem
from escalation.store.models import Organisation, Person, PersonPartnership, PersonRole

CSV_COLUMNS = (
    "name",
    "email",
    "organisation",
    "partnership",
    "roles",
    "job_title",
    "deputy_email",
    "absent_from",
    "absent_until",
    "agency_type",
    "professional_group",
    "line_manager_email",
    "other_partnerships",
    "primary_roles",
)
REQUIRED_COLUMNS = ("name", "email", "organisation", "partnership", "roles")
DEFAULT_SOURCE = "the directory file"


def refused(source: str, problems: list[RowProblem]) -> DirectoryError:
    """The error for a refused import of `source`: its problems, each once, in row order (the
    file's own first), each line naming the file."""
    ordered = sorted(dict.fromkeys(problems), key=lambda problem: problem.row or 0)
    return DirectoryError("\n".join(f"{source}: {problem}" for problem in ordered), ordered)


def import_csv(session: Session, text: str, *, source: str = DEFAULT_SOURCE) -> int:
    """Add or update people from CSV text. All rows are checked first: any error, nothing changes.

    Raises DirectoryError (see `refused`) with every bad row's RowProblem.
    Returns the number of people added or updated.
    """
    try:
        header, records = csv_records(text)
    except csv.Error as error:
        raise refused(source, [unreadable(error)]) from None
    return import_records(session, header, records, source=source)


def unreadable(error: csv.Error) -> RowProblem:
    return RowProblem(None, None, f"the file could not be read as CSV ({error})")


def csv_records(text: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header and the rows of directory CSV text, each row numbered as a spreadsheet shows
    it (the header is row 1) with its cells by column (CSV_COLUMNS only; a column the file lacks
    is left out) and the export's formula neutralising undone (csv_cells.unneutralised), so an
    export imports back unchanged. Raises csv.Error when the text cannot be read as CSV."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    records = [
        (number, {key: unneutralised(raw[key] or "") for key in CSV_COLUMNS if key in raw})
        for number, raw in enumerate(reader, start=2)
    ]
    return list(reader.fieldnames or []), records


def import_records(
    session: Session,
    header: list[str],
    records: list[tuple[int, dict[str, str]]],
    *,
    source: str = DEFAULT_SOURCE,
    within: str | None = None,
) -> int:
    """import_csv for rows already read by csv_records: the same checks, the same result.
    With `within` (a board's import, partnership_csv) only that partnership's people can be
    deputies and line managers, and a loop is followed through nobody else."""
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        problem = RowProblem(None, "header", f"missing column(s) {', '.join(missing)}")
        raise refused(source, [problem])
    rows, problems = _parse_rows(records)
    links = [getattr(row, field) for _, row in rows for field in LINKS]
    known = people_by_email(session, [row.email for _, row in rows] + links)
    problems += _link_problems(rows, _within(known, within))
    problems += organisations.disagreements(_agency_types(rows))
    for field in LINKS:
        problems += import_loop_problems(rows, _within(known, within), field, within)
    if problems:
        raise refused(source, problems)
    people = {row.email: _upsert(session, row, known.get(row.email)) for _, row in rows}
    organisations.save(session, _agency_types(rows))
    session.flush()
    _link(session, rows, {**known, **people})
    return len(rows)


def _within(known: dict[str, Person], partnership: str | None) -> dict[str, Person]:
    if partnership is None:
        return known
    return {email: person for email, person in known.items() if person.partnership == partnership}


def unknown_link(number: int, field: str, address: str) -> RowProblem:
    """The problem for a deputy or line manager the importer cannot use: worded the same whether
    the address is nobody's or someone's elsewhere, so an import discloses nothing of other
    partnerships."""
    return RowProblem(number, field, f"{address} is not in this file or the directory")


def unknown_deputy(number: int, address: str) -> RowProblem:
    return unknown_link(number, "deputy_email", address)


def _parse_rows(
    records: list[tuple[int, dict[str, str]]],
) -> tuple[list[tuple[int, DirectoryRow]], list[RowProblem]]:
    rows, problems, seen = [], [], {}
    for number, values in records:
        try:
            row = DirectoryRow.model_validate(values)
        except ValidationError as error:
            problems += [_row_problem(number, item) for item in error.errors()]
            continue
        if row.email in seen:
            also = f"{row.email} is also on row {seen[row.email]}"
            problems.append(RowProblem(number, "email", also))
        seen[row.email] = number
        rows.append((number, row))
    return rows, problems


def _link_problems(
    rows: list[tuple[int, DirectoryRow]], known: dict[str, Person]
) -> list[RowProblem]:
    usable = {row.email for _, row in rows} | set(known)
    return [
        unknown_link(number, field, getattr(row, field))
        for number, row in rows
        for field in LINKS
        if getattr(row, field) and getattr(row, field) not in usable
    ]


def _agency_types(rows: list[tuple[int, DirectoryRow]]) -> list[organisations.Given]:
    return [
        organisations.Given(number, row.organisation, row.agency_type)
        for number, row in rows
        if row.gives("agency_type")
    ]


def _upsert(session: Session, row: DirectoryRow, person: Person | None) -> Person:
    person = person or Person(email=row.email)
    person.name, person.organisation = row.name, row.organisation
    person.partnership, person.job_title = row.partnership, row.job_title
    person.absent_from, person.absent_until = row.absent_from, row.absent_until
    person.active = person.listed = True  # in the file: a directory person (may sign in)
    if row.gives("professional_group"):
        person.professional_group = row.professional_group
    set_roles(person, row.roles, row.primary_roles if row.gives("primary_roles") else None)
    if row.gives("other_partnerships"):
        set_other_partnerships(person, row.other_partnerships)
    session.add(person)
    return person


def _link(session: Session, rows: list[tuple[int, DirectoryRow]], people: dict) -> None:
    """Deputies and line managers by id, once everyone has one: two new people naming each
    other (deputy one way, line manager the other) are not a cycle for the unit of work."""
    for _, row in rows:
        person = people[row.email]
        for field, (_, attribute) in LINKS.items():
            if row.gives(field):
                linked = people.get(getattr(row, field))
                setattr(person, f"{attribute}_id", linked.id if linked else None)
        session.expire(person, [attribute for _, attribute in LINKS.values()])


def _row_problem(number: int, item: dict) -> RowProblem:
    rule = broken_rule(item)
    if rule is not None:
        return RowProblem(number, rule.field, rule.message)
    field = ".".join(str(part) for part in item["loc"][:1]) or None
    message = item["msg"].removeprefix("Value error, ")
    if item["type"] == "missing":
        message = "is required"
    return RowProblem(number, field, message)


def export_csv(session: Session) -> str:
    """Every listed person of every partnership, in the columns import_csv reads (see csv_rows):
    not the raisers an agency system named, whom an import would list and so let sign in."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_rows(session, Person.listed))
    return out.getvalue()


def csv_rows(session: Session, *conditions: ColumnElement[bool]) -> Iterator[list[object]]:
    """The people matching `conditions` (everyone when none), by name, each as its cells in
    CSV_COLUMNS order for a csv.writer: dates as ISO text, lists `;`-separated and sorted, and
    text a spreadsheet would run as a formula neutralised (csv_cells.neutralised). Reads
    columns, not Person objects, in three queries, so a partnership of 52,000 people exports in
    about a second."""
    roles, primary = _roles(session, conditions)
    others = _other_partnerships(session, conditions)
    deputy, manager = aliased(Person), aliased(Person)
    people = session.execute(
        select(
            Person.id,
            Person.name,
            Person.email,
            Person.organisation,
            Person.partnership,
            Person.job_title,
            deputy.email,
            Person.absent_from,
            Person.absent_until,
            Organisation.agency_type,
            Person.professional_group,
            manager.email,
        )
        .outerjoin(deputy, Person.deputy_id == deputy.id)
        .outerjoin(manager, Person.line_manager_id == manager.id)
        .outerjoin(Organisation, Organisation.key == func.lower(Person.organisation))
        .where(*conditions)
        .order_by(Person.name, Person.id)
    )
    for person_id, name, email, organisation, partnership, job_title, *more in people:
        deputy_email, absent_from, absent_until, agency_type, group, manager_email = more
        cells = [
            name,
            email,
            organisation,
            partnership,
            ";".join(sorted(roles.get(person_id, []))),
            job_title,
            deputy_email or "",
            absent_from.isoformat() if absent_from else "",
            absent_until.isoformat() if absent_until else "",
            agency_type or "",
            group,
            manager_email or "",
            ";".join(sorted(others.get(person_id, []))),
            ";".join(sorted(primary.get(person_id, []))),
        ]
        yield [neutralised(cell) for cell in cells]


def _roles(session: Session, conditions) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    roles: dict[int, list[str]] = {}
    primary: dict[int, list[str]] = {}
    held = select(PersonRole.person_id, PersonRole.role, PersonRole.is_primary).join(
        Person, PersonRole.person_id == Person.id
    )
    for person_id, role, is_primary in session.execute(held.where(*conditions)):
        roles.setdefault(person_id, []).append(role)
        if is_primary:
            primary.setdefault(person_id, []).append(role)
    return roles, primary


def _other_partnerships(session: Session, conditions) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    served = select(PersonPartnership.person_id, PersonPartnership.partnership).join(
        Person, PersonPartnership.person_id == Person.id
    )
    for person_id, partnership in session.execute(served.where(*conditions)):
        found.setdefault(person_id, []).append(partnership)
    return found
