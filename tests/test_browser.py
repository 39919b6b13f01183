"""The journeys in a real browser (Debian's Chromium through Playwright), against the app served
by uvicorn on loopback, with emails through a real SMTP server. Every page is checked with
axe-core (no serious or critical violations) and screenshotted to var/screenshots/."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import shutil
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from escalation.outbox.delivery import deliver
from escalation.settings import get_settings
from escalation.web.app import create_app
from escalation.web.demo import database_of
from tests.factories import NAMED, RAISER, load_directory, utc
from tests.smtp_server import Server, free_port
from tests.test_delivery import _delivery

CHROMIUM = "/usr/bin/chromium"
AXE = Path("node_modules/axe-core/axe.min.js")
SHOTS = Path("var/screenshots")
NOW = utc(2026, 11, 23, 10)

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


@pytest.fixture
def site(sessions, monkeypatch, tmp_path):
    """The app on a free loopback port, with its public base URL pointing there (on SQLite demo
    mode on, its captured-email viewer reading one invented email; demo mode never runs on
    PostgreSQL)."""
    port = free_port()
    monkeypatch.setenv("ESCALATION_PUBLIC_BASE_URL", f"http://127.0.0.1:{port}")
    if database_of(sessions) == "sqlite":
        monkeypatch.setenv("ESCALATION_DEMO", "true")
    monkeypatch.setenv("ESCALATION_MAIL_DIR", str(tmp_path))
    (tmp_path / "20261123T100000000000-000001.eml").write_bytes(
        b"To: hana.visitor@trust.example\r\nSubject: RPD-TEST-0001: you now own stage 1\r\n"
        b"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\nOpen it here:\r\nhttp://127.0.0.1/l/x\r\n")
    get_settings.cache_clear()
    load_directory(sessions)
    server = uvicorn.Server(uvicorn.Config(create_app(sessions, clock=lambda: NOW), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    get_settings.cache_clear()


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser.new_page(bypass_csp=True)  # only so axe-core can be injected
        browser.close()


def _check(page, name: str) -> None:
    """axe-core on the page as it stands: no serious or critical violations; then a screenshot."""
    page.add_script_tag(content=AXE.read_text())
    result = page.evaluate("async () => await axe.run(document)")
    bad = [(v["id"], v["impact"], v["help"]) for v in result["violations"]
           if v["impact"] in ("serious", "critical")]
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert bad == [], f"{name}: {bad}"


def _send_emails(sessions, mail) -> None:
    """Deliver the outbox (in a thread: Playwright's sync API owns this thread's event loop)."""
    delivery = dataclasses.replace(_delivery(sessions, mail.url()),
                                   base_url=get_settings().public_base_url)
    worker = threading.Thread(target=lambda: asyncio.run(deliver(delivery, now=NOW)))
    worker.start()
    worker.join(timeout=60)


def _link_in_latest_email(server, recipient: str, subject_part: str) -> str:
    for message in reversed(server.messages):
        if message["To"] == recipient and subject_part in message["Subject"]:
            return re.search(r"http://127\.0\.0\.1:\d+/\S+", message.get_body(("plain",)).get_content()).group(0)
    raise AssertionError(f"no email to {recipient} about {subject_part!r}")


def _fill_form(page, *, urgent: bool) -> None:
    page.fill("#counterpart_name", "Sam Social")
    page.fill("#counterpart_email", "sam.social@council.example")
    page.fill("#counterpart_role", "Duty social worker")
    page.fill("#counterpart_organisation", "Example Council")
    page.fill("#child_reference", "TEST-CHILD-B1")
    page.check("#category")
    page.fill("#decision_disputed", "No further action on the referral")
    page.fill("#decision_date-day", "20")
    page.fill("#decision_date-month", "11")
    page.fill("#decision_date-year", "2026")
    page.fill("#reason", "Weight static for six months (invented)")
    page.fill("#outcome_sought", "A strategy discussion including health")
    page.check("#immediate_risk" if urgent else "#immediate_risk-2")
    if urgent:
        page.fill("#protective_action", "Referred to Children's Social Care at 09:40 (invented)")


def test_a_health_visitor_raises_and_the_named_professional_resolves(site, page, sessions):
    with Server() as mail:
        page.goto(f"{site}/raise")
        _check(page, "01-sign-in")
        page.fill("#email", RAISER)
        page.click("text=Send me a sign-in link")
        assert page.inner_text("h1") == "Check your email"
        _check(page, "02-check-your-email")
        _send_emails(sessions, mail)
        page.goto(_link_in_latest_email(mail, RAISER, "sign-in link"))
        _check(page, "03-sign-in-confirm")
        page.click("button:has-text('Sign in')")
        assert page.inner_text("h1") == "Raise a professional disagreement"
        _check(page, "04-raise-form")

        page.fill("#reason", "typed before the errors")
        page.click("text=Raise the disagreement")
        assert "There is a problem" in page.inner_text(".govuk-error-summary")
        assert page.input_value("#reason") == "typed before the errors"
        assert page.input_value("#raiser_name") == "Hana Visitor"
        _check(page, "05-raise-form-errors")

        _fill_form(page, urgent=False)
        page.click("text=Raise the disagreement")
        assert page.inner_text("h1") == "Disagreement raised"
        routine = re.search(r"RPD-\w{4}-\w{4}", page.inner_text(".govuk-panel")).group(0)
        _check(page, "06-raised")

        page.goto(f"{site}/raise")
        _fill_form(page, urgent=True)
        page.click("text=Raise the disagreement")
        urgent = re.search(r"RPD-\w{4}-\w{4}", page.inner_text(".govuk-panel")).group(0)
        assert urgent != routine and "urgent track" in page.inner_text("main")
        _check(page, "07-raised-urgent")

        _send_emails(sessions, mail)
        link = _link_in_latest_email(mail, NAMED, urgent)
        page.goto(link)
        assert page.inner_text("h1") == "Open this disagreement" and urgent in page.inner_text("main")
        assert "TEST-CHILD-B1" not in page.content()  # what a mail scanner sees
        _check(page, "08-link-continue")
        page.click("button:has-text('Continue')")
        assert urgent in page.inner_text("h1") and "TEST-CHILD-B1" in page.inner_text("main")
        _check(page, "08-named-professional-case")
        page.check("#outcome")
        page.fill("#summary", "Strategy discussion held at 11:00; child seen (invented)")
        page.click("button:has-text('Resolve')")
        assert page.inner_text("h1") == "You have resolved this disagreement"
        _check(page, "09-resolved")

        page.goto(link)
        assert page.inner_text("h1") == "This link cannot be used"
        assert "TEST-CHILD-B1" not in page.content()
        _check(page, "10-link-used")

        page.goto(_link_in_latest_email(mail, "sam.social@council.example", routine))
        page.click("button:has-text('Continue')")
        assert "Record your response" in page.inner_text("main")
        _check(page, "11-counterpart-response-form")
        page.click("button:has-text('Record your response')")
        assert "There is a problem" in page.inner_text(".govuk-error-summary")
        _check(page, "12-counterpart-response-errors")

        page.goto(f"{site}/raise")
        page.evaluate("document.querySelector('input[name=csrf]').value = 'stale'")
        page.click("text=Raise the disagreement")
        assert page.inner_text("h1") == "Sorry, there is a problem"
        _check(page, "13-problem")

        page.goto(f"{site}/raise")
        page.click("button:has-text('Sign out')")
        assert page.inner_text("h1") == "You have signed out"
        _check(page, "14-signed-out")

        if database_of(sessions) != "sqlite":
            assert page.goto(f"{site}/demo/mail").status == 404  # demo mode: SQLite only
            return
        page.goto(f"{site}/demo/mail")
        _check(page, "15-demo-captured-emails")
        page.click("text=RPD-TEST-0001: you now own stage 1")
        _check(page, "16-demo-one-email")
