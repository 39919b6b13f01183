"""Issue 12, point 6: the child's area picks the policy. The form asks which local authority
area the child lives in (first, when more than one is loaded), the API takes `child_area` (a
partnership id; left out, the key's own partnership's policy as before), and a cross-border case
names the other area and follows the child's."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from escalation.access import apikeys
from escalation.casework.intake import area_policy, areas
from escalation.rules.errors import InvalidInput
from escalation.store.db import transaction
from escalation.store.models import Disagreement
from tests.factories import (
    DEFAULT,
    DIRECTORY_CSV,
    FOUR_STAGE,
    MONDAY,
    POLICIES,
    directory_row,
    load_directory,
    raise_data,
)
from tests.factories import events_of as chronology
from tests.raise_helpers import AREA, FORM_IN_AREA, OTHER_AREA, area_form_page, option_value
from tests.web_helpers import FORM, sign_in

LAKE = "lara.lake@lakeside.gov.uk"
LAKESIDE_PERSON = directory_row(
    "Lara Lake", LAKE, "Lakeside Council", OTHER_AREA, "practitioner", "Social worker"
)
NO_COUNTERPART_TYPED = {
    f"counterpart_{field}": "" for field in ("name", "email", "role", "organisation")
}


def _count(sessions) -> int:
    with transaction(sessions) as session:
        return session.execute(select(func.count()).select_from(Disagreement)).scalar_one()


def _only(sessions) -> Disagreement:
    with transaction(sessions) as session:
        return session.execute(select(Disagreement)).scalar_one()


# --- which policy an area means ------------------------------------------------------------------


def test_each_loaded_area_is_named_by_its_policy_in_order_of_name():
    named = areas(POLICIES, "default")
    assert named[AREA] == "Example Borough" and named[OTHER_AREA] == FOUR_STAGE.area
    assert list(named.values()) == sorted(named.values(), key=str.lower)


def test_an_area_with_several_policies_means_the_default_if_it_is_theirs_else_their_first_by_id():
    several = {
        "default": DEFAULT,
        "b-borough-extra": DEFAULT.model_copy(update={"id": "b-borough-extra"}),
        "four-stage": FOUR_STAGE,
        "lakeside-z": FOUR_STAGE.model_copy(update={"id": "lakeside-z"}),
    }
    assert area_policy(several, AREA, default_id="default").id == "default"
    assert area_policy(several, OTHER_AREA, default_id="default").id == "four-stage"
    named = area_policy(several, OTHER_AREA, policy_id="lakeside-z", default_id="default")
    assert named.id == "lakeside-z"


def test_an_unknown_area_or_another_areas_policy_is_refused_naming_the_field():
    with pytest.raises(InvalidInput) as unknown:
        area_policy(POLICIES, "nowhere", default_id="default")
    assert set(unknown.value.problems) == {"child_area"}
    with pytest.raises(InvalidInput) as elsewhere:
        area_policy(POLICIES, AREA, policy_id="four-stage", default_id="default")
    assert elsewhere.value.problems == {
        "policy": "no policy 'four-stage' for this area; known: default"
    }


# --- the form ------------------------------------------------------------------------------------


def test_with_several_areas_the_form_asks_the_childs_area_first(client, sessions):
    sign_in(client, sessions)
    page = client.get("/raise")
    assert page.status_code == 200
    assert "Which local authority area does the child live in?" in page.text
    assert 'name="csrf"' not in page.text  # not the form yet
    for name in areas(POLICIES, "default").values():
        assert f"{name}\n" in page.text
    unanswered = client.get("/raise", params={"step": "area"})
    assert unanswered.status_code == 422
    assert (
        '<a href="#child_area">Select the local authority area the child lives in</a>'
        in unanswered.text
    )
    assert client.get("/raise", params={"child_area": "nowhere"}).status_code == 422


def test_the_chosen_area_is_named_on_the_form_with_a_way_to_change_it(client, sessions):
    sign_in(client, sessions)
    page, _, _ = area_form_page(client, OTHER_AREA)
    assert f'<input type="hidden" name="child_area" value="{OTHER_AREA}">' in page
    assert f"The child lives in <strong>{FOUR_STAGE.area}</strong>" in page
    assert 'href="/raise">Change' in page


def test_with_one_area_loaded_the_form_comes_at_once_with_it_chosen(client, sessions):
    client.app.state.policies = {"default": DEFAULT}
    sign_in(client, sessions)
    page = client.get("/raise").text
    assert "The child lives in <strong>Example Borough</strong>" in page
    assert 'href="/raise">Change' not in page
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    response = client.post("/raise", data={**FORM, "child_area": AREA, "csrf": csrf})
    assert response.status_code == 200, response.text
    assert (_only(sessions).partnership, _only(sessions).policy_id) == (AREA, "default")


@pytest.mark.parametrize("area", [None, "", "nowhere"])
def test_a_form_without_a_known_area_comes_back_asking_for_it(client, sessions, area):
    sign_in(client, sessions)
    _, csrf, form_id = area_form_page(client)
    data = {**FORM, "csrf": csrf, "form_id": form_id, "reason": "typed and kept"}
    if area is not None:
        data["child_area"] = area
    response = client.post("/raise", data=data)
    assert response.status_code == 422
    html = response.text
    assert '<a href="#child_area">Select the local authority area the child lives in</a>' in html
    assert 'id="child_area" name="child_area" type="radio"' in html
    assert "typed and kept" in html
    assert _count(sessions) == 0


def test_a_child_in_another_area_is_raised_under_that_areas_policy(client, sessions):
    load_directory(sessions, DIRECTORY_CSV + LAKESIDE_PERSON)
    sign_in(client, sessions)  # Hana works in Example Borough
    page, csrf, form_id = area_form_page(client, OTHER_AREA)
    chosen = option_value(page, "Lara Lake, Social worker")
    data = {**FORM_IN_AREA, **NO_COUNTERPART_TYPED, "child_area": OTHER_AREA}
    data.update(csrf=csrf, form_id=form_id, counterpart_person=chosen)
    response = client.post("/raise", data=data)
    assert response.status_code == 200, response.text
    assert f"The child's area: <strong>{FOUR_STAGE.area}</strong>" in response.text
    row = _only(sessions)
    assert (row.partnership, row.policy_id, row.policy_version) == (
        OTHER_AREA,
        "four-stage",
        FOUR_STAGE.version,
    )
    assert row.counterpart_email == LAKE


def test_a_cross_border_case_names_the_other_area_and_follows_the_childs(client, sessions):
    sign_in(client, sessions)
    _, csrf, form_id = area_form_page(client)
    data = {**FORM_IN_AREA, "csrf": csrf, "form_id": form_id, "other_area": "Lakeside"}
    response = client.post("/raise", data=data)
    assert response.status_code == 200, response.text
    assert "(cross-border: also Lakeside)" in response.text
    row = _only(sessions)
    assert (row.partnership, row.policy_id, row.other_area) == (AREA, "default", "Lakeside")
    raised = chronology(sessions, row.reference)[0]
    assert "cross-border: the child lives in Example Borough; also involves Lakeside" in raised.note


# --- the API -------------------------------------------------------------------------------------


def _post(client, key, **overrides):
    body = raise_data(**overrides)
    return client.post("/api/v1/disagreements", json=body, headers={"X-API-Key": key})


def test_the_api_raises_in_the_childs_area_when_it_is_the_keys(client, key, sessions):
    created = _post(client, key, child_area=AREA, other_area="Lakeside")
    assert created.status_code == 201, created.text
    row = _only(sessions)
    assert (row.partnership, row.policy_id, row.other_area) == (AREA, "default", "Lakeside")


@pytest.mark.parametrize("area", [OTHER_AREA, "nowhere"])
def test_a_key_cannot_raise_for_a_child_in_another_area(client, key, sessions, area):
    response = _post(client, key, child_area=area)
    assert response.status_code == 422
    assert response.json()["errors"] == {
        "child_area": "this key raises for children in example-partnership only"
    }
    assert _count(sessions) == 0


def test_a_key_of_the_childs_area_raises_under_its_policy(client, sessions):
    with transaction(sessions) as session:
        lakeside = apikeys.create_key(
            session, organisation="Example Trust", partnership=OTHER_AREA, now=MONDAY
        )
    counterpart = {**raise_data()["counterpart"], "email": "dev.designated@icb.example"}
    created = _post(client, lakeside, child_area=OTHER_AREA, counterpart=counterpart)
    assert created.status_code == 201, created.text
    assert (_only(sessions).partnership, _only(sessions).policy_id) == (OTHER_AREA, "four-stage")


def test_the_api_documents_child_area_and_other_area(client):
    schema = client.get("/api/openapi.json").json()["components"]["schemas"]["RaiseRequest"]
    assert {"child_area", "other_area"} <= set(schema["properties"])
