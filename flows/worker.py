"""One production worker that stops cleanly:
`python -m flows.worker --pool escalations --name NAME --limit 4` (scripts/production/worker).

A Prefect process worker that runs this project's own flows (the sweep, delivery, the digest)
in its own process, on a thread each, rather than in a fresh process a run (flows/inprocess.py:
a run with nothing due costs ~0.05 s of CPU instead of ~2.5 s); any other deployment's run, or
every run with --process-per-run, is a fresh process in this checkout. It is driven by this loop
rather than by `prefect worker start`, which kept taking runs for one to two and a half minutes
after a SIGTERM (measured) and left a run stranded on the second signal. Here the first SIGTERM
or SIGINT stops polling at once: a poll under way finishes (a run is never half submitted), then
no new run is taken. The sync with the server goes on (the worker's heartbeat, cancellations),
and the process exits 0 once every run it took has finished. Further signals are logged and
ignored; the supervisor's SIGKILL after its stop timeout is the last resort, and the server's
automation then marks the stranded run Crashed (`escalation automations`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket

from escalation import runtime
from escalation.settings import get_settings, unsafe_setting

MAX_BACKOFF_SECONDS = 20  # between polls while the Prefect server cannot be reached


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m flows.worker", description=__doc__)
    parser.add_argument("--pool", default="escalations")
    parser.add_argument("--name", default=f"{socket.gethostname()}-{os.getpid()}")
    parser.add_argument("--limit", type=int, default=4, help="flow runs at once (at least 1)")
    parser.add_argument(
        "--process-per-run",
        action="store_true",
        help="a fresh process for every flow run, ours too (Prefect's own process worker)",
    )
    args = parser.parse_args(argv)
    if args.limit < 1:
        parser.error("--limit must be at least 1")
    problem = unsafe_setting(get_settings())  # e.g. no https ESCALATION_PUBLIC_BASE_URL
    if problem:
        raise SystemExit(f"error: {problem}")
    runtime.prefect_environment()  # before prefect is first imported
    code = asyncio.run(run_worker(args.pool, args.name, args.limit, args.process_per_run))
    raise SystemExit(code)


async def run_worker(pool: str, name: str, limit: int, process_per_run: bool = False) -> int:
    """Poll until the first signal, then wait for the runs in flight; 0, or 1 (the supervisor
    restarts the worker) if polling met an error other than the server being unreachable, or
    Prefect's cancellation watch gave up."""
    from prefect.settings import PREFECT_WORKER_QUERY_SECONDS
    from prefect.workers.process import ProcessWorker

    from flows.inprocess import InProcessWorker

    stop, finished = asyncio.Event(), asyncio.Event()
    kind = ProcessWorker if process_per_run else InProcessWorker
    worker = kind(work_pool_name=pool, name=name, limit=limit)
    _on_signals(stop, lambda: in_flight(worker))
    async with worker:
        syncing = asyncio.create_task(_keep_syncing(worker, finished))
        how = "each in a process of its own" if process_per_run else "ours in this process"
        _say(f"worker {name!r} polling work pool {pool!r}, up to {limit} runs at once ({how})")
        code = await _poll_until(stop, worker, PREFECT_WORKER_QUERY_SECONDS.value())
        _say(f"worker {name!r} takes no new run; waiting for {in_flight(worker)} in flight")
        while in_flight(worker):
            await asyncio.sleep(0.5)
        finished.set()
        await syncing
    _say(f"worker {name!r} stopped: no run in flight")
    return code


def in_flight(worker) -> int:
    """Runs this worker took and has not finished: each holds a slot of the worker's limiter
    from the poll that took it until its process exits (prefect.workers.base); the set of runs
    being submitted is counted too, as Prefect's own run-once shutdown does not."""
    limiter = worker._limiter  # None until the worker is set up
    taken = limiter.borrowed_tokens if limiter is not None else 0
    return taken + len(worker._submitting_flow_run_ids)


async def _poll_until(stop: asyncio.Event, worker, interval: float) -> int:
    failures = 0
    while not stop.is_set():
        if cancellation_lost(worker):
            _say("this worker's cancellation watch has failed: exiting 1 once the runs finish")
            return 1
        try:
            await worker.get_and_submit_flow_runs()  # never cancelled part way
            failures = 0
        except Exception as error:
            if not _transient(error):
                _say(f"polling failed ({error!r}): stopping")
                return 1
            failures += 1
            _say(f"cannot reach the Prefect server ({type(error).__name__}); retrying")
        delay = min(interval * 2**failures, MAX_BACKOFF_SECONDS)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
    return 0


def cancellation_lost(worker) -> bool:
    """True once Prefect's cancellation watch of this worker has given up: after three failed
    polls (the server down for a minute or so) it logs "flow run cancellation will fail" and
    never comes back (prefect._internal.observers). A worker that cannot cancel a run it holds
    exits 1 after its runs, and the supervisor starts it afresh."""
    observer = getattr(worker, "_cancelling_observer", None)
    task = getattr(observer, "_polling_task", None)
    return bool(task and task.done() and not task.cancelled() and task.exception())


async def _keep_syncing(worker, done: asyncio.Event) -> None:
    """The worker's heartbeat to the server (and its view of the pool), until `done`."""
    while not done.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), worker.heartbeat_interval_seconds)
        if done.is_set():
            return
        try:
            await worker.sync_with_backend()
        except Exception as error:  # the next beat tries again; polling reports outages
            _say(f"sync with the Prefect server failed ({type(error).__name__})")


def _on_signals(stop: asyncio.Event, count) -> None:
    loop = asyncio.get_running_loop()

    def stopping(signum: int) -> None:
        name = signal.Signals(signum).name
        if stop.is_set():
            _say(f"{name} ignored: already stopping, {count()} run(s) still in flight")
            return
        _say(f"{name}: stopping after the runs in flight")
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping, signum)


def _transient(error: Exception) -> bool:
    """The server unreachable or failing (it may be restarting): retry, do not exit."""
    import httpx

    if isinstance(error, httpx.TransportError):
        return True
    return isinstance(error, httpx.HTTPStatusError) and (
        error.response.status_code >= 500 or error.response.status_code == 429
    )


def _say(line: str) -> None:
    print(line, flush=True)


if __name__ == "__main__":
    main()
