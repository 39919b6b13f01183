"""The systemd units in scripts/production/systemd/: what they run exists in this checkout and is
executable, the worker's stop lets the longest run finish, the health check runs every minute,
the example settings files define what the scripts require, and `systemd-analyze verify`
accepts them (where that binary exists)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from escalation.settings import Settings
from tests.factories import ROOT

UNITS = Path(ROOT) / "scripts" / "production" / "systemd"
INSTALLED = "/srv/escalation"  # where the units expect the checkout (README "Production")
SERVICES = sorted(UNITS.glob("*.service"))


def parse(path: Path) -> dict[str, dict[str, list[str]]]:
    """A unit file as {section: {key: [values, in order]}} (keys such as EnvironmentFile repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, equals, value = line.partition("=")
        assert equals, f"{path.name}: not key=value: {line!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def seconds(span: str) -> float:
    """A systemd time span such as 12min, 90s, 1min 30s or 45."""
    units = {"": 1, "s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600}
    parts = re.findall(r"(\d+)\s*([a-z]*)", span)
    assert parts, span
    return sum(int(number) * units[unit] for number, unit in parts)


def in_checkout(path: str) -> Path:
    assert path.startswith(INSTALLED + "/"), path
    return Path(ROOT) / path.removeprefix(INSTALLED + "/")


def test_the_units_are_the_four_services_and_the_timer():
    names = sorted(path.name for path in UNITS.glob("*.service")) + [
        path.name for path in UNITS.glob("*.timer")
    ]
    assert names == [
        "escalation-health.service",
        "escalation-web.service",
        "escalation-worker@.service",
        "prefect-server.service",
        "escalation-health.timer",
    ]


@pytest.mark.parametrize("path", SERVICES, ids=lambda path: path.name)
def test_each_service_runs_an_executable_of_this_checkout_as_the_service_user(path):
    service = parse(path)["Service"]
    [command] = service["ExecStart"]
    target = in_checkout(command.split()[0])
    assert target.is_file() and os.access(target, os.X_OK), target
    assert service["User"] == ["escalation"]
    assert service["WorkingDirectory"] == [INSTALLED]
    for environment in service["EnvironmentFile"]:
        assert re.fullmatch(r"-?/etc/escalation/[a-z-]+\.env", environment), environment
    if service["Type"] != ["oneshot"]:
        assert service["Restart"] == ["on-failure"]
        assert parse(path)["Install"]["WantedBy"] == ["multi-user.target"]


def test_stopping_a_worker_signals_it_alone_and_waits_for_the_longest_run():
    worker = parse(UNITS / "escalation-worker@.service")["Service"]
    assert worker["KillMode"] == ["mixed"]  # SIGTERM to the worker, not to its flow runs
    assert worker.get("KillSignal", ["SIGTERM"]) == ["SIGTERM"]
    longest_delivery = Settings.model_fields["delivery_max_run_seconds"].default
    assert seconds(worker["TimeoutStopSec"][0]) >= longest_delivery + 60
    script = in_checkout(worker["ExecStart"][0]).read_text()
    assert "exec .venv/bin/python -m flows.worker" in script  # the clean-stop worker


def test_the_health_check_runs_every_minute_with_the_alarm():
    timer = parse(UNITS / "escalation-health.timer")
    assert timer["Timer"]["OnCalendar"] == ["minutely"]
    assert seconds(timer["Timer"]["AccuracySec"][0]) <= 5
    assert timer["Install"]["WantedBy"] == ["timers.target"]
    service = parse(UNITS / "escalation-health.service")["Service"]
    assert service["Type"] == ["oneshot"]
    assert service["ExecStart"] == [f"{INSTALLED}/.venv/bin/escalation health --alarm"]
    assert seconds(service["TimeoutStartSec"][0]) < 60  # one check never overlaps the next


@pytest.mark.parametrize("path", SERVICES, ids=lambda path: path.name)
def test_the_example_settings_define_what_the_script_requires(path):
    service = parse(path)["Service"]
    script = in_checkout(service["ExecStart"][0].split()[0])
    if script.parent.name != "production":
        return  # the health check: escalation's own settings
    required = set(re.findall(r'^: "\$\{([A-Z_]+):\?', script.read_text(), re.M))
    defined = set()
    for environment in service["EnvironmentFile"]:
        example = UNITS / (Path(environment.lstrip("-")).name + ".example")
        if example.exists():
            defined |= set(re.findall(r"^([A-Z_]+)=", example.read_text(), re.M))
    assert required and required <= defined, required - defined


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="no systemd-analyze here")
def test_systemd_analyze_verify_accepts_the_units(tmp_path):
    """On copies pointing at this checkout (verify checks that each command exists)."""
    for unit in [*SERVICES, *UNITS.glob("*.timer")]:
        (tmp_path / unit.name).write_text(unit.read_text().replace(INSTALLED, ROOT))
    verified = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *sorted(p.name for p in tmp_path.iterdir())],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verified.returncode == 0, verified.stderr
    assert not [line for line in verified.stderr.splitlines() if str(tmp_path) in line]
