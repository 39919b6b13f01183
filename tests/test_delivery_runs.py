"""A delivery run: it keeps claiming while batches come back full, renews its lease while a slow
relay takes its time, and gives back what it has not started to send however it ends (an
exception, a cancellation), so the next run sends it at once instead of after the lease."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest

from escalation.outbox.delivery import deliver
from escalation.outbox.leases import claim
from tests.factories import MONDAY, ROOT, raise_one
from tests.outbox_helpers import delivery, outbox_rows
from tests.smtp_server import Server


@pytest.fixture
def server():
    with Server() as running:
        yield running


def _cases(sessions, count: int) -> None:
    for _ in range(count):
        raise_one(sessions, MONDAY)  # two emails each


def test_one_run_sends_past_one_batch_while_mail_is_waiting(directory, server):
    _cases(directory, 5)
    outbox = delivery(directory, server.url(), batch_size=3, connections=2)
    summary = asyncio.run(deliver(outbox, now=MONDAY, rng=random.Random(1)))
    assert (summary.sent, summary.batches) == (10, 4)  # 3 + 3 + 3 + 1
    assert len({m["Message-ID"] for m in server.messages}) == len(server.messages) == 10


def test_a_run_out_of_time_stops_after_its_batch(directory, server):
    _cases(directory, 5)
    outbox = delivery(directory, server.url(), batch_size=3, max_run_seconds=0)
    summary = asyncio.run(deliver(outbox, now=MONDAY, rng=random.Random(1)))
    assert (summary.sent, summary.batches) == (3, 1)
    assert {(r.status, r.locked_until) for r in outbox_rows(directory) if r.status != "sent"} == {
        ("pending", None)
    }


def test_an_exception_mid_run_gives_back_what_was_not_sent(directory, server):
    """The first message's 250 arrives, then the run fails: that message keeps its lease (the
    server has it), the other nine are claimable at once, untouched."""
    _cases(directory, 5)
    outbox = delivery(directory, server.url(), connections=1)

    def fail(_row_id):
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError, match="went away"):
        asyncio.run(deliver(outbox, now=MONDAY, after_send=fail))
    rows = outbox_rows(directory)
    held = [r for r in rows if r.locked_until is not None]
    assert len(held) == 1 and len(server.messages) == 1
    assert held[0].message_id == server.messages[0]["Message-ID"]
    assert {(r.status, r.attempts) for r in rows} == {("pending", 0)}
    assert sorted(claim(directory, MONDAY, 100, outbox.lease)) == sorted(
        r.id for r in rows if r.locked_until is None
    )


def test_a_cancelled_run_gives_back_what_was_not_sent(directory, server):
    """Cancelled while the relay sits on the first message: the nine others are released at
    once; the one in the relay's hands keeps its lease."""
    _cases(directory, 5)
    server.handler.hang_after_data = True
    outbox = delivery(directory, server.url(), connections=1, timeout=60)

    async def cancel_mid_send():
        run = asyncio.create_task(deliver(outbox, now=MONDAY))
        while not server.messages:  # wait for the first message to reach the relay
            await asyncio.sleep(0.02)
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run

    asyncio.run(asyncio.wait_for(cancel_mid_send(), timeout=60))
    rows = outbox_rows(directory)
    assert {(r.status, r.attempts) for r in rows} == {("pending", 0)}
    assert sum(r.locked_until is not None for r in rows) == 1
    assert len(claim(directory, MONDAY, 100, outbox.lease)) == 9


def test_a_slow_relay_does_not_outlast_the_lease(directory, server):
    """Three messages at 0.8 s each on a 1.2 s lease: the run renews its lease as it goes, so
    another relay looking after the first lease has ended finds nothing to take."""
    _cases(directory, 2)
    server.handler.data_delay = 0.8
    outbox = delivery(directory, server.url(), connections=1, lease=timedelta(seconds=1.2))
    run = threading.Thread(target=lambda: asyncio.run(deliver(outbox, now=MONDAY)))
    started = time.monotonic()
    run.start()
    time.sleep(1.6)  # past the first lease, by the wall clock the renewal follows
    later = MONDAY + timedelta(seconds=time.monotonic() - started)
    taken = claim(directory, later, 100, outbox.lease)
    run.join(timeout=30)
    assert taken == []
    assert len(server.messages) == 4
    assert {r.status for r in outbox_rows(directory)} == {"sent"}


def test_a_stop_gives_back_the_next_batch_claimed_while_this_one_was_sent(directory, server):
    """A full batch has the next one claimed and rendered while it is sent; when the relay
    refuses and the run stops, that next batch goes back untouched with the rest."""
    _cases(directory, 5)
    server.handler.data_replies.extend(["250 OK", "554 5.7.1 relaying denied"])
    outbox = delivery(directory, server.url(), batch_size=3, connections=1)
    summary = asyncio.run(deliver(outbox, now=MONDAY, rng=random.Random(1)))
    assert summary.stopped and (summary.sent, summary.batches) == (1, 1)
    rows = outbox_rows(directory)
    assert [r.status for r in rows].count("sent") == 1 == len(server.messages)
    assert {(r.status, r.attempts, r.locked_until) for r in rows if r.status != "sent"} == {
        ("pending", 0, None)
    }
    assert len(claim(directory, MONDAY, 100, outbox.lease)) == 9


def test_an_exception_gives_back_the_next_batch_too(directory, server):
    _cases(directory, 5)
    outbox = delivery(directory, server.url(), batch_size=3, connections=1)
    sent = []

    def fail_on_the_second(row_id):
        sent.append(row_id)
        if len(sent) == 2:
            raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError, match="went away"):
        asyncio.run(deliver(outbox, now=MONDAY, after_send=fail_on_the_second))
    rows = outbox_rows(directory)
    assert [r.status for r in rows].count("sent") == 1 and len(server.messages) == 2
    held = [r for r in rows if r.locked_until is not None]
    assert [r.id for r in held] == [sent[1]]  # the server has it: kept until the lease ends
    assert len(claim(directory, MONDAY, 100, outbox.lease)) == 8


def test_outcomes_are_committed_in_groups_and_all_recorded(directory, server):
    """Outcomes committed in groups are each recorded once: one attempt, the lease gone."""
    _cases(directory, 5)
    outbox = delivery(directory, server.url(), connections=2)
    summary = asyncio.run(deliver(outbox, now=MONDAY, rng=random.Random(1)))
    assert summary.sent == 10 == len(server.messages)
    rows = outbox_rows(directory)
    assert {(r.status, r.attempts, r.locked_until) for r in rows} == {("sent", 1, None)}


CRASH_AFTER_THIRD = """
import asyncio, os, sys
from escalation.outbox.delivery import Delivery, deliver
from escalation.outbox.mail import Renderer, SmtpConfig
from escalation.rules.calendar import parse_instant
from escalation.settings import get_settings
from escalation.store.db import make_engine, session_factory
url, smtp_url, now = sys.argv[1:4]
settings, sent = get_settings(), []
def crash(row_id):
    sent.append(row_id)
    if len(sent) == 3:
        os._exit(137)
delivery = Delivery(
    sessions=session_factory(make_engine(url)),
    smtp=SmtpConfig.from_url(smtp_url, timeout=5),
    renderer=Renderer(settings.templates_dir, settings.mail_from),
    base_url="https://rpd.example.org",
    connections=1,
    batch_size=4,
)
asyncio.run(deliver(delivery, now=parse_instant(now), after_send=crash))
"""


def test_a_crash_resends_only_what_the_relay_took_and_was_not_yet_recorded(
    directory, server, database_url
):
    """Killed (kill -9) after the relay's third 250, with outcomes committed in groups and the
    next batch claimed: once the leases end, every email goes; the only duplicates are among
    the three the relay took before the crash, each with its own Message-ID again."""
    _cases(directory, 5)
    worker = subprocess.run(
        [sys.executable, "-c", CRASH_AFTER_THIRD, database_url, server.url(), MONDAY.isoformat()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert worker.returncode == 137, worker.stderr
    before = [m["Message-ID"] for m in server.messages]
    assert len(before) == 3
    later = MONDAY + timedelta(minutes=6)
    asyncio.run(deliver(delivery(directory, server.url()), now=later, rng=random.Random(1)))
    ids = [m["Message-ID"] for m in server.messages]
    assert {r.status for r in outbox_rows(directory)} == {"sent"}
    assert set(ids) == {r.message_id for r in outbox_rows(directory)}  # nothing lost
    duplicated = {i for i in ids if ids.count(i) > 1}
    assert duplicated <= set(before)
