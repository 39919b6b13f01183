"""Directory import: clear per-row errors, all-or-nothing, updates in place."""

import csv
import io

import pytest
from sqlalchemy import func, select

from escalation.directory.csv_rows import export_csv, import_csv
from escalation.directory.people import find_person
from escalation.rules.errors import DirectoryError
from escalation.store.db import transaction
from escalation.store.models import Person
from tests.factories import DIRECTORY_CSV, NAMED, NAMED_DEPUTY, load_directory

# The nine columns every directory file had before the routing facts (issue 12): such a file
# still imports.
FACTORY_PEOPLE = len(DIRECTORY_CSV.strip().splitlines()) - 1
HEADER = "name,email,organisation,partnership,roles,job_title,deputy_email,absent_from,absent_until"


def _import(sessions, text):
    with transaction(sessions) as session:
        return import_csv(session, text, source="people.csv")


def _count(sessions):
    with transaction(sessions) as session:
        return session.scalar(select(func.count()).select_from(Person))


def test_import_adds_people_with_roles_and_deputies(sessions):
    assert _import(sessions, DIRECTORY_CSV) == FACTORY_PEOPLE
    with transaction(sessions) as session:
        named = find_person(session, NAMED.upper())
        assert named.roles == {"named_professional"}
        assert named.deputy.email == NAMED_DEPUTY


def test_reimport_updates_in_place(sessions):
    load_directory(sessions)
    _import(
        sessions,
        f"{HEADER}\nNadia Renamed,{NAMED},Example Trust,example-partnership,"
        f"named_professional;chair,Named doctor,{NAMED_DEPUTY},,\n",
    )
    assert _count(sessions) == FACTORY_PEOPLE
    with transaction(sessions) as session:
        person = find_person(session, NAMED)
        assert person.name == "Nadia Renamed" and person.roles == {"named_professional", "chair"}


BAD_ROWS = [
    (
        "bad email",
        "A,not-an-email,Org,p,practitioner,,,,",
        "people.csv: row 2: email: 'not-an-email' is not an email address",
    ),
    (
        "unknown role",
        "A,a@x.example,Org,p,doctor,,,,",
        "people.csv: row 2: roles: unknown role 'doctor'",
    ),
    (
        "missing name",
        ",a@x.example,Org,p,practitioner,,,,",
        "people.csv: row 2: name: is required",
    ),
    (
        "bad date",
        "A,a@x.example,Org,p,practitioner,,,31/12/2026,",
        "people.csv: row 2: absent_from:",
    ),
    (
        "absence backwards",
        "A,a@x.example,Org,p,practitioner,,,2026-12-10,2026-12-01",
        "people.csv: row 2: absent_until: is before absent_from",
    ),
    (
        "unknown deputy",
        "A,a@x.example,Org,p,practitioner,,ghost@x.example,,",
        "people.csv: row 2: deputy_email: ghost@x.example is not in this file or the directory",
    ),
    (
        "own deputy",
        "A,a@x.example,Org,p,practitioner,,a@x.example,,",
        "people.csv: row 2: deputy_email: a person cannot be their own deputy",
    ),
]


@pytest.mark.parametrize("row, expected", [b[1:] for b in BAD_ROWS], ids=[b[0] for b in BAD_ROWS])
def test_a_bad_row_is_named_and_nothing_is_imported(sessions, row, expected):
    text = f"{HEADER}\n{row}\nB,b@x.example,Org,p,practitioner,,,,\n"
    with pytest.raises(DirectoryError) as caught:
        _import(sessions, text)
    assert any(line.startswith(expected) for line in str(caught.value).splitlines()), str(
        caught.value
    )
    assert _count(sessions) == 0


def test_every_bad_row_is_reported(sessions):
    text = f"{HEADER}\nA,bad,Org,p,practitioner,,,,\nB,b@x.example,Org,p,nobody,,,,\n"
    with pytest.raises(DirectoryError) as caught:
        _import(sessions, text)
    lines = str(caught.value).splitlines()
    assert [line.split(": ")[:2] for line in lines] == [
        ["people.csv", "row 2"],
        ["people.csv", "row 3"],
    ]


def test_a_duplicate_email_is_reported(sessions):
    text = f"{HEADER}\nA,a@x.example,Org,p,practitioner,,,,\nB,A@x.example,Org,p,chair,,,,\n"
    with pytest.raises(
        DirectoryError, match="^people.csv: row 3: email: a@x.example is also on row 2$"
    ):
        _import(sessions, text)


def test_a_missing_column_is_reported(sessions):
    with pytest.raises(DirectoryError, match="^people.csv: header: missing column"):
        _import(sessions, "name,email\nA,a@x.example\n")


def test_export_round_trips(sessions):
    load_directory(sessions)
    with transaction(sessions) as session:
        exported = export_csv(session)
    assert f"Nadia Named,{NAMED},Example Trust,example-partnership,named_professional" in exported
    _import(sessions, exported)
    assert _count(sessions) == FACTORY_PEOPLE


def test_an_over_long_value_is_named_not_a_database_error(sessions):
    long_name = "N" * 201
    csv_text = (
        "name,email,organisation,partnership,roles,job_title,deputy_email,absent_from,absent_until\n"
        f"{long_name},long@x.example,Org,example-partnership,practitioner,,,,\n"
    )
    with (
        transaction(sessions) as session,
        pytest.raises(DirectoryError, match="^d.csv: row 2: name"),
    ):
        import_csv(session, csv_text, source="d.csv")


def test_control_characters_are_refused_by_the_command_line_import(sessions):
    text = (
        f"{HEADER}\nNell\x00New,nell@x.example,Org,p,practitioner,,,,\n"
        '"Two\nLines",two@x.example,Org,p,practitioner,,,,\n'
        'C,c@x.example,"Org\r",p,practitioner,,,,\n'
        "D,d\x00@x.example,Org,p,practitioner,Lead\tnurse,,,\n"
    )
    with pytest.raises(DirectoryError) as caught:
        _import(sessions, text)
    rule = "must not contain line breaks, tabs or other control characters"
    assert str(caught.value).splitlines() == [
        f"people.csv: row 2: name: {rule}",
        f"people.csv: row 3: name: {rule}",
        f"people.csv: row 4: organisation: {rule}",
        f"people.csv: row 5: email: {rule}",
        f"people.csv: row 5: job_title: {rule}",
    ]
    assert _count(sessions) == 0


def test_the_command_line_export_neutralises_formulas_and_imports_back_unchanged(sessions):
    _import(
        sessions,
        f'{HEADER}\n"=HYPERLINK(""https://x.example"")",+plus@x.example,-Org,p,'
        "practitioner,@SUM(A1),,,\n",
    )
    with transaction(sessions) as session:
        exported = export_csv(session)
    row = list(csv.reader(io.StringIO(exported)))[1]
    assert row[:3] == ['\'=HYPERLINK("https://x.example")', "'+plus@x.example", "'-Org"]
    assert row[5] == "'@SUM(A1)"
    _import(sessions, exported)
    with transaction(sessions) as session:
        person = find_person(session, "+plus@x.example")
        assert (person.name, person.organisation, person.job_title) == (
            '=HYPERLINK("https://x.example")',
            "-Org",
            "@SUM(A1)",
        )
    assert _count(sessions) == 1
