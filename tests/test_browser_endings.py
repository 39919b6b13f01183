"""The ending on a phone (375 px), in Chromium: the raiser accepts a proposed resolution through
the link in their email, the action's owner confirms it done through theirs, and it closes.
Every page is checked with axe-core and screenshotted."""

from __future__ import annotations

from datetime import timedelta

import pytest

from escalation.casework import disagreements as d
from escalation.casework.endings import ActionInput
from escalation.store.db import transaction
from tests.browser_helpers import NOW, check, link_in_latest_email, needs_chromium, send_emails
from tests.factories import COUNTERPART, LEARNING, NAMED, RAISER, raise_one
from tests.smtp_server import Server

pytestmark = [needs_chromium, pytest.mark.slow]


def _open(page, link: str) -> None:
    page.goto(link)
    page.click("button:has-text('Continue')")


def test_the_raiser_accepts_and_the_action_owner_confirms_on_a_phone(site, page, sessions):
    page.set_viewport_size({"width": 375, "height": 812})
    reference = raise_one(sessions, NOW)
    with transaction(sessions) as session:
        d.escalate(session, reference=reference, actor=RAISER, now=NOW, reason="No reply")
        d.resolve(
            session,
            reference=reference,
            actor=NAMED,
            now=NOW,
            outcome="resolved_agreed_actions",
            summary="Health records to be shared before the strategy discussion (invented)",
            learning=LEARNING,
            actions=(
                ActionInput("Share the health records", COUNTERPART, NOW.date() + timedelta(2)),
            ),
        )
    with Server() as mail:
        send_emails(sessions, mail)
        _open(page, link_in_latest_email(mail, RAISER, "a resolution is proposed"))
        check(page, "endings-00-say-case-375")
        page.click("button:has-text('Accept or contest the proposed resolution')")
        assert "Do you accept this resolution?" in page.inner_text("main")
        assert "Share the health records" in page.inner_text("main")
        check(page, "endings-01-say-375")
        page.click("button:has-text('Send your answer')")  # neither chosen: an error, kept page
        assert "There is a problem" in page.inner_text(".govuk-error-summary")
        check(page, "endings-02-say-errors-375")
        page.check("input[name=answer][value=accept]")
        page.click("button:has-text('Send your answer')")
        assert "watched" in page.inner_text("main")
        check(page, "endings-03-accepted-375")

        _open(page, link_in_latest_email(mail, COUNTERPART, "an agreed action is yours"))
        page.click("button:has-text('Confirm an agreed action is done')")
        assert "Your agreed actions" in page.inner_text("main")
        check(page, "endings-04-action-375")
        page.fill("textarea[name=note]", "Records sent to the duty team (invented)")
        page.click("button:has-text('Confirm it is done')")
        assert "resolved and closed" in page.inner_text("main")
        check(page, "endings-05-action-done-375")
    with transaction(sessions) as session:
        assert d.get(session, reference).status == "resolved"
