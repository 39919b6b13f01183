"""The three POSTs that change things, against a plain FastAPI app served the same way, on
SQLite and PostgreSQL: each POST's throughput as a fraction of the baseline's.

    .venv/bin/python -m bench.web [--requests 100] [--rounds 3] [--postgres URL]

- baseline: bench.plain_fastapi, a plain FastAPI app outside the project's app (no project
  middleware), in uvicorn the same way; its POST parses the form and commits one small row;
- form POST: a signed-in practitioner raises a disagreement with the web form;
- link POST: a stage owner acknowledges within the emailed link's session (each request on a
  fresh link, session and form token, as after pressing Continue);
- API POST: an agency system raises a disagreement with its key.
Both apps run at once, each in its own uvicorn process (one worker, loopback); requests go one
after another from one client (latency, not a load test). The rounds interleave the baseline
and the POSTs (the order rotates each round); a ratio is a POST's rate over the baseline's in
the same round, printed as median and range over the rounds (goal: at least 0.3).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime

import httpx
from sqlalchemy import select

from bench.common import served_app, temporary_schema
from escalation.access import apikeys, signin
from escalation.outbox import links
from escalation.store.db import make_engine, session_factory, transaction
from escalation.store.models import OutboxMessage, WebSession
from escalation.store.schema import upgrade
from tests.factories import RAISER, load_directory, raise_data, raise_one
from tests.raise_helpers import AREA
from tests.web_helpers import FORM

KINDS = ("baseline", "form POST", "link POST", "API POST")


def prepare(url: str, count: int) -> tuple[str, str, list[tuple[str, str, str]]]:
    """An API key, a signed-in session's cookie, and `count` owner links each with a live link
    session: (path, link cookie, form token)."""
    engine = make_engine(url)
    upgrade(engine)
    sessions = session_factory(engine)
    load_directory(sessions)
    now = datetime.now(UTC)  # the served apps run on the real clock
    for _ in range(count):
        raise_one(sessions, now)
    with transaction(sessions) as session:
        key = apikeys.create_key(
            session, organisation="Example Trust", partnership="example-partnership", now=now
        )
        raw = "bench-session-" + uuid.uuid4().hex
        session.add(
            WebSession(
                id_hash=signin._hash(raw),
                email=RAISER,
                csrf_token="bench-csrf",
                created_at=now,
                last_seen_at=now,
            )
        )
        rows = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "stage_assigned")
        ).all()
        started = []
        for row in rows:
            path = links.link_for(session, row, base_url="", now=now)
            holder = links.open_link(session, path.rsplit("/", 1)[1], now=now)
            started.append((path, links.start_session(session, holder, now=now)))
        session.flush()
        linked = [
            (path, cookie, links.session_for(session, holder, cookie, now=now).csrf_token)
            for (path, cookie), holder in zip(
                started,
                [links.open_link(session, p.rsplit("/", 1)[1], now=now) for p, _ in started],
                strict=True,
            )
        ]
    engine.dispose()
    return key, raw, linked


def form_data(number: int) -> dict:
    return {
        **FORM,
        "child_area": AREA,
        "csrf": "bench-csrf",
        "form_id": uuid.uuid4().hex,
        "child_reference": f"BENCH-{number}",
    }


def senders(plain: httpx.Client, app: httpx.Client, key: str, linked: list) -> dict:
    """Each kind's request, by its number within the run."""
    links_left = iter(linked)

    def link_post(number: int):
        path, cookie, csrf = next(links_left)
        response = app.post(
            path,
            data={"action": "acknowledge", "csrf": csrf},
            headers={"Cookie": f"rpd_link={cookie}"},
            follow_redirects=False,
        )
        assert response.headers.get("location", "").endswith("done=acknowledge"), response.text
        return response

    return {
        "baseline": lambda n: plain.post("/plain", data=form_data(n)),
        "form POST": lambda n: app.post("/raise", data=form_data(n), follow_redirects=False),
        "link POST": link_post,
        "API POST": lambda n: app.post(
            "/api/v1/disagreements",
            headers={"X-API-Key": key},
            json=raise_data(child_reference=f"API-{n}"),
        ),
    }


def timed(send, first: int, count: int) -> tuple[float, float]:
    """Requests per second and p95 latency (ms) of `count` requests sent one after another."""
    latencies = []
    started = time.perf_counter()
    for number in range(first, first + count):
        begin = time.perf_counter()
        response = send(number)
        latencies.append(time.perf_counter() - begin)
        assert response.status_code in (200, 201, 303), (response.status_code, response.text[:300])
    total = time.perf_counter() - started
    return count / total, statistics.quantiles(latencies, n=20)[18] * 1000


def measure(url: str, count: int, rounds: int) -> None:
    key, cookie, linked = prepare(url, count * rounds)
    rates: dict[str, list[float]] = {kind: [] for kind in KINDS}
    p95s: dict[str, list[float]] = {kind: [] for kind in KINDS}
    with (
        served_app(url, cookie, factory="bench.plain_fastapi:create") as plain,
        served_app(url, cookie) as app,
    ):
        send = senders(plain, app, key, linked)
        for kind in KINDS:  # warm both processes up (imports, templates, pools)
            if kind != "link POST":
                timed(send[kind], 10**6, 20)
        for number in range(rounds):
            order = KINDS[number % 4 :] + KINDS[: number % 4]
            for kind in order:
                rate, p95 = timed(send[kind], number * count, count)
                rates[kind].append(rate)
                p95s[kind].append(p95)
    report(make_engine(url).dialect.name, rates, p95s)


def report(name: str, rates: dict, p95s: dict) -> None:
    base = rates["baseline"]
    for kind in KINDS:
        ratios = [rate / b for rate, b in zip(rates[kind], base, strict=True)]
        print(
            f"{name:<10} {kind:<10} {statistics.median(rates[kind]):7.1f} req/s "
            f"(range {min(rates[kind]):.1f}–{max(rates[kind]):.1f})  "
            f"p95 {statistics.median(p95s[kind]):6.1f} ms  "
            f"x baseline {statistics.median(ratios):5.2f} "
            f"(range {min(ratios):.2f}–{max(ratios):.2f}, {len(ratios)} rounds)",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        measure(f"sqlite:///{directory}/w.db", args.requests, args.rounds)
    if args.postgres:
        with temporary_schema(args.postgres) as url:
            measure(url, args.requests, args.rounds)


if __name__ == "__main__":
    main()
