"""One partnership's directory as CSV: the board's export (formulas neutralised, active and
listed people only) and import (at most MAX_IMPORT_ROWS rows; refused whole if any row touches
another partnership or the importer's own access).

What a board may not change from its partnership, and the service administrator may (the
whole-service import): the partnerships a person serves besides theirs (`other_partnerships`:
listing someone in another partnership would hand them that partnership's stages), and the
agency type of an organisation other partnerships' people name (organisations.py).
"""

from __future__ import annotations

import csv
import io

from sqlalchemy.orm import Session

from escalation.directory import organisations
from escalation.directory.admin import FOREIGN_ADDRESS
from escalation.directory.csv_rows import (
    CSV_COLUMNS,
    DEFAULT_SOURCE,
    csv_records,
    csv_rows,
    import_records,
    refused,
    unknown_link,
    unreadable,
)
from escalation.directory.facts import other_partnerships_text
from escalation.directory.loops import LINKS
from escalation.directory.people import find_person, normalise_email, people_by_email
from escalation.directory.row import split_list
from escalation.rules.errors import DirectoryError, RowProblem
from escalation.store.models import Person

# A board import is refused whole above this many rows: checking and writing 5,000 people takes
# a few seconds, and the file's transaction holds the database's write lock all that time.
MAX_IMPORT_ROWS = 5_000
OTHERS_NOT_YOURS = "only the service administrator can change the other partnerships someone serves"


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
    session: Session,
    *,
    text: str,
    partnership: str,
    editor_email: str = "",
    source: str = DEFAULT_SOURCE,
) -> int:
    """import_csv, refusing the whole file if it has more than MAX_IMPORT_ROWS rows, or if any
    row is for, or would take a person, deputy or line manager from, another partnership, would
    change what only the service administrator may (see the module's doc), or would change the
    editor's own board roles (the same guard as the form). Raises DirectoryError naming
    `source` with each row's RowProblem, in row order; nothing is changed then. Another
    partnership's address is refused in words that do not say it exists (FOREIGN_ADDRESS,
    unknown_link). Returns the number of people added or updated."""
    try:
        header, records = csv_records(text)
    except csv.Error as error:
        raise refused(source, [unreadable(error)]) from None
    if len(records) > MAX_IMPORT_ROWS:
        words = (
            f"the file has {len(records):,} rows; import at most {MAX_IMPORT_ROWS:,} people at "
            "a time (split the file)"
        )
        raise refused(source, [RowProblem(None, None, words)])
    problems = _foreign_rows(session, records, partnership, normalise_email(editor_email))
    problems += organisations.changes_not_ours(session, _agency_types(records), partnership)
    with session.begin_nested():  # raising inside undoes import_records' writes
        try:
            count = import_records(session, header, records, source=source, within=partnership)
        except DirectoryError as error:
            problems += error.problems or [RowProblem(None, None, str(error))]
        if problems:
            raise refused(source, problems)
    return count


def _foreign_rows(
    session: Session, records: list[tuple[int, dict[str, str]]], partnership: str, editor: str
) -> list[RowProblem]:
    addresses = [cells.get(key, "") for _, cells in records for key in ("email", *LINKS)]
    known = people_by_email(session, addresses)
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
        for field in LINKS:
            linked = normalise_email(cells.get(field, ""))
            if _elsewhere(known.get(linked), partnership):
                problems.append(unknown_link(number, field, linked))
        if "other_partnerships" in cells and _others_changed(cells, known.get(email)):
            problems.append(RowProblem(number, "other_partnerships", OTHERS_NOT_YOURS))
    return problems


def _elsewhere(person: Person | None, partnership: str) -> bool:
    return person is not None and person.partnership != partnership


def _others_changed(cells: dict[str, str], person: Person | None) -> bool:
    home = cells.get("partnership", "").strip()
    given = sorted({name for name in split_list(cells["other_partnerships"]) if name != home})
    return ";".join(given) != other_partnerships_text(person)


def _agency_types(records: list[tuple[int, dict[str, str]]]) -> list[organisations.Given]:
    return [
        organisations.Given(number, cells.get("organisation", ""), agency_type)
        for number, cells in records
        if (agency_type := cells.get("agency_type", "").strip().lower())
    ]


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
