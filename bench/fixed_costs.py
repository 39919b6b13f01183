"""Fixed costs (issue 16, goal 7): what a command or a scheduled run costs before it does any work.

    .venv/bin/python -m bench.fixed_costs --rounds 5 --before /tmp/wt-before
    .venv/bin/python -m bench.fixed_costs --rounds 0 --flow-runs 5
    .venv/bin/python -m bench.fixed_costs --rounds 0 --worker-rounds 5 --postgres URL

1. The command line: `escalation ARGS` in a fresh process (as typed), wall time and CPU time of
   the child, for --help, a group's and a command's --help, and a light command. With --before
   (a checkout of an earlier commit, e.g. `git worktree add /tmp/wt-before <commit>`) the same
   commands run from that checkout with this .venv's python (PYTHONPATH), interleaved with the
   project's, round by round.
2. A scheduled run with nothing due (--flow-runs N): a throwaway Prefect server and SQLite
   database, an escalation-sweep deployment, and N flow runs each started the way the production
   worker starts them (`python -m prefect.engine <flow run id>`, a fresh process); the CPU time
   of that process, of the Prefect server while it ran, and, for comparison, of a bare
   interpreter, of `import prefect`, of importing all a run imports, of `escalation sweep
   --direct` (the same work without Prefect), and of the same flow called again and again in
   one long-lived process (each call still a flow run the server records).
3. The same on the running service (--worker-rounds N, bench.worker_costs): the production
   worker's CPU, and its children's, per scheduled run, with a process a run (before) and with
   our flows run in the worker's process (the project), interleaved; SQLite, and PostgreSQL
   with --postgres.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.smtp_server import free_port

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = (
    ("--help",),
    ("policy", "--help"),
    ("show", "--help"),
    ("policy", "check", "policies/default.yaml"),
)


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Run `command` to its end; (wall seconds, CPU seconds of the child: user + system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def spread(values: list[float]) -> str:
    """'median (min–max)' in seconds."""
    return f"{statistics.median(values):.3f} ({min(values):.3f}–{max(values):.3f})"


def command_line(rounds: int, before: Path | None) -> None:
    """Part 1: each command from each checkout, interleaved, `rounds` times."""
    trees = {"project": ROOT, **({"before": before} if before else {})}
    runs = {(tree, args): [] for tree in trees for args in COMMANDS}
    for _ in range(rounds):
        for args in COMMANDS:
            for tree, root in trees.items():
                env = {**os.environ, "PYTHONPATH": str(root)}
                command = [sys.executable, "-m", "escalation", *args]
                runs[(tree, args)].append(timed(command, root, env))
    print(f"escalation ARGS in a fresh process, {rounds} rounds: median (range), seconds")
    print("| command | " + " | ".join(f"{t} wall | {t} CPU" for t in trees) + " |")
    print("|---|" + "---|---|" * len(trees))
    for args in COMMANDS:
        cells = []
        for tree in trees:
            walls, cpus = zip(*runs[(tree, args)], strict=True)
            cells += [spread(list(walls)), spread(list(cpus))]
        print(f"| `escalation {' '.join(args)}` | " + " | ".join(cells) + " |")


def _server_cpu(pid: int) -> float:
    """CPU seconds (user + system) the process `pid` and its reaped children have used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def _start_server(home: Path, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / 'prefect.db'}",
    }
    env.pop("PREFECT_API_URL", None)
    log = open(home / "server.log", "ab")  # noqa: SIM115 (the server's output, while it runs)
    command = [sys.executable, "-m", "prefect", "server", "start", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=log, stderr=log, cwd=home)
    import httpx

    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if server.poll() is not None:
            break
        time.sleep(0.2)
    server.terminate()
    raise RuntimeError(f"the Prefect server did not start (see {home / 'server.log'})")


async def _deployment() -> str:
    """An escalation-sweep deployment whose runs load the flow from this checkout, as the
    production deployments (prefect.yaml) do from ESCALATION_HOME."""
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        flow_id = await client.create_flow_from_name("escalation-sweep")
        deployment_id = await client.create_deployment(
            flow_id=flow_id,
            name="escalation-sweep",
            entrypoint="flows/sweep.py:escalation_sweep",
            pull_steps=[
                {"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}
            ],
        )
    return str(deployment_id)


async def _new_run(deployment_id: str) -> str:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        return str((await client.create_flow_run_from_deployment(deployment_id)).id)


async def _final_states(run_ids: list[str]) -> list[str]:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        return [(await client.read_flow_run(run_id)).state.type.value for run_id in run_ids]


WARM_CALLS = """
import json, sys, time
from flows.sweep import escalation_sweep
escalation_sweep()  # the first call pays the imports and the client's connection
cpu, wall = [], []
for _ in range(int(sys.argv[1])):
    started, used = time.perf_counter(), time.process_time()
    escalation_sweep()
    cpu.append(time.process_time() - used)
    wall.append(time.perf_counter() - started)
print(json.dumps([cpu, wall]))
"""
RUN_IMPORTS = "import prefect.engine, prefect.flow_engine, flows.sweep"


def _warm_calls(count: int, env: dict[str, str]) -> tuple[list[float], list[float]]:
    """CPU and wall seconds of each of `count` flow calls in one process, after a first one."""
    import json

    command = [sys.executable, "-c", WARM_CALLS, str(count)]
    result = subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    cpu, wall = json.loads(result.stdout.decode().splitlines()[-1])
    return cpu, wall


def flow_runs(count: int) -> None:
    """Part 2: `count` escalation-sweep runs with nothing due, each in a fresh process."""
    with tempfile.TemporaryDirectory(prefix="fixed_costs_") as tmp:
        home, port = Path(tmp), free_port()
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "PREFECT_HOME": str(home),
            "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
            "ESCALATION_DATABASE_URL": f"sqlite:///{home / 'escalation.db'}",
        }
        os.environ.update(env)  # this process's Prefect client talks to the same server
        timed([sys.executable, "-m", "escalation", "init"], ROOT, env)
        server = _start_server(home, port)
        try:
            deployment_id = asyncio.run(_deployment())
            bare, imports, loaded, direct, engine, served, run_ids = ([] for _ in range(7))
            for _ in range(count):
                bare.append(timed([sys.executable, "-c", "pass"], ROOT, env)[1])
                imports.append(timed([sys.executable, "-c", "import prefect"], ROOT, env)[1])
                loaded.append(timed([sys.executable, "-c", RUN_IMPORTS], ROOT, env)[1])
                sweep = [sys.executable, "-m", "escalation", "sweep", "--direct"]
                direct.append(timed(sweep, ROOT, env)[1])
                run_ids.append(asyncio.run(_new_run(deployment_id)))
                server_before = _server_cpu(server.pid)
                command = [sys.executable, "-m", "prefect.engine", run_ids[-1]]
                engine.append(timed(command, ROOT, env))
                served.append(_server_cpu(server.pid) - server_before)
            states = asyncio.run(_final_states(run_ids))
            server_before = _server_cpu(server.pid)
            warm_cpu, warm_wall = _warm_calls(count, env)
            warm_served = (_server_cpu(server.pid) - server_before) / (count + 1)
        finally:
            server.terminate()
            server.wait(timeout=60)
    walls, cpus = zip(*engine, strict=True)
    print(f"\nescalation-sweep with nothing due, {count} runs: median (range), seconds")
    print(f"| flow run process (`python -m prefect.engine`), CPU | {spread(list(cpus))} |")
    print(f"| flow run process, wall | {spread(list(walls))} |")
    print(f"| Prefect server CPU while the run ran | {spread(served)} |")
    print(f"| bare interpreter (`python -c pass`), CPU | {spread(bare)} |")
    print(f"| `python -c 'import prefect'`, CPU | {spread(imports)} |")
    print(f"| `python -c '{RUN_IMPORTS}'`, CPU | {spread(loaded)} |")
    print(f"| `escalation sweep --direct` (no Prefect), CPU | {spread(direct)} |")
    print(f"| the flow called in one long-lived process, CPU | {spread(warm_cpu)} |")
    print(f"| the flow called in one long-lived process, wall | {spread(warm_wall)} |")
    print(f"| Prefect server CPU per call (mean) | {warm_served:.3f} |")
    print(f"final states: {', '.join(sorted(set(states)))}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fixed_costs", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of part 1 (0: skip it)")
    parser.add_argument("--before", type=Path, help="a checkout to compare part 1 against")
    parser.add_argument("--flow-runs", type=int, default=0, help="runs of part 2 (0: skip it)")
    parser.add_argument("--worker-rounds", type=int, default=0, help="part 3 (0: skip it)")
    parser.add_argument("--postgres", help="part 3 on PostgreSQL too (a schema of its own)")
    args = parser.parse_args()
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    if args.rounds:
        command_line(args.rounds, args.before)
    if args.flow_runs:
        flow_runs(args.flow_runs)
    if args.worker_rounds:
        from bench.worker_costs import worker_runs

        worker_runs(args.worker_rounds, args.postgres)


if __name__ == "__main__":
    main()
