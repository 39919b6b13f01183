"""Editing the directory in Debian's Chromium: the board manager sees a gap that would stall
escalation, fills it, records someone's absence, and has a bad CSV file refused. axe-core on the
list and the forms."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from escalation.access import second_factor
from escalation.directory.people import find_person
from escalation.store.db import transaction
from escalation.store.models import Person, PersonRole
from tests.board_helpers import enrol
from tests.browser_helpers import NOW, check, link_in_latest_email, needs_chromium, send_emails
from tests.factories import DEFAULT, DESIGNATED, MANAGER, NAMED
from tests.smtp_server import Server

pytestmark = [needs_chromium, pytest.mark.slow]


def _sign_in_as_board_manager(site, page, sessions) -> None:
    secret = enrol(sessions, MANAGER)
    with Server() as mail:
        page.goto(f"{site}/board/signin")
        page.fill("#email", MANAGER)
        page.click("text=Send me a sign-in link")
        send_emails(sessions, mail)
        page.goto(link_in_latest_email(mail, MANAGER, "sign-in link"))
        page.click("button:has-text('Sign in')")
    page.fill("#code", second_factor.code_at(secret, NOW))  # the server's clock is fixed at NOW
    page.click("text=Continue")
    assert page.inner_text("h1") == "Open disagreements"


def test_the_board_manager_fills_a_gap_and_records_an_absence(site, page, sessions):
    with transaction(sessions) as session:
        find_person(session, DESIGNATED).active = False
    _sign_in_as_board_manager(site, page, sessions)

    page.click(".govuk-service-navigation a:has-text('Directory')")
    assert page.inner_text("h1") == "Directory"
    designated_gap = f"{DEFAULT.stages[2].title} (raising side) for Example Trust: nobody matches"
    assert designated_gap in page.inner_text("#gaps")
    check(page, "directory-01-list-with-a-gap")

    page.click("text=Add a person")
    page.fill("#name", "Nell New")
    page.fill("#email", "not an email")
    page.click("button:has-text('Save')")
    assert "Enter an email address in the correct format" in page.inner_text(".govuk-error-summary")
    assert page.input_value("#name") == "Nell New"
    check(page, "directory-02-add-errors")
    page.fill("#email", "nell.new@icb.example")
    page.select_option("#organisation", "Example ICB")
    page.fill("#job_title", "Designated doctor")
    page.select_option("#agency_type", "health")
    page.select_option("#professional_group", "doctor")
    page.locator("#roles-3").check()  # designated professional
    page.locator("#primary_roles").check()  # practitioner: a role she does not hold
    page.click("button:has-text('Save')")
    assert "A primary role must also be one of their roles" in page.inner_text(
        ".govuk-error-summary"
    )
    assert page.input_value("#professional_group") == "doctor"
    page.locator("#primary_roles").uncheck()
    page.locator("#primary_roles-3").check()
    page.select_option("#line_manager", label="Bea Manager, Example Partnership")
    page.click("button:has-text('Save')")
    assert "Saved Nell New." in page.inner_text(".govuk-notification-banner--success")
    gaps = page.locator("#gaps")
    assert gaps.count() == 0 or designated_gap not in gaps.inner_text()
    row = page.locator("#people tr", has_text="Nell New").inner_text()
    assert "Designated doctor" in row and "Primary designated professional" in row
    assert "Line manager: Bea Manager" in row

    page.click("#people a:has-text('Nadia Named')")
    assert page.inner_text("h1") == "Edit Nadia Named"
    check(page, "directory-03-edit")
    page.fill("#absent_from-day", "1")
    page.fill("#absent_from-month", "12")
    page.fill("#absent_from-year", "2026")
    page.fill("#absent_until-day", "4")
    page.fill("#absent_until-month", "12")
    page.fill("#absent_until-year", "2026")
    page.click("button:has-text('Save')")
    assert "Saved Nadia Named." in page.inner_text(".govuk-notification-banner--success")
    row = page.locator("#people tr", has_text=NAMED)
    assert "Tue 1 Dec 2026 to Fri 4 Dec 2026" in row.inner_text()
    check(page, "directory-04-list-after-edits")

    page.click("text=Import from CSV")
    check(page, "directory-05-import")
    page.set_input_files(
        "#csv_file",
        files=[
            {
                "name": "people.csv",
                "mimeType": "text/csv",
                "buffer": (
                    b"name,email,organisation,partnership,roles\nBad Row,not-an-email,Example ICB,"
                    b"example-partnership,practitioner\n"
                ),
            }
        ],
    )
    page.click("button:has-text('Import')")
    assert "people.csv: row 2: email" in page.inner_text(".govuk-error-summary")
    check(page, "directory-06-import-refused")


def test_a_long_directory_is_paged_and_the_pages_pass_axe(site, page, sessions):
    with transaction(sessions) as session:
        total = len(session.execute(select(Person.id)).all()) + 150
        session.add_all(
            Person(
                name=f"Pat {n:03d}",
                email=f"pat.{n}@icb.example",
                organisation="Example Trust",
                partnership="example-partnership",
                role_rows=[PersonRole(role="practitioner")],
            )
            for n in range(150)
        )
    _sign_in_as_board_manager(site, page, sessions)
    page.goto(f"{site}/board/directory")
    assert f"{total} people (showing 1 to 100, by name)" in page.inner_text("#people caption")
    assert page.locator("#people tbody tr").count() == 100
    check(page, "directory-07-first-of-two-pages")
    page.click(".govuk-pagination__next a")
    assert f"showing 101 to {total}" in page.inner_text("#people caption")
    assert page.locator("#people tbody tr").count() == total - 100
    check(page, "directory-08-second-page")
