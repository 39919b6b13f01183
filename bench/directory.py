"""The board's directory with 52,000 people in one partnership: size and time of the directory
page (first and last page), the CSV export, and a board import at the size cap.

    .venv/bin/python -m bench.directory [--people 52000] [--requests 10] [--postgres URL]

The real app runs in uvicorn (one worker, loopback) in its own process, signed in as the board
manager. People are bulk-inserted across 400 organisations: mostly practitioners, a named
professional in most organisations, one in fifty inactive, one in a hundred absent today.
Prints median and p95 in milliseconds and the response size, on SQLite and on PostgreSQL when a
URL is given; then posts once a 5,000-row import (updating people already there; the row cap) and
a 1.9 MB file (17,600 rows; over the 1 MB cap), and times each answer.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
from sqlalchemy import insert, select

from bench.common import served_app, temporary_schema
from escalation.access import signin
from escalation.store.db import make_engine, refresh_statistics, session_factory, transaction
from escalation.store.models import Person, PersonRole, WebSession
from escalation.store.schema import upgrade
from tests.factories import MANAGER, load_directory

PARTNERSHIP = "example-partnership"
HEADER = "name,email,organisation,partnership,roles,job_title,deputy_email,absent_from,absent_until"
BATCH = 5000


def people(count: int):
    today = date.today()
    for number in range(count):
        absent = number % 100 == 0
        yield {
            "name": f"Person {number:06d}",
            "email": f"person.{number}@org{number % 400}.example",
            "organisation": f"Organisation {number % 400}",
            "partnership": PARTNERSHIP,
            "job_title": "Health visitor",
            "active": number % 50 != 0,
            "absent_from": today - timedelta(days=1) if absent else None,
            "absent_until": today + timedelta(days=3) if absent else None,
        }


def prepare(url: str, count: int) -> str:
    """Load the people; a signed-in board manager's session cookie."""
    engine = make_engine(url)
    upgrade(engine)
    sessions = session_factory(engine)
    load_directory(sessions)
    batch = []
    with engine.begin() as connection:
        for person in people(count):
            batch.append(person)
            if len(batch) == BATCH:
                connection.execute(insert(Person), batch)
                batch = []
        if batch:
            connection.execute(insert(Person), batch)
        ids = connection.execute(
            select(Person.id).where(Person.email.like("person.%")).order_by(Person.id)
        ).scalars()
        roles = [
            {"person_id": i, "role": "named_professional" if n % 97 == 0 else "practitioner"}
            for n, i in enumerate(ids)
        ]
        connection.execute(insert(PersonRole), roles)
    now = datetime.now(UTC)
    with transaction(sessions) as session:
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
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    refresh_statistics(engine)
    engine.dispose()
    return raw


def timed(client: httpx.Client, path: str, count: int) -> tuple[float, float, int]:
    latencies, size = [], 0
    for _ in range(count):
        begin = time.perf_counter()
        response = client.get(path)
        latencies.append((time.perf_counter() - begin) * 1000)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
        size = len(response.content)
    p95 = statistics.quantiles(latencies, n=20)[18] if count > 1 else latencies[0]
    return statistics.median(latencies), p95, size


def upload(client: httpx.Client, rows: int) -> tuple[float, int, int]:
    """Post an import of the first `rows` bench people (an update); ms, status, bytes sent."""
    lines = [HEADER] + [
        f"{p['name']},{p['email']},{p['organisation']},{PARTNERSHIP},practitioner,"
        f"{p['job_title']},,,"
        for p in people(rows)
    ]
    body = ("\n".join(lines) + "\n").encode()
    begin = time.perf_counter()
    response = client.post(
        "/board/directory/import",
        data={"csrf": "bench-csrf"},
        files={"csv_file": ("people.csv", body, "text/csv")},
    )
    return (time.perf_counter() - begin) * 1000, response.status_code, len(body)


def measure(url: str, count: int, requests: int) -> None:
    started = time.perf_counter()
    cookie = prepare(url, count)
    loaded = time.perf_counter() - started
    name = make_engine(url).dialect.name
    print(f"{name}: {count:,} people loaded in {loaded:.0f} s", flush=True)
    with served_app(url, cookie, timeout=600) as client:
        first = client.get("/board/directory").text
        last_page = max([1] + [int(n) for n in re.findall(r"[?&]page=(\d+)", first)])
        pages = {
            "directory, first page": "/board/directory",
            f"directory, page {last_page}": f"/board/directory?page={last_page}",
            "directory CSV export": "/board/directory.csv",
            "add a person (form)": "/board/directory/new",
        }
        for label, path in pages.items():
            median, p95, size = timed(client, path, requests)
            print(
                f"{name:<10} {label:<28} median {median:8.1f} ms  p95 {p95:8.1f} ms  "
                f"{size / 1e6:6.2f} MB",
                flush=True,
            )
        for rows in (5_000, 17_600):
            took, status, sent = upload(client, rows)
            label = f"import {rows:,} rows ({sent / 1e6:.2f} MB)"
            print(f"{name:<10} {label:<28} {status} in {took:,.0f} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=52_000)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        measure(f"sqlite:///{directory}/b.db", args.people, args.requests)
    if args.postgres:
        with temporary_schema(args.postgres) as url:
            measure(url, args.people, args.requests)


if __name__ == "__main__":
    main()
