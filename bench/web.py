"""Throughput and p95 latency of the three POSTs that change things, against a bare FastAPI
endpoint served the same way (uvicorn on loopback, one worker), on SQLite and PostgreSQL.

    .venv/bin/python -m bench.web [--requests 300] [--postgres URL]

- form POST: a signed-in practitioner raises a disagreement with the web form;
- link POST: a stage owner acknowledges through an emailed link (a fresh token each time);
- API POST: an agency system raises a disagreement with its key.
Requests are sent one after another from one client (latency, not a load test).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from bench.common import served_app, temporary_schema
from escalation.access import apikeys, signin
from escalation.outbox import links
from escalation.store.db import make_engine, session_factory, transaction
from escalation.store.models import OutboxMessage, WebSession
from escalation.store.schema import upgrade
from tests.factories import RAISER, load_directory, raise_data, raise_one, utc

NOW = utc(2026, 11, 23, 10)


def prepare(url: str, count: int) -> tuple[str, str, str, list[str]]:
    """A key, a signed-in session (cookie, csrf) and `count` unspent owner links."""
    engine = make_engine(url)
    upgrade(engine)
    sessions = session_factory(engine)
    load_directory(sessions)
    for _ in range(count):
        raise_one(sessions, NOW)
    with transaction(sessions) as session:
        key = apikeys.create_key(
            session, organisation="Example Trust", partnership="example-partnership", now=NOW
        )
        raw = "bench-session-" + uuid.uuid4().hex
        started = datetime.now(UTC)  # the served app runs on the real clock
        session.add(
            WebSession(
                id_hash=signin._hash(raw),
                email=RAISER,
                csrf_token="bench-csrf",
                created_at=started,
                last_seen_at=started,
            )
        )
        rows = (
            session.execute(select(OutboxMessage).where(OutboxMessage.kind == "stage_assigned"))
            .scalars()
            .all()
        )
        paths = [links.link_for(session, row, base_url="", now=NOW) for row in rows]
    engine.dispose()
    return key, raw, "bench-csrf", paths


def form_data(number: int) -> dict:
    return {
        "csrf": "bench-csrf",
        "form_id": uuid.uuid4().hex,
        "raiser_name": "Hana Visitor",
        "raiser_role": "Health visitor",
        "raiser_organisation": "Example Trust",
        "counterpart_name": "Sam Social",
        "counterpart_email": "sam.social@council.example",
        "counterpart_role": "Duty social worker",
        "counterpart_organisation": "Example Council",
        "child_reference": f"BENCH-{number}",
        "category": "referral",
        "decision_disputed": "No further action",
        "decision_date-day": "20",
        "decision_date-month": "11",
        "decision_date-year": "2026",
        "reason": "Invented",
        "outcome_sought": "Strategy discussion",
        "immediate_risk": "no",
    }


def timed(send, count: int) -> tuple[float, float]:
    latencies = []
    started = time.perf_counter()
    for number in range(count):
        begin = time.perf_counter()
        response = send(number)
        latencies.append(time.perf_counter() - begin)
        assert response.status_code in (200, 201, 303), (response.status_code, response.text[:300])
    total = time.perf_counter() - started
    return count / total, statistics.quantiles(latencies, n=20)[18] * 1000


def measure(url: str, count: int) -> None:
    key, cookie, _, paths = prepare(url, count)
    with served_app(url, cookie) as client:
        results = {
            "bare FastAPI POST": timed(lambda n: client.post("/bare"), count),
            "API POST": timed(
                lambda n: client.post(
                    "/api/v1/disagreements",
                    headers={"X-API-Key": key},
                    json=raise_data(child_reference=f"API-{n}"),
                ),
                count,
            ),
            "form POST": timed(lambda n: client.post("/raise", data=form_data(n)), count),
            "link POST": timed(
                lambda n: client.post(
                    paths[n], data={"action": "acknowledge"}, follow_redirects=False
                ),
                count,
            ),
        }
    name = make_engine(url).dialect.name
    bare_rate, bare_p95 = results["bare FastAPI POST"]
    for label, (rate, p95) in results.items():
        print(
            f"{name:<10} {label:<18} {rate:7.1f} req/s  p95 {p95:6.1f} ms  "
            f"(throughput ratio to bare {bare_rate / rate:5.1f}, p95 ratio {p95 / bare_p95:5.1f})",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        measure(f"sqlite:///{directory}/w.db", args.requests)
    if args.postgres:
        with temporary_schema(args.postgres) as url:
            measure(url, args.requests)


if __name__ == "__main__":
    main()
