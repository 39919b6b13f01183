"""The Prefect flows: their tasks called directly (.fn), their deployments as built, and real
flow runs against one session-wide Prefect test harness, delivering to a real SMTP server."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select

from escalation.casework import health
from escalation.casework.sweep import SWEEP
from escalation.settings import Settings
from escalation.store.db import transaction
from escalation.store.models import Alert, Disagreement, OutboxMessage
from tests.factories import MANAGER, MONDAY, NAMED, ROOT, due_at, raise_one
from tests.smtp_server import Server


@pytest.fixture
def directory(directory, service_database):
    """The directory loaded, and the service's settings pointing at this test's database."""
    return directory


@pytest.fixture
def server(monkeypatch):
    from escalation.settings import get_settings

    with Server() as running:
        monkeypatch.setenv("ESCALATION_SMTP_URL", running.url())
        monkeypatch.setenv("ESCALATION_SMTP_TIMEOUT_SECONDS", "5")
        get_settings.cache_clear()
        yield running
    get_settings.cache_clear()


def test_sweep_task_called_directly(directory):
    from flows.sweep import sweep_due

    reference = raise_one(directory, MONDAY)
    summary = sweep_due.fn(due_at(directory, reference).isoformat())
    assert summary["escalated"] == 1 and summary["queued_emails"] == 3


def test_delivery_tasks_called_directly_raise_the_stall_alarm(directory, server):
    from flows.deliver import check_sweep_alive, send_due_emails

    raise_one(directory, MONDAY)
    with transaction(directory) as session:
        health.expect_sweeps(session, SWEEP, MONDAY)
    assert "running" in check_sweep_alive.fn((MONDAY + timedelta(minutes=3)).isoformat())
    stalled_at = MONDAY + timedelta(minutes=3, seconds=1)
    assert "no sweep has completed" in check_sweep_alive.fn(stalled_at.isoformat())
    check_sweep_alive.fn((stalled_at + timedelta(minutes=1)).isoformat())  # same stall: one email
    summary = asyncio.run(send_due_emails.fn(stalled_at.isoformat(), 100))
    assert summary["sent"] == 3
    alarms = [m for m in server.messages if "ALARM" in m["Subject"]]
    assert [m["To"] for m in alarms] == [MANAGER]
    with transaction(directory) as session:
        assert session.execute(select(Alert.kind, Alert.count)).one() == ("sweep_stalled", 2)


def test_digest_task_queues_one_per_manager_per_day(directory):
    from flows.digest import queue_board_digests

    raise_one(directory, MONDAY)
    assert queue_board_digests.fn(MONDAY.isoformat()) == 1
    assert queue_board_digests.fn((MONDAY + timedelta(hours=2)).isoformat()) == 0
    with transaction(directory) as session:
        row = session.execute(
            select(OutboxMessage).where(OutboxMessage.kind == "digest")
        ).scalar_one()
        assert (row.recipient_email, row.context["open"], row.context["new"]) == (MANAGER, 1, 1)


def test_deployments_schedules_and_overlap_rules():
    from prefect.client.schemas.objects import ConcurrencyLimitStrategy

    from flows.deployments import deployments

    sweep, delivery, digest = deployments(
        Settings(sweep_interval_seconds=60, delivery_interval_seconds=30)
    )
    assert [d.name for d in (sweep, delivery, digest)] == [
        "escalation-sweep",
        "deliver-notifications",
        "board-digest",
    ]
    for deployment, seconds in ((sweep, 60), (delivery, 30)):
        [schedule] = deployment.schedules
        assert schedule.schedule.interval == timedelta(seconds=seconds)
        assert schedule.schedule.timezone == "UTC"
        assert deployment.concurrency_limit == 1
        assert (
            deployment.concurrency_options.collision_strategy == ConcurrencyLimitStrategy.CANCEL_NEW
        )
    [daily] = digest.schedules
    assert (daily.schedule.cron, daily.schedule.timezone) == ("0 8 * * *", "Europe/London")


def test_real_flow_runs_sweep_and_deliver(prefect_api, directory, server):
    from flows.deliver import deliver_notifications
    from flows.sweep import escalation_sweep

    reference = raise_one(directory, MONDAY)
    due = due_at(directory, reference)
    summary = escalation_sweep(now=due.isoformat())
    assert (summary["escalated"], summary["queued_emails"]) == (1, 3)
    with transaction(directory) as session:  # the run sealed its record: raise, escalation
        disagreement = session.scalar(
            select(Disagreement).where(Disagreement.reference == reference)
        )
        assert disagreement.anchored_seq == disagreement.chain_seq == 2
    assert escalation_sweep(now=due.isoformat())["escalated"] == 0  # a repeated run: no effect
    sent = asyncio.run(deliver_notifications(now=due.isoformat()))
    # 2 from raising, 3 from the escalation, less the raiser's "you now own stage 1": the stage
    # has moved on, so it is superseded, not sent (delivery.moved_on)
    assert (sent["sent"], sent["superseded"]) == (4, 1)
    assert NAMED in {m["To"] for m in server.messages}
    assert any(
        reference in m["Subject"] and "you now own stage 2" in m["Subject"] for m in server.messages
    )


def test_a_scheduled_sweep_sends_the_emails_it_queued_at_once(
    prefect_api, directory, server, monkeypatch
):
    """A sweep at the clock's time (a scheduled run) delivers what it queued in its own run:
    no waiting for deliver-notifications; that run then finds nothing left to send."""
    import flows.sweep as sweep_flow
    from flows.deliver import deliver_notifications

    reference = raise_one(directory, MONDAY)
    due = due_at(directory, reference)
    monkeypatch.setattr(sweep_flow, "_utc_now", lambda: due)
    summary = sweep_flow.escalation_sweep()
    assert (summary["escalated"], summary["queued_emails"]) == (1, 3)
    assert any("you now own stage 2" in m["Subject"] for m in server.messages)
    assert len(server.messages) == 4  # the raise's two (one superseded) and the escalation's
    with transaction(directory) as session:
        statuses = sorted(session.execute(select(OutboxMessage.status)).scalars())
    assert statuses == ["sent"] * 4 + ["superseded"]
    assert asyncio.run(deliver_notifications(now=due.isoformat()))["sent"] == 0


def test_the_sweep_command_runs_a_flow_and_prints_json(prefect_api, directory, service_database):
    reference = raise_one(directory, MONDAY)
    due = due_at(directory, reference)
    env = {
        **os.environ,
        "PREFECT_API_URL": prefect_api,
        "ESCALATION_DATABASE_URL": service_database,
    }
    result = subprocess.run(
        [sys.executable, "-m", "escalation", "sweep", "--now", due.isoformat()],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "escalated": 1,
        "reminded": 0,
        "final_stage_overdue": 0,
        "action_reminders": 0,
        "actions_chased": 0,
        "reopened": 0,
        "accepted_by_silence": 0,
        "queued_emails": 3,
        "blocked": [],
    }
    assert "Flow run" in result.stderr and "escalation-sweep" in result.stderr


def test_prefect_yaml_matches_the_embedded_deployments():
    import yaml

    with open(os.path.join(ROOT, "prefect.yaml")) as file:
        document = yaml.safe_load(file)
    by_name = {d["name"]: d for d in document["deployments"]}
    assert document["prefect-version"] == "3.8.8"
    for name, seconds in (("escalation-sweep", 60), ("deliver-notifications", 30)):
        assert by_name[name]["schedules"] == [{"interval": seconds, "timezone": "UTC"}]
        assert by_name[name]["concurrency_limit"] == {
            "limit": 1,
            "collision_strategy": "CANCEL_NEW",
        }
    assert by_name["board-digest"]["schedules"] == [
        {"cron": "0 8 * * *", "timezone": "Europe/London"}
    ]
    for deployment in by_name.values():
        path, _, function = deployment["entrypoint"].partition(":")
        with open(os.path.join(ROOT, path)) as source:
            assert f"def {function}(" in source.read()


def test_the_digest_flow_queues_digests_and_refreshes_sqlites_statistics(prefect_api, directory):
    from sqlalchemy import text

    from flows.digest import board_digest

    raise_one(directory, MONDAY)
    assert board_digest(now=MONDAY.isoformat()) == 1  # a real flow run
    # The statistics refresh is a no-op on PostgreSQL (autovacuum analyses).
    with transaction(directory) as session:
        if session.get_bind().dialect.name == "sqlite":
            tables = session.execute(text("SELECT DISTINCT tbl FROM sqlite_stat1")).scalars().all()
            assert "disagreements" in tables
