"""The worker runs this project's own flows inside its own process (issue 16, goal 7).

A scheduled run with nothing due did a few milliseconds of work but cost 2.4–2.6 s of CPU in a
fresh `python -m prefect.engine` process, nearly all of it importing Prefect and the service.
The worker has both imported already, so a run of one of OWN_FLOWS (matched by its deployment's
entrypoint) is handed to Prefect's own engine (`prefect.flow_engine.run_flow`, as
`python -m prefect.engine` calls it) on a thread of the worker, with the flow run the worker
took: its states, logs, task runs and heartbeats go to the Prefect server as before. Any other
deployment's run still gets a process of its own (ProcessWorker).

What changes with the process gone:
- Crashes: a run dies with its worker (before, a killed worker could leave its child to finish).
  Its heartbeats stop with it, so the server's automation marks it Crashed as before
  (flows/automations.py), and the sweep's and delivery's work is safe to repeat.
- Cancellation: there is no process to stop, so a run being cancelled goes on to its end; the
  server refuses it any further task (a task starts only in a Running flow run), and once the
  run ends the worker marks it Cancelled if it is still Cancelling. Our runs are bounded (one
  sweep task, delivery for at most ESCALATION_DELIVERY_MAX_RUN_SECONDS).
- Code: a run uses the code the worker loaded when it started; after an upgrade of the checkout
  the workers are restarted (`systemctl restart escalation-worker@*`), which they survive
  cleanly (flows/worker.py).
- The flow run's infrastructure pid is the worker's own, and the deployment's job variables
  (environment, working directory) do not apply: the worker's own settings do.
"""

from __future__ import annotations

import asyncio
import importlib
import os

import anyio
import anyio.abc
from prefect.workers.process import ProcessWorker, ProcessWorkerResult

OWN_FLOWS = {  # a deployment's entrypoint (prefect.yaml, flows/deployments.py) -> module, name
    "flows/sweep.py:escalation_sweep": ("flows.sweep", "escalation_sweep"),
    "flows/deliver.py:deliver_notifications": ("flows.deliver", "deliver_notifications"),
    "flows/digest.py:board_digest": ("flows.digest", "board_digest"),
}


def own_flow(entrypoint: str | None):
    """The flow object for one of OWN_FLOWS' entrypoints (imported here), else None."""
    if entrypoint not in OWN_FLOWS:
        return None
    module, name = OWN_FLOWS[entrypoint]
    return getattr(importlib.import_module(module), name)


def run_to_end(flow, flow_run):
    """Prefect's engine on this thread: the run's final state (an async flow on its own loop)."""
    from prefect.flow_engine import run_flow

    state = run_flow(flow, flow_run=flow_run, return_type="state")
    return asyncio.run(state) if asyncio.iscoroutine(state) else state


class InProcessWorker(ProcessWorker):
    """A process worker that runs OWN_FLOWS' runs on a thread of its own process."""

    @classmethod
    def __dispatch_key__(cls) -> str:
        return "escalation-in-process"  # Prefect's registry keeps "process" for ProcessWorker

    async def __aenter__(self) -> InProcessWorker:
        await super().__aenter__()
        for entrypoint in OWN_FLOWS:  # imported once, here, rather than by the first runs
            own_flow(entrypoint)
        return self

    async def run(self, flow_run, configuration, task_status=None) -> ProcessWorkerResult:
        flow = own_flow(await self._entrypoint(flow_run))
        if flow is None:
            return await super().run(flow_run, configuration, task_status)
        if task_status is not None:
            task_status.started(os.getpid())  # the run is under way: the worker is its process
        logger = self.get_flow_run_logger(flow_run)
        logger.info("Running flow run '%s' in the worker's process", flow_run.id)
        status = 0
        try:
            fresh = await self.client.read_flow_run(flow_run.id)
            await anyio.to_thread.run_sync(run_to_end, flow, fresh)
        except Exception:  # the engine could not report the run (e.g. the server went away)
            logger.exception("Flow run '%s' failed in the worker's process", flow_run.id)
            status = 1  # the base worker then proposes Crashed
        try:
            await self._end_cancelling(flow_run.id)
        except Exception:  # the server unreachable: the run's state stays as the engine left it
            logger.warning("Could not check whether flow run '%s' was cancelled", flow_run.id)
        return ProcessWorkerResult(status_code=status, identifier=str(os.getpid()))

    async def _entrypoint(self, flow_run) -> str | None:
        if flow_run.deployment_id is None:
            return None
        return (await self.client.read_deployment(flow_run.deployment_id)).entrypoint

    async def _end_cancelling(self, flow_run_id) -> None:
        """A run cancelled while it ran ends Cancelled (no process was there to stop)."""
        from prefect.states import Cancelled

        flow_run = await self.client.read_flow_run(flow_run_id)
        if flow_run.state is not None and flow_run.state.is_cancelling():
            message = "Cancelled: the run went on to its end in the worker's process"
            await self.client.set_flow_run_state(flow_run_id, Cancelled(message=message))
