"""The sweep's cost with many open disagreements: none due, then many due, against raw SQL
that writes the same rows (the stage change, the stage periods, the chained event, the outbox).

    .venv/bin/python -m bench.sweep [--open 1000000] [--due 10000] [--postgres URL]

Prints, per database: the sweep with nothing due (median of 5; the cost of asking), then
`--due` escalations by `run_sweep` and by the raw-SQL baseline (one short transaction per
disagreement in both), and the ratio.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import tempfile
import time
import uuid
from contextlib import ExitStack
from datetime import timedelta

from sqlalchemy import Engine, bindparam, text

from bench.common import temporary_schema
from escalation.casework.sweep import run_sweep
from escalation.store.db import UTCDateTime, make_engine, session_factory, transaction
from escalation.store.pinned_policies import pin_policy
from escalation.store.schema import upgrade
from tests.factories import DEFAULT, RAISER, load_directory, utc

NOW = utc(2026, 11, 30, 12)
COLUMNS = (
    "reference, partnership, policy_id, policy_version, status, stage_key, stage_index, "
    "stage_entered_at, due_at, owner_id, urgent, row_version, raised_at, recorded_at, "
    "raised_by_id, raiser_name, raiser_email, raiser_role, raiser_organisation, counterpart_name, "
    "counterpart_email, counterpart_role, counterpart_organisation, child_reference, category, "
    "decision_disputed, decision_date, reason, outcome_sought, immediate_risk, protective_action, "
    "level_of_need"
)
VALUES = (
    "{reference}, 'example-partnership', 'default', :version, 'open', 'practitioner', 0, "
    ":entered, :future, :owner, :false, 1, :entered, :entered, :owner, 'Hana Visitor', :raiser, "
    "'Health visitor', 'Example Trust', 'Sam Social', 'sam.social@council.example', "
    "'Duty social worker', 'Example Council', 'BENCH-' || {n}, 'referral', 'd', :decided, 'r', "
    "'o', :false, '', ''"
)


# References shaped as the service's (RPD-XXXX-XXXX; anything else is never looked up).
SQLITE_REFERENCE = (
    "'RPD-' || substr('0000' || (i / 10000), -4, 4) || '-' || substr('0000' || (i % 10000), -4, 4)"
)
POSTGRES_REFERENCE = (
    "'RPD-' || lpad((i / 10000)::text, 4, '0') || '-' || lpad((i % 10000)::text, 4, '0')"
)


def populate(engine: Engine, open_count: int) -> None:
    if engine.dialect.name == "sqlite":
        values = VALUES.format(n="i", reference=SQLITE_REFERENCE)
        sql = (
            f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count) "
            f"INSERT INTO disagreements ({COLUMNS}) SELECT {values} FROM n"
        )
    else:
        values = VALUES.format(n="i", reference=POSTGRES_REFERENCE)
        sql = (
            f"INSERT INTO disagreements ({COLUMNS}) SELECT {values} "
            "FROM generate_series(1, :count) AS s(i)"
        )
    statement = text(sql).bindparams(
        bindparam("entered", type_=UTCDateTime()), bindparam("future", type_=UTCDateTime())
    )
    with engine.begin() as connection:
        owner = connection.execute(
            text("SELECT id FROM people WHERE email = :e"), {"e": RAISER}
        ).scalar()
        connection.execute(
            statement,
            {
                "count": open_count,
                "entered": NOW - timedelta(days=10),
                "owner": owner,
                "future": NOW + timedelta(days=30),
                "false": False,
                "raiser": RAISER,
                "decided": NOW.date(),
                "version": DEFAULT.version,
            },
        )


def make_due(engine: Engine, due: int) -> None:
    """The first `due` become overdue, each with its open stage period."""
    past = bindparam("past", type_=UTCDateTime())
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE disagreements SET due_at = :past WHERE id IN "
                "(SELECT id FROM disagreements ORDER BY id LIMIT :due)"
            ).bindparams(past),
            {"past": NOW - timedelta(hours=1), "due": due},
        )
        connection.execute(
            text(
                "INSERT INTO stage_periods (disagreement_id, stage_key, stage_index, owner_id, "
                "entered_at, due_at) SELECT id, stage_key, stage_index, owner_id, stage_entered_at, "
                "due_at FROM disagreements WHERE due_at <= :past"
            ).bindparams(past),
            {"past": NOW - timedelta(hours=1)},
        )
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("ANALYZE")


def raw_sweep_nothing_due(engine: Engine) -> float:
    """The baseline for an idle sweep: the same transactions (heartbeat, both questions,
    heartbeat) in hand-written SQL."""
    instant = bindparam("now", type_=UTCDateTime())
    beat = text("UPDATE heartbeats SET last_started_at = :now WHERE name = 'raw'").bindparams(
        instant
    )
    due = text(
        "SELECT reference, id FROM disagreements WHERE status = 'open' AND "
        "final_stage_overdue_at IS NULL AND due_at <= :now ORDER BY due_at LIMIT 1"
    ).bindparams(instant)
    remind = text(
        "SELECT reference, id FROM disagreements WHERE status = 'open' AND remind_at IS "
        "NOT NULL AND remind_at <= :now ORDER BY remind_at LIMIT 1"
    ).bindparams(instant)
    started = time.perf_counter()
    for statement in (beat, due, remind, beat):
        with engine.begin() as connection:
            result = connection.execute(statement, {"now": NOW})
            assert statement is beat or result.first() is None
    return time.perf_counter() - started


def raw_escalate_all(engine: Engine, named_id: int) -> int:
    """The baseline: hand-written SQL doing the same writes, one transaction per disagreement."""
    lock = " FOR UPDATE SKIP LOCKED" if engine.dialect.name == "postgresql" else ""
    head_lock = " FOR UPDATE" if engine.dialect.name == "postgresql" else ""
    instant = bindparam("now", type_=UTCDateTime())
    new_due = bindparam("due", type_=UTCDateTime())
    claim = text(
        "SELECT id, row_version, reference FROM disagreements WHERE status = 'open' AND "
        "final_stage_overdue_at IS NULL AND due_at <= :now ORDER BY due_at LIMIT 1" + lock
    ).bindparams(instant)
    move = text(
        "UPDATE disagreements SET stage_key = 'named_professional', stage_index = 1, "
        "stage_entered_at = :now, stage_acknowledged_at = NULL, due_at = :due, "
        "owner_id = :owner, row_version = row_version + 1 WHERE id = :id AND "
        "row_version = :v"
    ).bindparams(instant, new_due)
    end = text(
        "UPDATE stage_periods SET ended_at = :now, ended_by = 'escalate' WHERE "
        "disagreement_id = :id AND ended_at IS NULL"
    ).bindparams(instant)
    begin = text(
        "INSERT INTO stage_periods (disagreement_id, stage_key, stage_index, owner_id, "
        "entered_at, due_at) VALUES (:id, 'named_professional', 1, :owner, :now, :due)"
    ).bindparams(instant, new_due)
    head = text("SELECT last_event_id, last_hash FROM chain_head WHERE id = 1" + head_lock)
    event = text(
        "INSERT INTO events (id, disagreement_id, at, actor, kind, from_stage, to_stage, "
        "note, prev_hash, hash) VALUES (:eid, :id, :now, 'system', "
        "'escalate_automatically', 'practitioner', 'named_professional', '', :prev, :hash)"
    ).bindparams(instant)
    advance = text("UPDATE chain_head SET last_event_id = :eid, last_hash = :hash WHERE id = 1")
    outbox = text(
        "INSERT INTO outbox (idempotency_key, message_id, disagreement_id, kind, "
        "stage_key, recipient_email, recipient_role, link_purpose, context, status, "
        "attempts, next_attempt_at, last_error, created_at) VALUES (:key, :mid, :id, "
        ":kind, 'named_professional', :to, :role, 'act', :ctx, 'pending', 0, :now, '', "
        ":now) ON CONFLICT (idempotency_key) DO NOTHING"
    ).bindparams(instant)
    count = 0
    due = NOW + timedelta(days=3)
    while True:
        with engine.begin() as connection:
            row = connection.execute(claim, {"now": NOW}).first()
            if row is None:
                return count
            row_id, version, reference = row
            params = {"now": NOW, "id": row_id, "owner": named_id, "due": due}
            assert connection.execute(move, {**params, "v": version}).rowcount == 1
            connection.execute(end, params)
            connection.execute(begin, params)
            last_id, last_hash = connection.execute(head).one()
            digest = hashlib.sha256(f"{last_hash}{row_id}{reference}".encode()).hexdigest()
            connection.execute(
                event, {**params, "eid": last_id + 1, "prev": last_hash, "hash": digest}
            )
            connection.execute(advance, {"eid": last_id + 1, "hash": digest})
            for kind, to, role in (
                ("stage_assigned", "n@x", "owner"),
                ("stage_update", "r@x", "raiser"),
                ("stage_update", "c@x", "counterpart"),
            ):
                connection.execute(
                    outbox,
                    {
                        **params,
                        "kind": kind,
                        "to": to,
                        "role": role,
                        "key": f"{kind}/{reference}/{to}",
                        "mid": f"<{uuid.uuid4()}@x>",
                        "ctx": json.dumps({"reference": reference}),
                    },
                )
            count += 1


def fresh(engine_url: str, open_count: int) -> Engine:
    engine = make_engine(engine_url)
    upgrade(engine)
    sessions = session_factory(engine)
    load_directory(sessions)
    with transaction(sessions) as session:
        pin_policy(session, DEFAULT, now=NOW)
    started = time.perf_counter()
    populate(engine, open_count)
    print(f"  populated {open_count:,} open in {time.perf_counter() - started:.0f} s", flush=True)
    return engine


def measure(url: str, open_count: int, due: int) -> None:
    engine = fresh(url, open_count)
    name = engine.dialect.name
    sessions = session_factory(engine)
    idle = []
    for _ in range(5):
        started = time.perf_counter()
        summary = run_sweep(sessions, now=NOW)
        idle.append(time.perf_counter() - started)
        assert summary.escalated == 0
    raw_idle = [raw_sweep_nothing_due(engine) for _ in range(5)]
    print(
        f"{name:<10} open={open_count:,} due=0      sweep median {statistics.median(idle) * 1000:8.2f} ms"
        f"  raw SQL {statistics.median(raw_idle) * 1000:8.2f} ms"
        f"  ratio {statistics.median(idle) / statistics.median(raw_idle):.2f}",
        flush=True,
    )

    if due == 0:
        engine.dispose()
        return
    make_due(engine, due)
    started = time.perf_counter()
    summary = run_sweep(sessions, now=NOW)
    ours = time.perf_counter() - started
    assert summary.escalated == due, summary

    with engine.begin() as connection:  # undo, then the baseline does the same work
        connection.exec_driver_sql("DELETE FROM outbox")
    engine.dispose()
    with ExitStack() as stack:
        other = (
            url.replace("a.db", "b.db")
            if name == "sqlite"
            else stack.enter_context(temporary_schema(url))
        )
        raw = _raw_run(other, open_count, due)
    print(
        f"{name:<10} open={open_count:,} due={due:,}  run_sweep {ours:7.1f} s "
        f"({ours / due * 1000:.2f} ms each)  raw SQL {raw:7.1f} s ({raw / due * 1000:.2f} ms each)"
        f"  ratio {ours / raw:.2f}",
        flush=True,
    )


def _raw_run(url: str, open_count: int, due: int) -> float:
    """The same starting point in a fresh database, escalated by the raw-SQL baseline."""
    engine = fresh(url, open_count)
    make_due(engine, due)
    with engine.connect() as connection:
        named = connection.execute(text("SELECT id FROM people WHERE email LIKE 'nadia%'")).scalar()
    started = time.perf_counter()
    assert raw_escalate_all(engine, named) == due
    raw = time.perf_counter() - started
    engine.dispose()
    return raw


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--open", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--postgres", help="PostgreSQL URL (a temporary schema is used)")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as directory:
            measure(f"sqlite:///{directory}/a.db", args.open, args.due)
    if args.postgres:
        with temporary_schema(args.postgres) as url:
            measure(url, args.open, args.due)


if __name__ == "__main__":
    main()
