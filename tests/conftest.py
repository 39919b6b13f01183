"""Shared fixtures. Helpers and invented data live in plain modules (factories, board_helpers,
web_helpers, outbox_helpers, browser_helpers), never in test modules.

Test databases: every test that takes `sessions` runs on SQLite and, when it is reachable,
on PostgreSQL. In CI (CI=true) PostgreSQL is required, not skipped.

SQLite: the schema is migrated once into a template file, copied for each test.
PostgreSQL: the schema is migrated once into a private schema, emptied between tests through
one engine kept for the session (databases.PostgresSchema). Under pytest-xdist each worker is
its own session: its own template, schema, Prefect home and harness.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import time

# Prefect keeps state (and result caches) under PREFECT_HOME: a fresh one per test session.
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="prefect-test-")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_RESULTS_PERSIST_BY_DEFAULT", "false")
# Outside demo mode the service refuses to start without a public base URL (escalation.settings):
# the tests serve and send on loopback.
os.environ.setdefault("ESCALATION_PUBLIC_BASE_URL", "http://127.0.0.1:8000")

import pytest  # noqa: E402

from escalation.store.db import make_engine, session_factory  # noqa: E402
from escalation.store.schema import upgrade  # noqa: E402
from tests.databases import (  # noqa: E402
    BACKENDS,
    POSTGRES,
    POSTGRES_URL,
    ModuleDatabase,
    PostgresSchema,
)
from tests.factories import MONDAY, ORIGIN, load_directory  # noqa: E402

IN_CI = os.environ.get("CI", "").lower() == "true"

if IN_CI and not POSTGRES:
    raise pytest.UsageError(f"CI=true but PostgreSQL is not reachable at {POSTGRES_URL}")


def pytest_configure(config):
    if not hasattr(config, "workerinput"):  # the main process: xdist's workers inherit it
        os.environ.setdefault("ESCALATION_TEST_RUN_STARTED", repr(time.time()))


def pytest_collection_modifyitems(items):
    """The slow tests first (a stable sort: otherwise the order is unchanged)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


# --- databases -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_database():
    """The session's private PostgreSQL schema (see PostgresSchema)."""
    if not POSTGRES:
        pytest.skip("PostgreSQL is not reachable")
    schema = PostgresSchema()
    yield schema
    schema.drop()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "escalation.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    return request.getfixturevalue("postgres_database").empty()


@pytest.fixture
def postgres_url(postgres_database):
    """An empty PostgreSQL database, for tests about PostgreSQL only."""
    return postgres_database.empty()


@pytest.fixture(scope="session")
def spare_postgres_database():
    """A second private schema, for module-scoped fixtures that keep a database of their own
    while the tests around them empty the first."""
    if not POSTGRES:
        pytest.skip("PostgreSQL is not reachable")
    schema = PostgresSchema()
    yield schema
    schema.drop()


@pytest.fixture(scope="module", params=BACKENDS)
def module_database(request, tmp_path_factory):
    """A database (one per backend) for what a module builds once and shares between its tests,
    while the tests around them empty the usual one. One module at a time holds the spare
    PostgreSQL schema."""
    if request.param == "sqlite":
        database = ModuleDatabase(
            template=request.getfixturevalue("sqlite_template"),
            directory=tmp_path_factory.mktemp("module"),
        )
    else:
        database = ModuleDatabase(postgres=request.getfixturevalue("spare_postgres_database"))
    yield database
    database.close()


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine):
    return session_factory(engine)


@pytest.fixture
def directory(sessions):
    """The sessions, with the invented directory (factories.DIRECTORY_CSV) loaded."""
    load_directory(sessions)
    return sessions


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


# --- the web app through FastAPI's test client ---------------------------------------------------


@pytest.fixture
def clock():
    """The app's clock: set clock["now"] to move it (Monday 23 November 2026, 10:00 GMT)."""
    return {"now": MONDAY}


@pytest.fixture
def client(sessions, clock):
    """A test client of the app on `sessions` (directory loaded), sending the default Origin."""
    from fastapi.testclient import TestClient

    from escalation.web.app import create_app

    load_directory(sessions)
    app = create_app(sessions, clock=lambda: clock["now"])
    with TestClient(app, headers={"Origin": ORIGIN}) as test_client:
        yield test_client


@pytest.fixture
def key(sessions, client):
    """An API key of Example Trust (example-partnership)."""
    from escalation.access import apikeys
    from escalation.store.db import transaction

    with transaction(sessions) as session:
        return apikeys.create_key(
            session, organisation="Example Trust", partnership="example-partnership", now=MONDAY
        )


# --- Prefect -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def prefect_api():
    """One Prefect test harness (a real API server on loopback) for the whole session, started
    only if a test asks for it (under pytest-xdist, once per worker that runs such a test);
    heartbeats off (they add ~1 s to every flow run)."""
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        temporary_settings,
    )
    from prefect.testing.utilities import prefect_test_harness

    with (
        prefect_test_harness(server_startup_timeout=120),
        temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
    ):
        yield PREFECT_API_URL.value()


# --- the browser (Debian's Chromium through Playwright; see browser_helpers) ---------------------


@pytest.fixture(scope="session")
def screenshots():
    """var/screenshots/, without the screenshots of earlier runs (under pytest-xdist the workers
    share it, so each removes only what is older than the run)."""
    from tests.browser_helpers import SHOTS

    started = float(os.environ.get("ESCALATION_TEST_RUN_STARTED", time.time()))
    SHOTS.mkdir(parents=True, exist_ok=True)
    for shot in SHOTS.iterdir():
        with contextlib.suppress(FileNotFoundError):  # another worker's removal came first
            if shot.stat().st_mtime < started:
                shot.unlink()
    return SHOTS


@pytest.fixture
def site(sessions, monkeypatch, tmp_path):
    """The app on a free loopback port, with its public base URL pointing there (on SQLite demo
    mode on, its captured-email viewer reading one invented email; demo mode never runs on
    PostgreSQL)."""
    import uvicorn

    from escalation.settings import get_settings
    from escalation.web.app import create_app
    from escalation.web.demo import database_of
    from tests.browser_helpers import NOW
    from tests.smtp_server import free_port

    port = free_port()
    monkeypatch.setenv("ESCALATION_PUBLIC_BASE_URL", f"http://127.0.0.1:{port}")
    if database_of(sessions) == "sqlite":
        monkeypatch.setenv("ESCALATION_DEMO", "true")
    monkeypatch.setenv("ESCALATION_MAIL_DIR", str(tmp_path))
    (tmp_path / "20261123T100000000000-000001.eml").write_bytes(
        b"To: hana.visitor@trust.example\r\nSubject: RPD-TEST-0001: you now own stage 1\r\n"
        b"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\nOpen it here:\r\nhttp://127.0.0.1/l/x\r\n"
    )
    get_settings.cache_clear()
    load_directory(sessions)
    app = create_app(sessions, clock=lambda: NOW)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    get_settings.cache_clear()


@pytest.fixture
def page(screenshots):
    """A tab in a fresh Chromium, the pages' Content Security Policy enforced (axe-core is run
    through DevTools, which the policy does not govern); anything the policy refuses fails."""
    from playwright.sync_api import sync_playwright

    from tests.browser_helpers import CHROMIUM

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        tab = browser.new_page()
        refused: list[str] = []  # what the page's Content Security Policy refused, on any page
        tab.on(
            "console",
            lambda message: (
                refused.append(message.text)
                if message.type == "error" and "Content Security Policy" in message.text
                else None
            ),
        )
        yield tab
        browser.close()
    assert refused == [], f"the Content Security Policy refused: {refused}"
