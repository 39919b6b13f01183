"""`escalation serve`: the whole service on one machine, with nothing else installed.

0. Refuse unsafe settings (escalation.settings.require_safe) before starting anything.
1. Prefect state goes under ./var/prefect. Unless PREFECT_API_URL points at a Prefect server
   already, start `prefect server start` on loopback as a child and wait until it is healthy
   (a serve process without a real server schedules nothing).
2. Unless ESCALATION_SMTP_URL is set, start the local mail capture (real SMTP on loopback,
   every message written to ./var/mail/).
3. Start the web app (uvicorn, on loopback) as a child.
4. Start the stall clock for the sweep, then serve the three deployments (each run in its own
   process) until stopped. On Ctrl-C or SIGTERM the deployments are paused, and the children
   stopped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from escalation import runtime
from escalation.casework import health
from escalation.casework.sweep import SWEEP
from escalation.outbox.mailcapture import start_capture
from escalation.settings import Settings, get_settings, require_safe
from escalation.store.db import transaction

STARTUP_TIMEOUT = 180


def serve() -> None:
    """Run the service until Ctrl-C or SIGTERM; UnsafeSettings (before anything starts) if the
    settings must not serve or send."""
    settings = get_settings()
    require_safe(settings)
    prefect_port = settings.prefect_port
    runtime.prefect_environment()
    server = None
    if not os.environ.get("PREFECT_API_URL"):
        server = start_prefect_server(prefect_port)
        os.environ["PREFECT_API_URL"] = f"http://127.0.0.1:{prefect_port}/api"
    capture = None
    if not settings.smtp_url:
        capture = start_capture(settings.mail_dir, settings.mail_capture_port)
        os.environ["ESCALATION_SMTP_URL"] = runtime.smtp_url()  # for the flow-run processes
        print(
            f"mail capture: smtp://127.0.0.1:{settings.mail_capture_port} -> {settings.mail_dir}/"
        )
    web = subprocess.Popen(web_command(settings), start_new_session=True)
    print(
        f"web app: http://127.0.0.1:{settings.web_port} (raise a disagreement at /raise; "
        "API described at /api/openapi.json)",
        flush=True,
    )
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        with transaction(runtime.sessions()) as session:
            health.expect_sweeps(session, SWEEP, datetime.now(UTC))
        from prefect import serve as prefect_serve

        from flows.deployments import deployments

        prefect_serve(*deployments(settings), pause_on_shutdown=True)
    finally:
        _stop(web)
        if capture is not None:
            capture.stop()
        if server is not None:
            _stop(server)


def web_command(settings: Settings) -> list[str]:
    """The web app under uvicorn on loopback: no access log (paths carry link tokens), and
    `X-Forwarded-For` believed only from ESCALATION_TRUSTED_PROXIES (uvicorn's own default
    trusts 127.0.0.1, so anyone on the machine could pose as any client to the rate limits)."""
    proxies = (
        ["--proxy-headers", "--forwarded-allow-ips", ",".join(settings.trusted_proxies)]
        if settings.trusted_proxies
        else ["--no-proxy-headers"]
    )
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "escalation.web.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(settings.web_port),
        "--log-level",
        "warning",
        "--no-access-log",
        *proxies,
    ]


def start_prefect_server(port: int) -> subprocess.Popen:
    home = Path(os.environ["PREFECT_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    log = open(home / "server.log", "ab")  # noqa: SIM115 (the server's stdout, for its lifetime)
    print(f"starting Prefect server on 127.0.0.1:{port} (log: {home / 'server.log'})", flush=True)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the Prefect server exited (see {home / 'server.log'})")
        if _healthy(f"http://127.0.0.1:{port}/api/health"):
            print(f"Prefect server is up: http://127.0.0.1:{port}", flush=True)
            return server
        time.sleep(1)
    _stop(server)
    raise RuntimeError(f"the Prefect server did not start in {STARTUP_TIMEOUT} s")


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


def _stop_on_sigterm(signum, frame) -> None:
    raise KeyboardInterrupt  # unwinds prefect.serve (which pauses its deployments) and `finally`
