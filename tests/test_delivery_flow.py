"""The deliver-notifications flow as the workers run it: retried when it fails (safe: a failed
run gives back what it had not sent and records what it had), and without `now` each batch is
claimed at the clock's time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from escalation.outbox import mail_health
from escalation.store.db import transaction
from escalation.store.models import Heartbeat
from tests.factories import MONDAY, raise_one
from tests.outbox_helpers import outbox_rows
from tests.smtp_server import Server


@pytest.fixture
def server(monkeypatch):
    from escalation.settings import get_settings

    with Server() as running:
        monkeypatch.setenv("ESCALATION_SMTP_URL", running.url())
        monkeypatch.setenv("ESCALATION_SMTP_TIMEOUT_SECONDS", "5")
        monkeypatch.setenv("ESCALATION_DELIVERY_BATCH_SIZE", "3")
        get_settings.cache_clear()
        yield running
    get_settings.cache_clear()


def test_a_failed_delivery_run_is_retried():
    from flows.deliver import deliver_notifications

    assert deliver_notifications.retries == 2
    assert deliver_notifications.retry_delay_seconds == 10


def test_without_now_the_run_claims_at_the_clock_s_time(directory, service_database, server):
    from flows.deliver import send_due_emails

    for _ in range(4):
        raise_one(directory, MONDAY)
    before = datetime.now(UTC)
    summary = asyncio.run(send_due_emails.fn(None))
    assert (summary["sent"], summary["batches"]) == (8, 3)  # batches of 3 from the settings
    assert {row.sent_at >= before for row in outbox_rows(directory)} == {True}
    with transaction(directory) as session:
        [run] = session.get(Heartbeat, mail_health.DELIVERY).detail["runs"]
    assert run["sent"] == 8
    assert datetime.fromisoformat(run["at"]) - before < timedelta(minutes=1)
