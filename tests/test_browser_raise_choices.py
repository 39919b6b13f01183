"""Issue 12, points 5 and 6 in a real browser (Debian's Chromium, no script needed): the child's
area asked first, the counterpart chosen from that area's directory, a typed address refused
outside the secure domains. Every page is checked with axe-core and screenshotted."""

from __future__ import annotations

import pytest

from tests.browser_helpers import check, link_in_latest_email, needs_chromium, send_emails
from tests.factories import RAISER
from tests.smtp_server import Server

pytestmark = [needs_chromium, pytest.mark.slow]


def _fill_the_decision(page) -> None:
    page.check("#category")
    page.fill("#decision_disputed", "No further action on the referral")
    page.fill("#decision_date-day", "20")
    page.fill("#decision_date-month", "11")
    page.fill("#decision_date-year", "2026")


def _why_and_check(page) -> None:
    page.fill("#child_reference", "TEST-CHILD-C1")
    page.fill("#reason", "Weight static for six months (invented)")
    page.fill("#outcome_sought", "A strategy discussion including health")
    page.click("button:has-text('Continue')")
    assert page.inner_text("h1") == "Check your answers before raising the disagreement"
    assert "Dev Designated" in page.inner_text("main")


def test_the_area_first_then_a_counterpart_from_its_directory(site, page, sessions):
    with Server() as mail:
        page.goto(f"{site}/raise")
        page.fill("#email", RAISER)
        page.click("text=Send me a sign-in link")
        send_emails(sessions, mail)
        page.goto(link_in_latest_email(mail, RAISER, "sign-in link"))
        page.click("button:has-text('Sign in')")

        assert page.inner_text("h1") == "Which local authority area does the child live in?"
        check(page, "area-01-question")
        page.click("button:has-text('Continue')")
        assert "Select the local authority area" in page.inner_text(".govuk-error-summary")
        check(page, "area-02-question-error")
        page.check("label:has-text('Example Borough')")
        page.click("button:has-text('Continue')")
        assert page.inner_text("h1") == "Is the child at immediate risk of significant harm?"
        assert "The child lives in Example Borough" in page.inner_text("main")
        check(page, "area-03-form")
        page.check("#immediate_risk-2")
        page.click("button:has-text('Continue')")

        _fill_the_decision(page)
        page.fill("#counterpart_name", "Sam Social")
        page.fill("#counterpart_email", "sam.social@gmail.example")
        page.fill("#counterpart_role", "Duty social worker")
        page.fill("#counterpart_organisation", "Example Council")
        page.click("button:has-text('Continue')")
        summary = page.inner_text(".govuk-error-summary")
        assert "gmail.example is not one of Example Borough's secure domains" in summary
        check(page, "area-04-counterpart-refused")

        for field in ("name", "email", "role", "organisation"):
            page.fill(f"#counterpart_{field}", "")
        page.select_option("#counterpart_person", label="Dev Designated, Designated doctor")
        page.click("button:has-text('Continue')")
        _why_and_check(page)
        page.click("button:has-text('Raise the disagreement')")
        assert page.inner_text("h1") == "Disagreement raised"
        assert "The child's area: Example Borough" in page.inner_text("main")
        check(page, "area-05-raised")
