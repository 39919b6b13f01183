"""The board manager's journey in Debian's Chromium: sign in by emailed link and authenticator
code, filter the dashboard, open a case, record a resolution meeting. axe-core on every page."""

from __future__ import annotations

from datetime import timedelta

import pytest

from escalation.access import second_factor
from escalation.casework.sweep import run_sweep
from tests.board_helpers import enrol
from tests.browser_helpers import NOW, check, link_in_latest_email, needs_chromium, send_emails
from tests.factories import MANAGER, raise_one
from tests.smtp_server import Server

pytestmark = [needs_chromium, pytest.mark.slow]


def test_the_board_manager_signs_in_filters_opens_a_case_and_records_a_meeting(
    site, page, sessions
):
    overdue = raise_one(
        sessions,
        NOW - timedelta(days=14),
        category="icpc_request",
        child_reference="TEST-CHILD-OLD",
    )
    urgent = raise_one(
        sessions, NOW, immediate_risk=True, protective_action="Police informed (invented)"
    )
    secret = enrol(sessions, MANAGER)
    with Server() as mail:
        page.goto(f"{site}/board")
        assert page.inner_text("h1") == "Sign in to the board pages"
        check(page, "board-01-sign-in")
        page.fill("#email", MANAGER)
        page.click("text=Send me a sign-in link")
        send_emails(sessions, mail)
        page.goto(link_in_latest_email(mail, MANAGER, "sign-in link"))
        page.click("button:has-text('Sign in')")

    assert page.inner_text("h1") == "Enter your security code"
    check(page, "board-02-code")
    page.fill("#code", "000000")
    page.click("text=Continue")
    assert "Enter the 6-digit code" in page.inner_text(".govuk-error-summary")
    check(page, "board-03-code-error")
    page.fill("#code", second_factor.code_at(secret, NOW))
    page.click("text=Continue")

    assert page.inner_text("h1") == "Open disagreements"
    rows = page.locator("#disagreements tbody tr")
    assert rows.count() == 2 and urgent in rows.nth(0).inner_text()  # urgent first
    assert "Overdue" in rows.nth(1).inner_text() and overdue in rows.nth(1).inner_text()
    check(page, "board-04-dashboard")

    page.click("text=Filter")
    page.select_option("#category", "icpc_request")
    with page.expect_navigation():  # the filtered page loaded, not just begun
        page.click("#apply")
    rows = page.locator("#disagreements tbody tr")
    assert rows.count() == 1 and overdue in rows.nth(0).inner_text()
    assert page.input_value("#category") == "icpc_request"
    check(page, "board-05-filtered")

    page.click(f"text={overdue}")
    assert page.inner_text("h1") == f"Disagreement {overdue}"
    assert "working days after" in page.inner_text("#stages")
    check(page, "board-06-case")

    page.click("text=Record meeting")
    assert "There is a problem" in page.inner_text(".govuk-error-summary")
    check(page, "board-07-meeting-errors")
    page.fill("#held_on-day", "23")
    page.fill("#held_on-month", "11")
    page.fill("#held_on-year", "2026")
    page.fill("#attendees", "Bea Manager, Nadia Named, Sam Social")
    page.fill("#meeting_outcome", "Strategy discussion to be convened today")
    page.click("text=Record meeting")
    assert "Resolution meeting recorded" in page.inner_text(".govuk-notification-banner")
    assert "Strategy discussion to be convened today" in page.inner_text("#chronology")
    check(page, "board-08-meeting-recorded")


def _sign_in(page, site, sessions, secret: str) -> None:
    with Server() as mail:
        page.goto(f"{site}/board")
        page.fill("#email", MANAGER)
        page.click("text=Send me a sign-in link")
        send_emails(sessions, mail)
        page.goto(link_in_latest_email(mail, MANAGER, "sign-in link"))
        page.click("button:has-text('Sign in')")
    page.fill("#code", second_factor.code_at(secret, NOW))
    page.click("text=Continue")


def test_at_375_pixels_the_board_sees_a_silent_counterpart_and_both_sides_of_each_stage(
    site, page, sessions
):
    silent = raise_one(sessions, NOW - timedelta(days=14), child_reference="TEST-CHILD-QUIET")
    raise_one(sessions, NOW, child_reference="TEST-CHILD-NEW")
    run_sweep(sessions, now=NOW)  # the first is escalated; its counterpart never responded
    secret = enrol(sessions, MANAGER)
    page.set_viewport_size({"width": 375, "height": 812})
    _sign_in(page, site, sessions, secret)
    assert page.inner_text("h1") == "Open disagreements"
    rows = page.locator("#disagreements tbody tr")
    assert rows.count() == 2
    flagged = [
        rows.nth(i).inner_text()
        for i in range(2)
        if "Counterpart silent" in rows.nth(i).inner_text()
    ]
    assert len(flagged) == 1 and silent in flagged[0]
    check(page, "board-375-01-dashboard-silent")

    page.click("text=Filter")
    page.check("#counterpart_silent")
    with page.expect_navigation():  # the filtered page loaded, not just begun
        page.click("#apply")
    rows = page.locator("#disagreements tbody tr")
    assert rows.count() == 1 and silent in rows.nth(0).inner_text()
    check(page, "board-375-02-filtered-silent")

    page.click(f"text={silent}")
    stages = page.inner_text("#stages")
    assert "Owner (raising side)" in stages and "Counterpart (receiving side)" in stages
    assert "Hana Visitor" in stages and "Sam Social" in stages
    assert "Silent past the deadline" in stages
    assert page.eval_on_selector("#stages", "e => e.scrollWidth <= e.clientWidth")
    check(page, "board-375-03-case-both-sides")

    page.click("button:has-text('Move onto the urgent track')")
    assert "protective action" in page.inner_text(".govuk-error-summary")
    check(page, "board-375-04-urgent-errors")


def test_the_dashboard_flags_and_filters_at_1280_and_375_pixels(site, page, sessions):
    missed = raise_one(sessions, NOW - timedelta(days=14), child_reference="TEST-CHILD-MISSED")
    fresh = raise_one(sessions, NOW, child_reference="TEST-CHILD-FRESH")
    run_sweep(sessions, now=NOW)  # the first is escalated at its deadline, by the service
    secret = enrol(sessions, MANAGER)
    _sign_in(page, site, sessions, secret)
    assert page.inner_text("#partnership") == "Example Borough"
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{site}/board")
        row = page.locator("#disagreements tbody tr", has_text=missed).inner_text()
        assert "Missed deadline" in row and "Escalated automatically" in row
        assert (
            "Not acknowledged"
            in page.locator("#disagreements tbody tr", has_text=fresh).inner_text()
        )
        check(page, f"board-flags-01-dashboard-{width}")

        page.click("text=Filter")
        page.check("#missed_deadline")
        page.select_option("#status", "all")
        with page.expect_navigation():  # the filtered page loaded, not just begun
            page.click("#apply")
        assert page.inner_text("h1") == "All disagreements"
        rows = page.locator("#disagreements tbody tr")
        assert rows.count() == 1 and missed in rows.nth(0).inner_text()
        assert page.is_checked("#missed_deadline")
        check(page, f"board-flags-02-missed-deadline-{width}")

        page.goto(f"{site}/board?unacknowledged=maybe")
        assert "Tick “Not acknowledged” or leave it clear" in page.inner_text(
            ".govuk-error-summary"
        )
        check(page, f"board-flags-03-filter-error-{width}")
