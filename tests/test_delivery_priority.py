"""Alarms jump the queue: a delivery run claims alarm emails (the sweep has stalled, an owner
cannot be emailed) before routine mail, however much older routine mail is due, and the claim
reads the outbox in that order through its index rather than sorting every pending row."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import pytest
from sqlalchemy import select

from escalation.casework import health
from escalation.casework.sweep import SWEEP
from escalation.outbox import kinds
from escalation.outbox.delivery import deliver
from escalation.outbox.leases import LEASE, claim, claim_query
from escalation.outbox.rows import Recipient, insert_row
from escalation.store.db import transaction
from escalation.store.models import OutboxMessage
from tests.factories import MANAGER, MONDAY, raise_one
from tests.outbox_helpers import add_rows, delivery
from tests.smtp_server import Server


def test_one_alarm_is_claimed_before_a_thousand_older_routine_emails(sessions):
    add_rows(sessions, 1000, kind="stage_update", at=MONDAY - timedelta(hours=1))
    with transaction(sessions) as session:
        insert_row(
            session,
            kind=kinds.MessageKind.SWEEP_STALLED,
            key="alarm",
            recipient=Recipient(MANAGER, "board_manager"),
            context={"since": "09:55"},
            now=MONDAY,
        )
        alarm = session.execute(
            select(OutboxMessage.id).where(OutboxMessage.kind == "sweep_stalled")
        ).scalar_one()
    first = claim(sessions, MONDAY, 10, LEASE)
    assert first[0] == alarm
    assert len(first) == 10  # and then the oldest routine mail


def test_the_database_sets_each_kind_s_priority_as_kinds_priority_says(sessions):
    """outbox.priority is computed by the database (migration 0010); kinds.priority is the same
    rule in Python. They must agree for every kind."""
    with transaction(sessions) as session:
        for kind in kinds.MessageKind:
            insert_row(
                session,
                kind=kind,
                key=f"each/{kind.value}",
                recipient=Recipient(f"{kind.value}@example.org", "board_manager"),
                context={},
                now=MONDAY,
            )
    with transaction(sessions) as session:
        stored = dict(session.execute(select(OutboxMessage.kind, OutboxMessage.priority)).all())
    assert stored == {kind.value: kinds.priority(kind) for kind in kinds.MessageKind}
    assert stored["sweep_stalled"] == stored["undeliverable"] == kinds.ALARM
    assert stored["sign_in"] == kinds.WAITING and stored["reminder"] == kinds.ROUTINE


def test_the_stall_alarm_goes_first_in_a_real_run(directory):
    """Twenty routine emails due first, then the stall alarm: with batches of three, the alarm
    is the first email the relay receives."""
    for _ in range(10):
        raise_one(directory, MONDAY)
    stalled_at = MONDAY + timedelta(minutes=10)
    with transaction(directory) as session:
        health.expect_sweeps(session, SWEEP, MONDAY)
        assert health.check_sweep(session, SWEEP, stalled_at, 60).stalled
    with Server() as server:
        outbox = delivery(directory, server.url(), connections=1, batch_size=3)
        summary = asyncio.run(deliver(outbox, now=stalled_at, rng=random.Random(1)))
    assert summary.sent == 21 and summary.batches == 7
    assert "ALARM" in server.messages[0]["Subject"] and server.messages[0]["To"] == MANAGER
    assert not any("ALARM" in m["Subject"] for m in server.messages[1:])


def test_the_claim_reads_the_claim_index_in_order(engine, sessions):
    """No sort of every due row (a burst is thousands): the claim reads ix_outbox_claim."""
    if engine.dialect.name != "postgresql":
        pytest.skip("the planner's choice is PostgreSQL's question (production)")
    add_rows(sessions, 3000, kind="stage_update", at=MONDAY - timedelta(hours=1))
    add_rows(sessions, 3, kind="undeliverable", at=MONDAY)
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE outbox")
    query = claim_query(MONDAY, 200).with_for_update(skip_locked=True)
    statement = str(query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    with engine.connect() as connection:
        plan = " ".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {statement}"))
    assert "ix_outbox_claim" in plan and "Sort" not in plan, plan
