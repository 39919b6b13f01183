"""The flows process of `escalation serve` (`python -m flows.serving`, in its own session, so a
Ctrl-C in the terminal reaches `escalation serve` alone, which then sends this one SIGTERM).

It puts the three deployments (flows/deployments.py) in a process work pool of its own, POOL,
on the local Prefect server, and runs the production worker's loop on it (flows/worker.py), so
each scheduled run is run in this process, as the production workers run them
(flows/inprocess.py): a run with nothing due costs ~0.1 s of CPU, not the ~2.5 s of a fresh
process (Prefect's Runner, used here before, started one a run). On SIGINT or SIGTERM it stops
in order: no new run is taken, the runs in flight finish, every deployment is paused (nothing
new is scheduled) and any run of theirs left pending or running is marked cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from escalation import runtime
from escalation.settings import get_settings

POOL = "escalation-serve"  # never the production pool (escalation.serve.PRODUCTION_POOL)
LIMIT = 4  # runs at once (each deployment's own limit is 1, but for the digest)
UNFINISHED = ("SCHEDULED", "PENDING", "RUNNING", "CANCELLING")  # Prefect's StateType values
STOPPED_BY = "escalation serve stopped"


def serve_flows() -> None:
    """The flows child: serve the deployments until SIGINT or SIGTERM, then stop cleanly; exits
    1 if the worker's loop failed (escalation serve then stops the whole service)."""
    runtime.prefect_environment()  # before prefect is first imported
    from flows.deployments import deployments

    raise SystemExit(asyncio.run(_serve_deployments(deployments(get_settings()))))


async def _serve_deployments(deployments: list) -> int:
    """The worker's loop (flows.worker.run_worker) handles the signals: the first one stops it
    taking runs, and it returns once the runs it took have finished."""
    from prefect import get_client

    from flows.worker import run_worker

    async with get_client() as client:
        await _ensure_pool(client, POOL)
        ids = [await deployment.aapply(work_pool_name=POOL) for deployment in deployments]
        for deployment_id in ids:  # paused by the last stop
            await client.resume_deployment(deployment_id)
    try:
        return await run_worker(POOL, f"serve-{socket.gethostname()}", LIMIT)
    finally:
        await _wind_down(ids)


async def _ensure_pool(client, name: str) -> None:
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    with contextlib.suppress(ObjectAlreadyExists):  # made by an earlier start
        await client.create_work_pool(WorkPoolCreate(name=name, type="process"))


async def _wind_down(ids: list) -> None:
    """Pause every deployment, then mark any run of theirs still under way cancelled."""
    from prefect import get_client
    from prefect.states import Cancelled

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
