"""Migrations create the schema from nothing and are safe to run twice; the sweep's question
is answered from the due-time index, not by reading every open disagreement."""

import uuid

import pytest
from sqlalchemy import create_engine, inspect, text

from escalation.casework import disagreements as d
from escalation.casework.sweep import due_claim, reminder_claim
from escalation.store.db import make_engine, transaction
from escalation.store.schema import upgrade
from tests.databases import POSTGRES, POSTGRES_URL, with_search_path
from tests.factories import utc


def _newest() -> str:
    """The newest migration's revision (each adds one on top of the last: a single head)."""
    from alembic.script import ScriptDirectory

    from escalation.store.schema import alembic_config

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _fresh_urls(tmp_path):
    yield f"sqlite:///{tmp_path}/fresh.db"
    if POSTGRES:
        schema = f"escalation_fresh_{uuid.uuid4().hex[:8]}"
        admin = create_engine(POSTGRES_URL)
        with admin.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        try:
            yield with_search_path(POSTGRES_URL, schema)
        finally:
            with admin.begin() as connection:
                connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()


def test_upgrade_from_nothing_twice(tmp_path):
    checked = 0
    for url in _fresh_urls(tmp_path):
        engine = make_engine(url)
        upgrade(engine)
        upgrade(engine)
        tables = set(inspect(engine).get_table_names())
        assert {
            "disagreements",
            "events",
            "people",
            "chain_anchors",
            "anchor_entries",
            "outbox",
            "link_tokens",
            "alerts",
            "heartbeats",
            "api_keys",
            "web_sessions",
            "alembic_version",
        } <= tables
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT version_num FROM alembic_version")) == _newest()
        indexes = {index["name"] for index in inspect(engine).get_indexes("disagreements")}
        assert {"ix_disagreements_actionable_due", "ix_disagreements_status_remind"} <= indexes
        engine.dispose()
        checked += 1
    assert checked == (2 if POSTGRES else 1)


SWEEP_QUERIES = {
    "due": (lambda now: d.due_query(now=now), "due_at"),
    "due claim": (lambda now: due_claim(now, {7}), "due_at"),
    "reminder claim": (lambda now: reminder_claim(now, set()), "remind_at"),
}


def _plan(engine, query) -> str:
    """The database's plan for `query`, as one line of text (sequential scans discouraged on
    PostgreSQL, whose small test tables would otherwise be scanned)."""
    statement = str(query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}").all()
            return " ".join(str(row[-1]) for row in plan)
        connection.exec_driver_sql("SET enable_seqscan = off")
        return " ".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {statement}"))


@pytest.mark.parametrize("name", SWEEP_QUERIES)
def test_the_sweep_queries_are_index_range_searches(engine, name):
    build, column = SWEEP_QUERIES[name]
    detail = _plan(engine, build(utc(2026, 11, 30, 17)))
    # A range search through an index, never a scan of every open row, never a sort of them.
    assert "ix_disagreements_" in detail and column in detail, detail
    assert "SCAN disagreements" not in detail and "Seq Scan" not in detail, detail
    assert "TEMP B-TREE" not in detail and "Sort" not in detail, detail


def test_sqlite_runs_in_wal_with_foreign_keys_and_a_busy_timeout(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/var/escalation.db")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    engine.dispose()


def test_a_utc_column_refuses_naive_datetimes(sessions):
    from datetime import datetime

    from sqlalchemy.exc import StatementError

    from escalation.store.models import PolicyVersion

    with pytest.raises(StatementError, match="naive datetime"), transaction(sessions) as session:
        session.add(
            PolicyVersion(
                policy_id="x",
                version="1",
                digest="d",
                document={},
                recorded_at=datetime(2026, 11, 24, 10),
            )
        )


@pytest.mark.parametrize("name", ["due", "due claim", "idle question"])
def test_the_due_question_reads_its_own_index(engine, name):
    """Not ix_disagreements_status_due, which walks every open row past its deadline (those
    flagged at the final stage, those ending) before finding nothing due."""
    from escalation.casework.sweep import anything_query

    builds = {key: build for key, (build, _column) in SWEEP_QUERIES.items()}
    build = {**builds, "idle question": anything_query}[name]
    detail = _plan(engine, build(utc(2026, 11, 30, 17)))
    assert "ix_disagreements_actionable_due" in detail, detail
    assert "ix_disagreements_status_due" not in detail, detail
