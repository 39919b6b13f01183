"""A disagreement carrying sentinel text, followed through every email and every kind of emailed
link opened with no cookie (a mail scanner, a forwarded email, a mistyped address): the child's
reference and the case text appear nowhere, and only a Continue shows the case."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from escalation.access import signin
from escalation.casework.sweep import run_sweep
from escalation.outbox import links, notifications
from escalation.outbox.delivery import deliver
from escalation.store.db import transaction
from escalation.store.models import OutboxMessage
from escalation.web.app import create_app
from tests.factories import MONDAY, RAISER, due_at, load_directory, raise_one
from tests.outbox_helpers import delivery
from tests.smtp_server import Server

CHILD = "ZZ-SENTINEL-4471"
FAMILY = "Qwertyuiop family"
SENTINELS = (CHILD, FAMILY, "Qwertyuiop")


def _disagreement_with_every_kind_of_link(sessions) -> tuple[str, object]:
    load_directory(sessions)
    reference = raise_one(
        sessions,
        MONDAY,
        child_reference=CHILD,
        reason=f"The {FAMILY} has missed four appointments (invented)",
        decision_disputed=f"No further action for the {FAMILY}",
    )
    for _ in range(3):  # up to the board manager; each stage tells its own people
        later = due_at(sessions, reference)
        run_sweep(sessions, now=later)
    with transaction(sessions) as session:
        notifications.fresh_links(session, RAISER, later)
        signin.request_link(session, RAISER, allowed_domains=[], now=later)
    return reference, later


def _every_link(sessions, now) -> dict[str, list[str]]:
    """Each outbox row's link(s), minted as delivery would, by the link's purpose."""
    found: dict[str, list[str]] = {}
    with transaction(sessions) as session:
        for row in session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars():
            single = links.link_for(session, row, base_url="", now=now)
            for path in [single] if single else links.links_for(session, row, base_url="", now=now):
                found.setdefault(row.link_purpose, []).append(path)
    return found


def test_no_link_shows_case_text_to_a_browser_without_its_session(sessions):
    reference, now = _disagreement_with_every_kind_of_link(sessions)
    found = _every_link(sessions, now)
    assert {"act", "respond", "status", "view", "several", "signin"} <= set(found)
    found["board"] = ["/board", f"/board/d/{reference}"]  # what board emails link to
    app = create_app(sessions, clock=lambda: now)
    opened = 0
    for purpose, paths in found.items():
        for path in paths:
            scanner = TestClient(app)  # no cookie, as a mail scanner or a forwarded email
            for response in (scanner.get(path), scanner.head(path)):
                assert response.status_code in (200, 401, 404, 405), (purpose, response.status_code)
                for text in SENTINELS:
                    assert text not in response.text, f"{text!r} shown by a {purpose} link"
            opened += scanner.get(path).status_code == 200
    assert opened >= 6
    owner_link = found["act"][-1]  # the current stage's owner's
    browser = TestClient(app, headers={"Origin": "http://127.0.0.1:8000"})
    case = browser.post(f"{owner_link}/continue")
    assert case.status_code == 200 and CHILD in case.text and FAMILY in case.text


def test_no_email_carries_the_sentinels(sessions):
    _disagreement_with_every_kind_of_link(sessions)
    with Server() as server:
        summary = asyncio.run(
            deliver(
                delivery(sessions, server.url()),
                now=MONDAY + timedelta(days=30),
                rng=random.Random(1),
            )
        )
        messages = server.messages
    assert summary.sent == len(messages) >= 6
    for message in messages:
        for text in SENTINELS:
            assert text not in message.as_string(), f"{text!r} in {message['Subject']!r}"
