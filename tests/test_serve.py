"""`escalation serve`, end to end on ports that are not the defaults: a real local Prefect server
(its UI told the right API port), the served deployments on their schedule, the local mail
capture, the addresses printed, and a clean stop on Ctrl-C. (About a minute: the one slow test.)"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import select

from escalation.casework.sweep import SWEEP
from escalation.store.db import make_engine
from escalation.store.models import Heartbeat
from tests.factories import ROOT
from tests.smtp_server import free_port

ESCALATION = str(Path(sys.executable).with_name("escalation"))


@pytest.mark.slow
def test_serve_sweeps_on_schedule_emails_the_next_owner_and_stops_cleanly(tmp_path):
    web_port, prefect_port, capture_port = free_port(), free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ESCALATION_"))},
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "ESCALATION_DATABASE_URL": f"sqlite:///{tmp_path}/escalation.db",
        "ESCALATION_PUBLIC_BASE_URL": "http://127.0.0.1:8000",  # required outside demo mode
        "ESCALATION_POLICIES_DIR": os.path.join(ROOT, "policies"),
        "ESCALATION_MAIL_DIR": str(tmp_path / "mail"),
        "ESCALATION_MAIL_CAPTURE_PORT": str(capture_port),
        "ESCALATION_PREFECT_PORT": str(prefect_port),
        "ESCALATION_WEB_PORT": str(web_port),
        "ESCALATION_SWEEP_INTERVAL_SECONDS": "5",
        "ESCALATION_DELIVERY_INTERVAL_SECONDS": "5",
    }
    # The demo disagreement, raised long ago: its first stage is overdue.
    demo = subprocess.run(
        [ESCALATION, "demo", "--now", "2026-01-05T10:00:00+00:00"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert demo.returncode == 0, demo.stderr
    reference = demo.stdout.split("demo disagreement: ")[1].split()[0]

    out, err = tmp_path / "serve.out", tmp_path / "serve.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        service = subprocess.Popen(
            [ESCALATION, "serve"],
            cwd=ROOT,
            env=env,
            start_new_session=True,  # its own group, as a terminal's: Ctrl-C reaches it alone
            stdout=stdout,
            stderr=stderr,
        )
    try:
        escalated = _wait_for_email(
            tmp_path / "mail", f"{reference}: you now own stage 2", timeout=240, service=service
        )
        assert escalated["To"].endswith("@community-health.example")
        link = re.search(
            r"http://127.0.0.1:8000(/l/[A-Za-z0-9_-]+)",
            escalated.get_body(("plain",)).get_content(),
        ).group(1)
        page = urllib.request.urlopen(f"http://127.0.0.1:{web_port}{link}", timeout=30)
        assert page.status == 200 and reference in page.read().decode()
        # The Prefect UI calls the API on the port in use, not the default 4200.
        ui = urllib.request.urlopen(f"http://127.0.0.1:{prefect_port}/ui-settings", timeout=30)
        assert json.load(ui)["api_url"] == f"http://127.0.0.1:{prefect_port}/api"
    finally:
        os.killpg(service.pid, signal.SIGINT)  # Ctrl-C in the terminal
        started = time.monotonic()
        returncode = service.wait(timeout=180)  # a loaded 2-core CI is slow to stop
    output, errors = out.read_text(), err.read_text()
    assert returncode == 0, errors
    assert time.monotonic() - started < 150
    assert "never awaited" not in errors and "Traceback" not in errors
    for address in (
        f"http://127.0.0.1:{web_port}/raise",
        f"Prefect UI:      http://127.0.0.1:{prefect_port}",
        f"smtp://127.0.0.1:{capture_port}",
    ):
        assert address in output
    assert "paused 3 deployments" in output
    # Every deployment paused, and no run of theirs left scheduled, pending ("Submitting") or
    # running: read from the stopped Prefect server's own database.
    with sqlite3.connect(tmp_path / "prefect" / "prefect.db") as prefect_db:
        paused = dict(prefect_db.execute("SELECT name, paused FROM deployment"))
        unfinished = prefect_db.execute(
            "SELECT state_type, state_name FROM flow_run WHERE deployment_id IS NOT NULL"
            " AND state_type IN ('SCHEDULED', 'PENDING', 'RUNNING', 'CANCELLING')"
        ).fetchall()
    assert paused == {"escalation-sweep": 1, "deliver-notifications": 1, "board-digest": 1}
    assert unfinished == []
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True)
    assert leftovers.stdout.strip() == "", "child processes were left running"
    engine = make_engine(env["ESCALATION_DATABASE_URL"])
    with engine.connect() as connection:
        beat = connection.execute(select(Heartbeat).where(Heartbeat.name == SWEEP)).one()
    engine.dispose()
    assert beat.last_completed_at is not None and beat.detail["escalated"] in (0, 1)


def _wait_for_email(directory: Path, subject: str, timeout: float, service) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert service.poll() is None, "escalation serve exited early"
        for path in sorted(directory.glob("*.eml")) if directory.exists() else []:
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            if subject in message["Subject"]:
                return message
        time.sleep(1)
    raise AssertionError(f"no email {subject!r} within {timeout} s")
