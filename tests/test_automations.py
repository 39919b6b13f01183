"""The Prefect server's automations (flows/automations.py) against the session's Prefect test
harness, which runs the triggers and actions services like a real server: created once however
often `escalation automations` runs, read back as Prefect stores them, and seen to act (a run
whose heartbeats stop is marked Crashed; a sweep not completed in time calls the web tier)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

TOKEN = "t0ken-" + "x" * 40


@pytest.fixture
def prefect(prefect_api):
    """The harness with an escalation-sweep deployment; afterwards no automation or alarm block
    of ours is left to act on the other tests' runs."""

    deployment_id = asyncio.run(_sweep_deployment())
    yield deployment_id
    asyncio.run(_remove_all())


async def _sweep_deployment():
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        flow_id = await client.create_flow_from_name("escalation-sweep")
        return await client.create_deployment(flow_id=flow_id, name="escalation-sweep")


async def _remove(*names: str) -> None:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        for name in names:
            for automation in await client.read_automations_by_name(name):
                await client.delete_automation(automation.id)


async def _ours():
    from prefect.client.orchestration import get_client

    from flows import automations

    async with get_client() as client:
        found = [a for a in await client.read_automations() if a.name in _NAMES]
        blocks = [
            b for b in await client.read_block_documents() if b.name == automations.ALARM_BLOCK
        ]
        return {a.name: a for a in found}, found, blocks


def _ensure(url="https://disagreements.example.org/ops/sweep-stalled", **options):
    from flows.automations import ensure_automations

    return asyncio.run(
        ensure_automations(alarm_url=url, token=TOKEN, sweep_interval_seconds=60, **options)
    )


def test_running_it_twice_leaves_three_automations_and_one_block(prefect):
    from prefect.client.schemas.objects import StateType

    from flows import automations

    first = _ensure()
    second = _ensure()
    assert [line.split(": ")[-1] for line in first[1:]] == ["created"] * 3
    assert [line.split(": ")[-1] for line in second[1:]] == ["updated"] * 3
    by_name, found, blocks = asyncio.run(_ours())
    assert len(found) == 3 and len(blocks) == 1

    crashed = by_name[automations.CRASHED_RUNS]
    trigger = crashed.trigger
    assert (trigger.posture, trigger.within, trigger.threshold) == (
        "Proactive",
        timedelta(seconds=90),
        1,
    )
    assert trigger.for_each == {"prefect.resource.id"}
    assert trigger.after == {
        "prefect.flow-run.heartbeat",
        "prefect.flow-run.Running",
        "prefect.flow-run.Pending",
    }
    assert trigger.expect == {
        "prefect.flow-run.heartbeat",
        "prefect.flow-run.Running",
        "prefect.flow-run.Completed",
        "prefect.flow-run.Failed",
        "prefect.flow-run.Cancelled",
        "prefect.flow-run.Crashed",
    }
    assert trigger.match.root == {"prefect.resource.id": "prefect.flow-run.*"}
    assert trigger.match_related.root == {"prefect.resource.role": "deployment"}
    [action] = crashed.actions
    assert (action.type, action.state) == ("change-flow-run-state", StateType.CRASHED)

    rerun = by_name[automations.SWEEP_AFTER_CRASH]
    assert (rerun.trigger.posture, rerun.trigger.expect) == (
        "Reactive",
        {"prefect.flow-run.Crashed"},
    )
    assert rerun.trigger.match.root["prefect.state-message"] == "no heartbeat for *"
    [action] = rerun.actions
    assert (action.type, action.source, action.deployment_id) == (
        "run-deployment",
        "selected",
        prefect,
    )

    expected = by_name[automations.SWEEP_EXPECTED]
    trigger = expected.trigger
    assert (trigger.posture, trigger.within, trigger.after) == (
        "Proactive",
        timedelta(seconds=180),  # 3 sweep intervals
        set(),
    )
    assert trigger.expect == {"prefect.flow-run.Completed"}
    assert trigger.match_related.root["prefect.resource.id"] == f"prefect.deployment.{prefect}"
    [action] = expected.actions
    assert (action.type, action.block_document_id) == ("send-notification", blocks[0].id)


def test_the_alarm_block_keeps_the_token_among_its_secrets(prefect):
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    from flows import automations

    _ensure(url="http://10.0.0.6:8000/ops/sweep-stalled")
    block = CustomWebhookNotificationBlock.load(automations.ALARM_BLOCK)
    assert block.url == "http://10.0.0.6:8000/ops/sweep-stalled"
    assert block.headers == {"Authorization": "Bearer {{ops_token}}"}
    assert block.secrets.get_secret_value() == {"ops_token": TOKEN}
    request = block._build_request_args(body="b", subject="s")
    assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"


def test_it_is_refused_without_a_token_or_before_the_sweep_is_deployed(prefect_api):
    from flows.automations import AutomationsRefused, alarm_url, ensure_automations

    with pytest.raises(AutomationsRefused, match="ESCALATION_OPS_TOKEN is not set"):
        asyncio.run(
            ensure_automations(alarm_url="https://x", token=None, sweep_interval_seconds=60)
        )
    with pytest.raises(AutomationsRefused, match="ESCALATION_PUBLIC_BASE_URL"):
        alarm_url(None)
    assert alarm_url("https://d.example/") == "https://d.example/ops/sweep-stalled"
    assert alarm_url("https://d.example/ops/sweep-stalled") == "https://d.example/ops/sweep-stalled"


def test_the_command_names_what_it_did(prefect, monkeypatch):
    from typer.testing import CliRunner

    from escalation.cli import app
    from escalation.settings import get_settings

    monkeypatch.setenv("ESCALATION_OPS_TOKEN", TOKEN)
    monkeypatch.setenv("ESCALATION_PUBLIC_BASE_URL", "https://disagreements.example.org")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["automations"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "block escalation-sweep-stalled: POST https://disagreements.example.org/ops/sweep-stalled",
        "automation 'escalation: crashed runs': created",
        "automation 'escalation: sweep after a crash': created",
        "automation 'escalation: sweep expected': created",
    ]


@pytest.mark.slow
def test_runs_whose_heartbeats_stop_are_crashed_and_the_sweep_runs_again_at_once(prefect):
    """The real triggers and actions services, with a 10 s window (Prefect's minimum) instead
    of 90 s; no worker, so the sweep run at once stays Scheduled."""
    from prefect.client.schemas.objects import StateType

    from flows.automations import crashed_runs, sweep_after_crash

    async def scenario():
        from prefect.client.orchestration import get_client
        from prefect.states import Completed, Pending, Running

        from flows.automations import apply

        async with get_client() as client:
            await apply(client, crashed_runs(timedelta(seconds=10)))
            await apply(client, sweep_after_crash(prefect))
            time.sleep(1)  # the triggers service loads the automations from their change events
            runs = [(await client.create_flow_run_from_deployment(prefect)).id for _ in range(3)]
            running, pending, finished = runs
            for run in runs:
                await client.set_flow_run_state(run, Pending(), force=True)
            await client.set_flow_run_state(running, Running(), force=True)
            await client.set_flow_run_state(finished, Running(), force=True)
            await client.set_flow_run_state(finished, Completed(), force=True)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                states = [(await client.read_flow_run(run)).state for run in runs]
                rerun = [r for r in await _runs_of(client, prefect) if r.id not in runs]
                if states[0].type == states[1].type == StateType.CRASHED and len(rerun) == 2:
                    break
                await asyncio.sleep(1)
            return states, rerun

    (running, pending, finished), rerun = asyncio.run(scenario())
    assert running.type == pending.type == StateType.CRASHED
    assert "no heartbeat for 10 s" in running.message
    assert finished.type == StateType.COMPLETED
    assert [r.state.type for r in rerun] == [StateType.SCHEDULED] * 2  # one per crashed sweep


async def _runs_of(client, deployment_id):
    from prefect.client.schemas.filters import DeploymentFilter

    return await client.read_flow_runs(
        deployment_filter=DeploymentFilter(id={"any_": [deployment_id]})
    )


class _Receiver(BaseHTTPRequestHandler):
    calls: list[tuple[str, str, dict]] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.calls.append((self.path, self.headers["Authorization"], body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.mark.slow
def test_no_completed_sweep_in_time_calls_the_web_tier_with_the_token(prefect):
    """The real triggers and actions services, a 10 s window instead of 3 intervals, and a
    loopback HTTP server in the web tier's place."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Receiver.calls = []
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        _ensure(url=url + "/ops/sweep-stalled", sweep_within=timedelta(seconds=10))
        deadline = time.monotonic() + 60
        while not _Receiver.calls and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        asyncio.run(_remove_all())
        server.shutdown()
    path, authorization, body = _Receiver.calls[0]
    assert (path, authorization) == ("/ops/sweep-stalled", f"Bearer {TOKEN}")
    assert "escalation-sweep" in body["body"] and body["subject"] == "escalation: sweep stalled"


async def _remove_all():
    await _remove(*_NAMES)


_NAMES = (
    "escalation: crashed runs",
    "escalation: sweep after a crash",
    "escalation: sweep expected",
)
