"""What `escalation serve` tells a person is true: the Prefect UI is pointed at the port in use,
the printed addresses come from the settings, and the README's table names every setting; and it
refuses to register its deployments on what looks like a production Prefect server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from escalation.serve import (
    PRODUCTION_POOL,
    addresses,
    prefect_server_env,
    refuse_production_prefect,
)
from escalation.settings import Settings, UnsafeSettings
from tests.factories import ROOT

ESCALATION = str(Path(sys.executable).with_name("escalation"))
UNUSED = {"link_grace_hours"}  # read by nothing yet; the last test fails once something does


def test_the_prefect_ui_is_told_the_api_port_in_use(monkeypatch):
    monkeypatch.delenv("PREFECT_SERVER_UI_API_URL", raising=False)
    monkeypatch.delenv("PREFECT_UI_API_URL", raising=False)
    env = prefect_server_env(4321)
    assert env["PREFECT_SERVER_API_PORT"] == "4321"
    assert env["PREFECT_SERVER_UI_API_URL"] == "http://127.0.0.1:4321/api"


def test_a_ui_api_url_set_by_hand_is_kept(monkeypatch):
    monkeypatch.setenv("PREFECT_SERVER_UI_API_URL", "https://prefect.example.org/api")
    assert (
        prefect_server_env(4321)["PREFECT_SERVER_UI_API_URL"] == "https://prefect.example.org/api"
    )


def test_the_printed_addresses_are_the_settings_in_use(monkeypatch):
    monkeypatch.delenv("ESCALATION_PUBLIC_BASE_URL")  # demo mode's own default, then
    settings = Settings(
        demo=True, web_port=8111, prefect_port=4333, mail_capture_port=8333, mail_dir="var/m"
    )
    shown = addresses(settings, "http://127.0.0.1:4333/api")
    assert "http://127.0.0.1:8111/raise" in shown
    assert "captured emails: http://127.0.0.1:8111/demo/mail" in shown
    assert "Prefect UI:      http://127.0.0.1:4333\n" in shown
    assert "smtp://127.0.0.1:8333 -> var/m/*.eml" in shown
    assert "emailed links:   http://127.0.0.1:8111 " in shown
    assert not re.search(r":(8000|4200|8025)\b", shown)


def test_no_demo_mail_page_and_no_capture_line_outside_demo_with_a_relay():
    settings = Settings(
        public_base_url="https://disagreements.example.org", smtp_url="smtp://127.0.0.1:25"
    )
    shown = addresses(settings, "http://10.0.0.5:4200/api")
    assert "/demo/mail" not in shown and "mail capture" not in shown
    assert "Prefect UI:      http://10.0.0.5:4200\n" in shown
    assert "emailed links:   https://disagreements.example.org " in shown


def test_the_readme_lists_every_setting_with_its_default():
    readme = (Path(ROOT) / "README.md").read_text()
    table = readme.split("### Settings", 1)[1].split("\n\n| setting |", 1)[1].split("\n\n")[0]
    rows = {
        match.group(1): match.group(2)
        for match in re.finditer(r"^\| `ESCALATION_([A-Z_]+)` \| ([^|]+) \|", table, re.M)
    }
    fields = {name.upper() for name in Settings.model_fields} - {n.upper() for n in UNUSED}
    assert set(rows) == fields
    for name, field in Settings.model_fields.items():
        if name.upper() in rows and isinstance(field.default, (int, str)):
            assert str(field.default).lower() in rows[name.upper()].lower(), name
    code = "".join(
        path.read_text()
        for package in ("escalation", "flows")
        for path in (Path(ROOT) / package).rglob("*.py")
        if path.name != "settings.py"
    )
    assert not [name for name in UNUSED if f".{name}" in code], "used now: add it to the README"


REMOTE = "http://10.0.0.5:4200/api"


def test_serve_refuses_a_prefect_server_on_another_machine(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ESCALATION_"))},
        "PREFECT_API_URL": REMOTE,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "ESCALATION_DATABASE_URL": f"sqlite:///{tmp_path}/escalation.db",
        "ESCALATION_PUBLIC_BASE_URL": "http://127.0.0.1:8000",
    }
    served = subprocess.run(
        [ESCALATION, "serve"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert served.returncode == 1
    assert served.stderr.strip().splitlines() == [
        "error: PREFECT_API_URL names 10.0.0.5, not this machine: `escalation serve` would "
        "register its own deployments there; unset PREFECT_API_URL, or set "
        "ESCALATION_SERVE_CONFIRM_PREFECT_URL to the same URL if that is meant"
    ]
    assert not (tmp_path / "prefect").exists()  # refused before anything started


def test_the_override_must_repeat_the_very_url():
    refuse_production_prefect(REMOTE, REMOTE + "/")
    refuse_production_prefect(None, None)  # serve starts its own server
    with pytest.raises(UnsafeSettings, match="names 10.0.0.5"):
        refuse_production_prefect(REMOTE, "http://10.0.0.6:4200/api")


def test_serve_refuses_a_loopback_prefect_server_with_the_production_pool(prefect_api):
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    refuse_production_prefect(prefect_api, None)  # a loopback server without it: fine
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name=PRODUCTION_POOL, type="process"))
        try:
            with pytest.raises(UnsafeSettings, match="already has the production work pool"):
                refuse_production_prefect(prefect_api, None)
            refuse_production_prefect(prefect_api, prefect_api)
        finally:
            client.delete_work_pool(PRODUCTION_POOL)
