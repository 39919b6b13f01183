"""Delivery throughput to an SMTP server on loopback (aiosmtpd, in its own process), against a
bare aiosmtplib loop over the same number of reused connections, sending the same bytes.

    .venv/bin/python -m bench.delivery [--messages 1000] [--connections 4] [--rounds 3]
                                       [--postgres URL]

The service's figure includes everything a real run does: claiming rows, minting and storing
link tokens, rendering the three templates, sending, and committing the outcomes; in batches of
ESCALATION_DELIVERY_BATCH_SIZE (200), as in production. The bare loop sends, over the same
number of connections (connected inside the timing, as the service's are), the bytes the
service would send for each row (with a link as long as a real one): `sendmail`, nothing else.
Rounds interleave the two (the bare loop first in every other round); each round puts the
outbox back to pending. It prints msg/s and the ratio (service msg/s / bare msg/s) per round,
then the median and range.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import subprocess
import sys
import tempfile
import time
from email.utils import parseaddr

from sqlalchemy import func, select, update

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


async def bare_loop(port: int, copies: list, connections: int) -> None:
    """The wire alone: (sender, recipient, bytes) sent with aiosmtplib's sendmail."""
    import aiosmtplib

    queue: asyncio.Queue = asyncio.Queue()
    for copy in copies:
        queue.put_nowait(copy)

    async def worker():
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=30)
        await client.connect()
        while not queue.empty():
            sender, recipient, data = queue.get_nowait()
            await client.sendmail(sender, [recipient], data)
        await client.quit()

    await asyncio.gather(*(worker() for _ in range(connections)))


def wire_copies(delivery: Delivery) -> list[tuple[str, str, bytes]]:
    """What the service sends for each row, as bytes; a link as long as a real one."""
    link = f"{delivery.base_url}/l/{'x' * 43}"
    with transaction(delivery.sessions) as session:
        rows = list(session.execute(select(OutboxMessage)).scalars())
        if hasattr(delivery.renderer, "wire"):
            wires = [delivery.renderer.wire(row, link=link, now=NOW) for row in rows]
            return [(w.sender, w.recipient, w.data) for w in wires]
        copies = []  # before the renderer built bytes: the EmailMessage, flattened once here
        for row in rows:
            message = delivery.renderer.render(row, link=link, now=NOW)
            data = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
            copies.append((parseaddr(message["From"])[1], row.recipient_email, data))
        return copies


def reset(sessions) -> int:
    """Every row pending and due again, as if just queued; how many there are."""
    with transaction(sessions) as session:
        session.execute(
            update(OutboxMessage).values(
                status="pending", attempts=0, locked_until=None, sent_at=None, next_attempt_at=NOW
            )
        )
        return session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()


def run_service(delivery: Delivery, count: int) -> float:
    started = time.perf_counter()
    summary = asyncio.run(deliver(delivery, now=NOW, rng=random.Random(1)))
    elapsed = time.perf_counter() - started
    with transaction(delivery.sessions) as session:
        sent = session.execute(
            select(func.count()).where(OutboxMessage.status == "sent")
        ).scalar_one()
    assert summary.sent == sent == count, (summary, sent, count)
    return count / elapsed


def run_bare(port: int, copies: list, connections: int) -> float:
    started = time.perf_counter()
    asyncio.run(bare_loop(port, copies, connections))
    return len(copies) / (time.perf_counter() - started)


def spread(values: list[float], digits: int = 0) -> str:
    return (
        f"median {statistics.median(values):.{digits}f} "
        f"(range {min(values):.{digits}f}-{max(values):.{digits}f})"
    )


def measure(url: str, messages: int, connections: int, rounds: int) -> None:
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
            batch_size=get_settings().delivery_batch_size,
        )
        ours, bare = [], []
        for number in range(rounds):
            count = reset(delivery.sessions)
            copies = wire_copies(delivery)
            if number % 2:
                bare.append(run_bare(port, copies, connections))
                ours.append(run_service(delivery, count))
            else:
                ours.append(run_service(delivery, count))
                bare.append(run_bare(port, copies, connections))
            print(
                f"{name:<10} round {number + 1}: {count} messages, {connections} connections: "
                f"service {ours[-1]:5.0f} msg/s   bare aiosmtplib {bare[-1]:5.0f} msg/s   "
                f"ratio {ours[-1] / bare[-1]:.2f}",
                flush=True,
            )
        ratios = [o / b for o, b in zip(ours, bare, strict=True)]
        print(
            f"{name:<10} service msg/s {spread(ours)}; bare msg/s {spread(bare)}; "
            f"ratio (service/bare, goal >= 0.5) {spread(ratios, 2)}",
            flush=True,
        )
    finally:
        server.kill()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        measure(f"sqlite:///{directory}/d.db", args.messages, args.connections, args.rounds)
    if args.postgres:
        with temporary_schema(args.postgres) as url:
            measure(url, args.messages, args.connections, args.rounds)


if __name__ == "__main__":
    main()
