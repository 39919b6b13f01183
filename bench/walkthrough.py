"""How many pages and form fields two journeys take a person, in Chromium at 1280 px.

    .venv/bin/python -m bench.walkthrough

Against a fresh temporary SQLite database with the invented directory (tests/factories.py),
the app served by uvicorn on loopback as the tests' `site` fixture serves it (demo mode on),
emails delivered to a real SMTP capture (tests/smtp_server.py):

1. raise: a health visitor (Hana Visitor) asks for a sign-in link, opens it from the email,
   presses Sign in and raises a routine disagreement (the walk of tests/test_raise_journey.py);
2. owner resolves: the stage owner (Hana Visitor again, in a fresh browser) opens the emailed
   link for that disagreement and resolves it (the walk of tests/test_link_journey.py).

Page loads are counted with page.on("framenavigated") on the main frame: every navigation to
a new document (a redirect the browser follows is part of the same load). As in the tests, the
raise counts from pressing Sign in; the owner's walk counts after the emailed link has opened.
Fields are the fill/check/select_option calls the walk makes.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

from tests.browser_helpers import CHROMIUM, NOW, link_in_latest_email, send_emails
from tests.factories import RAISER, load_directory
from tests.smtp_server import Server, free_port

WIDTH = 1280


class Counted:
    """A Playwright page that counts the fields filled or chosen and the main frame's loads."""

    def __init__(self, page):
        self._page, self.fields, self.loads = page, 0, 0
        page.on("framenavigated", self._navigated)

    def _navigated(self, frame) -> None:
        if frame == self._page.main_frame:
            self.loads += 1

    def start(self) -> None:
        self.fields = self.loads = 0

    def _field(self, method: str, *args, **kwargs):
        self.fields += 1
        return getattr(self._page, method)(*args, **kwargs)

    def fill(self, *args, **kwargs):
        return self._field("fill", *args, **kwargs)

    def check(self, *args, **kwargs):
        return self._field("check", *args, **kwargs)

    def select_option(self, *args, **kwargs):
        return self._field("select_option", *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._page, name)


def _serve(sessions, port: int):
    """The app in uvicorn on loopback, in a thread (as conftest.py's `site` fixture)."""
    import uvicorn

    from escalation.web.app import create_app

    app = create_app(sessions, clock=lambda: NOW)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread


def _raise(page: Counted, site: str, sessions, mail) -> str:
    from tests.browser_helpers import press_continue, walk_to_check

    page.goto(f"{site}/raise")
    page.fill("#email", RAISER)
    page.click("text=Send me a sign-in link")
    send_emails(sessions, mail)
    page.goto(link_in_latest_email(mail, RAISER, "sign-in link"))
    page.start()
    page.click("button:has-text('Sign in')")
    page.check("label:has-text('Example Borough')")
    press_continue(page)
    walk_to_check(page, urgent=False)
    page.click("button:has-text('Raise the disagreement')")
    assert page.inner_text("h1") == "Disagreement raised", page.inner_text("main")
    return re.search(r"RPD-\w{4}-\w{4}", page.inner_text(".govuk-panel")).group(0)


def _resolve(page: Counted, sessions, mail, reference: str) -> None:
    send_emails(sessions, mail)
    page.goto(link_in_latest_email(mail, RAISER, reference))
    page.start()
    page.click("button:has-text('Continue')")
    page.check("input[name=choice][value=resolve]")
    page.click("button:has-text('Continue')")
    page.check("input[name=outcome][value=decision_changed]")
    page.fill("#summary", "Strategy discussion agreed (invented)")
    page.check("input[name=learning_themes] >> nth=0")
    page.check("input[name=systemic][value=no]")
    page.fill("#lesson", "Thresholds read differently (invented)")
    page.click("button:has-text('Resolve')")
    assert page.inner_text("h1") == "You have resolved this disagreement", page.inner_text("main")


def main() -> int:
    if not Path(CHROMIUM).exists():
        print(f"bench.walkthrough: Chromium is missing ({CHROMIUM} not found)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    from escalation.settings import get_settings
    from escalation.store.db import make_engine, session_factory
    from escalation.store.schema import upgrade

    with tempfile.TemporaryDirectory(prefix="walkthrough-") as tmp:
        port = free_port()
        site = f"http://127.0.0.1:{port}"
        os.environ.update(
            ESCALATION_PUBLIC_BASE_URL=site,
            ESCALATION_DEMO="true",
            ESCALATION_MAIL_DIR=tmp,
            PREFECT_HOME=os.path.join(tmp, "prefect"),
        )
        get_settings.cache_clear()
        engine = make_engine(f"sqlite:///{tmp}/escalation.db")
        upgrade(engine)
        sessions = session_factory(engine)
        load_directory(sessions)
        server, thread = _serve(sessions, port)
        try:
            with sync_playwright() as playwright, Server() as mail:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--no-sandbox"]
                )
                viewport = {"width": WIDTH, "height": 900}
                raiser = Counted(browser.new_page(viewport=viewport))
                reference = _raise(raiser, site, sessions, mail)
                owner = Counted(browser.new_page(viewport=viewport))  # a fresh context
                _resolve(owner, sessions, mail, reference)
                browser.close()
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            engine.dispose()
    print(f"at {WIDTH} px, disagreement {reference}:")
    print(f"  raise (routine, after sign-in): {raiser.loads} page loads, {raiser.fields} fields")
    print(
        f"  owner resolves (from opening the email): {owner.loads} page loads, "
        f"{owner.fields} fields"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
