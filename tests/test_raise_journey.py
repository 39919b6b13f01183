"""Issue 14, points 1 and 2: raising as GOV.UK question pages (the immediate risk first, the
decision and who made it, why you disagree and what you want to happen), check your answers,
one pass of errors in GOV.UK's words, and a confirmation that says what happens next."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from escalation.store.db import transaction
from escalation.store.models import Disagreement
from tests.browser_helpers import (
    check,
    link_in_latest_email,
    needs_chromium,
    press_continue,
    send_emails,
    walk_to_check,
)
from tests.factories import RAISER
from tests.raise_helpers import AREA, FORM_IN_AREA, hidden_fields
from tests.smtp_server import Server
from tests.web_helpers import sign_in

DECISION = {
    "counterpart_name": "Sam Social",
    "counterpart_email": "sam.social@council.example",
    "counterpart_role": "Duty social worker",
    "counterpart_organisation": "Example Council",
    "category": "referral",
    "decision_disputed": "No further action",
    "decision_date-day": "20",
    "decision_date-month": "11",
    "decision_date-year": "2026",
}
WHY = {
    "reason": "Weight static (invented)",
    "outcome_sought": "Strategy discussion",
    "child_reference": "TEST-CHILD-9",
}


def _first(client) -> str:
    page = client.get("/raise", params={"child_area": AREA, "step": "area"})
    assert page.status_code == 200
    return page.text


def _answer(client, page: str, **answers) -> tuple[int, str]:
    """Continue from `page` with its carried answers and these."""
    response = client.post("/raise/answer", data={**hidden_fields(page), **answers})
    return response.status_code, response.text


def _title(page: str) -> str:
    return re.search(r"<h1[^>]*>\s*(.*?)\s*</h1>", page, re.S).group(1)


def _errors(page: str) -> list[str]:
    summary = re.search(r'govuk-error-summary__list">(.*?)</ul>', page, re.S).group(1)
    return re.findall(r'<a href="#[^"]+">([^<]*)</a>', summary)


def _to_check(client, urgent: bool = False) -> str:
    risk = {"immediate_risk": "yes", "protective_action": "Referred to CSC at 10:15"}
    status, decision = _answer(
        client, _first(client), **(risk if urgent else {"immediate_risk": "no"})
    )
    assert status == 200 and _title(decision) == "The decision you disagree with"
    status, why = _answer(client, decision, **DECISION)
    assert status == 200 and _title(why) == "Why you disagree and what you want to happen"
    status, check = _answer(client, why, **WHY)
    assert status == 200 and _title(check) == "Check your answers before raising the disagreement"
    return check


def _count(sessions) -> int:
    with transaction(sessions) as session:
        return session.execute(select(func.count()).select_from(Disagreement)).scalar_one()


def test_the_first_question_is_the_immediate_risk_with_what_to_do_now(client, sessions):
    sign_in(client, sessions)
    page = _first(client)
    assert _title(page) == "Is the child at immediate risk of significant harm?"
    assert "call the police on 999" in page and "front door on 0300 000 0000" in page
    assert 'data-aria-controls="conditional-immediate_risk"' in page  # revealed on Yes
    assert 'name="protective_action"' in page  # shown without a script


def test_a_routine_disagreement_is_raised_through_the_pages(client, sessions):
    sign_in(client, sessions)
    check = _to_check(client)
    assert "govuk-summary-list" in check and "20 November 2026" in check
    assert "Sam Social<br>Duty social worker<br>Example Council" in check
    raised = client.post("/raise", data=hidden_fields(check))
    assert raised.status_code == 200
    html = raised.text
    reference = re.search(r"<strong>(RPD-\w{4}-\w{4})</strong>", html).group(1)
    assert "&lt;" not in html.split("govuk-panel__body")[1].split("</div>")[0]
    assert "What happens next" in html
    assert "is yours (Hana Visitor): talk to Sam Social" in html
    assert "17:00 Mon 30 Nov 2026" in html
    assert "the next stage: named professional or line manager" in html
    assert 'href="/yours">your disagreements</a>' in html
    assert _count(sessions) == 1 and reference


def test_an_urgent_disagreement_needs_the_protective_action_on_the_first_page(client, sessions):
    sign_in(client, sessions)
    status, page = _answer(client, _first(client), immediate_risk="yes")
    assert status == 422 and _errors(page) == ["Enter what protective action has been taken"]
    check = _to_check(client, urgent=True)
    assert "Referred to CSC at 10:15" in check
    raised = client.post("/raise", data=hidden_fields(check)).text
    assert "urgent track" in raised and "Owner: <strong>" in raised
    assert "14:00 Mon 23 Nov 2026" in raised


@pytest.mark.parametrize(
    "day,month,year,message",
    [
        ("31", "2", "2026", "The date of the decision must be a real date"),
        ("32", "11", "2026", "The date of the decision must be a real date"),
        ("1", "1", "2030", "The date of the decision must be today or in the past"),
        ("", "", "", "Enter the date of the decision, like 20 11 2026"),
    ],
)
def test_the_decision_date_is_refused_in_govuk_words(client, sessions, day, month, year, message):
    sign_in(client, sessions)
    _, decision = _answer(client, _first(client), immediate_risk="no")
    typed = {"decision_date-day": day, "decision_date-month": month, "decision_date-year": year}
    status, page = _answer(client, decision, **{**DECISION, **typed})
    assert status == 422 and _errors(page) == [message]
    assert day == "" or f'name="decision_date-day" type="text" value="{day}"' in page


def test_the_submit_names_every_problem_at_once_and_keeps_what_was_typed(client, sessions):
    sign_in(client, sessions)
    page = _first(client)
    data = {**hidden_fields(page), **FORM_IN_AREA, "immediate_risk": "yes", "reason": ""}
    data.update({"decision_date-day": "31", "decision_date-month": "2", "counterpart_role": ""})
    response = client.post("/raise", data={**data, "outcome_sought": "kept <b>as typed</b>"})
    assert response.status_code == 422
    assert _errors(response.text) == [
        "Enter what protective action has been taken",
        "Enter their role",
        "The date of the decision must be a real date",
        "Enter why you disagree",
    ]
    assert "kept &lt;b&gt;as typed&lt;/b&gt;" in response.text
    assert _count(sessions) == 0


def test_a_change_link_goes_back_to_its_page_and_returns_to_check_your_answers(client, sessions):
    sign_in(client, sessions)
    check = _to_check(client)
    assert re.search(
        r'name="go" value="decision">Change<span class="govuk-visually-hidden">', check
    )
    decision = client.post("/raise/answer", data={**hidden_fields(check), "go": "decision"}).text
    assert _title(decision) == "The decision you disagree with"
    assert (
        'name="return_to" value="check"' in decision and "No further action</textarea>" in decision
    )
    status, again = _answer(client, decision, **{**DECISION, "decision_disputed": "Case closed"})
    assert status == 200 and _title(again) == "Check your answers before raising the disagreement"
    assert "Case closed" in again and "Strategy discussion" in again


def test_about_you_is_asked_only_when_the_directory_does_not_say(client, sessions):
    sign_in(client, sessions)
    _, decision = _answer(client, _first(client), immediate_risk="no")
    _, why = _answer(client, decision, **DECISION)
    status, you = _answer(client, why, **WHY, raiser_name="")
    assert status == 200 and _title(you) == "About you"
    status, missing = _answer(client, you, raiser_role="Health visitor", raiser_organisation="X")
    assert status == 422 and _errors(missing) == ["Enter your name"]


# --- in Chromium, at 1280 px and 375 px ---------------------------------------------------------


@needs_chromium
@pytest.mark.slow
@pytest.mark.parametrize("width", [1280, 375])
def test_in_chromium_routine_in_six_page_loads_then_urgent_with_errors(site, page, sessions, width):
    page.set_viewport_size({"width": width, "height": 900})

    def shot(name: str) -> None:
        check(page, f"raise-{name}-{width}")

    with Server() as mail:
        page.goto(f"{site}/raise")
        page.fill("#email", RAISER)
        page.click("text=Send me a sign-in link")
        send_emails(sessions, mail)
        page.goto(link_in_latest_email(mail, RAISER, "sign-in link"))
        loads: list[str] = []
        page.on(
            "framenavigated",
            lambda frame: loads.append(frame.url) if frame == page.main_frame else None,
        )
        page.click("button:has-text('Sign in')")
        page.check("label:has-text('Example Borough')")
        press_continue(page)
        walk_to_check(page, urgent=False)
        page.click("button:has-text('Raise the disagreement')")
        assert page.inner_text("h1") == "Disagreement raised"
        assert len(loads) <= 6, loads  # a routine disagreement, after signing in
        main = page.inner_text("main")
        assert "What happens next" in main and "is yours (Hana Visitor): talk to Sam Social" in main
        assert "<" not in page.inner_text(".govuk-panel")
        shot("09-raised")

        page.goto(f"{site}/raise?child_area=example-partnership")
        assert page.inner_text("h1") == "Is the child at immediate risk of significant harm?"
        page.check("#immediate_risk")
        press_continue(page)  # Yes, but no protective action
        assert "Enter what protective action has been taken" in page.inner_text(
            ".govuk-error-summary"
        )
        shot("02-risk-error")
        walk_to_check(page, urgent=True, shot=shot)
        shot("07-check")
        page.click("button[name=go][value=decision]")
        assert page.input_value("#decision_date-day") == "20"
        page.fill("#decision_date-day", "31")
        page.fill("#decision_date-month", "2")
        press_continue(page)
        assert "must be a real date" in page.inner_text(".govuk-error-summary")
        shot("04-decision-errors")
        page.fill("#decision_date-day", "20")
        page.fill("#decision_date-month", "11")
        press_continue(page)  # back to check your answers
        assert page.inner_text("h1") == "Check your answers before raising the disagreement"
        page.click("button:has-text('Raise the disagreement')")
        main = page.inner_text("main")
        assert "urgent track" in main and "Owner:" in main
        shot("10-raised-urgent")
