"""Helpers for the journeys in Debian's Chromium (the `site` and `page` fixtures are in
conftest.py): axe-core and a screenshot per page, delivering the outbox, following emailed links.

Every browser test module sets `pytestmark = needs_chromium` (skipped without Debian's
chromium). Screenshots go to var/screenshots/, which holds only the latest run's."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import threading
from pathlib import Path

import pytest

from escalation.outbox.delivery import deliver
from escalation.settings import get_settings
from tests.factories import MONDAY
from tests.outbox_helpers import delivery

CHROMIUM = "/usr/bin/chromium"
AXE = Path("node_modules/axe-core/axe.min.js")
SHOTS = Path("var/screenshots")
NOW = MONDAY  # the served app's clock

needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"
)


def check(page, name: str) -> None:
    """axe-core on the page as it stands: no serious or critical violations; then a screenshot."""
    page.evaluate(AXE.read_text())  # through DevTools: the page's own CSP stays enforced
    result = page.evaluate("async () => await axe.run(document)")
    bad = [
        (v["id"], v["impact"], v["help"])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert bad == [], f"{name}: {bad}"


def send_emails(sessions, mail) -> None:
    """Deliver the outbox (in a thread: Playwright's sync API owns this thread's event loop)."""
    outbox = dataclasses.replace(
        delivery(sessions, mail.url()), base_url=get_settings().public_base_url
    )
    worker = threading.Thread(target=lambda: asyncio.run(deliver(outbox, now=NOW)))
    worker.start()
    worker.join(timeout=60)


def link_in_latest_email(server, recipient: str, subject_part: str) -> str:
    for message in reversed(server.messages):
        if message["To"] == recipient and subject_part in message["Subject"]:
            text = message.get_body(("plain",)).get_content()
            return re.search(r"http://127\.0\.0\.1:\d+/\S+", text).group(0)
    raise AssertionError(f"no email to {recipient} about {subject_part!r}")


def press_continue(page) -> None:
    page.click("button:has-text('Continue')")


def walk_to_check(page, *, urgent: bool, shot=None) -> None:
    """The raise journey from its first question to check your answers (a routine or urgent
    invented disagreement), screenshotting each page with `shot`; tests/test_raise_journey.py
    and bench/walkthrough.py walk it."""
    shot = shot or (lambda name: None)
    shot("01-risk")
    page.check("#immediate_risk" if urgent else "#immediate_risk-2")
    if urgent:
        page.fill("#protective_action", "Referred to children's social care at 09:40 (invented)")
    press_continue(page)
    assert page.inner_text("h1") == "The decision you disagree with"
    shot("03-decision")
    page.fill("#counterpart_name", "Sam Social")
    page.fill("#counterpart_email", "sam.social@council.example")
    page.fill("#counterpart_role", "Duty social worker")
    page.fill("#counterpart_organisation", "Example Council")
    page.check("#category")
    page.fill("#decision_disputed", "No further action on the referral")
    for box, value in (("day", "20"), ("month", "11"), ("year", "2026")):
        page.fill(f"#decision_date-{box}", value)
    press_continue(page)
    assert page.inner_text("h1") == "Why you disagree and what you want to happen"
    shot("05-why")
    page.fill("#reason", "Weight static for six months (invented)")
    page.fill("#outcome_sought", "A strategy discussion including health")
    page.fill("#child_reference", "TEST-CHILD-J1")
    press_continue(page)
    assert page.inner_text("h1") == "Check your answers before raising the disagreement"
