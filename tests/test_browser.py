"""The journeys in a real browser (Debian's Chromium through Playwright), against the app served
by uvicorn on loopback, with emails through a real SMTP server. Every page is checked with
axe-core (no serious or critical violations) and screenshotted to var/screenshots/."""

from __future__ import annotations

import re

import pytest

from escalation.web.demo import database_of
from tests.browser_helpers import NOW, check, link_in_latest_email, needs_chromium, send_emails
from tests.factories import COUNTERPART, NAMED, RAISER, raise_one
from tests.smtp_server import Server

pytestmark = [needs_chromium, pytest.mark.slow]


def _fill_form(page, *, urgent: bool) -> None:
    """From the first question (is the child at immediate risk?) to check your answers."""
    page.check("#immediate_risk" if urgent else "#immediate_risk-2")
    if urgent:
        page.fill("#protective_action", "Referred to Children's Social Care at 09:40 (invented)")
    page.click("button:has-text('Continue')")
    page.fill("#counterpart_name", "Sam Social")
    page.fill("#counterpart_email", "sam.social@council.example")
    page.fill("#counterpart_role", "Duty social worker")
    page.fill("#counterpart_organisation", "Example Council")
    page.check("#category")
    page.fill("#decision_disputed", "No further action on the referral")
    page.fill("#decision_date-day", "20")
    page.fill("#decision_date-month", "11")
    page.fill("#decision_date-year", "2026")
    page.click("button:has-text('Continue')")
    page.fill("#child_reference", "TEST-CHILD-B1")
    page.fill("#reason", "Weight static for six months (invented)")
    page.fill("#outcome_sought", "A strategy discussion including health")
    page.click("button:has-text('Continue')")
    assert page.inner_text("h1") == "Check your answers before raising the disagreement"


def _choose_the_area(page) -> None:
    """The child's area, asked first when several areas are loaded (tests/test_browser_raise_choices
    checks that page); the test directory's child lives in Example Borough."""
    if page.inner_text("h1") == "Which local authority area does the child live in?":
        page.check("label:has-text('Example Borough')")
        page.click("button:has-text('Continue')")
    page.wait_for_selector("#immediate_risk-2")  # the risk question's page has loaded


def test_a_health_visitor_raises_and_the_named_professional_resolves(site, page, sessions):
    with Server() as mail:
        page.goto(f"{site}/raise")
        check(page, "01-sign-in")
        page.fill("#email", RAISER)
        page.click("text=Send me a sign-in link")
        assert page.inner_text("h1") == "Check your email"
        check(page, "02-check-your-email")
        send_emails(sessions, mail)
        page.goto(link_in_latest_email(mail, RAISER, "sign-in link"))
        check(page, "03-sign-in-confirm")
        page.click("button:has-text('Sign in')")
        _choose_the_area(page)
        assert page.inner_text("h1") == "Is the child at immediate risk of significant harm?"
        check(page, "04-raise-form")

        page.click("button:has-text('Continue')")
        assert "There is a problem" in page.inner_text(".govuk-error-summary")
        check(page, "05-raise-form-errors")

        _fill_form(page, urgent=False)
        page.click("button:has-text('Raise the disagreement')")
        assert page.inner_text("h1") == "Disagreement raised"
        routine = re.search(r"RPD-\w{4}-\w{4}", page.inner_text(".govuk-panel")).group(0)
        check(page, "06-raised")

        page.goto(f"{site}/raise")
        _choose_the_area(page)
        _fill_form(page, urgent=True)
        page.click("button:has-text('Raise the disagreement')")
        urgent = re.search(r"RPD-\w{4}-\w{4}", page.inner_text(".govuk-panel")).group(0)
        assert urgent != routine and "urgent track" in page.inner_text("main")
        check(page, "07-raised-urgent")

        send_emails(sessions, mail)
        link = link_in_latest_email(mail, NAMED, urgent)
        page.goto(link)
        assert page.inner_text("h1") == "Open this disagreement" and urgent in page.inner_text(
            "main"
        )
        assert "TEST-CHILD-B1" not in page.content()  # what a mail scanner sees
        check(page, "08-link-continue")
        page.click("button:has-text('Continue')")
        assert urgent in page.inner_text("h1") and "TEST-CHILD-B1" in page.inner_text("main")
        check(page, "08-named-professional-case")
        page.check("input[name=choice][value=resolve]")  # "What do you want to do?"
        page.click("button:has-text('Continue')")
        page.check("input[name=outcome][value=decision_changed]")
        page.fill("#summary", "Strategy discussion held at 11:00; child seen (invented)")
        page.check("input[name=learning_themes] >> nth=0")
        page.check("input[name=systemic][value=no]")
        page.fill("#lesson", "Health was not invited to the strategy discussion (invented)")
        page.click("button:has-text('Resolve')")
        # A proposal: the raiser has their say before it closes.
        assert page.inner_text("h1") == "You have proposed a resolution"
        assert "Waiting for" in page.inner_text("main")
        check(page, "09-resolution-proposed")

        page.goto(link + "x")  # a token that was never sent
        assert page.inner_text("h1") == "This link cannot be used"
        assert "TEST-CHILD-B1" not in page.content()
        check(page, "10-link-unknown")

        page.goto(link_in_latest_email(mail, "sam.social@council.example", routine))
        page.click("button:has-text('Continue')")
        assert "Record your response" in page.inner_text("main")
        page.click("#choose button")  # their one action: no question
        check(page, "11-counterpart-response-form")
        page.click("button:has-text('Record your response')")
        assert "There is a problem" in page.inner_text(".govuk-error-summary")
        check(page, "12-counterpart-response-errors")

        page.goto(f"{site}/raise")
        _choose_the_area(page)
        page.evaluate("document.querySelector('input[name=csrf]').value = 'stale'")
        page.check("#immediate_risk-2")
        page.click("button:has-text('Continue')")
        assert page.inner_text("h1") == "Sorry, there is a problem"
        check(page, "13-problem")

        page.goto(f"{site}/raise")
        page.click("button:has-text('Sign out')")
        assert page.inner_text("h1") == "You have signed out"
        check(page, "14-signed-out")

        if database_of(sessions) != "sqlite":
            assert page.goto(f"{site}/demo/mail").status == 404  # demo mode: SQLite only
            return
        page.goto(f"{site}/demo/mail")
        check(page, "15-demo-captured-emails")
        page.click("text=RPD-TEST-0001: you now own stage 1")
        check(page, "16-demo-one-email")


def _fits(page, selector: str) -> bool:
    """Nothing in `selector` is wider than the screen (no sideways scrolling at 375 px)."""
    return page.eval_on_selector(selector, "e => e.scrollWidth <= e.clientWidth")


def test_at_375_pixels_both_sides_show_and_the_owner_changes_the_counterpart(site, page, sessions):
    reference = raise_one(sessions, NOW)
    page.set_viewport_size({"width": 375, "height": 812})
    with Server() as mail:
        send_emails(sessions, mail)
        owner_link = link_in_latest_email(mail, RAISER, reference)
        page.goto(owner_link)
        page.click("button:has-text('Continue')")
        stages = page.inner_text("#stages")
        assert "Hana Visitor" in stages and "Sam Social" in stages and "No response yet" in stages
        assert _fits(page, "#stages")
        check(page, "375-01-owner-case-both-sides")
        page.check("input[name=choice][value=change_counterpart]")
        page.click("button:has-text('Continue')")
        assert _fits(page, "#change-counterpart")

        page.fill("#counterpart_name", "Tom Duty")
        page.fill("#counterpart_role", "Duty team manager")
        page.fill("#counterpart_organisation", "Example Council")
        page.fill("#counterpart_email", "tom.duty@freemail.example")
        page.fill("#change_reason", "Case reallocated to the duty team")
        page.click("button:has-text('Change the counterpart')")
        assert "freemail.example is not one of" in page.inner_text(".govuk-error-summary")
        assert page.input_value("#counterpart_name") == "Tom Duty"
        check(page, "375-02-change-counterpart-errors")
        page.fill("#counterpart_email", "tom.duty@council.example")
        page.click("button:has-text('Change the counterpart')")
        assert page.inner_text("h1") == "You have changed the counterpart"
        check(page, "375-03-counterpart-changed")

        send_emails(sessions, mail)
        old = link_in_latest_email(mail, COUNTERPART, reference)
        assert page.goto(old).status == 404
        page.goto(link_in_latest_email(mail, "tom.duty@council.example", reference))
        page.click("button:has-text('Continue')")
        check(page, "375-04-new-counterpart-case")
        page.click("button:has-text('Record your response')")  # the one thing they can do
        page.check("#position")
        page.fill("#response", "Threshold not met; reviewed with the team (invented)")
        page.click("button:has-text('Record your response')")
        assert page.inner_text("h1").startswith("Your response has been recorded")

        page.goto(owner_link)
        page.click("button:has-text('Continue')")
        stages = page.inner_text("#stages")
        assert "Tom Duty" in stages and "Threshold not met" in stages
        assert _fits(page, "#stages")
        check(page, "375-05-owner-sees-the-response")
