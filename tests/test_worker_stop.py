"""The production worker (`python -m flows.worker`) stops cleanly: on SIGTERM it finishes the run
it has, takes no new one, ignores a second SIGTERM and exits 0 (as `systemctl stop` sends it)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from types import SimpleNamespace

import pytest

from tests.factories import ROOT
from tests.smtp_server import free_port

RUN_SECONDS = 6  # the run in flight when the signal comes


@pytest.fixture
def sleepy_deployment(prefect_api):
    """A process work pool of its own and a deployment of tests/sleepy_flow.py on it."""
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    pool = f"stop-test-{uuid.uuid4().hex[:8]}"
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
        deployment = client.create_deployment(
            flow_id=client.create_flow_from_name("sleepy"),
            name=pool,
            entrypoint="tests/sleepy_flow.py:sleepy",
            work_pool_name=pool,
            pull_steps=[{"prefect.deployments.steps.set_working_directory": {"directory": ROOT}}],
        )
    return prefect_api, pool, deployment


def test_sigterm_finishes_the_run_in_flight_takes_no_new_one_and_exits_0(
    sleepy_deployment, tmp_path
):
    from prefect import get_client

    api, pool, deployment = sleepy_deployment
    env = {
        **os.environ,
        "PREFECT_API_URL": api,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_WORKER_QUERY_SECONDS": "1",  # it would take a new run within a second
    }
    with get_client(sync_client=True) as client:
        first = client.create_flow_run_from_deployment(
            deployment, parameters={"seconds": RUN_SECONDS}
        ).id
        worker, lines = _start_worker(env, "--pool", pool, "--name", "w1", "--limit", "4")
        try:
            _wait_for(lambda: _state(client, first) == "RUNNING", 60, "the first run Running")
            worker.send_signal(signal.SIGTERM)
            _wait_for(lambda: any("SIGTERM: stopping" in line for line in lines), 10, "stop")
            second = client.create_flow_run_from_deployment(deployment).id  # due now
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=60) == 0, "".join(lines)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        assert _state(client, first) == "COMPLETED", "".join(lines)
        assert _state(client, second) == "SCHEDULED"
    assert any("SIGTERM ignored: already stopping" in line for line in lines)


def _start_worker(env: dict, *args: str) -> tuple[subprocess.Popen, list[str]]:
    """`python -m flows.worker ARGS` in this checkout, and its output lines as they come."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "flows.worker", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return worker, _collect(worker)


def _collect(process: subprocess.Popen) -> list[str]:
    """The process's output lines, as they come (read on a thread, so it never blocks)."""
    lines: list[str] = []
    reader = threading.Thread(
        target=lambda: [lines.append(line) for line in iter(process.stdout.readline, "")],
        daemon=True,
    )
    reader.start()
    return lines


def _state(client, flow_run_id) -> str:
    return client.read_flow_run(flow_run_id).state.type.value


def _wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"no {what} within {seconds} s"
        time.sleep(0.2)


def test_a_worker_with_a_plain_http_public_address_does_not_start():
    env = {
        **os.environ,
        "PREFECT_API_URL": "http://127.0.0.1:9/api",  # never reached
        "ESCALATION_PUBLIC_BASE_URL": "http://disagreements.example.org",
    }
    started = subprocess.run(
        [sys.executable, "-m", "flows.worker", "--name", "w2"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 1
    assert started.stderr.strip() == (
        "error: ESCALATION_PUBLIC_BASE_URL must be https, not http://disagreements.example.org "
        "(plain http only for a loopback address such as http://127.0.0.1:8000)"
    )


def test_a_worker_outlives_an_unreachable_server_and_still_stops_cleanly(tmp_path):
    """The Prefect server down (say, restarting): the worker keeps trying, it does not exit."""
    env = {
        **os.environ,
        "PREFECT_API_URL": f"http://127.0.0.1:{free_port()}/api",  # nothing listens there
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_WORKER_HEARTBEAT_SECONDS": "1",
    }
    worker, lines = _start_worker(env, "--name", "w3")
    try:
        _wait_for(lambda: any("polling work pool" in line for line in lines), 30, "polling")
        _wait_for(
            lambda: any("sync with the Prefect server failed" in ln for ln in lines), 30, "a retry"
        )
        assert worker.poll() is None, "".join(lines)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0, "".join(lines)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()


def test_a_worker_whose_cancellation_watch_gave_up_exits_1_for_a_restart():
    """Prefect's watch of cancellations ends for good after three failed polls; the worker then
    takes no new run and exits 1 (Restart=on-failure starts it afresh)."""
    from flows.worker import _poll_until, cancellation_lost

    class Worker:
        def __init__(self, watch):
            self._cancelling_observer = SimpleNamespace(_polling_task=watch)
            self.polls = 0

        async def get_and_submit_flow_runs(self):
            self.polls += 1

    async def scenario():
        async def gave_up():
            raise RuntimeError("Service exceeded error threshold.")

        failed, waiting = asyncio.create_task(gave_up()), asyncio.create_task(asyncio.sleep(9))
        await asyncio.sleep(0.01)
        healthy, broken = Worker(waiting), Worker(failed)
        assert not cancellation_lost(healthy) and not cancellation_lost(Worker(None))
        assert cancellation_lost(broken)
        assert await _poll_until(asyncio.Event(), broken, interval=0.01) == 1
        assert broken.polls == 0
        waiting.cancel()

    asyncio.run(scenario())
