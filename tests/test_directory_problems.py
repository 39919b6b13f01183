"""A refused directory import carries its problems as values, (row, field, message), for the
board's page to show, and the same problems as lines for the command line."""

from __future__ import annotations

import pytest

from escalation.directory.csv_rows import import_csv
from escalation.directory.partnership_csv import import_partnership_csv
from escalation.rules.errors import DirectoryError, RowProblem
from escalation.store.db import transaction
from tests.factories import MANAGER, load_directory

# The nine columns every directory file had before the routing facts (issue 12): such a file
# still imports.
HEADER = "name,email,organisation,partnership,roles,job_title,deputy_email,absent_from,absent_until"
ROWS = [
    "A,not-an-email,Org,example-partnership,practitioner,,,,",
    "B,b@x.example,Org,example-partnership,practitioner,,b@x.example,,",
    "C,c@x.example,Org,example-partnership,practitioner,,,,2026-12-01",
    "D,d@x.example,Org,other-partnership,practitioner,,ghost@x.example,,",
]


def _refused(sessions, importer) -> DirectoryError:
    with transaction(sessions) as session, pytest.raises(DirectoryError) as refused:
        importer(session, "\n".join([HEADER, *ROWS]) + "\n")
    return refused.value


def test_the_whole_service_import_names_row_field_and_message(sessions):
    error = _refused(sessions, import_csv)
    assert error.problems == [
        RowProblem(2, "email", "'not-an-email' is not an email address"),
        RowProblem(3, "deputy_email", "a person cannot be their own deputy"),
        RowProblem(4, "absent_until", "give absent_from as well"),
        RowProblem(5, "deputy_email", "ghost@x.example is not in this file or the directory"),
    ]
    assert str(error).splitlines() == [
        f"the directory file: {problem}" for problem in error.problems
    ]
    assert str(error.problems[0]) == "row 2: email: 'not-an-email' is not an email address"


def test_the_boards_import_puts_its_own_problems_in_row_order(sessions):
    load_directory(sessions)

    def board_import(session, text):
        import_partnership_csv(
            session, text=text, partnership="example-partnership", editor_email=MANAGER
        )

    problems = _refused(sessions, board_import).problems
    assert [problem.row for problem in problems] == sorted(problem.row for problem in problems)
    assert (
        RowProblem(
            5, "partnership", "'other-partnership' is not your partnership (example-partnership)"
        )
        in problems
    )
    assert RowProblem(4, "absent_until", "give absent_from as well") in problems


def test_a_file_level_problem_has_no_row():
    problem = RowProblem(None, "header", "missing column(s) roles")
    assert str(problem) == "header: missing column(s) roles"
    assert str(RowProblem(7, None, "bad")) == "row 7: bad"
