"""Test databases: every test that takes `sessions` runs on SQLite and, when it is reachable,
on PostgreSQL. In CI (CI=true) PostgreSQL is required, not skipped.

SQLite: the schema is migrated once into a template file, copied for each test.
PostgreSQL: the schema is migrated once into a private schema, truncated between tests
(TRUNCATE does not fire the chronology's append-only row triggers).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid

# Prefect keeps state (and result caches) under PREFECT_HOME: a fresh one per test session.
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="prefect-test-")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_RESULTS_PERSIST_BY_DEFAULT", "false")
# Outside demo mode the service refuses to start without a public base URL (escalation.settings):
# the tests serve and send on loopback.
os.environ.setdefault("ESCALATION_PUBLIC_BASE_URL", "http://127.0.0.1:8000")

import pytest  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from escalation.store.db import make_engine, session_factory  # noqa: E402
from escalation.store.schema import upgrade  # noqa: E402

POSTGRES_URL = os.environ.get(
    "ESCALATION_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"


def _postgres_reachable() -> bool:
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


POSTGRES = _postgres_reachable()
if IN_CI and not POSTGRES:
    raise pytest.UsageError(f"CI=true but PostgreSQL is not reachable at {POSTGRES_URL}")

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_schema():
    if not POSTGRES:
        pytest.skip("PostgreSQL is not reachable")
    schema = f"escalation_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    url = _with_search_path(POSTGRES_URL, schema)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def _with_search_path(url: str, schema: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "escalation.store.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_schema")
    _truncate(url)
    return url


@pytest.fixture
def postgres_url(postgres_schema):
    """An empty PostgreSQL database, for tests about PostgreSQL only."""
    _truncate(postgres_schema)
    return postgres_schema


def _truncate(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        tables = (
            "link_sessions, web_sessions, api_keys, link_tokens, outbox, alerts, heartbeats, events, stage_periods, disagreements, "
            "person_roles, people, policy_versions, chain_head"
        )
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        connection.execute(
            text("INSERT INTO chain_head (id, last_event_id, last_hash) VALUES (1, 0, :genesis)"),
            {"genesis": "0" * 64},
        )
    engine.dispose()


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine):
    return session_factory(engine)


@pytest.fixture(scope="session")
def prefect_api():
    """One Prefect test harness (a real API server on loopback) for the whole session, started
    only if a test asks for it; heartbeats off (they add ~1 s to every flow run)."""
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        temporary_settings,
    )
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            yield PREFECT_API_URL.value()


@pytest.fixture
def service_database(database_url, monkeypatch):
    """Point the service's own settings (used by flows and commands) at this test's database."""
    from escalation import runtime
    from escalation.settings import get_settings

    monkeypatch.setenv("ESCALATION_DATABASE_URL", database_url)
    get_settings.cache_clear()
    runtime.sessions.cache_clear()
    yield database_url
    get_settings.cache_clear()
    runtime.sessions.cache_clear()
