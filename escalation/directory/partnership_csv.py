"""One partnership's directory as CSV: the board's export (formulas neutralised, active and
listed people only) and import (at most MAX_IMPORT_ROWS rows; refused whole if any row touches
another partnership or the importer's own access)."""

from __future__ import annotations

import csv
import io

from sqlalchemy.orm import Session

from escalation.directory.admin import FOREIGN_ADDRESS
from escalation.directory.csv_rows import (
    CSV_COLUMNS,
    csv_records,
    csv_rows,
    import_records,
    unknown_deputy,
)
from escalation.directory.people import find_person, normalise_email, people_by_email
from escalation.rules.errors import DirectoryError, RowProblem
from escalation.store.models import Person

# A board import is refused whole above this many rows: checking and writing 5,000 people takes
# a few seconds, and the file's transaction holds the database's write lock all that time.
MAX_IMPORT_ROWS = 5_000


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
    editor's own board roles (the same guard as the form). Raises DirectoryError with each
    row's RowProblem, in row order; nothing is changed then. Another partnership's address is
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
            problems += error.problems or [RowProblem(None, None, str(error))]
        if problems:
            raise DirectoryError(problems=sorted(problems, key=lambda problem: problem.row or 0))
    return count


def _foreign_rows(
    session: Session, records: list[tuple[int, dict[str, str]]], partnership: str, editor: str
) -> list[RowProblem]:
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
            words = f"{given!r} is not your partnership ({partnership})"
            problems.append(RowProblem(number, "partnership", words))
            continue
        if _elsewhere(known.get(email), partnership):
            problems.append(RowProblem(number, "email", f"{email} {FOREIGN_ADDRESS}"))
        deputy = normalise_email(cells.get("deputy_email", ""))
        if _elsewhere(known.get(deputy), partnership):
            problems.append(unknown_deputy(number, deputy))
    return problems


def _elsewhere(person: Person | None, partnership: str) -> bool:
    return person is not None and person.partnership != partnership


def _own_row_problems(
    session: Session, cells: dict, editor_email: str, number: int
) -> list[RowProblem]:
    roles = set(cells.get("roles", "").replace(",", ";").replace(" ", "").split(";"))
    held = find_person(session, editor_email).roles
    problems = []
    if "board_manager" not in roles:
        own = "you cannot remove your own board manager role"
        problems.append(RowProblem(number, "roles", own))
    if "chair" in roles - held:
        problems.append(RowProblem(number, "roles", "you cannot make yourself the chair"))
    return problems
