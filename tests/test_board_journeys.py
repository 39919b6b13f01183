"""The board manager's journeys of issue 14: the dashboard flags missed deadlines, automatic
escalations and unacknowledged stages (a tag per row, a filter for each), its title follows the
status filter, the partnership shows its name, every organisation named in the directory or on
a disagreement is offered by the filters (one choice per organisation, whatever its case); the
directory's person form picks the organisation from the list or adds one deliberately; the
reports page opens with a headline paragraph from the tables' own figures."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from escalation.casework import disagreements as d
from escalation.casework.lifecycle import SYSTEM
from escalation.directory.organisations import agency_type_of
from escalation.directory.people import find_person
from escalation.store.db import transaction
from escalation.store.models import Organisation
from tests.board_helpers import board_sign_in
from tests.factories import MANAGER, MONDAY, RAISER, due_at, raise_one


def _references(html: str) -> list[str]:
    table = html[html.index('id="disagreements"') :] if 'id="disagreements"' in html else ""
    return re.findall(r'href="/board/d/(RPD-[A-Z0-9-]+)"', table)


def _row(html: str, reference: str) -> str:
    start = html.index(f'href="/board/d/{reference}"', html.index('id="disagreements"'))
    return html[start : html.index("</tr>", start)]


def _three_cases(sessions) -> tuple[str, str, str]:
    """One escalated by the service at its deadline, one acknowledged, one not yet."""
    missed = raise_one(sessions, MONDAY - timedelta(days=14), child_reference="TEST-MISSED")
    with transaction(sessions) as session:
        d.escalate(session, reference=missed, actor=SYSTEM, now=MONDAY - timedelta(days=2))
    seen = raise_one(sessions, MONDAY, child_reference="TEST-SEEN")
    with transaction(sessions) as session:
        d.acknowledge(session, reference=seen, actor=RAISER, now=MONDAY)
    fresh = raise_one(
        sessions,
        MONDAY,
        child_reference="TEST-FRESH",
        counterpart={
            "name": "Pat Police",
            "email": "pat@police.example",
            "organisation": "Example Police",
            "role": "Sergeant",
        },
    )
    return missed, seen, fresh


def test_the_dashboard_flags_each_case_and_filters_by_each_flag(client, sessions, clock):
    missed, seen, fresh = _three_cases(sessions)
    board_sign_in(client, sessions, clock, MANAGER)
    html = client.get("/board").text
    assert "Missed deadline" in _row(html, missed)
    assert "Escalated automatically" in _row(html, missed)
    assert "Not acknowledged" in _row(html, missed)  # the new stage's owner has not, yet
    for flag in ("Missed deadline", "Escalated automatically", "Not acknowledged"):
        assert flag not in _row(html, seen)
    assert "Not acknowledged" in _row(html, fresh) and "Missed deadline" not in _row(html, fresh)
    assert _references(client.get("/board?missed_deadline=yes").text) == [missed]
    assert _references(client.get("/board?escalated_automatically=yes").text) == [missed]
    assert sorted(_references(client.get("/board?unacknowledged=yes").text)) == sorted(
        [missed, fresh]
    )
    bad = client.get("/board?unacknowledged=maybe")
    assert 'href="#unacknowledged"' in bad.text
    assert "Tick “Not acknowledged” or leave it clear" in bad.text
    assert len(_references(bad.text)) == 3  # the bad filter is left out


def test_a_manual_escalation_before_the_deadline_is_not_flagged(client, sessions, clock):
    reference = raise_one(sessions, MONDAY)
    with transaction(sessions) as session:
        d.escalate(session, reference=reference, actor=RAISER, now=MONDAY + timedelta(hours=1))
    assert due_at(sessions, reference) > MONDAY
    board_sign_in(client, sessions, clock, MANAGER)
    row = _row(client.get("/board").text, reference)
    assert "Missed deadline" not in row and "Escalated automatically" not in row


def test_the_title_follows_the_status_and_the_partnership_has_its_name(client, sessions, clock):
    board_sign_in(client, sessions, clock, MANAGER)
    titles = {
        "": "Open disagreements",
        "?status=all": "All disagreements",
        "?status=resolved": "Resolved disagreements",
        "?status=withdrawn": "Withdrawn disagreements",
    }
    for query, title in titles.items():
        html = client.get(f"/board{query}").text
        assert re.search(r"<h1[^>]*>\s*" + title + r"\s*</h1>", html), query
        assert f"<title>{title}" in html
        assert 'id="partnership">Example Borough</span>' in html
        assert 'id="partnership">example-partnership' not in html


def test_every_organisation_named_is_offered_once(client, sessions, clock):
    _missed, _seen, fresh = _three_cases(sessions)  # Example Police is named only on a case
    other_case = raise_one(
        sessions,
        MONDAY,
        child_reference="TEST-CASE",
        counterpart={
            "name": "Pat Police",
            "email": "pat@police.example",
            "organisation": "example police ",  # typed in another case
            "role": "Sergeant",
        },
    )
    board_sign_in(client, sessions, clock, MANAGER)
    html = client.get("/board").text
    receiving = html[
        html.index('id="receiving"') : html.index("</select>", html.index('id="receiving"'))
    ]
    offered = re.findall(r'<option value="([^"]*)"', receiving)
    assert "Example Police" in offered and "Example Trust" in offered
    assert [name.lower() for name in offered].count("example police") == 1
    assert offered[1:] == sorted(offered[1:], key=str.lower)
    chosen = client.get("/board?receiving=Example+Police").text
    assert sorted(_references(chosen)) == sorted([fresh, other_case])


# --- the directory's person form: the organisation from the list ------------------------------


def _person_form(client, **overrides) -> dict:
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/board/directory/new").text)
    data = {
        "csrf": csrf.group(1),
        "name": "Nell New",
        "email": "nell.new@council.example",
        "organisation": "",
        "new_organisation": "",
        "new_agency_type": "",
        "roles": ["practitioner"],
        "active": "yes",
    }
    return {**data, **overrides}


def _organisation_of(sessions, email: str) -> str | None:
    with transaction(sessions) as session:
        person = find_person(session, email)
        return person.organisation if person else None


def test_the_organisation_is_chosen_from_the_list_or_added_deliberately(client, sessions, clock):
    board_sign_in(client, sessions, clock, MANAGER)
    form = client.get("/board/directory/new").text
    select = form[
        form.index('id="organisation"') : form.index("</select>", form.index('id="organisation"'))
    ]
    assert '<option value="Example Trust"' in select and "Add an organisation" in form

    typed = client.post(
        "/board/directory/new", data=_person_form(client, organisation="Children's Services")
    )
    assert typed.status_code == 422
    assert "Select their organisation from the list, or add it as a new one" in typed.text
    assert 'href="#organisation"' in typed.text
    assert _organisation_of(sessions, "nell.new@council.example") is None  # nothing saved

    blank = client.post("/board/directory/new", data=_person_form(client, email="x"))
    assert "Select their organisation, or add a new one" in blank.text
    assert 'href="#email"' in blank.text  # every problem at once
    both = client.post(
        "/board/directory/new",
        data=_person_form(client, organisation="Example Trust", new_organisation="Elsewhere"),
    )
    assert "Select an organisation from the list or add a new one, not both" in both.text
    untyped = client.post(
        "/board/directory/new", data=_person_form(client, new_organisation="Example Nursery")
    )
    assert "Select the agency type of the new organisation" in untyped.text
    assert 'href="#new_agency_type"' in untyped.text and 'value="Example Nursery"' in untyped.text

    added = client.post(
        "/board/directory/new",
        follow_redirects=False,
        data=_person_form(client, new_organisation="Example Nursery", new_agency_type="education"),
    )
    assert added.status_code == 303
    assert _organisation_of(sessions, "nell.new@council.example") == "Example Nursery"
    with transaction(sessions) as session:
        assert agency_type_of(session, "example nursery") == "education"
    assert '<option value="Example Nursery"' in client.get("/board/directory/new").text


def test_adding_an_organisation_already_listed_picks_it_not_a_second_one(client, sessions, clock):
    board_sign_in(client, sessions, clock, MANAGER)
    done = client.post(
        "/board/directory/new",
        follow_redirects=False,
        data=_person_form(client, new_organisation="  example TRUST ", new_agency_type="police"),
    )
    assert done.status_code == 303
    assert _organisation_of(sessions, "nell.new@council.example") == "Example Trust"
    with transaction(sessions) as session:
        assert agency_type_of(session, "Example Trust") == "health"  # not changed by the add
        names = session.execute(
            select(func.count())
            .select_from(Organisation)
            .where(Organisation.key == "example trust")
        ).scalar_one()
    assert names == 1


# --- the reports' headline ----------------------------------------------------------------------


def test_the_reports_open_with_a_headline_for_the_board(client, sessions, clock):
    missed, _seen, _fresh = _three_cases(sessions)
    raise_one(
        sessions,
        MONDAY,
        child_reference="TEST-URGENT",
        immediate_risk=True,
        protective_action="Police informed (invented)",
    )
    board_sign_in(client, sessions, clock, MANAGER)
    page = client.get("/board/reports").text
    headline = re.search(r'id="headline">([^<]+)<', page).group(1)
    assert headline.startswith(
        "So far, 4 disagreements were raised (1 on the urgent track), 0 were resolved and "
        "4 are open now. "
    )
    assert "ran past" in headline  # the first stage of the case escalated at its deadline
    assert headline.endswith("No learning theme has been recorded for them yet.")
    assert 'id="partnership">Example Borough</span>' in page
    dated = client.get("/board/reports?from-day=23&from-month=11&from-year=2026").text
    assert "From Mon 23 Nov 2026 to date, 3 disagreements were raised" in dated
    assert missed  # raised 9 Nov: outside the period
