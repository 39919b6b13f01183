"""Production refuses unsafe settings at start (escalation.settings.require_safe): demo mode only
on a loopback, SQLite, local-capture set-up; outside it, an https public base URL (plain http only
for a loopback address). Every entry point that serves or sends applies the rule: the web app
factory, `escalation serve`, the delivery of the outbox, and the demo pages themselves."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from escalation import cli, runtime
from escalation.settings import (
    Settings,
    UnsafeSettings,
    get_settings,
    require_safe,
    unsafe_setting,
)
from escalation.store.db import session_factory
from escalation.web.app import create_app

HTTPS = "https://disagreements.example.org"
RELAY = "smtp+starttls://mailer:s3cret-relay-pass@relay.example.org:587"
POSTGRES = "postgresql+psycopg://app:s3cret-db-pass@db.example.org/escalation"
LOOPBACK_CLIENT = ("127.0.0.1", 50000)


def settings(**values) -> Settings:
    """Settings as given, whatever the environment holds for these fields."""
    defaults = {
        "demo": False,
        "public_base_url": None,
        "smtp_url": None,
        "database_url": "sqlite:///./var/escalation.db",
        "mail_capture_port": 8025,
        "web_port": 8000,
    }
    return Settings(**{**defaults, **values})


@pytest.fixture
def environment(monkeypatch, tmp_path):
    """Set ESCALATION_* variables for the code under test (settings re-read), restored after."""
    for name in ("DEMO", "PUBLIC_BASE_URL", "SMTP_URL", "DATABASE_URL"):
        monkeypatch.delenv(f"ESCALATION_{name}", raising=False)
    monkeypatch.setenv("ESCALATION_MAIL_DIR", str(tmp_path / "mail"))

    def set_environment(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"ESCALATION_{name.upper()}", value)
        get_settings.cache_clear()
        runtime.sessions.cache_clear()

    yield set_environment
    get_settings.cache_clear()
    runtime.sessions.cache_clear()


# The rule itself.


def test_demo_mode_is_refused_with_an_https_public_base_url():
    problem = unsafe_setting(settings(demo=True, public_base_url=HTTPS))
    assert problem.startswith("ESCALATION_DEMO=true needs ESCALATION_PUBLIC_BASE_URL on loopback")
    assert "https://disagreements.example.org" in problem


def test_demo_mode_is_refused_with_a_public_http_address():
    problem = unsafe_setting(settings(demo=True, public_base_url="http://10.0.0.5:8000"))
    assert "ESCALATION_PUBLIC_BASE_URL" in problem


def test_demo_mode_is_refused_with_a_real_smtp_relay():
    problem = unsafe_setting(settings(demo=True, smtp_url=RELAY))
    assert problem.startswith("ESCALATION_DEMO=true needs ESCALATION_SMTP_URL unset")
    assert "s3cret" not in problem


def test_demo_mode_is_refused_with_a_relay_on_loopback_other_than_the_capture():
    assert "ESCALATION_SMTP_URL" in unsafe_setting(
        settings(demo=True, smtp_url="smtp://127.0.0.1:25")
    )


def test_demo_mode_is_refused_on_postgresql():
    problem = unsafe_setting(settings(demo=True, database_url=POSTGRES))
    assert problem.startswith("ESCALATION_DEMO=true needs SQLite, not postgresql")
    assert "ESCALATION_DATABASE_URL" in problem and "s3cret" not in problem


def test_demo_mode_is_refused_when_the_database_really_used_is_postgresql():
    assert "needs SQLite" in unsafe_setting(settings(demo=True), database="postgresql")


def test_demo_mode_runs_on_loopback_sqlite_and_the_local_capture():
    assert unsafe_setting(settings(demo=True)) is None
    assert settings(demo=True, web_port=8123).public_base_url == "http://127.0.0.1:8123"
    # `escalation serve` points its children at the capture it started:
    assert unsafe_setting(settings(demo=True, smtp_url="smtp://127.0.0.1:8025")) is None
    assert unsafe_setting(settings(demo=True, public_base_url="http://localhost:9000")) is None


def test_outside_demo_mode_a_missing_public_base_url_is_refused_naming_the_setting():
    problem = unsafe_setting(settings())
    assert problem.startswith("ESCALATION_PUBLIC_BASE_URL is not set")
    assert "\n" not in problem


@pytest.mark.parametrize(
    "url",
    [
        "http://disagreements.example.org",
        "http://10.0.0.5:8000",
        "http://192.168.1.20",
        "http://[::2]",
    ],
)
def test_outside_demo_mode_plain_http_is_refused_unless_loopback(url):
    problem = unsafe_setting(settings(public_base_url=url))
    assert problem.startswith("ESCALATION_PUBLIC_BASE_URL must be https")


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8000", "http://127.8.9.10", "http://localhost:8000", "http://[::1]:8000"],
)
def test_outside_demo_mode_plain_http_is_allowed_for_a_loopback_address(url):
    assert unsafe_setting(settings(public_base_url=url)) is None


def test_outside_demo_mode_an_https_public_base_url_is_allowed_with_a_relay_and_postgresql():
    assert unsafe_setting(settings(public_base_url=HTTPS)) is None
    assert (
        unsafe_setting(
            settings(public_base_url=f"{HTTPS}/rpd", smtp_url=RELAY, database_url=POSTGRES)
        )
        is None
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://user:pw-s3cret@disagreements.example.org",
        "https://disagreements.example.org/?x=1",
        "https://disagreements.example.org/#top",
        "disagreements.example.org",
        "ftp://disagreements.example.org",
        "https://",
    ],
)
def test_a_public_base_url_that_cannot_prefix_links_is_refused_without_echoing_secrets(url):
    problem = unsafe_setting(settings(public_base_url=url))
    assert problem.startswith("ESCALATION_PUBLIC_BASE_URL must")
    assert "s3cret" not in problem


def test_require_safe_raises_one_plain_line():
    with pytest.raises(UnsafeSettings, match="^ESCALATION_PUBLIC_BASE_URL is not set"):
        require_safe(settings())


# Every entry point that serves or sends.


def test_the_web_app_factory_refuses_demo_mode_with_an_https_public_base_url(environment, sessions):
    environment(demo="true", public_base_url=HTTPS)
    with pytest.raises(UnsafeSettings, match="ESCALATION_PUBLIC_BASE_URL"):
        create_app(sessions)


def test_the_web_app_factory_refuses_a_missing_public_base_url(environment, sessions):
    environment()
    with pytest.raises(UnsafeSettings, match="^ESCALATION_PUBLIC_BASE_URL is not set"):
        create_app(sessions)


def test_the_web_app_factory_refuses_demo_mode_on_postgresql_sessions(environment):
    environment(demo="true")
    postgres = session_factory(create_engine(POSTGRES))  # never connects: refused before
    with pytest.raises(UnsafeSettings, match="needs SQLite, not postgresql"):
        create_app(postgres)


def test_the_web_app_factory_falls_back_to_the_settings_database_for_opaque_sessions(environment):
    environment(demo="true", database_url=POSTGRES)
    with pytest.raises(UnsafeSettings, match="needs SQLite, not postgresql"):
        create_app(object())


def test_delivery_refuses_to_send_links_to_a_public_http_address(environment):
    environment(public_base_url="http://disagreements.example.org")
    with pytest.raises(UnsafeSettings, match="ESCALATION_PUBLIC_BASE_URL must be https"):
        runtime.delivery()


def test_delivery_refuses_demo_mode_with_a_real_relay(environment):
    environment(demo="true", smtp_url=RELAY)
    with pytest.raises(UnsafeSettings, match="ESCALATION_SMTP_URL"):
        runtime.delivery()


def _command(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """Run `escalation ARGS` in this process as the installed command does."""
    monkeypatch.setattr(sys, "argv", ["escalation", *args])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    out, err = capsys.readouterr()
    return exit_.value.code, out, err


def test_escalation_serve_without_a_public_base_url_prints_one_line_and_touches_nothing(
    environment, monkeypatch, capsys, tmp_path
):
    database = tmp_path / "escalation.db"
    environment(database_url=f"sqlite:///{database}")
    code, out, err = _command(monkeypatch, capsys, "serve")
    assert code == 1 and out == ""
    assert err.startswith("error: ESCALATION_PUBLIC_BASE_URL is not set")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not database.exists()  # refused before `init`


def test_escalation_serve_in_demo_mode_with_a_relay_prints_one_line(
    environment, monkeypatch, capsys
):
    environment(demo="true", smtp_url=RELAY)
    code, _, err = _command(monkeypatch, capsys, "serve")
    assert code == 1 and err.startswith("error: ESCALATION_DEMO=true needs ESCALATION_SMTP_URL")
    assert err.count("\n") == 1 and "s3cret" not in err


def test_escalation_deliver_with_a_public_http_address_prints_one_line(
    environment, monkeypatch, capsys
):
    environment(public_base_url="http://disagreements.example.org")
    code, _, err = _command(monkeypatch, capsys, "deliver", "--direct")
    assert code == 1 and err.startswith("error: ESCALATION_PUBLIC_BASE_URL must be https")
    assert err.count("\n") == 1


def _worker_check(**values: str) -> subprocess.CompletedProcess:
    """`python -m escalation.settings`, as scripts/production/worker runs it before starting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESCALATION_")}
    env.update({f"ESCALATION_{name.upper()}": value for name, value in values.items()})
    return subprocess.run(
        [sys.executable, "-m", "escalation.settings"],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_worker_check_exits_with_one_line_naming_the_setting():
    result = _worker_check(demo="true", database_url=POSTGRES)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ESCALATION_DEMO=true needs SQLite")
    assert result.stderr.count("\n") == 1


def test_the_worker_check_passes_safe_settings():
    result = _worker_check(public_base_url=HTTPS, smtp_url=RELAY, database_url=POSTGRES)
    assert (result.returncode, result.stderr) == (0, "")


# The demo pages check again on every request (defence in depth).

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@SQLITE_ONLY
def test_demo_pages_are_shown_only_to_a_loopback_client(environment, sessions):
    environment(demo="true")
    app = create_app(sessions)
    with TestClient(app, client=LOOPBACK_CLIENT) as local:
        assert local.get("/demo/mail").status_code == 200
        assert local.get("/demo/authenticator").status_code == 200
    with TestClient(app, client=("203.0.113.9", 50000)) as remote:
        assert remote.get("/demo/mail").status_code == 404
        assert remote.get("/demo/authenticator").status_code == 404


@SQLITE_ONLY
def test_demo_pages_go_dark_when_the_set_up_is_no_longer_safe(environment, sessions):
    environment(demo="true")
    app = create_app(sessions)
    environment(smtp_url=RELAY)  # the settings change under a running app
    with TestClient(app, client=LOOPBACK_CLIENT) as local:
        assert local.get("/demo/mail").status_code == 404
        assert local.get("/demo/authenticator").status_code == 404


def test_demo_pages_are_never_served_from_postgresql(environment, postgres_url):
    postgres = session_factory(create_engine(postgres_url))
    environment(public_base_url="http://127.0.0.1:8000")
    app = create_app(postgres)  # demo off: starts
    environment(demo="true")  # turned on under the running app
    with TestClient(app, client=LOOPBACK_CLIENT) as local:
        assert local.get("/demo/mail").status_code == 404
        assert local.get("/demo/authenticator").status_code == 404
    with pytest.raises(UnsafeSettings, match="needs SQLite, not postgresql"):
        create_app(postgres)
    postgres.kw["bind"].dispose()


# The delivery run's settings reach the sender the workers build.


def test_the_delivery_settings_reach_the_workers_sender(environment):
    environment(
        public_base_url=HTTPS,
        smtp_url="smtp://127.0.0.1:2525",
        delivery_batch_size="50",
        delivery_lease_seconds="90",
        delivery_max_run_seconds="300",
        permanent_failure_limit="3",
        ops_token="webhook-secret",
    )
    sender = runtime.delivery()
    assert (sender.batch_size, sender.lease.total_seconds()) == (50, 90)
    assert (sender.max_run_seconds, sender.permanent_failure_limit) == (300, 3)
    assert get_settings().ops_token == "webhook-secret"


def test_the_delivery_defaults():
    defaults = settings()
    assert (defaults.delivery_batch_size, defaults.delivery_lease_seconds) == (200, 120)
    assert (defaults.delivery_max_run_seconds, defaults.permanent_failure_limit) == (600, 5)
