"""The board's report pages in a real browser (Debian's Chromium through Playwright): signed in
through the emailed link and an authenticator code, checked with axe-core, screenshotted."""

from __future__ import annotations

from datetime import timedelta

import pytest

from escalation.access import second_factor
from tests.board_helpers import enrol, link_path
from tests.browser_helpers import NOW, check, needs_chromium
from tests.factories import MANAGER
from tests.report_fixture import raise_the_thirty

pytestmark = [needs_chromium, pytest.mark.slow]


def test_the_board_manager_reads_and_prints_the_reports(site, page, sessions):
    raise_the_thirty(sessions, t0=NOW - timedelta(days=28), now=NOW)
    secret = enrol(sessions, MANAGER)
    page.goto(f"{site}/board/signin")
    page.fill("#email", MANAGER)
    page.click("text=Send me a sign-in link")
    page.goto(site + link_path(sessions, MANAGER, "sign_in", NOW))
    page.click("button:has-text('Sign in')")
    page.fill("#code", second_factor.code_at(secret, NOW))
    page.click("button:has-text('Continue')")
    page.wait_for_url(f"{site}/board")

    page.goto(f"{site}/board/reports")
    assert page.inner_text("h1") == "Professional disagreements: board report"
    assert page.locator("svg[role=img]").count() == 14  # with learning by stage, pair, quarter
    assert "Urgent track (child at immediate risk)\t6" in page.inner_text("#urgent-track-table")
    check(page, "reports-01-board-reports")

    assert page.inner_text("#headline").startswith("So far, 30 disagreements were raised")

    page.fill("#from-day", "31")
    page.fill("#from-month", "2")
    page.fill("#from-year", "2026")
    page.fill("#to-day", "1")
    with page.expect_navigation():  # the filtered page loaded, not just begun
        page.click("#apply")
    summary = page.inner_text(".govuk-error-summary")
    assert "The start date must be a real date" in summary
    assert "The end date must include a month and year" in summary
    assert page.input_value("#from-day") == "31"
    check(page, "reports-02-board-reports-error")
    page.click("text=The end date must include a month and year")  # the summary's link
    assert page.evaluate("document.activeElement.id") == "to-month"

    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{site}/board/reports")
    page.fill("#from-day", str(NOW.day))
    page.fill("#from-month", str(NOW.month))
    page.fill("#from-year", str(NOW.year))
    with page.expect_navigation():  # the filtered page loaded, not just begun
        page.click("#apply")
    assert page.inner_text("#headline").startswith("From ")
    for part in ("#headline", "#period"):  # the wide tables scroll on their own
        assert page.eval_on_selector(part, "e => e.getBoundingClientRect().right <= 375")
    check(page, "reports-375-01-board-reports-period")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.goto(f"{site}/board/reports")
    page.click("#printable")
    assert page.url.endswith("/board/reports/print")
    assert page.locator(".govuk-service-navigation").count() == 0
    page.emulate_media(media="print")
    check(page, "reports-03-board-reports-print")
