"""The sweep's stall check (escalation/casework/health.py): not green before the stall clock has
started, one alarm per stall, and the alarm emails found for sending at once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from escalation.casework import health
from escalation.casework.sweep import SWEEP
from escalation.store.db import transaction
from escalation.store.models import Alert, OutboxMessage
from tests.factories import MANAGER, MONDAY

MINUTE = timedelta(minutes=1)


def _check(sessions, at) -> health.SweepHealth:
    with transaction(sessions) as session:
        return health.check_sweep(session, SWEEP, at, 60)


def _alarms(sessions) -> list[tuple[str, str]]:
    with transaction(sessions) as session:
        ids = health.pending_alarms(session)
        query = select(OutboxMessage).where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id)
        rows = session.execute(query).scalars()
        return [(row.recipient_email, row.idempotency_key.split("/")[1]) for row in rows]


def test_a_fresh_install_is_not_healthy_and_raises_no_alarm(directory):
    status = _check(directory, MONDAY)
    assert (status.expected, status.healthy) == (False, False)
    assert "no sweep has ever been expected: run scripts/production/deploy" in status.message
    with transaction(directory) as session:
        assert session.execute(select(Alert)).first() is None
    assert _alarms(directory) == []


def test_starting_the_clock_makes_it_healthy_and_a_restart_does_not_move_it(directory):
    with transaction(directory) as session:
        health.expect_sweeps(session, SWEEP, MONDAY)
    assert _check(directory, MONDAY + 3 * MINUTE).healthy
    with transaction(directory) as session:
        health.expect_sweeps(session, SWEEP, MONDAY + 10 * MINUTE)  # deploy again: no reset
    assert _check(directory, MONDAY + 10 * MINUTE).stalled


def test_a_first_sweep_that_never_completes_still_starts_the_clock(directory):
    with transaction(directory) as session:
        health.sweep_started(session, SWEEP, MONDAY)
    status = _check(directory, MONDAY + 4 * MINUTE)
    assert status.expected and status.stalled
    assert "no sweep has completed since 2026-11-23 10:00:00 UTC" in status.message


def test_a_stall_queues_one_alarm_per_board_manager_and_a_later_stall_another(directory):
    with transaction(directory) as session:
        health.expect_sweeps(session, SWEEP, MONDAY)
    _check(directory, MONDAY + 4 * MINUTE)
    _check(directory, MONDAY + 5 * MINUTE)  # the same stall: no second email
    first_stall = MONDAY.isoformat()
    assert _alarms(directory) == [(MANAGER, first_stall)]
    with transaction(directory) as session:  # the sweep runs once, then stalls again
        health.sweep_completed(session, SWEEP, MONDAY + 6 * MINUTE, {})
    assert _check(directory, MONDAY + 7 * MINUTE).healthy
    _check(directory, MONDAY + 10 * MINUTE)
    second_stall = (MONDAY + 6 * MINUTE).isoformat()
    assert _alarms(directory) == [(MANAGER, first_stall), (MANAGER, second_stall)]


def test_only_unsent_alarms_are_pending(directory):
    with transaction(directory) as session:
        health.expect_sweeps(session, SWEEP, MONDAY)
    _check(directory, MONDAY + 4 * MINUTE)
    with transaction(directory) as session:
        session.execute(select(OutboxMessage)).scalar_one().status = "sent"
    assert _alarms(directory) == []
