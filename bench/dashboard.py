"""Board pages with 100,000 disagreements in one partnership: how long the dashboard (first page,
filtered, the last page), a case page, the reports page and a report CSV take to serve.

    .venv/bin/python -m bench.dashboard [--disagreements 100000] [--requests 30] [--postgres URL]
        [--only dashboard]

The real app runs in uvicorn (one worker, loopback) in its own process; requests go one after
another from one client with a signed-in board manager's session (second factor done). Rows are
bulk-inserted: 30% open across the five stages (3% of them urgent, half overdue), 60% resolved,
10% withdrawn, 12 raising and 8 receiving organisations, 300 undelivered emails. Prints median
and p95 in milliseconds per page, on SQLite and on PostgreSQL when a URL is given.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
from sqlalchemy import insert, select

from bench.common import served_app, temporary_schema
from escalation.access import signin
from escalation.rules.policy import load_policies
from escalation.store.db import make_engine, refresh_statistics, session_factory, transaction
from escalation.store.models import Disagreement, OutboxMessage, Person, StagePeriod, WebSession
from escalation.store.pinned_policies import pin_policy
from escalation.store.schema import upgrade
from tests.factories import MANAGER, load_directory, raise_one

STAGES = ("practitioner", "named_professional", "designated_professional", "board_manager", "chair")
CATEGORIES = (
    "referral",
    "icpc_request",
    "conference_decision",
    "plan_implementation",
    "step_down_or_closure",
    "other",
)
OUTCOMES = (
    "resolved_agreed_actions",
    "decision_upheld",
    "decision_changed",
    "dissent_recorded_no_change",
)
RAISING = [f"Raising Organisation {n}" for n in range(12)]
RECEIVING = [f"Receiving Organisation {n}" for n in range(8)]
BATCH = 5000


def rows(count: int, owner_ids: list[int], now: datetime):
    rng = random.Random(7)
    for number in range(count):
        kind = rng.random()
        status = "open" if kind < 0.3 else "resolved" if kind < 0.9 else "withdrawn"
        stage_index = rng.randrange(5)
        raised = now - timedelta(days=rng.randrange(1, 1000), minutes=rng.randrange(600))
        overdue = rng.random() < 0.5
        due = (
            now - timedelta(hours=rng.randrange(1, 2000))
            if overdue
            else now + timedelta(hours=rng.randrange(1, 200))
        )
        closed = status != "open"
        yield {
            "reference": f"RPD-{number:04X}-{number * 7919 % 65536:04X}",
            "partnership": "example-partnership",
            "policy_id": "default",
            "policy_version": "2026.1",
            "status": status,
            "stage_key": STAGES[stage_index],
            "stage_index": stage_index,
            "stage_entered_at": raised,
            "due_at": due,
            "owner_id": rng.choice(owner_ids),
            "urgent": rng.random() < 0.03,
            "row_version": 1,
            "raised_at": raised,
            "recorded_at": raised,
            "raised_by_id": owner_ids[0],
            "raiser_name": "Invented Raiser",
            "raiser_email": "r@x.example",
            "raiser_role": "Health visitor",
            "raiser_organisation": rng.choice(RAISING),
            "counterpart_name": "Invented Counterpart",
            "counterpart_email": "c@x.example",
            "counterpart_role": "Social worker",
            "counterpart_organisation": rng.choice(RECEIVING),
            "child_reference": f"BENCH-{rng.randrange(count)}",
            "category": rng.choice(CATEGORIES),
            "decision_disputed": "Invented",
            "decision_date": date(2024, 1, 1),
            "reason": "Invented",
            "outcome_sought": "Invented",
            "immediate_risk": False,
            "protective_action": "",
            "level_of_need": "",
            "outcome": rng.choice(OUTCOMES)
            if status == "resolved"
            else ("withdrawn" if status == "withdrawn" else None),
            "resolved_stage": STAGES[stage_index] if status == "resolved" else None,
            "closed_at": raised + timedelta(days=rng.randrange(1, 30)) if closed else None,
            "learning_themes": ["thresholds"] if status == "resolved" and number % 3 == 0 else None,
        }


def prepare(url: str, count: int) -> tuple[str, str]:
    """Load the data; a signed-in board manager's cookie and one open reference."""
    engine = make_engine(url)
    upgrade(engine)
    sessions = session_factory(engine)
    load_directory(sessions)
    now = datetime.now(UTC)  # the served app runs on the real clock
    with transaction(sessions) as session:
        pin_policy(session, load_policies("policies")["default"], now=now)
        owner_ids = list(session.execute(select(Person.id)).scalars())
    batch = []
    with engine.begin() as connection:
        for row in rows(count, owner_ids, now):
            batch.append(row)
            if len(batch) == BATCH:
                connection.execute(insert(Disagreement), batch)
                batch = []
        if batch:
            connection.execute(insert(Disagreement), batch)
    with transaction(sessions) as session:
        open_ids = session.execute(
            select(
                Disagreement.id,
                Disagreement.reference,
                Disagreement.stage_key,
                Disagreement.stage_index,
                Disagreement.owner_id,
                Disagreement.stage_entered_at,
                Disagreement.due_at,
            )
            .where(Disagreement.status == "open")
            .limit(5000)
        ).all()
        session.execute(
            insert(StagePeriod),
            [
                {
                    "disagreement_id": i,
                    "stage_key": key,
                    "stage_index": index,
                    "owner_id": owner,
                    "entered_at": entered,
                    "due_at": due,
                }
                for i, _, key, index, owner, entered, due in open_ids
            ],
        )
        session.execute(
            insert(OutboxMessage),
            [
                {
                    "idempotency_key": f"bench/{n}",
                    "message_id": f"<bench-{n}@x>",
                    "disagreement_id": open_ids[n * 7 % len(open_ids)][0],
                    "kind": "stage_assigned",
                    "stage_key": "practitioner",
                    "recipient_email": "x@x.example",
                    "recipient_role": "owner",
                    "context": {},
                    "status": "dead",
                    "attempts": 8,
                    "next_attempt_at": now,
                    "created_at": now,
                    "last_error": "bench",
                }
                for n in range(300)
            ],
        )
        raw = "bench-board-" + uuid.uuid4().hex
        session.add(
            WebSession(
                id_hash=signin._hash(raw),
                email=MANAGER,
                csrf_token="bench-csrf",
                created_at=now,
                last_seen_at=now,
                second_factor_at=now,
            )
        )
    # The case page shows a chronology, which bulk-inserted rows lack: one raised for real.
    reference = raise_one(sessions, now)
    # As after the daily board-digest flow (SQLite) or autovacuum (PostgreSQL).
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    refresh_statistics(engine)
    engine.dispose()
    return raw, reference


def timed(client: httpx.Client, path: str, count: int) -> tuple[float, float]:
    latencies = []
    for _ in range(count):
        begin = time.perf_counter()
        response = client.get(path)
        latencies.append((time.perf_counter() - begin) * 1000)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return statistics.median(latencies), statistics.quantiles(latencies, n=20)[18]


def measure(url: str, count: int, requests: int, only: str = "") -> None:
    started = time.perf_counter()
    cookie, reference = prepare(url, count)
    loaded = time.perf_counter() - started
    pages = {
        "dashboard, first page": "/board",
        "dashboard, filtered": "/board?category=referral&raising=Raising+Organisation+3&stage=chair",
        "dashboard, owner filter": "/board?owner=5",
        "dashboard, last open page": "/board?page=600",
        "dashboard, all, page 1000": "/board?status=all&page=1000",
        "case page": f"/board/d/{reference}",
        "reports page": "/board/reports",
        "report CSV": "/board/reports/outcomes.csv",
    }
    pages = {label: path for label, path in pages.items() if label.startswith(only)}
    with served_app(url, cookie, timeout=120) as client:
        results = {label: timed(client, path, requests) for label, path in pages.items()}
    name = make_engine(url).dialect.name
    print(f"{name}: {count:,} disagreements loaded in {loaded:.0f} s", flush=True)
    for label, (median, p95) in results.items():
        print(f"{name:<10} {label:<28} median {median:7.1f} ms  p95 {p95:7.1f} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--disagreements", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--postgres")
    parser.add_argument("--only", default="", help="the pages whose label starts with this")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        measure(f"sqlite:///{directory}/b.db", args.disagreements, args.requests, args.only)
    if args.postgres:
        with temporary_schema(args.postgres) as url:
            measure(url, args.disagreements, args.requests, args.only)


if __name__ == "__main__":
    main()
