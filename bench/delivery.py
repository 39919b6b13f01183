"""Delivery throughput to an SMTP server on loopback (aiosmtpd, in its own process), against a
bare aiosmtplib loop sending the same messages over the same number of connections.

    .venv/bin/python -m bench.delivery [--messages 2000] [--connections 4] [--postgres URL]

The service's figure includes everything a real pass does: claiming rows, minting and storing
a link token, rendering the three templates, sending, and committing each outcome.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import subprocess
import sys
import tempfile
import time

from sqlalchemy import func, select

from bench.common import temporary_schema
from escalation.outbox.delivery import Delivery, deliver
from escalation.outbox.mail import Renderer, SmtpConfig
from escalation.settings import get_settings
from escalation.store.db import make_engine, session_factory, transaction
from escalation.store.models import OutboxMessage
from escalation.store.schema import upgrade
from tests.factories import load_directory, raise_one, utc
from tests.smtp_server import free_port

NOW = utc(2026, 11, 30, 10)
SERVER = """
import sys, time
from aiosmtpd.controller import Controller
class Accept:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
Controller(Accept(), hostname="127.0.0.1", port=int(sys.argv[1])).start()
print("ready", flush=True)
time.sleep(100000)
"""


def start_server(port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port)], stdout=subprocess.PIPE, text=True
    )
    assert server.stdout.readline().strip() == "ready"
    return server


def fill_outbox(url: str, messages: int) -> Delivery:
    engine = make_engine(url)
    upgrade(engine)
    sessions = session_factory(engine)
    load_directory(sessions)
    for _ in range(messages // 2):  # each raise queues two emails
        raise_one(sessions, NOW)
    settings = get_settings()
    return Delivery(
        sessions=sessions,
        smtp=None,
        renderer=Renderer(settings.templates_dir, settings.mail_from),
        base_url="https://rpd.example.org",
    )


async def bare_loop(port: int, messages: list, connections: int) -> None:
    import aiosmtplib

    queue: asyncio.Queue = asyncio.Queue()
    for message in messages:
        queue.put_nowait(message)

    async def worker():
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=30)
        await client.connect()
        while not queue.empty():
            await client.send_message(queue.get_nowait())
        await client.quit()

    await asyncio.gather(*(worker() for _ in range(connections)))


def measure(url: str, messages: int, connections: int) -> None:
    port = free_port()
    server = start_server(port)
    try:
        prepared = fill_outbox(url, messages)
        name = prepared.sessions.kw["bind"].dialect.name
        delivery = Delivery(
            sessions=prepared.sessions,
            smtp=SmtpConfig.from_url(f"smtp://127.0.0.1:{port}"),
            renderer=prepared.renderer,
            base_url=prepared.base_url,
            connections=connections,
        )
        with transaction(delivery.sessions) as session:
            rows = list(session.execute(select(OutboxMessage)).scalars())
            copies = [
                delivery.renderer.render(row, link="https://rpd.example.org/l/x", now=NOW)
                for row in rows
            ]
        started = time.perf_counter()
        summary = asyncio.run(deliver(delivery, now=NOW, limit=messages, rng=random.Random(1)))
        ours = time.perf_counter() - started
        with transaction(delivery.sessions) as session:
            sent = session.execute(
                select(func.count()).where(OutboxMessage.status == "sent")
            ).scalar_one()
        assert summary.sent == sent == len(rows), summary
        started = time.perf_counter()
        asyncio.run(bare_loop(port, copies, connections))
        bare = time.perf_counter() - started
        print(
            f"{name:<10} {len(rows)} messages, {connections} connections: service "
            f"{len(rows) / ours:7.0f} msg/s   bare aiosmtplib {len(rows) / bare:7.0f} msg/s   "
            f"ratio {ours / bare:.2f} (service time / bare time)",
            flush=True,
        )
    finally:
        server.kill()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        measure(f"sqlite:///{directory}/d.db", args.messages, args.connections)
    if args.postgres:
        with temporary_schema(args.postgres) as url:
            measure(url, args.messages, args.connections)


if __name__ == "__main__":
    main()
