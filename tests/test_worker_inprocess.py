"""The production worker (`python -m flows.worker`) runs our own deployments' scheduled runs in
its own process (flows/inprocess.py): no child process, and each run still a flow run the
Prefect server records, with its task runs, to Completed."""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from escalation.casework.sweep import SWEEP
from escalation.store.db import transaction
from escalation.store.models import Heartbeat
from tests.factories import ROOT
from tests.test_worker_stop import _start_worker, _state, _wait_for

ENTRYPOINTS = {
    "escalation-sweep": "flows/sweep.py:escalation_sweep",
    "deliver-notifications": "flows/deliver.py:deliver_notifications",
}


@pytest.fixture
def own_deployments(prefect_api):
    """A process work pool of its own, with the sweep's and delivery's deployments on it (as
    prefect.yaml deploys them: this checkout's entrypoints)."""
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    pool = f"inprocess-test-{uuid.uuid4().hex[:8]}"
    pull = [{"prefect.deployments.steps.set_working_directory": {"directory": ROOT}}]
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
        deployments = {
            flow: client.create_deployment(
                flow_id=client.create_flow_from_name(flow),
                name=pool,
                entrypoint=entrypoint,
                work_pool_name=pool,
                pull_steps=pull,
            )
            for flow, entrypoint in ENTRYPOINTS.items()
        }
    return prefect_api, pool, deployments


def test_scheduled_runs_of_our_deployments_complete_in_the_workers_process(
    own_deployments, directory, service_database, tmp_path
):
    from prefect import get_client

    api, pool, deployments = own_deployments
    env = {
        **os.environ,
        "PREFECT_API_URL": api,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "ESCALATION_DATABASE_URL": service_database,
    }
    worker, lines = _start_worker(env, "--pool", pool, "--name", "w-in", "--limit", "2")
    try:
        with get_client(sync_client=True) as client:
            runs = [client.create_flow_run_from_deployment(d).id for d in deployments.values()]
            for run in runs:
                _wait_for(lambda run=run: _state(client, run) == "COMPLETED", 120, "Completed")
            records = [client.read_flow_run(run) for run in runs]
            assert {r.infrastructure_pid for r in records} == {str(worker.pid)}, "".join(lines)
            assert all(r.run_count == 1 for r in records)
        assert _reaped_children_cpu(worker.pid) == 0, "a child process ran and was reaped"
        assert sum("in the worker's process" in line for line in lines) == 2, "".join(lines)
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0, "".join(lines)
    with transaction(directory) as session:
        beat = session.execute(select(Heartbeat).where(Heartbeat.name == SWEEP)).scalar_one()
        assert beat.last_completed_at is not None and beat.detail["escalated"] == 0


def _children(pid: int) -> list[str]:
    """The process's children, from every thread of it (a thread may end as it is read)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):
            found += (task / "children").read_text().split()
    return found


def _reaped_children_cpu(pid: int) -> int:
    """Clock ticks of CPU the process's children have used (counted once they are reaped)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[13]) + int(fields[14])  # cutime, cstime


def test_a_run_cancelled_in_the_workers_process_goes_on_to_its_end_then_is_cancelled(
    prefect_api, monkeypatch
):
    """No process to stop: the run ends by itself, and the worker then marks it Cancelled."""
    import asyncio

    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.states import Cancelling

    import flows.inprocess as inprocess

    sleepy = {"tests/sleepy_flow.py:sleepy": ("tests.sleepy_flow", "sleepy")}
    monkeypatch.setattr(inprocess, "OWN_FLOWS", {**inprocess.OWN_FLOWS, **sleepy})
    pool = f"cancel-test-{uuid.uuid4().hex[:8]}"

    async def scenario():
        async with get_client() as client:
            await client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
            deployment = await client.create_deployment(
                flow_id=await client.create_flow_from_name("sleepy"),
                name=pool,
                entrypoint="tests/sleepy_flow.py:sleepy",
                work_pool_name=pool,
            )
            run = await client.create_flow_run_from_deployment(
                deployment, parameters={"seconds": 3}
            )
            async with inprocess.InProcessWorker(work_pool_name=pool, name="w-cancel") as worker:
                await worker.get_and_submit_flow_runs()
                while (await client.read_flow_run(run.id)).state.type.value != "RUNNING":
                    await asyncio.sleep(0.1)
                await client.set_flow_run_state(run.id, Cancelling())
            return (await client.read_flow_run(run.id)).state

    state = asyncio.run(asyncio.wait_for(scenario(), timeout=120))
    assert state.is_cancelled() and "went on to its end" in state.message


WORKER_WITH_SLEEPY = """
import sys
import flows.inprocess as inprocess
inprocess.OWN_FLOWS["tests/sleepy_flow.py:sleepy"] = ("tests.sleepy_flow", "sleepy")
from flows.worker import main
main(sys.argv[1:])
"""


def test_a_run_in_a_killed_workers_process_is_marked_crashed_by_the_automation(
    prefect_api, tmp_path
):
    """kill -9 of the worker ends its in-process run with it: no more heartbeats, so the
    server's "crashed runs" automation (a 10 s window here, 90 s in production) marks it
    Crashed, as it did a run whose process died."""
    import asyncio
    import subprocess
    import sys
    from datetime import timedelta

    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    from flows.automations import CRASHED_RUNS, apply, crashed_runs

    pool = f"crash-test-{uuid.uuid4().hex[:8]}"
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
        deployment = client.create_deployment(
            flow_id=client.create_flow_from_name("sleepy"),
            name=pool,
            entrypoint="tests/sleepy_flow.py:sleepy",
            work_pool_name=pool,
        )
    asyncio.run(_with_client(lambda c: apply(c, crashed_runs(timedelta(seconds=10)))))
    env = {
        **os.environ,
        "PREFECT_API_URL": prefect_api,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_WORKER_QUERY_SECONDS": "1",
    }
    command = [sys.executable, "-c", WORKER_WITH_SLEEPY, "--pool", pool, "--name", "w-kill"]
    worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    try:
        with get_client(sync_client=True) as client:
            time.sleep(1)  # the triggers service loads the automation from its change event
            run = client.create_flow_run_from_deployment(deployment, parameters={"seconds": 300})
            _wait_for(lambda: _state(client, run.id) == "RUNNING", 60, "the run Running")
            assert client.read_flow_run(run.id).infrastructure_pid == str(worker.pid)
            assert _children(worker.pid) == []  # nothing but the worker runs it
            worker.kill()
            worker.wait()
            _wait_for(lambda: _state(client, run.id) == "CRASHED", 60, "the run Crashed")
            assert client.read_flow_run(run.id).state.message.startswith("no heartbeat for 10 s")
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        asyncio.run(_with_client(lambda c: _delete_automations(c, CRASHED_RUNS)))


async def _with_client(action):
    from prefect import get_client

    async with get_client() as client:
        return await action(client)


async def _delete_automations(client, name: str) -> None:
    for automation in await client.read_automations_by_name(name):
        await client.delete_automation(automation.id)
