"""Goal 2's idle part: `run_sweep` with 1,000,000 open disagreements and nothing due, nothing to
remind and nothing to watch, under 20 ms on SQLite and on PostgreSQL.

    .venv/bin/python -m bench.sweep_idle [--open 1000000] [--rounds 7]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test] [--keep] [--rebuild]

The open rows are written by set-based SQL (bench/sweep_setup.populate), then shaped so each
sweep question has rows to skip: every other one has a reminder pending in the future, every
tenth something to watch in the future, and `--flagged` (default 1%) are overdue at the final
stage (deadline passed, already flagged: never due again). Deadlines are in the future.

Building takes 10 s (SQLite) and 20 s (PostgreSQL) here, so the database is kept: the SQLite
file under /tmp/bench_sweep_idle/ (one for each newest migration; reused while its counts
match), the PostgreSQL schema `bench_sweep_idle_<revision>` only with `--keep` (else dropped at
the end, so no 1M-row schema is left behind). `--rebuild` starts again.

Each round times, in turn: one `run_sweep` on a warm engine (the worker runs our flows in its
own process, engine kept), the same transaction in hand-written SQL (`RawIdle`: heartbeat, one
question, heartbeat), and the first `run_sweep` of a new engine (connection and statement cache
cold). Each sweep is a second after the last, long before any deadline. Prints each round, the
median and range (wall and process-CPU ms), where a warm sweep's time goes, statement by
statement (cursor execute and commit timings), and the plans of the idle question and claims.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sqlite3
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import closing, contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import Engine, bindparam, create_engine, event, text

from bench.sweep_setup import NOW, fresh
from escalation.casework.sweep import (
    SweepSummary,
    anything_query,
    due_claim,
    reminder_claim,
    run_sweep,
    watch_claim,
)
from escalation.store.db import UTCDateTime, make_engine, session_factory
from escalation.store.schema import alembic_config, upgrade
from tests.databases import with_search_path

CACHE = Path("/tmp/bench_sweep_idle")
SCHEMA = "bench_sweep_idle"  # and the schema's revision: bench_sweep_idle_0011
GOAL_MS = 20


def shape(engine: Engine, open_count: int, flagged: int) -> None:
    """Reminders and watches pending in the future, and the last `flagged` rows overdue at the
    final stage (flagged, so not due): rows each sweep question must not wade through."""
    later = {
        name: bindparam(name, type_=UTCDateTime()) for name in ("remind", "watch", "past", "flag")
    }
    statements = [
        "UPDATE disagreements SET remind_at = :remind WHERE id % 2 = 0",
        "UPDATE disagreements SET watch_at = :watch WHERE id % 10 = 0",
        "UPDATE disagreements SET due_at = :past, final_stage_overdue_at = :flag, "
        "remind_at = :remind WHERE id > :last",
    ]
    values = {
        "remind": NOW + timedelta(days=5),
        "watch": NOW + timedelta(days=20),
        "past": NOW - timedelta(days=2),
        "flag": NOW - timedelta(days=1),
        "last": open_count - flagged,
    }
    with engine.begin() as connection:
        for sql in statements:
            statement = text(sql).bindparams(*(later[name] for name in later if f":{name}" in sql))
            connection.execute(statement, values)
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")


def _head() -> str:
    """The newest migration: each schema revision has its own cached database (comparing two
    checkouts does not rebuild them in turn)."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def built(engine: Engine, open_count: int, flagged: int) -> bool:
    """Is this database already the bench's (migrated to head first)?"""
    try:
        upgrade(engine)
        with engine.connect() as connection:
            counts = connection.execute(
                text(
                    "SELECT count(*), count(final_stage_overdue_at) FROM disagreements "
                    "WHERE status = 'open'"
                )
            ).one()
    except Exception as error:  # a half-built or stale cache: build again
        print(f"  cache unusable ({type(error).__name__}): rebuilding", flush=True)
        return False
    return tuple(counts) == (open_count, flagged)


def sqlite_database(open_count: int, flagged: int, rebuild: bool) -> str:
    """The URL of the cached SQLite file, built first (into a temporary name) if needed."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"open-{open_count}-flagged-{flagged}-{_head()}.db"
    url = f"sqlite:///{path}"
    if path.exists() and not rebuild:
        engine = make_engine(url)
        usable = built(engine, open_count, flagged)
        engine.dispose()
        if usable:
            print(f"  reusing {path}", flush=True)
            return url
    building = path.with_suffix(".building")
    for stale in CACHE.glob(f"{building.name}*"):
        stale.unlink()
    engine = fresh(f"sqlite:///{building}", open_count)
    shape(engine, open_count, flagged)
    engine.dispose()
    with closing(sqlite3.connect(building)) as connection:  # all in the file, none in the WAL
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for old in CACHE.glob(f"{path.name}*"):
        old.unlink()
    building.rename(path)
    return url


@contextmanager
def postgres_database(postgres_url: str, open_count: int, flagged: int, rebuild: bool, keep: bool):
    """The URL of schema `bench_sweep_idle`, built if needed; dropped afterwards unless `keep`."""
    base = postgres_url.split("?")[0]
    admin = create_engine(base)
    schema = f"{SCHEMA}_{_head()}"
    url = with_search_path(base, schema)
    with admin.begin() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_namespace WHERE nspname = :name"), {"name": schema}
        ).first()
    usable = False
    if exists and not rebuild:
        engine = make_engine(url)
        usable = built(engine, open_count, flagged)
        engine.dispose()
    if usable:
        print(f"  reusing schema {schema}", flush=True)
    else:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
        engine = fresh(url, open_count)
        shape(engine, open_count, flagged)
        engine.dispose()
    try:
        yield url
    finally:
        if not keep:
            with admin.begin() as connection:
                connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
            print(f"  dropped schema {schema}", flush=True)
        admin.dispose()


class Breakdown:
    """Where a sweep's time goes: each statement's cursor time, and the commits'."""

    def __init__(self, engine: Engine) -> None:
        self.on = False
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        dialect = engine.dialect
        for name in ("do_commit", "do_rollback"):
            setattr(
                dialect, name, self._timed(name.removeprefix("do_").upper(), getattr(dialect, name))
            )

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        if self.on:
            self._add(" ".join(statement.split()), time.perf_counter() - conn.info["bench_started"])

    def _timed(self, label: str, method):
        def timed(dbapi_connection):
            started = time.perf_counter()
            try:
                return method(dbapi_connection)
            finally:
                if self.on:
                    self._add(label, time.perf_counter() - started)

        return timed

    def _add(self, label: str, seconds: float) -> None:
        self.seconds[label] += seconds
        self.calls[label] += 1

    def report(self, sweeps: int, wall_ms: float) -> None:
        """Per sweep: each statement's calls and ms, then what is left (Python: ORM, session)."""
        total = 0.0
        for label, seconds in sorted(self.seconds.items(), key=lambda item: -item[1]):
            ms = seconds / sweeps * 1000
            total += ms
            shown = _short(label)
            print(f"    {ms:6.2f} ms  {self.calls[label] / sweeps:4.1f}x  {shown}")
        print(f"    {total:6.2f} ms  in the database driver (statements and commits)")
        print(f"    {wall_ms - total:6.2f} ms  elsewhere (Python: SQLAlchemy, session, the sweep)")


class RawIdle:
    """The baseline: the idle sweep's one transaction in hand-written SQL (heartbeat started;
    anything due, to remind or to watch?; heartbeat completed with its summary)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        instant = bindparam("now", type_=UTCDateTime())
        upsert = (
            "INSERT INTO heartbeats (name, {column}, detail) VALUES ('raw-idle', :now, :detail) "
            "ON CONFLICT (name) DO UPDATE SET {column} = excluded.{column}"
        )
        self.started = text(upsert.format(column="last_started_at")).bindparams(instant)
        self.completed = text(
            upsert.format(column="last_completed_at") + ", detail = excluded.detail"
        ).bindparams(instant)
        questions = [
            "status = 'open' AND resolution_state IS NULL AND final_stage_overdue_at IS NULL "
            "AND due_at <= :now",
            "status = 'open' AND remind_at IS NOT NULL AND remind_at <= :now",
            "status = 'open' AND watch_at IS NOT NULL AND watch_at <= :now",
        ]
        exists = ", ".join(
            f"EXISTS (SELECT 1 FROM disagreements WHERE {where})" for where in questions
        )
        self.question = text(f"SELECT {exists}").bindparams(instant)

    def sweep(self, now) -> None:
        detail = json.dumps(SweepSummary().as_dict())
        with self.engine.begin() as connection:
            connection.execute(self.started, {"now": now, "detail": "{}"})
            assert not any(connection.execute(self.question, {"now": now}).one())
            connection.execute(self.completed, {"now": now, "detail": detail})


def _short(statement: str, width: int = 110) -> str:
    """The statement without its column list, cut to `width`."""
    if statement.startswith("SELECT ") and " FROM " in statement:
        statement = "SELECT … " + statement[statement.index(" FROM ") + 1 :]
    return statement if len(statement) <= width else statement[: width - 1] + "…"


def plans(engine: Engine, now: datetime) -> None:
    """How the database answers the idle question and each claim: each should be an index range
    that finds nothing (PostgreSQL: run, in a transaction rolled back)."""
    statements = {
        "idle question": anything_query(now),
        "due claim": due_claim(now, set()),
        "reminder claim": reminder_claim(now, set()),
        "watch claim": watch_claim(now, set()),
    }
    sqlite = engine.dialect.name == "sqlite"
    explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) "
    with engine.connect() as connection:
        for label, statement in statements.items():
            sql = statement.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
            rows = connection.exec_driver_sql(explain + str(sql)).all()
            lines = [str(row[-1]).strip() for row in rows if "disagreements" in str(row[-1])]
            print(f"    {label}: " + "; ".join(lines))
        connection.rollback()


def timed(work) -> tuple[float, float]:
    """Wall and process-CPU milliseconds of `work()`."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def clock() -> Callable[[], datetime]:
    """Each sweep a second after the last (the heartbeat rows change, as in service), all long
    before any deadline."""
    seconds = itertools.count(1)
    return lambda: NOW + timedelta(seconds=next(seconds))


def idle_sweep(sessions, now: datetime) -> None:
    summary = run_sweep(sessions, now=now)
    assert summary.escalated == summary.reminded == summary.queued_emails == 0, summary


def cold_sweep(url: str, now: datetime) -> None:
    engine = make_engine(url)
    idle_sweep(session_factory(engine), now)
    engine.dispose()


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):7.2f} ({min(values):.2f}–{max(values):.2f})"


def measure(name: str, url: str, rounds: int) -> dict[str, list[float]]:
    engine = make_engine(url)
    sessions = session_factory(engine)
    breakdown = Breakdown(engine)
    at, raw = clock(), RawIdle(engine)
    idle_sweep(sessions, at())  # the engine's connection and statement cache warmed once
    raw.sweep(at())
    runs = {
        "run_sweep": lambda: idle_sweep(sessions, at()),
        "raw SQL": lambda: raw.sweep(at()),
        "run_sweep, new engine": lambda: cold_sweep(url, at()),
    }
    figures: dict[str, list[float]] = defaultdict(list)
    for number in range(rounds):
        order = list(runs)[number % len(runs) :] + list(runs)[: number % len(runs)]
        line = []
        for label in order:
            breakdown.on = label == "run_sweep"
            wall, cpu = timed(runs[label])
            breakdown.on = False
            figures[label].append(wall)
            figures[f"{label} CPU"].append(cpu)
            line.append(f"{label} {wall:.2f} ms (CPU {cpu:.2f})")
        print(f"{name:<10} round {number + 1}: " + ", ".join(line), flush=True)
    print(f"{name:<10} {rounds} rounds, ms: median (range)")
    for label, values in figures.items():
        print(f"  {label:<28} {spread(values)}")
    ratios = [a / b for a, b in zip(figures["run_sweep"], figures["raw SQL"], strict=True)]
    print(f"  {'run_sweep / raw SQL':<28} {spread(ratios)}")
    median = statistics.median(figures["run_sweep"])
    met = "met" if median < GOAL_MS else "NOT met"
    print(f"  goal: idle sweep under {GOAL_MS} ms: {median:.2f} ms, {met}")
    print(f"  a warm run_sweep, per sweep (mean of {rounds}):")
    breakdown.report(rounds, statistics.fmean(figures["run_sweep"]))
    print("  plans:")
    plans(engine, at())
    engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--open", type=int, default=1_000_000)
    parser.add_argument("--flagged", type=int, help="overdue at the final stage (default 1%%)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--postgres", help="PostgreSQL URL (schema bench_sweep_idle is used)")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL schema")
    parser.add_argument("--rebuild", action="store_true", help="build the databases again")
    args = parser.parse_args()
    flagged = args.open // 100 if args.flagged is None else args.flagged
    if not args.skip_sqlite:
        url = sqlite_database(args.open, flagged, args.rebuild)
        measure("sqlite", url, args.rounds)
    if args.postgres:
        with postgres_database(args.postgres, args.open, flagged, args.rebuild, args.keep) as url:
            measure("postgresql", url, args.rounds)


if __name__ == "__main__":
    main()
