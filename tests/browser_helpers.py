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
