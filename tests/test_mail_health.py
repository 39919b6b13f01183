"""`escalation health`'s mail lines (outbox.mail_health): an email due and unsent for more than
10 minutes, or a relay refusing most attempts for now (4xx) over the last runs, needs attention;
one slow mailbox does not."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

from escalation.outbox import mail_health
from escalation.outbox.delivery import deliver
from escalation.store.db import transaction
from escalation.store.models import Heartbeat, OutboxMessage
from tests.factories import MONDAY, raise_one
from tests.outbox_helpers import add_rows, delivery
from tests.smtp_server import Server


def _health(sessions, now) -> mail_health.MailHealth:
    with transaction(sessions) as session:
        return mail_health.mail_health(session, now)


def _runs(sessions, *counts, at=MONDAY) -> None:
    with transaction(sessions) as session:
        for n, run in enumerate(counts):
            mail_health.record_run(session, at + timedelta(seconds=30 * n), run)


def test_nothing_pending_is_healthy(sessions):
    assert _health(sessions, MONDAY) == mail_health.MailHealth(["mail: no email pending"], False)


def test_an_email_due_and_unsent_for_more_than_ten_minutes_needs_attention(sessions):
    add_rows(sessions, 3, kind="stage_update", at=MONDAY)
    fine = _health(sessions, MONDAY + timedelta(minutes=9))
    assert fine.lines == ["mail: 3 email(s) pending; the oldest waiting 9 min"]
    assert not fine.unhealthy
    late = _health(sessions, MONDAY + timedelta(minutes=11))
    assert late.unhealthy
    assert late.lines[1] == (
        "mail: an email due 11 min ago has not been sent (limit 10 min): delivery is not "
        "running or not keeping up"
    )


def test_one_email_waiting_out_its_backoff_is_shown_not_judged(sessions):
    [row_id] = add_rows(sessions, 1, kind="reminder", at=MONDAY - timedelta(hours=2))
    with transaction(sessions) as session:
        session.get(OutboxMessage, row_id).next_attempt_at = MONDAY + timedelta(minutes=30)
    status = _health(sessions, MONDAY)
    assert status.lines == ["mail: 1 email(s) pending; the oldest waiting 120 min"]
    assert not status.unhealthy


def test_most_attempts_refused_for_now_in_the_last_runs_needs_attention(sessions):
    refused = {"sent": 1, "retrying": 3}
    _runs(sessions, {"sent": 50}, *[refused] * 5)  # the sent-only run is the sixth back
    status = _health(sessions, MONDAY + timedelta(minutes=3))
    assert status.unhealthy
    assert status.lines[-1] == (
        "mail: 75% of attempts in the last 5 run(s) were refused for now (4xx, disconnect or "
        "timeout; 15 of 20): the relay is in trouble"
    )


def test_a_few_refusals_or_old_ones_are_not_trouble(sessions):
    _runs(sessions, {"retrying": 1}, {}, {})  # one greylisted email, then idle runs
    status = _health(sessions, MONDAY + timedelta(minutes=2))
    assert not status.unhealthy
    assert status.lines[-1].startswith("mail: 100% of attempts in the last 1 run(s)")
    _runs(sessions, *[{"retrying": 5}] * 5, at=MONDAY - timedelta(hours=3))  # long ago
    assert not _health(sessions, MONDAY + timedelta(minutes=2)).unhealthy


def test_runs_are_kept_to_the_last_twenty(sessions):
    _runs(sessions, *[{"sent": n} for n in range(25)])
    with transaction(sessions) as session:
        runs = session.get(Heartbeat, mail_health.DELIVERY).detail["runs"]
    assert [run["sent"] for run in runs] == list(range(5, 25))


def test_delivery_runs_record_what_the_relay_said(directory):
    """Real runs against a relay answering 421: each run records its counts, and health says
    the relay is in trouble."""
    for _ in range(2):
        raise_one(directory, MONDAY)
    with Server() as server:
        server.handler.data_replies.extend(["421 4.3.2 Service shutting down"] * 4)
        outbox = delivery(directory, server.url(), connections=1)
        summary = asyncio.run(deliver(outbox, now=MONDAY, rng=random.Random(3)))
    assert summary.retrying == 4
    status = _health(directory, MONDAY + timedelta(seconds=30))
    assert status.unhealthy
    assert "100% of attempts in the last 1 run(s) were refused for now" in status.lines[-1]


def test_long_waits_are_said_in_hours_or_days(sessions):
    add_rows(sessions, 1, kind="stage_update", at=MONDAY - timedelta(days=8))
    status = _health(sessions, MONDAY)
    assert status.lines[0] == "mail: 1 email(s) pending; the oldest waiting 8 days"
    assert status.lines[1].startswith("mail: an email due 8 days ago has not been sent")
    assert (
        _health(sessions, MONDAY - timedelta(days=8) + timedelta(hours=5))
        .lines[0]
        .endswith("waiting 5 h")
    )
