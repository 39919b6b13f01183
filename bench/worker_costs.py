"""A scheduled run with nothing due, on the running service (issue 16, goal 7): the CPU time
(user + system) of the production worker, `python -m flows.worker`, and of any child it starts,
per run, with a fresh process a run (`--process-per-run`, Prefect's process worker: before) and
with our flows run in the worker's own process (flows/inprocess.py: the project).

    .venv/bin/python -m bench.fixed_costs --rounds 0 --worker-rounds 5 \
        --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

For each database: a throwaway Prefect server, an empty service database (`escalation init`),
two process work pools with the escalation-sweep and deliver-notifications deployments (the
production entrypoints) on each, and one worker per pool, set up as scripts/production/worker
sets it up (heartbeats every 30 s, no results persisted) but polling every second. Each round
runs each flow once on each worker, the two kinds interleaved; a run's cost is what the worker
process and its reaped children used from the run's creation until the run had ended and the
worker had no child left, and the same window's idle cost (the worker's polling and heartbeat,
measured over IDLE_SECONDS with no run) is shown beside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.smtp_server import free_port

ROOT = Path(__file__).resolve().parents[1]
KINDS = {"before": ["--process-per-run"], "project": []}  # the worker's arguments
FLOWS = {
    "escalation-sweep": "flows/sweep.py:escalation_sweep",
    "deliver-notifications": "flows/deliver.py:deliver_notifications",
}
IDLE_SECONDS = 20
RUN_TIMEOUT = 300
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) of process `pid` and of its children once reaped."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[str]:
    """The process's children, reaped or not (from every thread of it)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):
            found += (task / "children").read_text().split()
    return found


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f}–{max(values):.3f})"


async def _setup(pools: list[str]) -> dict[tuple[str, str], str]:
    """Each pool, with each of FLOWS' deployments on it; {(pool, flow name): deployment id}."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    pull = [{"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}]
    ids = {}
    async with get_client() as client:
        for pool in pools:
            await client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
            for flow, entrypoint in FLOWS.items():
                ids[(pool, flow)] = str(
                    await client.create_deployment(
                        flow_id=await client.create_flow_from_name(flow),
                        name=pool,
                        entrypoint=entrypoint,
                        work_pool_name=pool,
                        pull_steps=pull,
                    )
                )
    return ids


async def _run_once(deployment_id: str, worker: subprocess.Popen) -> str:
    """Create a run due now and wait for its end (RUN_TIMEOUT at most): its final state."""
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + RUN_TIMEOUT
    async with get_client() as client:
        run = await client.create_flow_run_from_deployment(deployment_id)
        while time.monotonic() < deadline and worker.poll() is None:
            state = (await client.read_flow_run(run.id)).state.type.value
            if state in FINAL:
                return state
            await asyncio.sleep(0.1)
    raise RuntimeError(f"no end to run {run.id} (worker exit code {worker.poll()})")


def _start_worker(pool: str, args: list[str], env: dict, home: Path) -> subprocess.Popen:
    log = open(home / f"{pool}.log", "ab")  # noqa: SIM115 (the worker's output, while it runs)
    command = [sys.executable, "-m", "flows.worker", "--pool", pool, "--name", pool, *args]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def _measured_run(worker: subprocess.Popen, server, deployment_id: str) -> dict:
    """One run on `worker`: its CPU (worker and children), the server's, the wall time."""
    worker_before, server_before = cpu_seconds(worker.pid), cpu_seconds(server.pid)
    started = time.perf_counter()
    state = asyncio.run(_run_once(deployment_id, worker))
    for _ in range(300):  # a child process ends (and is reaped) just after its run's end
        if not children(worker.pid):
            break
        time.sleep(0.1)
    return {
        "state": state,
        "cpu": cpu_seconds(worker.pid) - worker_before,
        "server": cpu_seconds(server.pid) - server_before,
        "wall": time.perf_counter() - started,
    }


def _idle_rate(workers: dict[str, subprocess.Popen]) -> dict[str, float]:
    """CPU seconds a second each worker spends with no run (polling, heartbeats)."""
    before = {kind: cpu_seconds(worker.pid) for kind, worker in workers.items()}
    time.sleep(IDLE_SECONDS)
    return {kind: (cpu_seconds(w.pid) - before[kind]) / IDLE_SECONDS for kind, w in workers.items()}


def measure(rounds: int, database_url: str, home: Path) -> tuple[dict, dict]:
    """{(kind, flow): [run, ...]} over `rounds` interleaved rounds, and each kind's idle rate."""
    from bench.fixed_costs import _start_server

    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
        "PREFECT_TASKS_DEFAULT_PERSIST_RESULT": "false",
        "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "ESCALATION_DATABASE_URL": database_url,
        "ESCALATION_PUBLIC_BASE_URL": "http://127.0.0.1:8000",
    }
    os.environ.update(env)  # this process's Prefect client talks to the same server
    from prefect.settings import PREFECT_API_URL, temporary_settings

    subprocess.run([sys.executable, "-m", "escalation", "init"], cwd=ROOT, env=env, check=True)
    server = _start_server(home, port)
    workers: dict[str, subprocess.Popen] = {}
    try:
        with temporary_settings(updates={PREFECT_API_URL: env["PREFECT_API_URL"]}):
            return _rounds(rounds, server, env, home, workers)
    finally:
        for worker in workers.values():
            worker.terminate()
            worker.wait(timeout=120)
        server.terminate()
        server.wait(timeout=60)


def _rounds(rounds: int, server, env: dict, home: Path, workers: dict) -> tuple[dict, dict]:
    """Start a worker of each kind (into `workers`, stopped by the caller), a first run each
    (not counted: the start-up), the idle rate, then the interleaved rounds."""
    ids = asyncio.run(_setup([f"fixed-{kind}" for kind in KINDS]))
    workers.update({k: _start_worker(f"fixed-{k}", a, env, home) for k, a in KINDS.items()})
    for kind, worker in workers.items():
        for flow in FLOWS:
            _measured_run(worker, server, ids[(f"fixed-{kind}", flow)])
    idle = _idle_rate(workers)
    runs = {(kind, flow): [] for kind in KINDS for flow in FLOWS}
    for _ in range(rounds):
        for flow in FLOWS:
            for kind, worker in workers.items():
                runs[(kind, flow)].append(
                    _measured_run(worker, server, ids[(f"fixed-{kind}", flow)])
                )
    return runs, idle


def report(name: str, rounds: int, runs: dict, idle: dict) -> None:
    print(f"\n{name}: a scheduled run with nothing due, {rounds} rounds, median (range), seconds")
    print("| flow | worker | worker + children CPU | less idle | wall | server CPU | states |")
    print("|---|---|---|---|---|---|---|")
    for (kind, flow), done in runs.items():
        cpu = [r["cpu"] for r in done]
        net = [r["cpu"] - idle[kind] * r["wall"] for r in done]
        states = ", ".join(sorted({r["state"] for r in done}))
        cells = [spread(cpu), spread(net), spread([r["wall"] for r in done])]
        cells += [spread([r["server"] for r in done]), states]
        print(f"| {flow} | {kind} | " + " | ".join(cells) + " |")
    rates = ", ".join(f"{kind} {rate:.4f}" for kind, rate in idle.items())
    print(f"idle worker CPU per second, no run ({IDLE_SECONDS} s): {rates}")


def worker_runs(rounds: int, postgres: str | None) -> None:
    """Measure and print, on SQLite and (given a URL) on PostgreSQL."""
    from bench.common import temporary_schema

    with tempfile.TemporaryDirectory(prefix="worker_costs_") as tmp:
        home = Path(tmp, "sqlite")
        home.mkdir()
        report("SQLite", rounds, *measure(rounds, f"sqlite:///{home / 'app.db'}", home))
    if postgres:
        with (
            tempfile.TemporaryDirectory(prefix="worker_costs_") as tmp,
            temporary_schema(postgres) as url,
        ):
            report("PostgreSQL", rounds, *measure(rounds, url, Path(tmp)))
