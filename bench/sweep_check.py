"""Is the raw-SQL baseline fair? The same starting point escalated by the service and by
bench/sweep_raw.py, every row they write compared, and `escalation audit verify` run on the
baseline's database.

    .venv/bin/python -m bench.sweep_check [--open 200] [--due 20] [--postgres URL]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from contextlib import ExitStack

from sqlalchemy import Engine, text

from bench.common import temporary_schema
from bench.sweep_raw import raw_sweep
from bench.sweep_setup import NOW, fresh, make_due
from escalation.casework.sweep import run_sweep
from escalation.store.db import session_factory

# Per table: the columns that differ by nature (surrogate ids, a fresh Message-ID each time).
TABLES = {
    "disagreements": ("id",),
    "stage_periods": ("id",),
    "stage_records": ("id",),
    "events": (),
    "outbox": ("id", "message_id"),
    "alerts": ("id",),
}


def rows(engine: Engine) -> dict[str, list[dict]]:
    dumped = {}
    with engine.connect() as connection:
        for table, skipped in TABLES.items():
            found = connection.execute(text(f"SELECT * FROM {table} ORDER BY 1")).mappings()
            dumped[table] = [
                {key: value for key, value in row.items() if key not in skipped} for row in found
            ]
    return dumped


def compare(ours: dict, raw: dict) -> list[str]:
    problems = []
    for table in TABLES:
        if len(ours[table]) != len(raw[table]):
            problems.append(f"{table}: {len(ours[table])} rows vs {len(raw[table])}")
            continue
        for mine, theirs in zip(ours[table], raw[table], strict=True):
            for key in mine:
                if mine[key] != theirs[key]:
                    problems.append(f"{table}.{key}: {mine[key]!r} vs {theirs[key]!r}")
    return problems


def audit_verify(url: str) -> str:
    env = {**os.environ, "ESCALATION_DATABASE_URL": url}
    done = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "escalation"), "audit", "verify"],
        env=env,
        capture_output=True,
        text=True,
    )
    return f"exit {done.returncode}: {(done.stdout + done.stderr).strip()}"


def check(url_ours: str, url_raw: str, open_count: int, due: int) -> bool:
    engines = [fresh(url, open_count) for url in (url_ours, url_raw)]
    for engine in engines:
        make_due(engine, due)
    assert run_sweep(session_factory(engines[0]), now=NOW).escalated == due
    assert raw_sweep(engines[1], session_factory(engines[1]), NOW).escalate_all(NOW) == due
    problems = compare(rows(engines[0]), rows(engines[1]))
    name = engines[0].dialect.name
    for engine in engines:
        engine.dispose()
    print(f"{name}: {due} escalated by each; differences: {len(problems)}")
    for problem in problems[:20]:
        print("  ", problem)
    print(f"{name}: audit verify on the baseline's database: {audit_verify(url_raw)}")
    return not problems


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--open", type=int, default=200)
    parser.add_argument("--due", type=int, default=20)
    parser.add_argument("--postgres")
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as directory:
        ok &= check(
            f"sqlite:///{directory}/a.db", f"sqlite:///{directory}/b.db", args.open, args.due
        )
    if args.postgres:
        with ExitStack() as stack:
            ours, raw = (stack.enter_context(temporary_schema(args.postgres)) for _ in range(2))
            ok &= check(ours, raw, args.open, args.due)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
