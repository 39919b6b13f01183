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


def test_a_run_that_fails_is_retried_and_sends_what_it_left(
    prefect_api, directory, service_database, server, monkeypatch
):
    """The first attempt fails after one 250 (the database 'goes away'); the retry sends the
    rest, and the one already sent is not sent again within its lease."""
    import flows.deliver as flow_module
    from escalation.outbox.delivery import deliver
    from escalation.settings import get_settings

    monkeypatch.setenv("ESCALATION_SMTP_CONNECTIONS", "1")  # one message in flight at a time
    get_settings.cache_clear()
    for _ in range(2):
        raise_one(directory, MONDAY)
    attempts = []

    async def failing_once(*args, **kwargs):
        attempts.append(1)
        if len(attempts) == 1:

            def fail(_row_id):
                raise RuntimeError("the database went away")

            kwargs["after_send"] = fail
        return await deliver(*args, **kwargs)

    monkeypatch.setattr(flow_module, "deliver", failing_once)
    quick = flow_module.deliver_notifications.with_options(retry_delay_seconds=0)
    summary = asyncio.run(quick(now=MONDAY.isoformat()))
    assert len(attempts) == 2
    assert summary["sent"] == 3  # the fourth was sent by the failed attempt, unrecorded
    assert len(server.messages) == 4
    held = [row for row in outbox_rows(directory) if row.status == "pending"]
    assert len(held) == 1 and held[0].locked_until is not None
