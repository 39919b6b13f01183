"""Issue 12, point 5: a verified counterpart. The raiser chooses the decision-maker from the
child's area's directory (by organisation, names and job titles only), or types in someone who is
not there, whose address must be at one of the area's secure domains; any other address is
refused saying why, by the form, the API and the command line alike (its tests: test_cli.py)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from escalation.casework.counterparts_check import (
    check_counterpart,
    counterpart_problem,
    directory_choices,
)
from escalation.rules.errors import InvalidInput
from escalation.store.db import transaction
from escalation.store.models import Disagreement, Person
from tests.factories import (
    DEFAULT,
    DESIGNATED,
    DIRECTORY_CSV,
    MANAGER,
    RAISER,
    directory_row,
    load_directory,
    raise_data,
)
from tests.raise_helpers import FORM_IN_AREA, OTHER_AREA, area_form_page, option_value
from tests.web_helpers import sign_in

OUTSIDE = "olive.outside@outside.example"  # listed, at a domain no policy calls secure
LAKE = "lara.lake@lakeside.gov.uk"
MORE_PEOPLE = directory_row(
    "Olive Outside",
    OUTSIDE,
    "Outside Nursery",
    "example-partnership",
    "practitioner",
    "Nursery manager",
) + directory_row(
    "Lara Lake", LAKE, "Lakeside Council", "lakeside-partnership", "practitioner", "Social worker"
)
REFUSED = "gmail.example is not one of Example Borough's secure domains (nhs.net, "


@pytest.fixture
def people(sessions):
    load_directory(sessions, DIRECTORY_CSV + MORE_PEOPLE)
    return sessions


def _problem(sessions, email: str) -> str | None:
    with transaction(sessions) as session:
        return counterpart_problem(session, email=email, policy=DEFAULT)


def _count(sessions) -> int:
    with transaction(sessions) as session:
        return session.execute(select(func.count()).select_from(Disagreement)).scalar_one()


def _only(sessions) -> Disagreement:
    with transaction(sessions) as session:
        return session.execute(select(Disagreement)).scalar_one()


# --- the rule ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "email",
    ["sam.social@council.example", "Sam.Social@COUNCIL.example", "a.doctor@mail.nhs.net"],
)
def test_an_address_at_a_secure_domain_or_a_subdomain_of_one_is_accepted(people, email):
    assert _problem(people, email) is None


@pytest.mark.parametrize(
    "email",
    ["someone@gmail.example", "someone@evilnhs.net", "someone@nhs.net.example", "x@council"],
)
def test_an_address_anywhere_else_is_refused_saying_why(people, email):
    problem = _problem(people, email)
    domain = email.rpartition("@")[2].lower()
    assert problem.startswith(f"{domain} is not one of Example Borough's secure domains")
    assert "nhs.net" in problem
    assert problem.endswith("choose them from the directory or use their secure work address")


def test_a_listed_directory_persons_address_is_accepted_at_any_domain(people):
    assert _problem(people, OUTSIDE) is None
    assert _problem(people, LAKE) is None  # another area's directory: a cross-border decision


def test_someone_an_earlier_raiser_typed_in_is_not_thereby_verified(people):
    with transaction(people) as session:  # as an earlier case recorded them (unlisted)
        session.add(
            Person(
                name="Xena Typed",
                email="x@gmail.example",
                organisation="Example Council",
                partnership="example-partnership",
                listed=False,
            )
        )
    with transaction(people) as session, pytest.raises(InvalidInput) as refused:
        check_counterpart(session, email="x@gmail.example", policy=DEFAULT)
    assert set(refused.value.problems) == {"counterpart.email"}


def test_the_list_is_the_areas_listed_people_by_organisation_without_the_board_or_the_raiser(
    people,
):
    with transaction(people) as session:
        groups = directory_choices(session, partnerships=["example-partnership"], leave_out=RAISER)
        listed = [(org, [person.email for person in group]) for org, group in groups]
    assert [org for org, _ in listed] == [
        "Example Council",
        "Example ICB",
        "Example Trust",
        "Outside Nursery",
    ]
    emails = [email for _, group in listed for email in group]
    assert RAISER not in emails and MANAGER not in emails and LAKE not in emails
    with transaction(people) as session:
        lakeside = directory_choices(session, partnerships=[OTHER_AREA])
        assert [person.email for _, group in lakeside for person in group] == [LAKE]


# --- the form ------------------------------------------------------------------------------------


def _post(client, sessions, **fields):
    _, csrf, form_id = area_form_page(client)
    return client.post("/raise", data={**FORM_IN_AREA, "csrf": csrf, "form_id": form_id, **fields})


def test_the_form_lists_names_and_job_titles_by_organisation_never_addresses(client, people):
    sign_in(client, people)
    page, _, _ = area_form_page(client)
    select_html = re.search(r'<select[^>]*id="counterpart_person".*?</select>', page, re.S).group(0)
    assert '<optgroup label="Example Trust">' in select_html
    assert ">Nadia Named, Named doctor</option>" in select_html
    assert "@" not in select_html and "Bea Manager" not in select_html
    assert "Hana Visitor" not in select_html and "Lara Lake" not in select_html
    lakeside, _, _ = area_form_page(client, OTHER_AREA)
    assert ">Lara Lake, Social worker</option>" in lakeside and "Nadia Named" not in lakeside


def test_a_counterpart_chosen_from_the_list_is_that_directory_person(client, people):
    sign_in(client, people)
    page, csrf, form_id = area_form_page(client)
    chosen = option_value(page, "Olive Outside, Nursery manager")
    typed_out = {f"counterpart_{field}": "" for field in ("name", "email", "role", "organisation")}
    data = {**FORM_IN_AREA, **typed_out, "csrf": csrf, "form_id": form_id}
    response = client.post("/raise", data={**data, "counterpart_person": chosen})
    assert response.status_code == 200, response.text
    row = _only(people)
    assert (row.counterpart_email, row.counterpart_name) == (OUTSIDE, "Olive Outside")
    assert (row.counterpart_role, row.counterpart_organisation) == (
        "Nursery manager",
        "Outside Nursery",
    )


def test_a_typed_address_at_another_domain_is_refused_with_the_reason(client, people):
    sign_in(client, people)
    response = _post(client, people, counterpart_email="sam.social@gmail.example")
    assert response.status_code == 422
    html = response.text
    summary = re.search(r'<a href="#counterpart_email">([^<]*)</a>', html).group(1)
    assert summary.startswith(REFUSED.replace("'", "&#39;"))  # the domain as it is written
    assert 'value="sam.social@gmail.example"' in html  # kept, to correct
    assert _count(people) == 0


def test_a_typed_address_at_a_secure_subdomain_is_accepted(client, people):
    sign_in(client, people)
    response = _post(client, people, counterpart_email="sam.social@east.council.example")
    assert response.status_code == 200, response.text
    assert _only(people).counterpart_email == "sam.social@east.council.example"


def test_choosing_from_the_list_and_typing_someone_in_is_refused(client, people):
    sign_in(client, people)
    page, _, _ = area_form_page(client)
    chosen = option_value(page, "Nadia Named, Named doctor")
    response = _post(client, people, counterpart_person=chosen)
    assert response.status_code == 422
    assert '<a href="#counterpart_person">Choose them from the list or enter their' in response.text
    assert f'<option value="{chosen}" selected>' in response.text
    assert _count(people) == 0


@pytest.mark.parametrize("value", ["999999", "x", "99999999999999999999", "²"])
def test_a_list_choice_that_is_nobody_listed_is_refused(client, people, value):
    sign_in(client, people)
    typed_out = {f"counterpart_{field}": "" for field in ("name", "email", "role", "organisation")}
    response = _post(client, people, counterpart_person=value, **typed_out)
    assert response.status_code == 422
    assert 'href="#counterpart_person"' in response.text
    assert _count(people) == 0


# --- the API (the command line: test_cli.py) ----------------------------------------------------------------


def _api(client, key, counterpart_email: str):
    body = raise_data()
    body["counterpart"]["email"] = counterpart_email
    return client.post("/api/v1/disagreements", json=body, headers={"X-API-Key": key})


def test_the_api_refuses_a_counterpart_outside_the_secure_domains(client, key, people):
    response = _api(client, key, "sam.social@gmail.example")
    assert response.status_code == 422
    assert response.json()["errors"]["counterpart.email"].startswith(REFUSED)
    assert _count(people) == 0


def test_the_api_accepts_a_directory_person_at_any_domain(client, key, people):
    assert _api(client, key, OUTSIDE).status_code == 201
    assert _api(client, key, DESIGNATED).status_code == 201
