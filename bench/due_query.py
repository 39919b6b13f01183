"""How long "what is due now?" takes with many open disagreements and few or many due.

    .venv/bin/python -m bench.due_query [--open 200000] [--postgres URL]

Prints the median time of `due_references` (limit 1000) over 20 runs, with 0 and 1000 due,
on SQLite (a temporary file) and on PostgreSQL when a URL is given (a temporary schema).
The point: the time follows what is due, not how many are open.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert, text

from bench.common import temporary_schema
from escalation.casework.disagreements import due_references
from escalation.store.db import make_engine, session_factory, transaction
from escalation.store.models import Disagreement, Person
from escalation.store.schema import upgrade

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def rows(count: int, due: int):
    for number in range(count):
        overdue = number < due
        yield {
            "reference": f"RPD-{number:09d}",
            "partnership": "bench",
            "policy_id": "default",
            "policy_version": "2026.1",
            "status": "open",
            "stage_key": "practitioner",
            "stage_index": 0,
            "stage_entered_at": NOW - timedelta(days=10),
            "due_at": NOW - timedelta(hours=1)
            if overdue
            else NOW + timedelta(days=3 + number % 20),
            "owner_id": 1,
            "urgent": False,
            "row_version": 1,
            "raised_at": NOW,
            "recorded_at": NOW,
            "raised_by_id": 1,
            "raiser_name": "R",
            "raiser_email": "r@x.example",
            "raiser_role": "HV",
            "raiser_organisation": "T",
            "counterpart_name": "C",
            "counterpart_email": "c@x.example",
            "counterpart_role": "SW",
            "counterpart_organisation": "CSC",
            "child_reference": f"B-{number}",
            "category": "referral",
            "decision_disputed": "d",
            "decision_date": date(2026, 11, 1),
            "reason": "r",
            "outcome_sought": "o",
            "immediate_risk": False,
            "protective_action": "",
            "level_of_need": "",
        }


def measure(url: str, open_count: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        session.add(
            Person(id=1, name="R", email="r@x.example", organisation="T", partnership="bench")
        )
    for due in (0, 1000):
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM disagreements"))
            batch = []
            for row in rows(open_count, due):
                batch.append(row)
                if len(batch) == 10_000:
                    connection.execute(insert(Disagreement), batch)
                    batch = []
            if batch:
                connection.execute(insert(Disagreement), batch)
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.exec_driver_sql("ANALYZE disagreements")
        timings = []
        for _ in range(20):
            with transaction(sessions) as session:
                started = time.perf_counter()
                found = due_references(session, now=NOW)
                timings.append(time.perf_counter() - started)
        assert len(found) == due
        print(
            f"{engine.dialect.name:<10} open={open_count:>8} due={due:>5}  "
            f"median {statistics.median(timings) * 1000:7.2f} ms"
        )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--open", type=int, default=200_000)
    parser.add_argument("--postgres", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        measure(f"sqlite:///{folder}/bench.db", args.open)
    if args.postgres:
        with temporary_schema(args.postgres) as url:
            measure(url, args.open)


if __name__ == "__main__":
    main()
