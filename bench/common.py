"""What the benchmarks share: a throwaway PostgreSQL schema, the app served in uvicorn."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import httpx
from sqlalchemy import create_engine

from tests.smtp_server import free_port


@contextmanager
def temporary_schema(postgres_url: str) -> Iterator[str]:
    """A URL whose search_path is a new schema, dropped (with everything in it) afterwards."""
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_url.split("?")[0])
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield f"{postgres_url.split('?')[0]}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def on_each_database(measure, args, *, sqlite: bool) -> None:
    """`measure(name, place, args)` on SQLite (when `sqlite`) then PostgreSQL (`args.postgres`),
    where `place()` gives a fresh empty database each time it is called (a file; a schema)."""
    with ExitStack() as stack:
        if sqlite:
            directory = stack.enter_context(tempfile.TemporaryDirectory())
            files = iter(range(1_000))
            measure("sqlite", lambda: f"sqlite:///{directory}/{next(files)}.db", args)
        if args.postgres:
            measure(
                "postgresql", lambda: stack.enter_context(temporary_schema(args.postgres)), args
            )


@contextmanager
def served_app(
    url: str, cookie: str, timeout: float = 30, factory: str = "bench.web_app:create"
) -> Iterator[httpx.Client]:
    """The real app (bench.web_app, or another app `factory`) in uvicorn, one worker on loopback,
    in its own process, on database `url`; a client already carrying the session `cookie`.
    Stopped afterwards."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "ESCALATION_DATABASE_URL": url, "ESCALATION_PUBLIC_BASE_URL": base}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            factory,
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
    )
    try:
        with httpx.Client(base_url=base, headers={"Origin": base}, timeout=timeout) as client:
            for _ in range(200):
                try:
                    client.get("/board/signin")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            client.cookies.set("rpd_session", cookie)
            yield client
    finally:
        server.terminate()
        server.wait(timeout=30)
