"""scripts/production/runtime-role.sql on PostgreSQL: the app's runtime role raises and sweeps as
usual, but cannot rewrite the chronology (UPDATE, DELETE, TRUNCATE on `events` are refused for
want of privilege, not only by the triggers), nor switch its triggers off."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from escalation.casework.chain_audit import verify_chain
from escalation.casework.sweep import run_sweep
from escalation.store.db import make_engine, session_factory, transaction
from escalation.store.models import Event
from tests.factories import MONDAY, ROOT, load_directory, raise_one

SQL = f"{ROOT}/scripts/production/runtime-role.sql"
pytestmark = pytest.mark.skipif(not shutil.which("psql"), reason="psql is not installed")


@pytest.fixture
def runtime_role(postgres_url):
    """A throwaway login role, and a way to apply the SQL for it as the tables' owner."""
    role = f"escalation_rt_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_url)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE ROLE {role} LOGIN"))
    yield role
    with admin.begin() as connection:
        connection.execute(text(f"DROP OWNED BY {role}"))
        connection.execute(text(f"DROP ROLE {role}"))
    admin.dispose()


def apply_grants(owner_url: str, role: str) -> subprocess.CompletedProcess:
    """As the operator runs it: psql, as the owner, with the role as a variable."""
    libpq = make_url(owner_url).set(drivername="postgresql").render_as_string(False)
    return subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", f"runtime_role={role}"]
        + ["-f", SQL, libpq],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_runtime_role_works_but_cannot_alter_the_chronology(postgres_url, runtime_role):
    load_directory(session_factory(make_engine(postgres_url)))
    applied = apply_grants(postgres_url, runtime_role)
    assert applied.returncode == 0, applied.stderr
    runtime_url = make_url(postgres_url).set(username=runtime_role)
    engine = make_engine(runtime_url.render_as_string(False))
    sessions = session_factory(engine)
    try:
        reference = raise_one(sessions, MONDAY)
        summary = run_sweep(sessions, now=MONDAY + timedelta(days=30))
        assert summary.as_dict()["escalated"] == 1, reference
        with transaction(sessions) as session:
            assert session.scalar(select(func.count()).select_from(Event)) >= 2
            assert verify_chain(session).ok
        for statement in (
            "UPDATE events SET kind = kind",
            "DELETE FROM events",
            "TRUNCATE events",
            "ALTER TABLE events DISABLE TRIGGER USER",
            "UPDATE chain_anchors SET heads = heads",
            "DELETE FROM anchor_entries",
            "TRUNCATE chain_anchors CASCADE",
        ):
            with engine.connect() as connection, pytest.raises(Exception) as refused:
                connection.execute(text(statement))
            assert isinstance(refused.value.orig, psycopg.errors.InsufficientPrivilege), statement
    finally:
        engine.dispose()


def test_a_superuser_runtime_role_is_refused(postgres_url, runtime_role):
    admin = create_engine(postgres_url)
    with admin.begin() as connection:
        connection.execute(text(f"ALTER ROLE {runtime_role} SUPERUSER"))
    admin.dispose()
    applied = apply_grants(postgres_url, runtime_role)
    assert applied.returncode != 0
    assert f"role {runtime_role} is a superuser" in applied.stderr
