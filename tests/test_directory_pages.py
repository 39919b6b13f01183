"""The board's directory pages through HTTP: the list and its gap warnings, add and edit, CSV
export and import, and who may do what; each on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from escalation.casework import disagreements as d
from escalation.directory.csv_rows import import_csv
from escalation.directory.people import find_person
from escalation.store.db import transaction
from escalation.store.models import Organisation, Person, PersonRole, WebSession
from escalation.web.board.directory_csv import file_name
from tests.board_helpers import board_sign_in, csrf_of
from tests.directory_helpers import LADDER_POLICY, TYPED_ROWS, import_rows, rule_words
from tests.factories import (
    CHAIR,
    DESIGNATED,
    MANAGER,
    MONDAY,
    NAMED,
    NAMED_DEPUTY,
    RAISER,
    raise_one,
)

OTHER = "olga.other@other-partnership.example"
HEADER = (
    "name,email,organisation,partnership,roles,job_title,deputy_email,absent_from,absent_until\n"
)
NEW = "nell.new@icb.example"


@pytest.fixture
def other_partnership(sessions):
    with transaction(sessions) as session:
        import_csv(
            session,
            HEADER + f"Olga Other,{OTHER},Other Trust,other-partnership,board_manager,,,,\n",
        )
    return _id(sessions, OTHER)


@pytest.fixture
def manager(client, sessions, clock):
    """Signed in as the board manager; the session's CSRF token."""
    board_sign_in(client, sessions, clock, MANAGER)
    return csrf_of(client.get("/board/directory/new").text)


@pytest.fixture
def ladder(client, sessions, monkeypatch):
    """The app works to the tests' small two-sided ladder (directory_helpers.LADDER), under
    which the factory directory, its facts given, has no gap."""
    import_rows(sessions, *TYPED_ROWS)
    monkeypatch.setattr(client.app.state, "policies", {"default": LADDER_POLICY})


def _id(sessions, email: str) -> int:
    with transaction(sessions) as session:
        return find_person(session, email).id


def _person(sessions, email: str) -> Person | None:
    with transaction(sessions) as session:
        person = find_person(session, email)
        if person is not None and person.deputy is not None:
            _ = person.deputy.email  # loaded while the session is open
        return person


def _form(csrf: str, **overrides) -> dict:
    data = {
        "csrf": csrf,
        "name": "Nell New",
        "email": NEW,
        "organisation": "Example ICB",
        "job_title": "Designated nurse",
        "roles": ["designated_professional"],
        "deputy": "",
        "absent_from-day": "",
        "absent_from-month": "",
        "absent_from-year": "",
        "absent_until-day": "",
        "absent_until-month": "",
        "absent_until-year": "",
        "active": "yes",
    }
    data.update(overrides)
    return data


def _form_of(sessions, csrf: str, email: str, **overrides) -> dict:
    """The edit form as the page would post it for this person, with some fields changed."""
    person = _person(sessions, email)
    current = {
        "name": person.name,
        "email": person.email,
        "organisation": person.organisation,
        "job_title": person.job_title,
        "roles": sorted(person.roles),
        "deputy": str(person.deputy_id or ""),
    }
    return _form(csrf, **{**current, **overrides})


def _gaps(client) -> str:
    page = client.get("/board/directory")
    assert page.status_code == 200
    return (
        page.text.split('id="gaps"', 1)[1].split("</ul>", 1)[0] if 'id="gaps"' in page.text else ""
    )


def _upload(client, csrf: str, text: str):
    return client.post(
        "/board/directory/import",
        data={"csrf": csrf},
        files={"csv_file": ("people.csv", text.encode(), "text/csv")},
        follow_redirects=False,
    )


def _directory(sessions) -> list[tuple]:
    with transaction(sessions) as session:
        people = session.execute(select(Person).order_by(Person.email)).scalars()
        organisations = session.execute(select(Organisation.key, Organisation.agency_type)).all()
        return [
            (
                p.name,
                p.email,
                p.partnership,
                p.job_title,
                tuple(sorted(p.roles)),
                p.deputy_id,
                p.absent_from,
                p.absent_until,
                p.active,
                p.professional_group,
                p.line_manager_id,
                tuple(sorted(p.primary_roles)),
                tuple(p.partnerships),
            )
            for p in people
        ] + sorted(organisations)


# --- the list and its warnings ----------------------------------------------------------------


def test_the_list_shows_only_our_partnerships_people(
    client, sessions, manager, other_partnership, ladder
):
    page = client.get("/board/directory").text
    for name in ("Hana Visitor", "Nadia Named", "Dev Designated", "Bea Manager", "Chris Chair"):
        assert name in page
    assert "Olga Other" not in page and OTHER not in page
    assert _gaps(client) == ""  # the typed factory directory has everyone the ladder needs
    assert "Primary named professional" in page and "Nurse, health visitor or midwife" in page


def test_the_list_shows_100_people_a_page_and_the_gaps_of_the_whole_partnership(
    client, sessions, manager, ladder
):
    with transaction(sessions) as session:
        total = len(session.execute(select(Person.id)).all()) + 231
        for n in range(230):
            session.add(_practitioner(f"Pat {n:03d}", f"pat.{n}@icb.example", "Example Trust"))
        session.add(_practitioner("Zzed Zulu", "zed@zulu.example", "Zulu Trust"))
    assert 200 < total <= 300
    first = client.get("/board/directory").text
    assert _people_shown(first) == 100
    assert f"{total} people" in first and "showing 1 to 100" in first
    for number in (2, 3):
        assert f'href="/board/directory?page={number}"' in first
    assert "Zzed Zulu" not in first  # on the last page, but its gap is warned on every page
    assert (
        "Named professional or line manager (raising side) for Zulu Trust: nobody matches "
        f"{rule_words(1, 'owner', 2)} (Zulu Trust); the board manager would hold it."
    ) in _gaps(client)
    assert "Zulu Trust has no agency type (1 person)" in _gaps(client)
    last = client.get("/board/directory?page=3").text
    assert _people_shown(last) == total - 200 and "Zzed Zulu" in last
    assert f"showing 201 to {total}" in last
    assert f"showing 201 to {total}" in client.get("/board/directory?page=99").text
    assert "showing 1 to 100" in client.get("/board/directory?page=x").text


def _practitioner(name: str, email: str, organisation: str) -> Person:
    return Person(
        name=name,
        email=email,
        organisation=organisation,
        partnership="example-partnership",
        role_rows=[PersonRole(role="practitioner")],
    )


def _people_shown(page: str) -> int:
    table = page.split('id="people"', 1)[1]
    return table.split("<tbody", 1)[1].split("</tbody>", 1)[0].count("<tr")


def test_deactivating_the_designated_professional_warns_until_another_is_added(
    client, sessions, manager, ladder
):
    done = client.post(
        f"/board/directory/{_id(sessions, DESIGNATED)}",
        data=_form_of(sessions, manager, DESIGNATED, active=""),
        follow_redirects=False,
    )
    assert done.status_code == 303
    gap = (
        "Designated professional or service manager (raising side) for Example Trust: nobody "
        f"matches {rule_words(2, 'owner', 1)} in example-partnership"
    )
    assert gap in _gaps(client)
    added = client.post(
        "/board/directory/new",
        data=_form(manager, professional_group="nurse", roles=["designated_professional"]),
        follow_redirects=False,
    )
    assert added.status_code == 303
    assert gap not in _gaps(client)
    assert (
        "Board manager (receiving side) for Example Trust: nobody matches agency partnership"
        in (_gaps(client))
    )  # Dev Designated was its partnership lead too


def test_an_organisation_with_practitioners_but_nobody_the_rules_name_is_warned(
    client, manager, ladder
):
    client.post(
        "/board/directory/new",
        follow_redirects=False,
        data=_form(
            manager,
            name="Sam Social",
            email="sam.social@council.example",
            organisation="",  # not in the list: added deliberately, with its agency type
            new_organisation="Example Academy Trust",
            new_agency_type="childrens_social_care",
            professional_group="social_worker",
            roles=["practitioner"],
        ),
    )
    for side, then in (
        ("raising", "the board manager would hold it"),
        ("receiving", "it would have no counterpart"),
    ):
        assert (
            f"Named professional or line manager ({side} side) for Example Academy Trust: "
            f"nobody matches {rule_words(1, 'owner', 2)} (Example Academy Trust); {then}."
        ) in _gaps(client)
    assert "Example Trust" not in _gaps(client)


def test_a_role_whose_every_holder_is_absent_today_is_warned(client, sessions, manager, ladder):
    client.post(
        f"/board/directory/{_id(sessions, DESIGNATED)}",
        follow_redirects=False,
        data=_form_of(
            sessions,
            manager,
            DESIGNATED,
            **{
                "absent_from-day": "20",
                "absent_from-month": "11",
                "absent_from-year": "2026",
                "absent_until-day": "27",
                "absent_until-month": "11",
                "absent_until-year": "2026",
            },
        ),
    )
    assert "Every designated professional is absent today (Dev Designated)" in _gaps(client)
    assert "Absent today" in client.get("/board/directory").text


def test_removing_the_last_board_manager_role_is_refused_for_yourself(client, sessions, manager):
    refused = client.post(
        f"/board/directory/{_id(sessions, MANAGER)}",
        data=_form_of(sessions, manager, MANAGER, roles=["chair"], active=""),
    )
    assert refused.status_code == 422
    assert "cannot remove your own board manager role" in refused.text
    assert "cannot make yourself inactive" in refused.text
    assert _person(sessions, MANAGER).roles == {"board_manager"}


# --- add and edit -----------------------------------------------------------------------------


def test_a_person_added_appears_with_their_roles(client, sessions, manager):
    done = client.post(
        "/board/directory/new",
        follow_redirects=False,
        data=_form(
            manager,
            email=" Nell.New@ICB.example ",
            roles=["designated_professional", "practitioner"],
        ),
    )
    assert done.status_code == 303
    page = client.get(done.headers["location"]).text
    assert "Saved Nell New." in page and NEW in page
    person = _person(sessions, NEW)
    assert person.roles == {"designated_professional", "practitioner"}
    assert person.partnership == "example-partnership" and person.active


def test_bad_input_is_shown_again_with_what_was_typed_and_nothing_is_added(
    client, sessions, manager
):
    before = _directory(sessions)
    page = client.post(
        "/board/directory/new",
        data=_form(
            manager,
            name="  ",
            email="nell at icb",
            job_title="Typed title",
            **{
                "absent_from-day": "10",
                "absent_from-month": "12",
                "absent_from-year": "2026",
                "absent_until-day": "1",
                "absent_until-month": "12",
                "absent_until-year": "2026",
            },
        ),
    )
    assert page.status_code == 422
    assert "There is a problem" in page.text and page.text.count("govuk-error-summary__list") == 1
    for anchor in ("#name", "#email", "#absent_until-day"):
        assert f'href="{anchor}"' in page.text
    assert "Enter their name" in page.text and "same as or after its start" in page.text
    assert 'value="nell at icb"' in page.text and 'value="Typed title"' in page.text
    assert 'value="10"' in page.text and 'value="designated_professional" checked' in page.text
    assert _directory(sessions) == before


@pytest.mark.parametrize(
    "day,month,year", [("31", "2", "2026"), ("1", "12", "26"), ("x", "12", "2026")]
)
def test_a_date_that_does_not_exist_is_refused(client, manager, day, month, year):
    page = client.post(
        "/board/directory/new",
        data=_form(
            manager,
            **{"absent_from-day": day, "absent_from-month": month, "absent_from-year": year},
        ),
    )
    assert page.status_code == 422 and "start of the absence must be a real date" in page.text
    assert 'href="#absent_from-day"' in page.text and f'value="{year}"' in page.text


def test_an_address_in_use_names_our_holder_but_says_nothing_of_another_partnership(
    client, sessions, manager, other_partnership
):
    ours = client.post("/board/directory/new", data=_form(manager, email=NAMED.upper()))
    assert ours.status_code == 422
    assert "Nadia Named already has this email address in your directory" in ours.text
    for email in (OTHER, OTHER.upper()):
        theirs = client.post("/board/directory/new", data=_form(manager, email=email))
        assert theirs.status_code == 422 and 'href="#email"' in theirs.text
        assert (
            "This email address cannot be added to your directory; check it, or ask the "
            "service administrator"
        ) in theirs.text
        assert "already" not in theirs.text and "Olga" not in theirs.text
    edited = client.post(
        f"/board/directory/{_id(sessions, NAMED)}",
        data={**_form_of(sessions, manager, NAMED), "email": OTHER},
    )
    assert edited.status_code == 422 and "cannot be added to your directory" in edited.text
    assert _person(sessions, OTHER).partnership == "other-partnership"
    assert _person(sessions, NAMED).name == "Nadia Named"


@pytest.mark.parametrize(
    "field, value",
    [
        ("name", "Nell New\r\nBcc: someone@elsewhere.example"),
        ("name", "Nell\u2028New"),
        ("organisation", "Example\nICB"),
        ("job_title", "Designated\tnurse"),
        ("job_title", "Designated nurse\x1b[8m"),
        ("email", "nell.new@icb.example\r\n"),
    ],
)
def test_line_breaks_and_control_characters_are_refused_naming_the_field(
    client, sessions, manager, field, value
):
    before = _directory(sessions)
    page = client.post("/board/directory/new", data=_form(manager, **{field: value}))
    assert page.status_code == 422 and f'href="#{field}"' in page.text
    assert "must not contain line breaks, tabs or other control characters" in page.text
    edit = client.post(
        f"/board/directory/{_id(sessions, NAMED)}",
        data={**_form_of(sessions, manager, NAMED), field: value},
    )
    assert edit.status_code == 422 and f'href="#{field}"' in edit.text
    assert _directory(sessions) == before


@pytest.mark.parametrize("field", ["name", "email", "organisation", "job_title"])
def test_a_nul_in_a_field_is_refused_naming_the_field_not_a_database_error(
    client, sessions, manager, field
):
    before = _directory(sessions)
    value = "nell\x00@icb.example" if field == "email" else "Nell\x00New"
    page = client.post("/board/directory/new", data=_form(manager, **{field: value}))
    assert page.status_code == 422
    assert f'href="#{field}"' in page.text or f"“{field}”" in page.text  # the form's, or forms.py's
    assert _directory(sessions) == before


def test_editing_sets_the_deputy_and_the_absence(client, sessions, manager):
    done = client.post(
        f"/board/directory/{_id(sessions, DESIGNATED)}",
        follow_redirects=False,
        data=_form_of(
            sessions,
            manager,
            DESIGNATED,
            deputy=str(_id(sessions, NAMED)),
            **{"absent_from-day": "1", "absent_from-month": "12", "absent_from-year": "2026"},
        ),
    )
    assert done.status_code == 303
    person = _person(sessions, DESIGNATED)
    assert person.deputy.email == NAMED and str(person.absent_from) == "2026-12-01"
    assert person.absent_until is None
    page = client.get(f"/board/directory/{person.id}").text
    assert 'value="1"' in page and 'value="12"' in page and 'value="2026"' in page
    assert f'<option value="{_id(sessions, NAMED)}" selected' in page
    assert f'<option value="{person.id}"' not in page  # not offered as their own deputy
    assert "From Tue 1 Dec 2026" in client.get("/board/directory").text


def test_a_deputy_loop_is_refused_as_being_your_own_deputy_is(client, sessions, manager):
    named, cover = _id(sessions, NAMED), _id(sessions, NAMED_DEPUTY)
    loop = client.post(
        f"/board/directory/{cover}",
        follow_redirects=False,
        data=_form_of(sessions, manager, NAMED_DEPUTY, deputy=str(named)),
    )
    assert loop.status_code == 422 and 'href="#deputy"' in loop.text
    assert (
        "Select another deputy: this one makes a loop (Nathan Nurse → Nadia Named → Nathan Nurse)"
    ) in loop.text
    assert _person(sessions, NAMED_DEPUTY).deputy_id is None
    own = client.post(
        f"/board/directory/{named}", data=_form_of(sessions, manager, NAMED, deputy=str(named))
    )
    assert own.status_code == 422 and "cannot be their own deputy" in own.text
    assert _person(sessions, NAMED).deputy_id == cover


def test_a_deputy_from_another_partnership_is_refused(client, sessions, manager, other_partnership):
    page = client.post(
        f"/board/directory/{_id(sessions, NAMED)}",
        data=_form_of(sessions, manager, NAMED, deputy=str(other_partnership)),
    )
    assert page.status_code == 422 and "Select a deputy from the list" in page.text


def test_deactivating_an_owner_warns_how_many_open_stages_they_own(
    client, sessions, manager, ladder
):
    reference = raise_one(sessions, MONDAY)
    with transaction(sessions) as session:
        d.escalate(session, reference=reference, actor=RAISER, now=MONDAY)
        assert d.get(session, reference).owner.email == NAMED_DEPUTY  # the primary named nurse
    done = client.post(
        f"/board/directory/{_id(sessions, NAMED_DEPUTY)}",
        follow_redirects=False,
        data=_form_of(sessions, manager, NAMED_DEPUTY, active=""),
    )
    page = client.get(done.headers["location"]).text
    assert "Saved Nathan Nurse. They are inactive but still own 1 open stage" in page
    assert "Nathan Nurse is inactive but still owns 1 open stage" in _gaps(client)
    with transaction(sessions) as session:
        assert d.get(session, reference).owner.email == NAMED_DEPUTY  # not reassigned


# --- export and import ------------------------------------------------------------------------


def test_the_export_round_trips_through_the_import(client, sessions, manager, other_partnership):
    client.post(
        f"/board/directory/{_id(sessions, NAMED_DEPUTY)}",
        follow_redirects=False,
        data=_form_of(
            sessions,
            manager,
            NAMED_DEPUTY,
            **{
                "absent_from-day": "1",
                "absent_from-month": "12",
                "absent_from-year": "2026",
                "absent_until-day": "4",
                "absent_until-month": "12",
                "absent_until-year": "2026",
            },
        ),
    )
    exported = client.get("/board/directory.csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert (
        exported.headers["content-disposition"]
        == 'attachment; filename="directory-example-partnership.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert {row["partnership"] for row in rows} == {"example-partnership"}
    with transaction(sessions) as session:
        ours = select(Person.id).where(Person.partnership == "example-partnership")
        assert len(rows) == len(session.execute(ours).all())  # all active and listed
    before = _directory(sessions)
    done = _upload(client, manager, exported.text)
    assert done.status_code == 303
    page = client.get(done.headers["location"]).text
    assert f"{len(rows)} people added or updated from the file." in page
    assert _directory(sessions) == before


def test_the_export_neutralises_formulas_and_imports_back_unchanged(client, sessions, manager):
    with transaction(sessions) as session:
        import_csv(
            session,
            HEADER + '"=HYPERLINK(""https://x.example"",""Open"")",+nell@icb.example,-Example ICB,'
            "example-partnership,practitioner,@SUM(A1),,,\n",
        )
    before = _directory(sessions)
    exported = client.get("/board/directory.csv").text
    cells = [cell for row in csv.reader(io.StringIO(exported)) for cell in row]
    assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert {
        '\'=HYPERLINK("https://x.example","Open")',
        "'+nell@icb.example",
        "'-Example ICB",
        "'@SUM(A1)",
    } <= set(cells)
    assert _upload(client, manager, exported).status_code == 303
    assert _directory(sessions) == before


def test_a_file_over_1_mb_is_refused_before_it_is_read(client, sessions, manager):
    before = _directory(sessions)
    padding = "x" * 100_000  # an unnamed extra column: a file that is big, not many rows
    text = HEADER + "".join(
        f"Pat {n},pat.{n}@icb.example,Example ICB,example-partnership,practitioner,,,,,{padding}\n"
        for n in range(11)
    )
    assert 1024 * 1024 < len(text) < 2 * 1024 * 1024
    page = _upload(client, manager, text)
    assert page.status_code == 413 and 'href="#csv_file"' in page.text
    assert "The selected file must be smaller than 1 MB" in page.text
    assert "at most 1 MB and 5,000 people" in client.get("/board/directory/import").text
    assert _directory(sessions) == before


def test_a_file_of_more_than_5000_rows_is_refused_whole(client, sessions, manager):
    before = _directory(sessions)
    text = HEADER + "".join(
        f"P{n},p{n}@icb.example,Example ICB,example-partnership,practitioner,,,,\n"
        for n in range(5001)
    )
    page = _upload(client, manager, text)
    assert page.status_code == 422 and 'href="#csv_file"' in page.text
    assert "people.csv: the file has 5,001 rows; import at most 5,000 people at a time" in page.text
    assert _directory(sessions) == before


def test_an_import_with_control_characters_names_each_row_and_field(client, sessions, manager):
    before = _directory(sessions)
    page = _upload(
        client,
        manager,
        HEADER
        + "Nell\x00New,nell.new@icb.example,Example ICB,example-partnership,practitioner,,,,\n"
        + '"Two\nLines",two@icb.example,Example ICB,example-partnership,practitioner,,,,\n'
        + 'Cr Org,cr@icb.example,"Example\rICB",example-partnership,practitioner,,,,\n'
        + "Tab Title,tab@icb.example,Example ICB,example-partnership,practitioner,A\tB,,,\n"
        + "Nul Mail,nul\x00@icb.example,Example ICB,example-partnership,practitioner,,,,\n"
        + "Nul Deputy,nd@icb.example,Example ICB,example-partnership,practitioner,,"
        "d\x00@icb.example,,\n",
    )
    assert page.status_code == 422 and "Nothing was changed" in page.text
    for row, field in (
        (2, "name"),
        (3, "name"),
        (4, "organisation"),
        (5, "job_title"),
        (6, "email"),
        (7, "deputy_email"),
    ):
        assert (
            f"people.csv: row {row}: {field}: must not contain line breaks, tabs or other "
            "control characters"
        ) in page.text
    assert _directory(sessions) == before


def test_an_import_with_a_bad_row_changes_nothing_and_names_line_and_field(
    client, sessions, manager
):
    before = _directory(sessions)
    page = _upload(
        client,
        manager,
        HEADER + f"Nell New,{NEW},Example ICB,example-partnership,designated_professional,,,,\n"
        "Bad Row,not-an-email,Example ICB,example-partnership,practitioner,,,,\n"
        f"Nadia Named,{NAMED},Example Trust,example-partnership,wizard,,,,\n",
    )
    assert page.status_code == 422 and "Nothing was changed" in page.text
    assert "people.csv: row 3: email: &#39;not-an-email&#39; is not an email address" in page.text
    assert "people.csv: row 4: roles: unknown role &#39;wizard&#39;" in page.text
    assert _directory(sessions) == before


def test_an_import_touching_another_partnership_is_refused_whole(
    client, sessions, manager, other_partnership
):
    before = _directory(sessions)
    page = _upload(
        client,
        manager,
        HEADER + f"Nell New,{NEW},Example ICB,example-partnership,designated_professional,,,,\n"
        "Lou Lake,lou@lake.example,Lake Trust,lakeside-partnership,practitioner,,,,\n"
        f"Olga Other,{OTHER},Example ICB,example-partnership,practitioner,,,,\n",
    )
    assert page.status_code == 422
    assert (
        "people.csv: row 3: partnership: &#39;lakeside-partnership&#39; is not your partnership"
        in page.text
    )
    assert (
        f"people.csv: row 4: email: {OTHER} cannot be added to your directory; check it, or ask the "
        "service administrator"
    ) in page.text
    assert "other-partnership" not in page.text.replace(OTHER, "")  # which partnership is not said
    assert "already used" not in page.text
    assert _directory(sessions) == before


def test_another_partnerships_deputy_is_refused_in_the_words_for_an_unknown_one(
    client, sessions, manager, other_partnership
):
    before = _directory(sessions)
    page = _upload(
        client,
        manager,
        HEADER
        + f"Nell New,{NEW},Example ICB,example-partnership,practitioner,,{OTHER},,\n"
        + "Sam New,sam.new@icb.example,Example ICB,example-partnership,practitioner,,"
        "ghost@nowhere.example,,\n",
    )
    assert page.status_code == 422
    assert (
        f"people.csv: row 2: deputy_email: {OTHER} is not in this file or the directory"
        in page.text
    )
    assert (
        "people.csv: row 3: deputy_email: ghost@nowhere.example is not in this file or the "
        "directory" in page.text
    )
    assert "already used" not in page.text
    assert _directory(sessions) == before


def test_an_import_without_a_file_a_header_or_utf8_is_refused(client, manager):
    empty = client.post("/board/directory/import", data={"csrf": manager})
    assert empty.status_code == 422 and "Select a CSV file" in empty.text
    blank = _upload(client, manager, "")
    assert blank.status_code == 422
    assert "people.csv: header: missing column(s) name, email" in blank.text
    latin = client.post(
        "/board/directory/import",
        data={"csrf": manager},
        files={"csv_file": ("people.csv", "Zoë".encode("latin-1"), "text/csv")},
    )
    assert latin.status_code == 422 and "CSV UTF-8" in latin.text


# --- who may do what --------------------------------------------------------------------------


def test_the_chair_may_view_and_export_but_not_change(client, sessions, clock):
    board_sign_in(client, sessions, clock, CHAIR)
    page = client.get("/board/directory")
    assert (
        page.status_code == 200
        and "Dev Designated" in page.text
        and "Add a person" not in page.text
    )
    assert client.get("/board/directory.csv").status_code == 200
    csrf = _chair_csrf(sessions)
    person = _id(sessions, NAMED)
    for path in ("/board/directory/new", f"/board/directory/{person}", "/board/directory/import"):
        assert client.get(path).status_code == 403
        assert client.post(path, data=_form(csrf)).status_code == 403
    assert _person(sessions, NEW) is None


def _chair_csrf(sessions) -> str:
    with transaction(sessions) as session:
        return (
            session.execute(
                select(WebSession.csrf_token)
                .where(WebSession.email == CHAIR)
                .order_by(WebSession.id.desc())
            )
            .scalars()
            .first()
        )


def test_another_partnerships_person_is_not_found(client, sessions, manager, other_partnership):
    assert client.get(f"/board/directory/{other_partnership}").status_code == 404
    posted = client.post(f"/board/directory/{other_partnership}", data=_form(manager, email=OTHER))
    assert posted.status_code == 404
    assert _person(sessions, OTHER).name == "Olga Other"
    for nonsense in ("999999", "abc", "9" * 30):
        assert client.get(f"/board/directory/{nonsense}").status_code == 404


def test_changes_need_the_forms_csrf_token(client, sessions, manager):
    assert client.post("/board/directory/new", data=_form("wrong")).status_code == 403
    assert _upload(client, "wrong", HEADER).status_code == 403
    assert _person(sessions, NEW) is None


# --- the routing facts on the form ------------------------------------------------------------


def test_the_form_saves_the_routing_facts_and_shows_them_again(client, sessions, manager):
    cover = _id(sessions, NAMED_DEPUTY)
    done = client.post(
        "/board/directory/new",
        follow_redirects=False,
        data=_form(
            manager,
            agency_type="health",
            professional_group="nurse",
            roles=["designated_professional", "partnership_lead"],
            primary_roles=["designated_professional"],
            line_manager=str(cover),
        ),
    )
    assert done.status_code == 303
    with transaction(sessions) as session:
        nell = find_person(session, NEW)
        assert (nell.professional_group, nell.line_manager_id) == ("nurse", cover)
        assert nell.primary_roles == {"designated_professional"}
        icb = session.execute(select(Organisation).where(Organisation.key == "example icb"))
        assert icb.scalar_one().agency_type == "health"
    page = client.get(f"/board/directory/{nell.id}").text
    assert '<option value="health" selected>Health</option>' in page
    assert '<option value="nurse" selected>Nurse, health visitor or midwife</option>' in page
    assert f'<option value="{cover}" selected>Nathan Nurse, Example Trust</option>' in page
    assert 'name="primary_roles" type="checkbox" value="designated_professional" checked' in page
    listed = client.get("/board/directory").text
    assert "Line manager: Nathan Nurse" in listed and "Primary designated professional" in listed


def test_a_primary_role_they_do_not_hold_is_refused_and_what_was_typed_is_kept(
    client, sessions, manager
):
    page = client.post(
        "/board/directory/new",
        data=_form(
            manager,
            professional_group="nurse",
            agency_type="Not a word",
            roles=["practitioner"],
            primary_roles=["designated_professional"],
        ),
    )
    assert page.status_code == 422
    summary = page.text.split("govuk-error-summary__list", 1)[1].split("</ul>", 1)[0]
    assert '<a href="#agency_type">Select an agency type from the list</a>' in summary
    assert '<a href="#primary_roles">A primary role must also be one of their roles</a>' in summary
    assert '<option value="nurse" selected>' in page.text
    assert 'name="primary_roles" type="checkbox" value="designated_professional" checked' in (
        page.text
    )
    assert 'name="roles" type="checkbox" value="practitioner" checked' in page.text
    assert _person(sessions, NEW) is None


def test_a_line_manager_loop_is_refused_on_the_form(client, sessions, manager):
    named, cover = _id(sessions, NAMED), _id(sessions, NAMED_DEPUTY)
    assert (
        client.post(
            f"/board/directory/{named}",
            follow_redirects=False,
            data=_form_of(sessions, manager, NAMED, line_manager=str(cover)),
        ).status_code
        == 303
    )
    loop = client.post(
        f"/board/directory/{cover}",
        data=_form_of(sessions, manager, NAMED_DEPUTY, line_manager=str(named)),
    )
    assert loop.status_code == 422 and 'href="#line_manager"' in loop.text
    assert (
        "Select another line manager: this one makes a loop (Nathan Nurse → Nadia Named → "
        "Nathan Nurse)"
    ) in loop.text
    own = client.post(
        f"/board/directory/{named}",
        data=_form_of(sessions, manager, NAMED, line_manager=str(named)),
    )
    assert own.status_code == 422 and "A person cannot be their own line manager" in own.text


def test_the_agency_type_of_an_organisation_another_partnership_names_is_not_the_boards(
    client, sessions, manager, other_partnership
):
    with transaction(sessions) as session:
        import_csv(
            session,
            HEADER.strip() + ",agency_type\n"
            f"Olga Other,{OTHER},Example Trust,other-partnership,board_manager,,,,,health\n",
        )
    page = client.post(
        f"/board/directory/{_id(sessions, NAMED)}",
        data=_form_of(sessions, manager, NAMED, agency_type="police"),
    )
    assert page.status_code == 422
    assert (
        "Only the service administrator can change the agency type of Example Trust (it is "
        "&#39;health&#39;)"
    ) in page.text
    kept = client.post(
        f"/board/directory/{_id(sessions, NAMED)}",
        follow_redirects=False,
        data=_form_of(sessions, manager, NAMED, agency_type="health"),
    )
    assert kept.status_code == 303


def test_the_partnerships_someone_also_serves_are_shown_and_kept(client, sessions, manager):
    with transaction(sessions) as session:
        import_csv(
            session,
            HEADER.strip() + ",other_partnerships\n"
            f"Dev Designated,{DESIGNATED},Example ICB,example-partnership,designated_professional,"
            ",,,,lakeside-partnership;northshire\n",
        )
    person = _id(sessions, DESIGNATED)
    page = client.get(f"/board/directory/{person}").text
    assert "Also holds their roles in lakeside-partnership, northshire." in page
    client.post(
        f"/board/directory/{person}",
        follow_redirects=False,
        data=_form_of(sessions, manager, DESIGNATED, job_title="Designated doctor"),
    )
    with transaction(sessions) as session:
        assert find_person(session, DESIGNATED).partnerships == [
            "example-partnership",
            "lakeside-partnership",
            "northshire",
        ]


def test_an_upload_is_named_by_its_file_name_without_folders(client, sessions, manager):
    page = client.post(
        "/board/directory/import",
        data={"csrf": manager},
        files={"csv_file": ("C:\\Users\\bea\\team.csv", b"name\nA\n", "text/csv")},
    )
    assert page.status_code == 422
    assert (
        "team.csv: header: missing column(s) email, organisation, partnership, roles" in page.text
    )
    assert "Users" not in page.text
    assert file_name("../x/\x00people\u2028.csv") == "people.csv"
    assert file_name("\x07") == "the file"
    assert file_name("p" * 100 + ".csv") == "p" * 79 + "…"
