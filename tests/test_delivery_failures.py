"""Whose fault a 5xx is. A bad mailbox (5.1.x, and a 5xx without an enhanced code) fails that
one email and offers an owner's stage to their deputy; a relay or policy refusal (5.7.x, 554)
is nobody's mailbox, so sending stops with an alert and every email stays pending untouched;
and more than a handful of permanent failures in one run stops the run too."""

from __future__ import annotations

import asyncio
import random

import aiosmtplib
import pytest
from sqlalchemy import select

from escalation.casework import disagreements as d
from escalation.casework import health
from escalation.outbox.delivery import deliver
from escalation.outbox.mail import PERMANENT, RELAY, RETRY, classify
from escalation.store.db import transaction
from escalation.store.models import OutboxMessage
from tests.factories import COUNTERPART, MONDAY, NAMED, NAMED_DEPUTY, RAISER, raise_one
from tests.outbox_helpers import at_named_stage, delivery, outbox_rows
from tests.smtp_server import Server


@pytest.fixture
def server():
    with Server() as running:
        yield running


def _deliver(sessions, server, now, **options):
    outbox = delivery(sessions, server.url(), **options)
    return asyncio.run(deliver(outbox, now=now, rng=random.Random(7)))


@pytest.mark.parametrize(
    ("code", "text", "outcome"),
    [
        (550, "5.1.1 User unknown", PERMANENT),
        (550, "Requested action not taken: mailbox unavailable", PERMANENT),  # no enhanced code
        (551, "User not local", PERMANENT),
        (553, "5.1.3 Bad recipient address syntax", PERMANENT),
        (552, "5.2.2 Mailbox full", PERMANENT),
        (550, "5.7.1 Relaying denied", RELAY),
        (553, "5.7.1 Sender address rejected", RELAY),
        (554, "Transaction failed", RELAY),
        (554, "5.1.1 User unknown", RELAY),  # 554 is the relay's, whatever it says
        (550, "5.3.0 Mail system error", RELAY),
        (451, "4.7.1 Try again later", RETRY),
    ],
)
def test_which_5xx_is_the_mailbox_s_and_which_the_relay_s(code, text, outcome):
    assert classify(aiosmtplib.SMTPResponseException(code, text)) == (outcome, f"{code} {text}")


def test_a_refused_sender_is_the_relay_s_fault():
    error = aiosmtplib.SMTPSenderRefused(553, "Not our domain", "escalation@localhost")
    assert classify(error)[0] == RELAY


def test_a_relay_refusal_stops_sending_and_hands_nothing_to_a_deputy(directory, server):
    reference, escalated_at = at_named_stage(directory)
    server.handler.refuse[NAMED] = "550 5.7.1 Relaying denied"
    summary = _deliver(directory, server, escalated_at, connections=1)
    assert summary.stopped == "550 5.7.1 Relaying denied"
    assert summary.failed_permanent == 0
    named = [r for r in outbox_rows(directory) if r.recipient_email == NAMED]
    assert [(r.status, r.attempts, r.locked_until, r.last_error) for r in named] == [
        ("pending", 0, None, "")
    ]
    assert not [r for r in outbox_rows(directory) if r.kind == "undeliverable"]
    assert not [r for r in outbox_rows(directory) if r.status in ("failed_permanent", "dead")]
    with transaction(directory) as session:
        assert d.get(session, reference).owner.email == NAMED
        [alert] = health.open_alerts(session)
        assert alert.kind == "smtp_relay" and "5.7.1" in alert.message
    # The relay is fixed: everything goes, to the owner, and the alert clears.
    del server.handler.refuse[NAMED]
    later = _deliver(directory, server, escalated_at)
    assert later.stopped == "" and NAMED in {m["To"] for m in server.messages}
    assert {r.status for r in outbox_rows(directory)} <= {"sent", "superseded"}
    with transaction(directory) as session:
        assert health.open_alerts(session) == []


def test_a_554_after_data_stops_sending_with_every_email_pending(directory, server):
    for _ in range(3):
        raise_one(directory, MONDAY)
    server.handler.data_replies.append("554 Transaction failed")
    summary = _deliver(directory, server, MONDAY, connections=2)
    assert summary.stopped == "554 Transaction failed" and summary.failed_permanent == 0
    rows = outbox_rows(directory)
    sent = [r for r in rows if r.status == "sent"]
    assert len(sent) <= 1  # the other connection's message may have gone meanwhile
    unsent = [r for r in rows if r.status != "sent"]
    assert {(r.status, r.attempts, r.locked_until) for r in unsent} == {("pending", 0, None)}
    with transaction(directory) as session:
        assert [a.kind for a in health.open_alerts(session)] == ["smtp_relay"]


def test_more_permanent_failures_than_the_limit_stop_the_run(directory, server):
    """Eight emails to one refused mailbox (5.1.1): five are failed, then the run stops with an
    alert; the rest wait untouched, for the next run."""
    for _ in range(8):
        raise_one(directory, MONDAY)
    server.handler.refuse[COUNTERPART] = "550 5.1.1 User unknown"
    summary = _deliver(directory, server, MONDAY, connections=2, permanent_failure_limit=5)
    assert summary.failed_permanent == 5
    assert summary.stopped.startswith("more than 5 emails in one run were refused")
    to_counterpart = [r for r in outbox_rows(directory) if r.recipient_email == COUNTERPART]
    assert sorted(r.status for r in to_counterpart) == ["failed_permanent"] * 5 + ["pending"] * 3
    waiting = [r for r in to_counterpart if r.status == "pending"]
    assert {(r.attempts, r.locked_until, r.last_error) for r in waiting} == {(0, None, "")}
    with transaction(directory) as session:
        [alert] = health.open_alerts(session)
        assert alert.kind == "smtp_permanent_burst" and "5.1.1" in alert.message
    # The next run fails the three left (within the limit), sends the rest, and clears it.
    later = _deliver(directory, server, MONDAY, connections=2, permanent_failure_limit=5)
    assert (later.failed_permanent, later.stopped) == (3, "")
    assert {r.status for r in outbox_rows(directory) if r.recipient_email == RAISER} == {"sent"}
    with transaction(directory) as session:
        assert health.open_alerts(session) == []


def test_a_mailbox_failure_within_the_limit_still_goes_to_the_deputy(directory, server):
    reference, escalated_at = at_named_stage(directory)
    server.handler.refuse[NAMED] = "551 User not local"
    summary = _deliver(directory, server, escalated_at)
    assert (summary.failed_permanent, summary.stopped) == (1, "")
    with transaction(directory) as session:
        assert d.get(session, reference).owner.email == NAMED_DEPUTY
        kinds = set(session.execute(select(OutboxMessage.kind)).scalars())
    assert "undeliverable" in kinds
