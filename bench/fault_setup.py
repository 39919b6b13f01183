"""The production set-up the fault bench runs, started as an operator would (README
"Production"): two fresh PostgreSQL databases, the Prefect server, `deploy`, two workers, the
web tier and a loop standing in for the systemd health timer. Every process runs in its own
session with its log in the work directory; `stop_all` ends them and any flow-run process they
started (those run in sessions of their own, so a process group is not enough).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from tests.smtp_server import free_port


@dataclass
class Stack:
    """Where everything runs: the source tree, the work directory and the shared environment."""

    root: Path
    work: Path
    env: dict[str, str]
    prefect_port: int
    web_port: int
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.prefect_port}/api"

    def script(self, name: str) -> Path:
        return self.root / "scripts" / "production" / name

    def tool(self, name: str) -> str:
        return str(self.root / ".venv" / "bin" / name)


# --- databases ----------------------------------------------------------------------------


def create_databases(admin_url: str) -> tuple[str, str]:
    """Two fresh databases (the app's, Prefect's with pg_trgm); their psycopg URLs."""
    tag = uuid.uuid4().hex[:6]
    names = (f"faults_app_{tag}", f"faults_prefect_{tag}")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in names:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    app, prefect = (str(make_url(admin_url).set(database=name)) for name in names)
    with create_engine(prefect).begin() as connection:
        connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    return app, prefect


def drop_databases(admin_url: str, urls: list[str]) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for url in urls:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {make_url(url).database} (FORCE)")
    admin.dispose()


def plain_url(url: str) -> str:
    """The URL with its password shown (SQLAlchemy's str() masks it)."""
    return make_url(url).render_as_string(hide_password=False)


# --- the stack ----------------------------------------------------------------------------


def new_stack(
    root: Path, work: Path, app_url: str, prefect_url: str, smtp_url: str, interval: int
) -> Stack:
    prefect_port, web_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ESCALATION_", "PREFECT_"))}
    env.update(
        PYTHONPATH=str(root),
        ESCALATION_HOME=str(root),
        ESCALATION_DATABASE_URL=plain_url(app_url),
        ESCALATION_SMTP_URL=smtp_url,
        ESCALATION_PUBLIC_BASE_URL=f"http://127.0.0.1:{web_port}",
        ESCALATION_OPS_TOKEN=secrets.token_urlsafe(24),
        ESCALATION_SWEEP_INTERVAL_SECONDS=str(interval),
        ESCALATION_TRUSTED_PROXIES="[]",
        PREFECT_API_URL=f"http://127.0.0.1:{prefect_port}/api",
        PREFECT_API_DATABASE_CONNECTION_URL=plain_url(
            make_url(prefect_url).set(drivername="postgresql+asyncpg")
        ),
        PREFECT_SERVER_API_PORT=str(prefect_port),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        WEB_PORT=str(web_port),
        WEB_WORKERS="2",
    )
    return Stack(root, work, env, prefect_port, web_port)


def run(stack: Stack, name: str, command: list[str], timeout: float = 300) -> str:
    """Run a set-up command to the end (its output kept in the work directory); its output."""
    env = {**stack.env, "PREFECT_HOME": str(_home(stack, name))}
    result = subprocess.run(
        command, cwd=stack.root, env=env, capture_output=True, text=True, timeout=timeout
    )
    (stack.work / f"{name}.log").write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} exited {result.returncode}: {result.stderr[-2000:]}"
        )
    return result.stdout


def start(stack: Stack, name: str, command: list[str], **extra: str) -> subprocess.Popen:
    """Start a long-running process in its own session, logging to <work>/<name>.log."""
    env = {**stack.env, "PREFECT_HOME": str(_home(stack, name)), **extra}
    with (stack.work / f"{name}.log").open("a") as log:
        process = subprocess.Popen(
            command,
            cwd=stack.root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stack.processes[name] = process
    return process


def start_prefect_server(stack: Stack, timeout: float = 180) -> float:
    """Start the Prefect server; seconds until it answered /api/health."""
    started = time.monotonic()
    start(stack, "prefect-server", [str(stack.script("prefect-server"))])
    wait_for(f"{stack.api}/health", timeout, stack.processes["prefect-server"])
    return time.monotonic() - started


def start_worker(stack: Stack, name: str) -> subprocess.Popen:
    return start(stack, name, [str(stack.script("worker"))], WORKER_NAME=name, WORKER_LIMIT="4")


def start_web(stack: Stack, timeout: float = 120) -> bool:
    """The web tier, if this checkout has scripts/production/web; True once it answers."""
    if not stack.script("web").exists():
        return False
    start(stack, "web", [str(stack.script("web"))])
    wait_for(f"http://127.0.0.1:{stack.web_port}/", timeout, stack.processes["web"])
    return True


def wait_for(url: str, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args} exited {process.returncode} before {url} answered")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


# --- stopping -----------------------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    """Every living process below `pid` (read from /proc: flow runs live in other sessions)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill9(stack: Stack, name: str) -> list[int]:
    """SIGKILL the process `name` and everything below it (a machine dying); the pids killed."""
    process = stack.processes.pop(name)
    pids = [process.pid, *descendants(process.pid)]
    for pid in pids:
        _signal(pid, signal.SIGKILL)
    process.wait(timeout=10)
    return pids


def stop(stack: Stack, name: str, timeout: float = 30) -> None:
    """SIGTERM the process's group, then SIGKILL it and whatever it started if it lingers."""
    process = stack.processes.pop(name, None)
    if process is None or process.poll() is not None:
        return
    below = descendants(process.pid)
    _signal(-process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _signal(-process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    for pid in below:
        _signal(pid, signal.SIGKILL)


def stop_all(stack: Stack) -> None:
    """Workers first (they would otherwise log the server's absence), the server last."""
    order = sorted(stack.processes, key=lambda name: name == "prefect-server")
    for name in order:
        stop(stack, name, timeout=20)


def _signal(pid: int, signum: int) -> None:
    try:
        if pid < 0:
            os.killpg(-pid, signum)
        else:
            os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _home(stack: Stack, name: str) -> Path:
    home = stack.work / "prefect-home" / name
    home.mkdir(parents=True, exist_ok=True)
    return home


def set_sweep_interval(stack: Stack, seconds: int) -> None:
    """Replace the sweep deployment's schedule (prefect.yaml says 60 s) by `seconds`."""
    run(
        stack,
        "schedule",
        [
            stack.tool("prefect"),
            "deployment",
            "schedule",
            "create",
            "escalation-sweep/escalation-sweep",
            "--interval",
            str(seconds),
            "--timezone",
            "UTC",
            "--replace",
            "-y",
        ],
    )
