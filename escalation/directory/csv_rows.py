"""The directory as CSV rows, for both scopes: one row model (`DirectoryRow`, also behind the
board's add/edit form), the whole-service import (all rows checked first; any error, no change)
and export, and the column reader both exports share (`csv_rows`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, aliased

from escalation.directory.people import CONTROL, EMAIL, NO_CONTROL, normalise_email, people_by_email
from escalation.rules.csv_cells import neutralised, unneutralised
from escalation.rules.errors import DirectoryError, RowProblem
from escalation.rules.vocabulary import ROLES
from escalation.store.models import Person, PersonRole

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
)
REQUIRED_COLUMNS = ("name", "email", "organisation", "partnership", "roles")


@dataclass(frozen=True)
class RowRule:
    """A rule across a row's fields, with the field it is about and what breaking it means."""

    field: str
    message: str


UNTIL_WITHOUT_FROM = RowRule("absent_until", "give absent_from as well")
UNTIL_BEFORE_FROM = RowRule("absent_until", "is before absent_from")
OWN_DEPUTY = RowRule("deputy_email", "a person cannot be their own deputy")


class RowRuleBroken(ValueError):
    """Raised inside DirectoryRow's validation; pydantic keeps it in the error's context."""

    def __init__(self, rule: RowRule):
        self.rule = rule
        super().__init__(f"{rule.field}: {rule.message}")


def broken_rule(item: dict) -> RowRule | None:
    """The row rule a pydantic error item is about, or None for a one-field error."""
    error = item.get("ctx", {}).get("error")
    return error.rule if isinstance(error, RowRuleBroken) else None


class DirectoryRow(BaseModel):
    """One person as the form or a CSV row gives them: the one set of rules for both.

    Lengths are the columns' (models.Person), so a long value is named, not a database error;
    a control character (NUL, CR, LF, tab...) in any text is refused with NO_CONTROL, never
    stored or stripped."""

    name: str = Field(max_length=200)
    email: str = Field(max_length=320)
    organisation: str = Field(max_length=200)
    partnership: str = Field(max_length=100)
    roles: list[str]
    job_title: str = Field(default="", max_length=200)
    deputy_email: str = Field(default="", max_length=320)
    absent_from: date | None = None
    absent_until: date | None = None

    @field_validator(
        "name", "email", "organisation", "partnership", "job_title", "deputy_email", mode="before"
    )
    @classmethod
    def no_control_characters(cls, value: object) -> object:
        if isinstance(value, str) and CONTROL.search(value):
            raise ValueError(NO_CONTROL)
        return value

    @field_validator("name", "organisation", "partnership")
    @classmethod
    def not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("is required")
        return value.strip()

    @field_validator("email", "deputy_email")
    @classmethod
    def email_shape(cls, value: str) -> str:
        value = normalise_email(value)
        if value and not EMAIL.match(value):
            raise ValueError(f"{value!r} is not an email address")
        return value

    @field_validator("roles", mode="before")
    @classmethod
    def split_roles(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.replace(",", ";").split(";") if part.strip()]
        unknown = [role for role in value if role not in ROLES]
        if unknown:
            raise ValueError(f"unknown role {unknown[0]!r}; use one of {', '.join(ROLES)}")
        return value

    @field_validator("absent_from", "absent_until", mode="before")
    @classmethod
    def blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def absence_in_order(self) -> DirectoryRow:
        if self.absent_until and not self.absent_from:
            raise RowRuleBroken(UNTIL_WITHOUT_FROM)
        if self.absent_from and self.absent_until and self.absent_until < self.absent_from:
            raise RowRuleBroken(UNTIL_BEFORE_FROM)
        if self.deputy_email and self.deputy_email == self.email:
            raise RowRuleBroken(OWN_DEPUTY)
        return self


def import_csv(session: Session, text: str) -> int:
    """Add or update people from CSV text. All rows are checked first: any error, nothing changes.

    Raises DirectoryError with every bad row's RowProblem (its message: one per line, "row 3:
    email: ... is not an email address").
    Returns the number of people added or updated.
    """
    try:
        header, records = csv_records(text)
    except csv.Error as error:
        raise DirectoryError(f"the file could not be read as CSV ({error})") from None
    return import_records(session, header, records)


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
    session: Session, header: list[str], records: list[tuple[int, dict[str, str]]]
) -> int:
    """import_csv for rows already read by csv_records: the same checks, the same result."""
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        problem = RowProblem(None, "header", f"missing column(s) {', '.join(missing)}")
        raise DirectoryError(problems=[problem])
    rows, problems = _parse_rows(records)
    known = people_by_email(
        session, [row.email for _, row in rows] + [row.deputy_email for _, row in rows]
    )
    problems += _deputy_problems(rows, known)
    if problems:
        raise DirectoryError(problems=problems)
    people = {row.email: _upsert(session, row, known.get(row.email)) for _, row in rows}
    session.flush()
    for _, row in rows:
        deputy = people.get(row.deputy_email) or known.get(row.deputy_email)
        people[row.email].deputy = deputy if row.deputy_email else None
    return len(rows)


def unknown_deputy(number: int, address: str) -> RowProblem:
    """The problem for a deputy the importer cannot use: worded the same whether the address
    is nobody's or someone's elsewhere, so an import discloses nothing of other partnerships."""
    return RowProblem(number, "deputy_email", f"{address} is not in this file or the directory")


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


def _deputy_problems(
    rows: list[tuple[int, DirectoryRow]], known: dict[str, Person]
) -> list[RowProblem]:
    in_file = {row.email for _, row in rows}
    return [
        unknown_deputy(number, row.deputy_email)
        for number, row in rows
        if row.deputy_email and row.deputy_email not in in_file and row.deputy_email not in known
    ]


def _upsert(session: Session, row: DirectoryRow, person: Person | None) -> Person:
    person = person or Person(email=row.email)
    person.name, person.organisation = row.name, row.organisation
    person.partnership, person.job_title = row.partnership, row.job_title
    person.absent_from, person.absent_until = row.absent_from, row.absent_until
    person.active = person.listed = True  # in the file: a directory person (may sign in)
    person.role_rows = [PersonRole(role=role) for role in dict.fromkeys(row.roles)]
    session.add(person)
    return person


def _row_problem(number: int, item: dict) -> RowProblem:
    rule = broken_rule(item)
    if rule is not None:
        return RowProblem(number, rule.field, rule.message)
    field = ".".join(str(part) for part in item["loc"]) or None
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
    CSV_COLUMNS order for a csv.writer: dates as ISO text, and text a spreadsheet would run as
    a formula neutralised (csv_cells.neutralised). Reads columns, not Person objects, in two
    queries, so a partnership of 52,000 people exports in about a second."""
    roles: dict[int, list[str]] = {}
    held = select(PersonRole.person_id, PersonRole.role).join(
        Person, PersonRole.person_id == Person.id
    )
    for person_id, role in session.execute(held.where(*conditions)):
        roles.setdefault(person_id, []).append(role)
    deputy = aliased(Person)
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
        )
        .outerjoin(deputy, Person.deputy_id == deputy.id)
        .where(*conditions)
        .order_by(Person.name, Person.id)
    )
    for person_id, name, email, organisation, partnership, job_title, *others in people:
        deputy_email, absent_from, absent_until = others
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
        ]
        yield [neutralised(cell) for cell in cells]
