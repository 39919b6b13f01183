"""Delivery through aiosmtplib to a real SMTP server on loopback, and every way it can fail
(security.md §5.3: nothing lost, nothing sent twice except after a crash between the 250 and
recording it, retries bounded, failures visible)."""

from __future__ import annotations

import asyncio
import random
import re
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from escalation.casework import disagreements as d
from escalation.casework import health
from escalation.casework.sweep import run_sweep
from escalation.outbox.delivery import RetryPolicy, deliver
from escalation.outbox.links import hash_token
from escalation.outbox.mail import SmtpConfig
from escalation.store.db import transaction
from escalation.store.models import Alert, Event, LinkToken, OutboxMessage
from tests.factories import (
    COUNTERPART,
    MANAGER,
    MONDAY,
    NAMED,
    NAMED_DEPUTY,
    RAISER,
    ROOT,
    due_at,
    raise_one,
)
from tests.outbox_helpers import BASE_URL, at_named_stage, delivery, outbox_rows
from tests.smtp_server import Server, free_port


@pytest.fixture
def server():
    with Server() as running:
        yield running


def _deliver(sessions, smtp_url: str, now, **options):
    return asyncio.run(
        deliver(delivery(sessions, smtp_url, **options), now=now, rng=random.Random(7))
    )


_rows = outbox_rows
_at_named_stage = at_named_stage


def test_each_message_goes_once_to_one_recipient_with_a_working_link(directory, server):
    reference = raise_one(directory, MONDAY)
    summary = _deliver(directory, server.url(), MONDAY)
    assert (summary.sent, summary.retrying) == (2, 0)
    rows = _rows(directory)
    assert [row.status for row in rows] == ["sent", "sent"]
    assert sorted(m["To"] for m in server.messages) == sorted([RAISER, COUNTERPART])
    for message, row in zip(  # noqa: B905 (the lengths are asserted above)
        sorted(server.messages, key=lambda m: m["Message-ID"]),
        sorted(rows, key=lambda r: r.message_id),
    ):
        assert message["Message-ID"] == row.message_id
        assert message["Cc"] is None and message["Bcc"] is None
        assert reference in message["Subject"]
        text = message.get_body(("plain",)).get_content()
        token = re.search(rf"{re.escape(BASE_URL)}/l/([A-Za-z0-9_-]+)", text).group(1)
        html = message.get_body(("html",)).get_content()
        assert f"{BASE_URL}/l/{token}" in html
        with transaction(directory) as session:
            stored = session.execute(
                select(LinkToken).where(LinkToken.token_hash == hash_token(token))
            ).scalar_one()
            assert (stored.recipient_email, stored.stage_key) == (
                row.recipient_email,
                "practitioner",
            )
            assert token not in str(session.get(OutboxMessage, row.id).context)
    assert _deliver(directory, server.url(), MONDAY + timedelta(hours=1)).sent == 0
    assert len(server.messages) == 2


def test_two_relays_at_once_send_each_message_once(directory, server, database_url):
    for _ in range(5):
        raise_one(directory, MONDAY)
    results = []

    def relay():
        results.append(_deliver(directory, server.url(), MONDAY, connections=2))

    threads = [threading.Thread(target=relay) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(r.sent for r in results) == 10
    assert len({m["Message-ID"] for m in server.messages}) == len(server.messages) == 10


def test_a_refused_connection_is_retried_later_with_backoff(directory):
    raise_one(directory, MONDAY)
    closed_port = f"smtp://127.0.0.1:{free_port()}"
    summary = _deliver(directory, closed_port, MONDAY)
    assert (summary.sent, summary.retrying) == (0, 2)
    for row in _rows(directory):
        assert (row.status, row.attempts, row.locked_until) == ("pending", 1, None)
        assert (
            MONDAY + timedelta(seconds=30) <= row.next_attempt_at <= MONDAY + timedelta(seconds=60)
        )
        assert "Connect" in row.last_error or "connect" in row.last_error
    assert _deliver(directory, closed_port, MONDAY + timedelta(seconds=20)).retrying == 0  # not yet


@pytest.mark.parametrize("reply", ["421 4.3.2 Service shutting down", "450 4.2.1 Mailbox busy"])
def test_a_temporary_refusal_then_success(directory, server, reply):
    raise_one(directory, MONDAY)
    server.handler.data_replies.extend([reply, reply])
    first = _deliver(directory, server.url(), MONDAY, connections=1)
    assert (first.sent, first.retrying) == (0, 2)
    assert all(reply[:3] in row.last_error for row in _rows(directory))
    later = max(row.next_attempt_at for row in _rows(directory))
    second = _deliver(directory, server.url(), later)
    assert second.sent == 2
    assert [(row.status, row.attempts) for row in _rows(directory)] == [("sent", 2), ("sent", 2)]
    assert len(server.messages) == 2


def test_retries_are_bounded_then_the_row_is_dead_and_the_stage_offered_to_the_deputy(directory):
    reference, escalated_at = _at_named_stage(directory)
    closed_port = f"smtp://127.0.0.1:{free_port()}"
    retry = RetryPolicy(base_seconds=60, cap_seconds=600, max_attempts=3)
    now = escalated_at
    for _ in range(3):
        _deliver(directory, closed_port, now, retry=retry)
        now = max(r.next_attempt_at for r in _rows(directory) if r.status == "pending")
    rows = {(r.kind, r.recipient_email): r for r in _rows(directory)}
    named = rows[("stage_assigned", NAMED)]
    assert (named.status, named.attempts) == ("dead", 3)
    assert all(r.status == "dead" for r in rows.values() if r.attempts == 3)
    # The stage went to the named professional's deputy, who is emailed; the manager is told.
    with transaction(directory) as session:
        disagreement = d.get(session, reference)
        assert (disagreement.stage_key, disagreement.owner.email) == (
            "named_professional",
            NAMED_DEPUTY,
        )
    new = [r for r in _rows(directory) if r.status == "pending" and r.attempts == 0]
    assert sorted((r.kind, r.recipient_email) for r in new) == [
        ("stage_assigned", NAMED_DEPUTY),
        ("undeliverable", MANAGER),
    ]


def test_a_permanent_refusal_is_not_retried_and_the_deputy_takes_the_stage(directory, server):
    reference, escalated_at = _at_named_stage(directory)
    deadline = due_at(directory, reference)
    server.handler.refuse[NAMED] = "550 5.1.1 User unknown"
    summary = _deliver(directory, server.url(), escalated_at)
    assert summary.failed_permanent == 1
    named = [r for r in _rows(directory) if r.recipient_email == NAMED][0]
    assert (named.status, named.attempts) == ("failed_permanent", 1)
    assert named.last_error.startswith("550")
    with transaction(directory) as session:
        disagreement = d.get(session, reference)
        assert disagreement.owner.email == NAMED_DEPUTY
        assert disagreement.due_at == deadline  # the clock did not restart
        handed = session.execute(select(Event).where(Event.kind == "hand_to_deputy")).scalar_one()
        assert handed.actor == "system" and "could not be delivered (550" in handed.note
    # The next pass reaches the deputy and the board manager; the refused row stays refused.
    later = _deliver(directory, server.url(), escalated_at + timedelta(minutes=1))
    assert later.sent == 2 and later.failed_permanent == 0
    assert {m["To"] for m in server.messages} >= {NAMED_DEPUTY, MANAGER}
    assert NAMED not in {m["To"] for m in server.messages}


def test_a_permanent_refusal_to_someone_not_the_owner_changes_no_owner(directory, server):
    reference = raise_one(directory, MONDAY)
    server.handler.refuse[COUNTERPART] = "550 5.1.1 User unknown"
    summary = _deliver(directory, server.url(), MONDAY)
    assert (summary.sent, summary.failed_permanent) == (1, 1)
    with transaction(directory) as session:
        assert d.get(session, reference).owner.email == RAISER


def test_authentication_refused_stops_sending_and_keeps_every_row_pending(directory):
    for _ in range(3):
        raise_one(directory, MONDAY)
    with Server(password="right") as server:
        summary = _deliver(directory, server.url("relay:wrong@"), MONDAY, connections=2)
        assert summary.stopped.startswith("authentication refused: 535")
        assert summary.sent == 0 and server.messages == []
        assert [(r.status, r.attempts, r.locked_until) for r in _rows(directory)] == [
            ("pending", 0, None)
        ] * 6
        with transaction(directory) as session:
            [alert] = health.open_alerts(session)
            assert alert.kind == "smtp_config" and "535" in alert.message
        # Fixed: everything goes, and the alarm clears.
        assert _deliver(directory, server.url("relay:right@"), MONDAY).sent == 6
        with transaction(directory) as session:
            assert health.open_alerts(session) == []
            assert session.execute(select(Alert.cleared_at)).scalar_one() == MONDAY


def test_starttls_required_but_not_offered_never_falls_back_to_clear_text(directory, server):
    raise_one(directory, MONDAY)
    summary = _deliver(directory, f"smtp+starttls://127.0.0.1:{server.port}", MONDAY)
    assert "STARTTLS" in summary.stopped or "TLS" in summary.stopped
    assert server.messages == []
    assert {r.status for r in _rows(directory)} == {"pending"}


def test_no_reply_after_data_is_retried_not_failed(directory, server):
    raise_one(directory, MONDAY)
    server.handler.hang_after_data = True
    summary = _deliver(directory, server.url(), MONDAY, connections=1, timeout=1)
    assert summary.retrying == 2 and summary.sent == 0
    assert all(r.status == "pending" and "Timeout" in r.last_error for r in _rows(directory))


def test_relay_killed_after_the_250_resends_once_with_the_same_message_id(
    directory, server, database_url
):
    raise_one(directory, MONDAY)
    worker = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.delivery_worker",
            database_url,
            server.url(),
            MONDAY.isoformat(),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert worker.returncode == 137, worker.stderr
    assert len(server.messages) == 1
    first_id = server.messages[0]["Message-ID"]
    assert {r.status for r in _rows(directory)} == {"pending"}
    # Within the lease nobody resends; after it, the unrecorded message goes again, once.
    assert _deliver(directory, server.url(), MONDAY + timedelta(minutes=1)).sent == 0
    assert _deliver(directory, server.url(), MONDAY + timedelta(minutes=6)).sent == 2
    assert [m["Message-ID"] for m in server.messages].count(first_id) == 2
    assert len(server.messages) == 3 and {r.status for r in _rows(directory)} == {"sent"}


def test_smtp_urls_are_explicit_about_tls():
    assert SmtpConfig.from_url("smtp+starttls://u:p%40ss@relay.nhs.example").port == 587
    assert SmtpConfig.from_url("smtp+starttls://u:p%40ss@relay.nhs.example").password == "p@ss"
    assert SmtpConfig.from_url("smtps://relay.example").tls == "implicit"
    with pytest.raises(Exception, match="without TLS"):
        SmtpConfig.from_url("smtp://u:p@relay.example:25")
    with pytest.raises(Exception, match="ESCALATION_SMTP_URL"):
        SmtpConfig.from_url("http://relay.example")


def test_left_untouched_each_owner_receives_one_email_per_stage(directory, server):
    """The whole ladder with real delivery after each sweep: every owner is emailed exactly once
    for their stage, and the board manager and chair hear when the final stage is overdue."""
    reference = raise_one(directory, MONDAY)
    _deliver(directory, server.url(), MONDAY)
    for _ in range(5):
        due = due_at(directory, reference)
        run_sweep(directory, now=due)
        _deliver(directory, server.url(), due)
        run_sweep(directory, now=due)  # a repeated sweep at the same instant adds nothing
        _deliver(directory, server.url(), due)
    owned = sorted(
        (m["To"], m["Subject"].split("stage ")[1][0])
        for m in server.messages
        if "you now own stage" in m["Subject"]
    )
    assert owned == sorted(
        [
            (RAISER, "1"),
            (NAMED, "2"),
            ("dev.designated@icb.example", "3"),
            (MANAGER, "4"),
            ("chris.chair@partnership.example", "5"),
        ]
    )
    overdue = sorted(m["To"] for m in server.messages if "OVERDUE" in m["Subject"])
    assert overdue == sorted([MANAGER, "chris.chair@partnership.example"])
    assert len({m["Message-ID"] for m in server.messages}) == len(server.messages)


def test_a_message_that_cannot_be_rendered_does_not_block_the_others(directory, server):
    raise_one(directory, MONDAY)
    with transaction(directory) as session:
        first = session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars().first()
        first.context = {"reference": "broken"}
    summary = _deliver(directory, server.url(), MONDAY, connections=1)
    assert (summary.sent, summary.retrying) == (1, 1)
    broken = _rows(directory)[0]
    assert broken.status == "pending" and "could not prepare the message" in broken.last_error


def test_an_owner_email_for_a_stage_that_has_moved_on_is_not_sent(directory, server):
    """A case raised long overdue is escalated by the sweep before the run: the first owner's
    'you now own stage 1' is `superseded` (no deputy offered, not counted as undelivered), the
    new owner's goes; once the case is closed, no owner's email goes at all."""
    reference, due = _at_named_stage(directory)
    summary = _deliver(directory, server.url(), due)
    rows = _rows(directory)
    stale = [r for r in rows if r.kind == "stage_assigned" and r.stage_key == "practitioner"]
    assert [(r.status, r.last_error, r.attempts) for r in stale] == [
        ("superseded", "stage moved on", 0)
    ]
    assert summary.superseded == 1 and summary.failed_permanent == summary.dead == 0
    assert [m["To"] for m in server.messages if "you now own stage" in m["Subject"]] == [NAMED]
    assert not [r for r in rows if r.kind == "undeliverable" or r.status in ("dead", "failed")]
    with transaction(directory) as session:
        d.withdraw(session, reference=reference, actor=RAISER, now=due, reason="Sorted")
        session.add(
            OutboxMessage(
                **{c: getattr(stale[0], c) for c in ("disagreement_id", "recipient_email")},
                idempotency_key="reminder/late",
                message_id="<late@example>",
                kind="reminder",
                stage_key="named",
                recipient_role="owner",
                link_purpose="act",
                context=dict(stale[0].context),
                status="pending",
                attempts=0,
                next_attempt_at=due,
                last_error="",
                created_at=due,
            )
        )
    _deliver(directory, server.url(), due)
    late = [r for r in _rows(directory) if r.idempotency_key == "reminder/late"]
    assert late[0].status == "superseded"
