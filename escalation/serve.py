"""`escalation serve`: the whole service on one machine, with nothing else installed.

0. Refuse unsafe settings (escalation.settings.require_safe) before starting anything, and a
   PREFECT_API_URL that looks like a production Prefect server (not on loopback, or holding the
   production work pool `escalations`): serving would register this machine's own deployments
   there, to sweep and send from here. ESCALATION_SERVE_CONFIRM_PREFECT_URL set to that same URL
   says it is meant.
1. Prefect state goes under ./var/prefect. Unless PREFECT_API_URL points at a Prefect server
   already, start `prefect server start` on loopback (ESCALATION_PREFECT_PORT) as a child, its UI
   told to call that same port, and wait until it is healthy (a serve process without a real
   server schedules nothing).
2. Unless ESCALATION_SMTP_URL is set, start the local mail capture (real SMTP on loopback,
   every message written to ./var/mail/).
3. Start the web app (uvicorn, on loopback, ESCALATION_WEB_PORT) as a child.
4. Start the stall clock for the sweep, then the flows child (`python -m flows.serving`) that
   serves the three deployments, each run in its own process; print the addresses in use.

Every child runs in its own session, so a Ctrl-C in the terminal reaches this process only. On
Ctrl-C or SIGTERM the flows child is asked to stop first (it pauses every deployment, lets the
runs in flight finish or cancels them: flows/serving.py), then the web app, the mail capture and
the Prefect server are stopped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from escalation import runtime
from escalation.casework import health
from escalation.casework.sweep import SWEEP
from escalation.outbox.mailcapture import start_capture
from escalation.settings import Settings, UnsafeSettings, get_settings, is_loopback, require_safe
from escalation.store.db import transaction

STARTUP_TIMEOUT = 180
PRODUCTION_POOL = "escalations"  # scripts/production/deploy's work pool
CONFIRM = "ESCALATION_SERVE_CONFIRM_PREFECT_URL"
FLOWS_STOP_TIMEOUT = 90  # the flows child lets runs finish (30 s), cancels the rest, pauses


def serve() -> None:
    """Run the service until Ctrl-C or SIGTERM; UnsafeSettings (before anything starts) if the
    settings must not serve or send."""
    settings = get_settings()
    require_safe(settings)
    refuse_production_prefect(os.environ.get("PREFECT_API_URL"), os.environ.get(CONFIRM))
    runtime.prefect_environment()
    signal.signal(signal.SIGTERM, _interrupt)
    server = capture = web = flows = None
    try:
        if not os.environ.get("PREFECT_API_URL"):
            server = start_prefect_server(settings.prefect_port)
            os.environ["PREFECT_API_URL"] = prefect_api_url(settings.prefect_port)
        if not settings.smtp_url:
            capture = start_capture(settings.mail_dir, settings.mail_capture_port)
            os.environ["ESCALATION_SMTP_URL"] = runtime.smtp_url()  # for the flow-run processes
        web = subprocess.Popen(web_command(settings), start_new_session=True)
        _wait_until_up(web, f"http://127.0.0.1:{settings.web_port}/raise", "the web app")
        with transaction(runtime.sessions()) as session:
            health.expect_sweeps(session, SWEEP, datetime.now(UTC))
        flows = subprocess.Popen([sys.executable, "-m", "flows.serving"], start_new_session=True)
        print(addresses(settings, os.environ["PREFECT_API_URL"]), flush=True)
        while flows.poll() is None and web.poll() is None:
            time.sleep(1)
        raise RuntimeError(
            "the flows process exited" if flows.poll() is not None else "the web app exited"
        )
    except KeyboardInterrupt:
        print("stopping: pausing the deployments, then the web app and Prefect", flush=True)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the stop short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if flows is not None:
            _stop(flows, group=False, timeout=FLOWS_STOP_TIMEOUT)
        for child in (web, server):
            if child is not None:
                _stop(child)
        if capture is not None:
            capture.stop()


def refuse_production_prefect(api_url: str | None, confirmed: str | None) -> None:
    """UnsafeSettings if `escalation serve` would register its deployments on a Prefect server
    that looks like production's, unless `confirmed` repeats that very URL (an override that
    cannot carry over to another server). Unset: serve starts its own server on loopback."""
    if not api_url or (confirmed or "").rstrip("/") == api_url.rstrip("/"):
        return
    host = urllib.parse.urlsplit(api_url).hostname
    if not is_loopback(host):
        why = f"names {host}, not this machine"
    elif has_work_pool(api_url, PRODUCTION_POOL):
        why = f"already has the production work pool {PRODUCTION_POOL!r}"
    else:
        return
    raise UnsafeSettings(
        f"PREFECT_API_URL {why}: `escalation serve` would register its own deployments there; "
        f"unset PREFECT_API_URL, or set {CONFIRM} to the same URL if that is meant"
    )


def has_work_pool(api_url: str, name: str) -> bool:
    """True if the Prefect server answers that the work pool exists (unreachable: False, and
    serve then fails on its own)."""
    url = f"{api_url.rstrip('/')}/work_pools/{urllib.parse.quote(name)}"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:  # HTTPError 404 (no such pool) included
        return False


def addresses(settings: Settings, api_url: str) -> str:
    """What a person opens, from the settings this process really uses (not the defaults)."""
    web = f"http://127.0.0.1:{settings.web_port}"
    lines = [
        f"web app:         {web}/raise (raise a disagreement); {web}/board; API {web}/api/openapi.json",
        f"emailed links:   {settings.public_base_url} (ESCALATION_PUBLIC_BASE_URL)",
    ]
    if settings.demo:
        lines.append(f"captured emails: {web}/demo/mail (demo mode)")
    ui = api_url.removesuffix("/").removesuffix("/api")
    lines.append(f"Prefect UI:      {ui}")
    if settings.smtp_url:
        lines.append("email:           sent through ESCALATION_SMTP_URL")
    else:
        lines.append(
            f"mail capture:    smtp://127.0.0.1:{settings.mail_capture_port} -> "
            f"{settings.mail_dir}/*.eml"
        )
    return "\n".join([*lines, "Ctrl-C stops everything."])


def prefect_api_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/api"


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


def prefect_server_env(port: int) -> dict[str, str]:
    """The Prefect server child's environment. Its UI asks the server for the API address to call
    and, unless told, answers PREFECT_SERVER_API_PORT's default 4200 whatever `--port` says; so
    the port and the UI's API URL are both set (a UI API URL set by hand is kept)."""
    env = {**os.environ, "PREFECT_SERVER_API_HOST": "127.0.0.1"}
    env["PREFECT_SERVER_API_PORT"] = str(port)
    if not (env.get("PREFECT_SERVER_UI_API_URL") or env.get("PREFECT_UI_API_URL")):
        env["PREFECT_SERVER_UI_API_URL"] = prefect_api_url(port)
    return env


def start_prefect_server(port: int) -> subprocess.Popen:
    home = Path(os.environ["PREFECT_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    log = open(home / "server.log", "ab")  # noqa: SIM115 (the server's stdout, for its lifetime)
    print(f"starting Prefect server on 127.0.0.1:{port} (log: {home / 'server.log'})", flush=True)
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start"]
        + ["--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=prefect_server_env(port),
        start_new_session=True,
    )
    try:
        _wait_until_up(server, f"http://127.0.0.1:{port}/api/health", "the Prefect server")
    except BaseException as error:  # a Ctrl-C while it starts stops it too
        _stop(server)
        if isinstance(error, RuntimeError):
            raise RuntimeError(f"{error} (see {home / 'server.log'})") from None
        raise
    return server


def _wait_until_up(process: subprocess.Popen, url: str, name: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited")
        if _healthy(url):
            return
        time.sleep(0.5)
    raise RuntimeError(f"{name} did not start in {STARTUP_TIMEOUT} s")


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _stop(process: subprocess.Popen, group: bool = True, timeout: float = 30) -> None:
    """SIGTERM (to the child's whole session, or to the child alone so that it stops its own
    children in order), then SIGKILL to whatever is left of its session."""
    with contextlib.suppress(ProcessLookupError):
        if group:
            os.killpg(process.pid, signal.SIGTERM)
        else:
            process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"process {process.pid} did not stop in {timeout} s: killed", file=sys.stderr)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the service as Ctrl-C does
