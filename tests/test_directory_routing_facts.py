"""The directory's routing facts through the CSV imports and exports (issue 12, points 1 and
10): organisations' agency types, professional groups, line managers, other partnerships and
primary holders; deputy and line-manager loops refused; every problem naming the file, the row
and the field. Each on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from escalation.directory.csv_rows import export_csv, import_csv
from escalation.directory.partnership_csv import export_partnership_csv, import_partnership_csv
from escalation.directory.people import find_person
from escalation.rules.errors import DirectoryError, RowProblem
from escalation.rules.vocabulary import ROLES
from escalation.store.db import transaction
from escalation.store.models import Organisation, Person
from tests.directory_helpers import HEADER, TYPED_ROWS, gaps, import_rows, person_csv
from tests.factories import MANAGER, load_directory

A, B, C = "ann@trust.example", "ben@trust.example", "cat@trust.example"
NINE_COLUMNS = (
    "name,email,organisation,partnership,roles,job_title,deputy_email,absent_from,absent_until\n"
    "Nadia Named,nadia.named@trust.example,Example Trust,example-partnership,named_professional,"
    "Named doctor,nathan.nurse@trust.example,,\n"
    "Nathan Nurse,nathan.nurse@trust.example,Example Trust,example-partnership,"
    "named_professional,Named nurse,,,\n"
)


def _people(sessions) -> int:
    with transaction(sessions) as session:
        return session.scalar(select(func.count()).select_from(Person))


def _agency_types(sessions) -> dict[str, tuple[str, str]]:
    with transaction(sessions) as session:
        rows = session.execute(
            select(Organisation.key, Organisation.name, Organisation.agency_type)
        )
        return {key: (name, agency_type) for key, name, agency_type in rows}


def _refused(sessions, *rows: str) -> DirectoryError:
    with pytest.raises(DirectoryError) as refused:
        import_rows(sessions, *rows)
    return refused.value


def _row(name: str, email: str, **facts) -> str:
    return person_csv(name, email, "Example Trust", facts.pop("roles", "practitioner"), **facts)


# --- the facts, stored ------------------------------------------------------------------------


def test_every_new_column_is_stored(sessions):
    import_rows(
        sessions,
        _row("Ann", A, agency_type="health", group="nurse", line_manager=B),
        _row(
            "Ben",
            B,
            roles="named_professional;team_manager",
            group="nurse",
            others="lakeside-partnership;example-partnership;lakeside-partnership",
            primary="named_professional",
        ),
    )
    with transaction(sessions) as session:
        ann, ben = find_person(session, A), find_person(session, B)
        assert (ann.professional_group, ann.line_manager.email) == ("nurse", B)
        assert ben.partnerships == ["example-partnership", "lakeside-partnership"]
        assert ben.roles == {"named_professional", "team_manager"}
        assert ben.primary_roles == {"named_professional"}
    assert _agency_types(sessions) == {"example trust": ("Example Trust", "health")}


def test_an_old_file_leaves_the_facts_it_has_no_column_for(sessions):
    import_rows(sessions, *TYPED_ROWS)
    with transaction(sessions) as session:  # a file of the nine columns from before
        import_csv(session, NINE_COLUMNS)
    with transaction(sessions) as session:
        nathan = find_person(session, "nathan.nurse@trust.example")
        assert (nathan.professional_group, nathan.primary_roles) == (
            "nurse",
            {"named_professional"},
        )
        assert find_person(session, "nadia.named@trust.example").deputy == nathan  # given again
    assert _agency_types(sessions)["example trust"] == ("Example Trust", "health")


def test_a_blank_cell_clears_a_fact_but_an_organisations_type_stays(sessions):
    import_rows(
        sessions, _row("Ann", A, agency_type="health", group="nurse", line_manager=B), _row("B", B)
    )
    import_rows(sessions, _row("Ann", A), _row("Ben", B))
    with transaction(sessions) as session:
        ann = find_person(session, A)
        assert (ann.professional_group, ann.line_manager) == ("", None)
    assert _agency_types(sessions)["example trust"][1] == "health"


def test_an_import_changes_an_organisations_agency_type_whatever_the_case_of_its_name(sessions):
    import_rows(sessions, _row("Ann", A, agency_type="health"))
    import_rows(
        sessions, person_csv("Ben", B, "EXAMPLE TRUST", "practitioner", agency_type="other")
    )
    assert _agency_types(sessions) == {"example trust": ("Example Trust", "other")}


def test_an_agency_type_or_group_the_vocabulary_lacks_is_stored_and_the_gaps_warn(sessions):
    import_rows(
        sessions,
        *TYPED_ROWS,
        person_csv(
            "Yan", A, "Example YOT", "practitioner", agency_type="youth_justice", group="yjo"
        ),
    )
    warnings = gaps(sessions)
    assert (
        "Example YOT's agency type 'youth_justice' is not one the policy knows (childrens_social_"
        "care, early_years, education, health, housing, other, police, probation): no rule for an "
        "agency type matches it."
    ) in warnings
    assert (
        "1 person has the professional group 'yjo', which the policy does not know (doctor, "
        "early_years_practitioner, housing_officer, nurse, other, police_officer, "
        "probation_officer, social_worker, teacher): no rule for a group matches them."
    ) in warnings


# --- what is refused, naming the file, the row and the field -----------------------------------

REFUSED = [
    (
        "an agency type that is not a word",
        [_row("Ann", A, agency_type="Children's social care")],
        'people.csv: row 2: agency_type: "children\'s social care" is not a lower_snake word, '
        "like childrens_social_care",
    ),
    (
        "a group that is not a word",
        [_row("Ann", A, group="social worker")],
        "people.csv: row 2: professional_group: 'social worker' is not a lower_snake word, like "
        "social_worker",
    ),
    (
        "rows of one organisation that disagree",
        [
            _row("Ann", A, agency_type="health"),
            _row("Ben", B),
            person_csv("Cat", C, "example trust", "practitioner", agency_type="police"),
        ],
        "people.csv: row 4: agency_type: 'police' differs from row 2's 'health' for example "
        "trust: give one agency type per organisation",
    ),
    (
        "an unknown line manager",
        [_row("Ann", A, line_manager="ghost@trust.example")],
        "people.csv: row 2: line_manager_email: ghost@trust.example is not in this file or the "
        "directory",
    ),
    (
        "their own line manager",
        [_row("Ann", A, line_manager=A)],
        "people.csv: row 2: line_manager_email: a person cannot be their own line manager",
    ),
    (
        "a primary role not held",
        [_row("Ann", A, roles="practitioner", primary="named_professional")],
        "people.csv: row 2: primary_roles: each must be one of the row's roles",
    ),
    (
        "an unknown primary role",
        [_row("Ann", A, primary="wizard")],
        f"people.csv: row 2: primary_roles: unknown role 'wizard'; use one of {', '.join(ROLES)}",
    ),
    (
        "a partnership name with a control character",
        [_row("Ann", A, others="lake\x00side")],
        "people.csv: row 2: other_partnerships: must not contain line breaks, tabs or other "
        "control characters",
    ),
]


@pytest.mark.parametrize(
    "rows, expected", [case[1:] for case in REFUSED], ids=[case[0] for case in REFUSED]
)
def test_a_bad_fact_is_refused_naming_file_row_and_field(sessions, rows, expected):
    error = _refused(sessions, *rows)
    assert expected in str(error).splitlines(), str(error)
    assert _people(sessions) == 0 and _agency_types(sessions) == {}


LOOPS = [
    (
        "two new rows naming each other",
        [],
        [_row("Ann", A, deputy=B), _row("Ben", B, deputy=A)],
        "people.csv: row 2: deputy_email: a deputy loop: ann@trust.example (row 2) → "
        "ben@trust.example (row 3) → ann@trust.example; give one of them another deputy, or none",
    ),
    (
        "a row closing a loop through the directory",
        [_row("Ann", A), _row("Ben", B, deputy=A)],
        [_row("Ann", A, deputy=B)],
        "people.csv: row 2: deputy_email: a deputy loop: ann@trust.example (row 2) → "
        "ben@trust.example (in the directory) → ann@trust.example; give one of them another "
        "deputy, or none",
    ),
    (
        "three people",
        [_row("Cat", C)],
        [_row("Ann", A, deputy=B), _row("Ben", B, deputy=C), _row("Cat", C, deputy=A)],
        "people.csv: row 2: deputy_email: a deputy loop: ann@trust.example (row 2) → "
        "ben@trust.example (row 3) → cat@trust.example (row 4) → ann@trust.example; give one of "
        "them another deputy, or none",
    ),
    (
        "line managers naming each other",
        [],
        [_row("Ann", A, line_manager=B), _row("Ben", B, line_manager=A)],
        "people.csv: row 2: line_manager_email: a line manager loop: ann@trust.example (row 2) → "
        "ben@trust.example (row 3) → ann@trust.example; give one of them another line manager, "
        "or none",
    ),
    (
        "a line manager closing a loop through the directory",
        [_row("Ann", A), _row("Ben", B, line_manager=C), _row("Cat", C, line_manager=A)],
        [_row("Ann", A, line_manager=B)],
        "people.csv: row 2: line_manager_email: a line manager loop: ann@trust.example (row 2) → "
        "ben@trust.example (in the directory) → cat@trust.example (in the directory) → "
        "ann@trust.example; give one of them another line manager, or none",
    ),
]


@pytest.mark.parametrize(
    "before, rows, expected", [case[1:] for case in LOOPS], ids=[case[0] for case in LOOPS]
)
def test_a_loop_is_refused_naming_the_file_the_rows_and_the_field(sessions, before, rows, expected):
    if before:
        import_rows(sessions, *before)
    people = _people(sessions)
    error = _refused(sessions, *rows)
    assert str(error).splitlines() == [expected]
    assert error.problems[0].row == 2
    assert _people(sessions) == people


def test_a_loop_and_a_bad_row_are_reported_together_in_row_order(sessions):
    error = _refused(
        sessions,
        _row("Ann", A, deputy=B),
        _row("Bad", "not-an-email"),
        _row("Ben", B, deputy=A),
    )
    assert [(problem.row, problem.field) for problem in error.problems] == [
        (2, "deputy_email"),
        (3, "email"),
    ]


def test_a_deputy_one_way_and_a_line_manager_the_other_is_not_a_loop(sessions):
    assert import_rows(sessions, _row("Ann", A, deputy=B), _row("Ben", B, line_manager=A)) == 2
    with transaction(sessions) as session:
        assert find_person(session, A).deputy.email == B
        assert find_person(session, B).line_manager.email == A


def test_a_three_person_chain_is_not_a_loop(sessions):
    import_rows(sessions, _row("Ann", A, deputy=B), _row("Ben", B, deputy=C), _row("Cat", C))
    with transaction(sessions) as session:
        assert find_person(session, A).deputy.deputy.email == C


# --- the export ---------------------------------------------------------------------------------


def test_the_export_writes_every_fact_and_imports_back_unchanged(sessions):
    import_rows(
        sessions,
        *TYPED_ROWS,
        person_csv(
            "Lee Lead",
            "lee@trust.example",
            "Example Trust",
            "team_manager;named_professional",
            group="nurse",
            line_manager="nathan.nurse@trust.example",
            others="lakeside-partnership",
            primary="team_manager",
        ),
    )
    with transaction(sessions) as session:
        exported = export_csv(session)
    rows = {row["email"]: row for row in csv.DictReader(io.StringIO(exported))}
    assert list(rows["lee@trust.example"].items())[4:] == [
        ("roles", "named_professional;team_manager"),
        ("job_title", ""),
        ("deputy_email", ""),
        ("absent_from", ""),
        ("absent_until", ""),
        ("agency_type", "health"),
        ("professional_group", "nurse"),
        ("line_manager_email", "nathan.nurse@trust.example"),
        ("other_partnerships", "lakeside-partnership"),
        ("primary_roles", "team_manager"),
    ]
    with transaction(sessions) as session:
        import_csv(session, exported, source="export.csv")
        assert export_csv(session) == exported


# --- the board's import: one partnership ----------------------------------------------------------


def _board_import(sessions, *rows: str, source: str = "ours.csv") -> int:
    with transaction(sessions) as session:
        return import_partnership_csv(
            session,
            text="\n".join([HEADER, *rows]) + "\n",
            partnership="example-partnership",
            editor_email=MANAGER,
            source=source,
        )


def test_the_boards_import_refuses_what_only_the_service_administrator_may_change(sessions):
    import_rows(sessions, *TYPED_ROWS)
    import_rows(
        sessions,
        person_csv(
            "Lou",
            "lou@lake.example",
            "Example Trust",
            "practitioner",
            partnership="lakeside-partnership",
        ),
        person_csv("Dee", "dee@lake.example", "Lake Trust", "practitioner", agency_type="health"),
    )
    with pytest.raises(DirectoryError) as refused:
        _board_import(
            sessions,
            _row("Ann", A, agency_type="other", others="lakeside-partnership"),
            _row("Ben", B, line_manager="lou@lake.example"),
            person_csv(
                "Dee", "dee@lake.example", "Lake Trust", "practitioner", agency_type="other"
            ),
        )
    assert str(refused.value).splitlines() == [
        "ours.csv: row 2: other_partnerships: only the service administrator can change the "
        "other partnerships someone serves",
        "ours.csv: row 2: agency_type: only the service administrator can change the agency type "
        "of Example Trust (it is 'health')",
        "ours.csv: row 3: line_manager_email: lou@lake.example is not in this file or the "
        "directory",
    ]
    assert _agency_types(sessions)["example trust"][1] == "health"
    # Lake Trust is named by our partnership's people only: the board may change its type.
    _board_import(sessions, person_csv("Dee", "dee@lake.example", "Lake Trust", "practitioner"))


def test_the_boards_export_round_trips_someone_serving_another_partnership(sessions):
    load_directory(sessions)
    import_rows(
        sessions,
        *TYPED_ROWS[:5],
        person_csv(
            "Chris Chair",
            "chris.chair@partnership.example",
            "Example Partnership",
            "chair",
            others="lakeside-partnership",
        ),
    )
    with transaction(sessions) as session:
        exported = export_partnership_csv(session, "example-partnership")
    assert "lakeside-partnership" in exported
    with transaction(sessions) as session:
        assert import_partnership_csv(
            session,
            text=exported,
            partnership="example-partnership",
            editor_email=MANAGER,
            source="round.csv",
        ) == len(list(csv.DictReader(io.StringIO(exported))))
        assert export_partnership_csv(session, "example-partnership") == exported


def test_the_boards_import_refuses_a_loop_naming_the_file(sessions):
    load_directory(sessions)
    with pytest.raises(DirectoryError) as refused:
        _board_import(sessions, _row("Ann", A, deputy=B), _row("Ben", B, deputy=A))
    assert refused.value.problems == [
        RowProblem(
            2,
            "deputy_email",
            "a deputy loop: ann@trust.example (row 2) → ben@trust.example (row 3) → "
            "ann@trust.example; give one of them another deputy, or none",
        )
    ]
    assert str(refused.value).startswith("ours.csv: row 2: deputy_email: a deputy loop")


def test_the_boards_import_never_follows_a_loop_into_another_partnership(sessions):
    other = {"partnership": "other-partnership"}
    import_rows(
        sessions,
        _row("Ann", A),
        person_csv("Xia", "xia@other.example", "Other Trust", "practitioner", **other),
        person_csv("Yan", "yan@other.example", "Other Trust", "practitioner", deputy=A, **other),
    )
    import_rows(
        sessions,
        person_csv(
            "Xia",
            "xia@other.example",
            "Other Trust",
            "practitioner",
            deputy="yan@other.example",
            **other,
        ),
    )
    with pytest.raises(DirectoryError) as refused:
        _board_import(sessions, _row("Ann", A, deputy="xia@other.example"))
    assert str(refused.value).splitlines() == [
        "ours.csv: row 2: deputy_email: xia@other.example is not in this file or the directory"
    ]  # not the loop through Yan, whom the board may not know of


def test_a_refused_board_import_that_is_not_csv_or_too_long_names_the_file(sessions):
    with pytest.raises(DirectoryError, match=r"^big\.csv: the file has 5,001 rows"):
        _board_import(
            sessions, *[_row(f"P{n}", f"p{n}@trust.example") for n in range(5001)], source="big.csv"
        )


# --- the command line ---------------------------------------------------------------------------


def test_the_command_line_import_names_the_path_the_row_and_the_field(database_url, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(
        NINE_COLUMNS.splitlines()[0]
        + ",line_manager_email\nAnn,ann@trust.example,Example Trust,example-partnership,"
        "practitioner,,ben@trust.example,,,ben@trust.example\nBen,ben@trust.example,Example "
        "Trust,example-partnership,practitioner,,ann@trust.example,,,\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "escalation", "directory", "import", str(path)],
        env={
            **os.environ,
            "ESCALATION_DATABASE_URL": database_url,
            "ESCALATION_POLICIES_DIR": str(Path("policies").resolve()),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == [
        f"error: {path}: row 2: deputy_email: a deputy loop: ann@trust.example (row 2) → "
        "ben@trust.example (row 3) → ann@trust.example; give one of them another deputy, or none"
    ]
