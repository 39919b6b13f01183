"""Where a dashboard page's time goes at 100,000 disagreements: each statement's own time (an
engine event pair) against the request's, in-process, on SQLite or PostgreSQL.

    .venv/bin/python -m bench.dashboard_profile [--disagreements 100000] [--requests 9]
        [--postgres URL] [--page PATH]... [--explain] [--url URL --cookie COOKIE]

The data are bench.dashboard's (the same rows, statistics fresh). The app is the real one,
called through httpx's ASGI transport (no server): per page, the median request time, the
median of the statements' total, and each statement's median with its first words; with
`--explain`, PostgreSQL's or SQLite's plan for the slowest statement of each page.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections import defaultdict

import httpx
from sqlalchemy import event

from bench.common import temporary_schema
from bench.dashboard import prepare

PAGES = {
    "first page": "/board",
    "filtered": "/board?category=referral&raising=Raising+Organisation+3&stage=chair",
    "owner filter": "/board?owner=5",
    "last open page": "/board?page=600",
    "all, page 1000": "/board?status=all&page=1000",
}


class Statements:
    """Each statement's time, in the order sent, while `recording`."""

    def __init__(self, engine):
        self.recording: list[tuple[str, float, object]] | None = None
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, _conn, _cursor, statement, parameters, context, _many):
        context._bench_started = time.perf_counter()

    def _after(self, _conn, _cursor, statement, parameters, context, _many):
        if self.recording is not None:
            spent = time.perf_counter() - context._bench_started
            self.recording.append((statement, spent, parameters))


async def _timed(app, cookie: str, path: str, statements: Statements, count: int) -> dict:
    base = "http://127.0.0.1:8000"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=base) as client:
        client.cookies.set("rpd_session", cookie)
        assert (await client.get(path)).status_code == 200  # warm: templates, statements
        wall, in_sql = [], []
        each: dict[int, list[float]] = defaultdict(list)
        texts: dict[int, tuple[str, object]] = {}
        for _ in range(count):
            statements.recording = []
            started = time.perf_counter()
            response = await client.get(path)
            wall.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text[:300]
            in_sql.append(sum(spent for _, spent, _ in statements.recording))
            for number, (text, spent, parameters) in enumerate(statements.recording):
                each[number].append(spent)
                texts[number] = (text, parameters)
        statements.recording = None
    return {"wall": wall, "sql": in_sql, "each": each, "texts": texts}


def _explain(engine, text: str, parameters) -> str:
    prefix = "EXPLAIN ANALYZE " if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(prefix + text, parameters).all()
    return "\n".join("      " + " | ".join(str(part) for part in row) for row in rows)


def measure(url: str, args) -> None:
    os.environ["ESCALATION_DATABASE_URL"] = url
    os.environ.setdefault("ESCALATION_PUBLIC_BASE_URL", "http://127.0.0.1:8000")
    cookie = args.cookie or prepare(url, args.disagreements)[0]
    from bench.web_app import create

    app = create()
    engine = app.state.sessions.kw["bind"]
    statements = Statements(engine)
    pages = {path: path for path in args.page} if args.page else PAGES
    for label, path in pages.items():
        found = asyncio.run(_timed(app, cookie, path, statements, args.requests))
        print(
            f"{engine.dialect.name}: {label}: median {statistics.median(found['wall']) * 1000:.1f}"
            f" ms, of which statements {statistics.median(found['sql']) * 1000:.1f} ms "
            f"({len(found['each'])} statements)",
            flush=True,
        )
        ranked = sorted(found["each"].items(), key=lambda item: -statistics.median(item[1]))
        for number, spent in ranked[: args.top]:
            text = " ".join(found["texts"][number][0].split())
            print(f"    {statistics.median(spent) * 1000:7.2f} ms  #{number + 1:<2} {text[:150]}")
        if args.explain and ranked:
            text, parameters = found["texts"][ranked[0][0]]
            print(_explain(engine, text, parameters))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--disagreements", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=9)
    parser.add_argument("--postgres")
    parser.add_argument("--page", action="append", help="a path instead of the five pages")
    parser.add_argument("--top", type=int, default=6, help="statements shown per page")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--sqlite", action="store_true", help="SQLite too when --postgres")
    parser.add_argument("--url", help="a database bench.dashboard.prepare already loaded")
    parser.add_argument("--cookie", help="its board manager's session cookie (with --url)")
    args = parser.parse_args()
    if args.url:
        measure(args.url, args)
        return
    if not args.postgres or args.sqlite:
        with tempfile.TemporaryDirectory() as directory:
            measure(f"sqlite:///{directory}/b.db", args)
    if args.postgres:
        with temporary_schema(args.postgres) as url:
            measure(url, args)


if __name__ == "__main__":
    main()
