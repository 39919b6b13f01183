"""A practitioner signs in by emailed link and raises a disagreement with the web form."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from escalation.casework import disagreements as d
from escalation.store.db import transaction
from escalation.store.models import Disagreement, OutboxMessage, WebSession
from tests.factories import MONDAY, RAISER
from tests.raise_helpers import FORM_IN_AREA, area_form_page
from tests.web_helpers import sign_in


def test_sign_in_is_by_one_time_link_and_says_the_same_to_everyone(client, sessions):
    unknown = client.post("/signin", data={"email": "stranger@elsewhere.example"})
    assert unknown.status_code == 200 and "Check your email" in unknown.text
    with transaction(sessions) as session:
        assert session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one() == 0
    cookie = sign_in(client, sessions)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    page, _, _ = area_form_page(client)
    assert 'value="Hana Visitor"' in page and "Signed in as hana.visitor@trust.example" in page


def test_an_empty_form_comes_back_with_errors_and_what_was_typed(client, sessions):
    sign_in(client, sessions)
    _, csrf, form_id = area_form_page(client)
    typed = {
        "csrf": csrf,
        "form_id": form_id,
        "reason": "I typed this <b>and</b> it stays",
        "raiser_name": "Hana Visitor",
    }
    response = client.post("/raise", data=typed)
    assert response.status_code == 422
    html = response.text
    assert "There is a problem" in html and html.count('class="govuk-error-message"') >= 8
    for anchor in (
        "#child_area",  # a form that lost its area (the page names the chosen one in a hidden field)
        "#child_reference",
        "#category",
        "#decision_date-day",
        "#immediate_risk",
        "#counterpart_email",
        "#outcome_sought",
    ):
        assert f'href="{anchor}"' in html, anchor
    assert "I typed this &lt;b&gt;and&lt;/b&gt; it stays" in html
    with transaction(sessions) as session:
        assert session.execute(select(func.count()).select_from(Disagreement)).scalar_one() == 0


def test_raise_once_even_when_submitted_twice(client, sessions):
    sign_in(client, sessions)
    _, csrf, form_id = area_form_page(client)
    data = {**FORM_IN_AREA, "csrf": csrf, "form_id": form_id}
    first = client.post("/raise", data=data)
    second = client.post("/raise", data=data)
    assert first.status_code == second.status_code == 200
    reference = re.search(r"RPD-[0-9A-Z]{4}-[0-9A-Z]{4}", first.text).group(0)
    assert reference in second.text and "Hana Visitor" in first.text
    assert "17:00 Mon 30 Nov 2026" in first.text  # 5 working days from Mon 23 Nov
    with transaction(sessions) as session:
        assert session.execute(select(func.count()).select_from(Disagreement)).scalar_one() == 1
        assert d.get(session, reference).raiser_email == RAISER


def test_an_urgent_disagreement_needs_the_protective_action_and_goes_on_the_urgent_track(
    client, sessions
):
    sign_in(client, sessions)
    _, csrf, form_id = area_form_page(client)
    data = {**FORM_IN_AREA, "csrf": csrf, "form_id": form_id, "immediate_risk": "yes"}
    missing = client.post("/raise", data=data)
    assert missing.status_code == 422 and 'href="#protective_action"' in missing.text
    done = client.post("/raise", data={**data, "protective_action": "Referred to CSC at 10:15"})
    assert done.status_code == 200 and "urgent track" in done.text
    assert "14:00 Mon 23 Nov 2026" in done.text  # 4 hours
    with transaction(sessions) as session:
        row = session.execute(select(Disagreement)).scalar_one()
        assert (row.urgent, row.stage_key) == (True, "named_professional")
        assert (
            row.owner.email != RAISER and f"Owner: <strong>{row.owner.name}</strong>" in done.text
        )


def test_without_the_csrf_token_nothing_is_raised(client, sessions):
    sign_in(client, sessions)
    response = client.post("/raise", data={**FORM_IN_AREA, "csrf": "forged"})
    assert response.status_code == 403
    with transaction(sessions) as session:
        assert session.execute(select(func.count()).select_from(Disagreement)).scalar_one() == 0


def test_signing_out_really_ends_the_session(client, sessions):
    sign_in(client, sessions)
    cookie = client.cookies.get("rpd_session")
    assert client.post("/signout").status_code == 200
    client.cookies.set("rpd_session", cookie)  # replay the old cookie
    page = client.get("/raise")
    assert "Send me a sign-in link" in page.text and "Signed in as" not in page.text
    with transaction(sessions) as session:
        assert session.execute(select(WebSession.ended_at)).scalar_one() == MONDAY
