"""The flows process of `escalation serve` (`python -m flows.serving`, in its own session, so a
Ctrl-C in the terminal reaches `escalation serve` alone, which then sends this one SIGTERM).

It serves the three deployments (flows/deployments.py), each run in its own process, until SIGINT
or SIGTERM, then stops in order: pause every deployment (nothing new is scheduled), let the runs
in flight finish for up to RUNS_GRACE seconds, stop the runner (cancelling what still runs, and
waiting for it), and mark any run of theirs left pending or running as cancelled.
"""

from __future__ import annotations

import asyncio
import signal
import time

from escalation import runtime
from escalation.settings import get_settings

UNFINISHED = ("SCHEDULED", "PENDING", "RUNNING", "CANCELLING")  # Prefect's StateType values
RUNS_GRACE = 30  # seconds the runs in flight may take to finish once stopping
STOPPED_BY = "escalation serve stopped"


def serve_flows() -> None:
    """The flows child: serve the deployments until SIGINT or SIGTERM, then stop cleanly."""
    runtime.prefect_environment()  # before prefect is first imported
    from flows.deployments import deployments

    asyncio.run(_serve_deployments(deployments(get_settings())))


async def _serve_deployments(deployments: list) -> None:
    """Prefect's own `serve` leaves a SIGTERM handler that does not await the runner's stop
    ("coroutine 'Runner.astop' was never awaited") and a Ctrl-C that cancels its pausing part way;
    here the signals only set an event, and each step of the stop is awaited."""
    from prefect import get_client
    from prefect.runner import Runner
    from prefect.states import Cancelled

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    runner = Runner(pause_on_shutdown=False)  # paused below, each deployment awaited
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    ids = [await runner.add_deployment(deployment) for deployment in deployments]
    running = asyncio.create_task(runner.start())
    while not runner.started and not running.done():
        await asyncio.sleep(0.05)  # start() installs its own SIGTERM handler: replaced here
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not running.done():
            async with get_client() as client:
                await _pause(client, ids)
                await _wait_for_runs(client, ids, RUNS_GRACE)
            await runner.astop()  # no more polling; the runs still in flight are cancelled
        await running  # and waited for (a runner that failed by itself raises here)
    finally:
        stopping.cancel()
        async with get_client() as client:
            await _pause(client, ids)
            print(f"paused {len(ids)} deployments", flush=True)
            cancelled = [run.id for run in await _unfinished(client, ids) if not _waiting(run)]
            for run_id in cancelled:
                await client.set_flow_run_state(run_id, Cancelled(message=STOPPED_BY), force=True)
            if cancelled:
                print(f"marked {len(cancelled)} unfinished flow runs cancelled", flush=True)


async def _pause(client, ids: list) -> None:
    """Pause each deployment and delete its runs the schedule made that have not started (the
    server's pause deletes only the future ones; the past-due ones would run on the next start).
    Runs a person asked for stay scheduled."""
    for deployment_id in ids:
        await client.pause_deployment(deployment_id)
    for run in await _unfinished(client, ids):
        if _waiting(run) and run.auto_scheduled and run.run_count == 0:
            await client.delete_flow_run(run.id)


async def _wait_for_runs(client, ids: list, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not [run for run in await _unfinished(client, ids) if not _waiting(run)]:
            return
        await asyncio.sleep(0.5)


async def _unfinished(client, ids: list) -> list:
    """The deployments' runs not yet in a final state (scheduled, pending, running, cancelling)."""
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )

    return await client.read_flow_runs(
        deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=ids)),
        flow_run_filter=FlowRunFilter(
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=list(UNFINISHED)))
        ),
    )


def _waiting(run) -> bool:
    return run.state_type == "SCHEDULED"


if __name__ == "__main__":
    serve_flows()
