"""Two sweeps at once on PostgreSQL both make progress: one holding its group's rows mid-
transaction does not stop the other (there is no global lock, only each disagreement's row),
and every disagreement is escalated exactly once."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event

from escalation.casework.chain_audit import verify_chain
from escalation.casework.sweep import run_sweep
from escalation.store.db import make_engine, session_factory, transaction
from tests.factories import load_directory
from tests.test_sweep import _assert_each_escalated_once, _many_due

pytestmark = pytest.mark.postgres
WAIT = 30  # seconds: far longer than the other sweep needs, far shorter than a hung test


def test_two_sweeps_in_parallel_both_progress_and_escalate_each_once(postgres_url):
    first_engine, second_engine = make_engine(postgres_url), make_engine(postgres_url)
    first, second = session_factory(first_engine), session_factory(second_engine)
    load_directory(first)
    references, due = _many_due(first, 12)
    by_second: list[str] = []
    second_progressed = threading.Event()
    waits: list[bool] = []
    events_written = []

    @event.listens_for(first_engine, "before_cursor_execute")
    def hold_the_group_open(connection, cursor, statement, *args):
        """Mid-group, with its rows locked and its events written but not committed, the first
        sweep waits until the second has committed escalations of its own."""
        if statement.startswith("INSERT INTO events"):
            events_written.append(statement)
            if len(events_written) == 2:
                waits.append(second_progressed.wait(WAIT))

    def second_sweep_each(reference: str) -> None:
        by_second.append(reference)
        if len(by_second) >= 3:
            second_progressed.set()

    results = {}

    def sweep(name, sessions, **options) -> None:
        results[name] = run_sweep(sessions, now=due, **options)

    held = threading.Thread(target=sweep, args=("first", first))
    held.start()
    while not events_written and held.is_alive():
        held.join(0.01)
    other = threading.Thread(
        target=sweep, args=("second", second), kwargs={"after_each": second_sweep_each, "group": 1}
    )
    other.start()
    other.join(WAIT * 2)
    held.join(WAIT * 2)
    event.remove(first_engine, "before_cursor_execute", hold_the_group_open)

    assert waits == [True], "the second sweep could not progress while the first held its group"
    escalated = results["first"].escalated, results["second"].escalated
    assert min(escalated) >= 2 and sum(escalated) == len(references), escalated
    _assert_each_escalated_once(first, references)
    with transaction(first) as session:
        assert verify_chain(session).ok
    first_engine.dispose()
    second_engine.dispose()
