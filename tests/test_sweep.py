"""The sweep, without Prefect, on SQLite and PostgreSQL: escalation, reminders, the final stage,
exactly once under repetition, concurrency and crashes."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, event, func, select, text

from escalation.casework import disagreements as d
from escalation.casework import health
from escalation.casework.chain_audit import verify_chain
from escalation.casework.sweep import SWEEP, run_sweep
from escalation.store.db import make_engine, session_factory, transaction
from escalation.store.models import Alert, Disagreement, Event, Heartbeat, OutboxMessage
from tests.factories import (
    CHAIR,
    COUNTERPART,
    DESIGNATED,
    DIRECTORY_CSV,
    LEARNING,
    MANAGER,
    MONDAY,
    NAMED,
    RAISER,
    ROOT,
    TEAM_MANAGER,
    due_at,
    events_of,
    load_directory,
    raise_one,
)


def _outbox(sessions, **where) -> list[OutboxMessage]:
    with transaction(sessions) as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        for column, value in where.items():
            query = query.where(getattr(OutboxMessage, column) == value)
        return list(session.execute(query).scalars())


def _state(sessions, reference: str) -> tuple[str, str]:
    with transaction(sessions) as session:
        disagreement = d.get(session, reference)
        return disagreement.stage_key, disagreement.owner.email


def test_nothing_due_does_nothing_but_records_a_heartbeat(directory):
    reference = raise_one(directory, MONDAY)
    summary = run_sweep(directory, now=MONDAY + timedelta(hours=1))
    assert summary.as_dict() == {
        "escalated": 0,
        "reminded": 0,
        "final_stage_overdue": 0,
        "action_reminders": 0,
        "actions_chased": 0,
        "reopened": 0,
        "accepted_by_silence": 0,
        "queued_emails": 0,
        "blocked": [],
    }
    assert _state(directory, reference) == ("practitioner", RAISER)
    with transaction(directory) as session:
        status = health.sweep_health(session, SWEEP, MONDAY + timedelta(hours=1), 60)
        assert status.last_completed_at == MONDAY + timedelta(hours=1) and not status.stalled


def test_raising_queues_one_email_per_recipient(directory):
    reference = raise_one(directory, MONDAY)
    rows = _outbox(directory)
    assert [(r.kind, r.recipient_email, r.recipient_role, r.link_purpose) for r in rows] == [
        ("stage_assigned", RAISER, "owner", "act"),
        ("stage_update", COUNTERPART, "counterpart", "respond"),
    ]
    assert all(r.context["reference"] == reference and r.status == "pending" for r in rows)
    assert len({r.message_id for r in rows}) == 2


def test_a_due_disagreement_escalates_once_with_its_emails(directory):
    reference = raise_one(directory, MONDAY)
    due = due_at(directory, reference)
    assert run_sweep(directory, now=due - timedelta(seconds=1)).escalated == 0
    summary = run_sweep(directory, now=due)
    assert (summary.escalated, summary.queued_emails) == (1, 3)
    assert _state(directory, reference) == ("named_professional", NAMED)
    stage_rows = _outbox(directory, stage_key="named_professional")
    assert sorted((r.kind, r.recipient_email) for r in stage_rows) == [
        ("stage_assigned", NAMED),
        ("stage_update", RAISER),
        ("stage_update", TEAM_MANAGER),  # the council's side of stage 2
    ]
    # The same instant again, and later: nothing more happens.
    assert run_sweep(directory, now=due).as_dict()["escalated"] == 0
    assert len(_outbox(directory)) == 6  # raise 2, reminder 1, escalation 3
    [escalation] = [
        e for e in events_of(directory, reference) if e.kind == "escalate_automatically"
    ]
    assert escalation.actor == "system" and escalation.at == due
    assert "was due 17:00 Mon 30 Nov 2026 GMT" in escalation.note


def test_left_untouched_it_climbs_every_stage_to_the_chair(directory):
    reference = raise_one(directory, MONDAY)
    owners, dues = [], []
    for _ in range(4):
        due = due_at(directory, reference)
        dues.append(due)
        assert run_sweep(directory, now=due).escalated == 1
        owners.append(_state(directory, reference))
    assert owners == [
        ("named_professional", NAMED),
        ("designated_professional", DESIGNATED),
        ("board_manager", MANAGER),
        ("chair", CHAIR),
    ]
    final_due = due_at(directory, reference)
    summary = run_sweep(directory, now=final_due)
    assert (summary.escalated, summary.final_stage_overdue) == (0, 1)
    # Flagged once; a month later it is reminded again (every 5 working days), not re-flagged.
    later = run_sweep(directory, now=final_due + timedelta(days=30))
    assert (later.final_stage_overdue, later.reminded) == (0, 1)

    assigned = Counter(
        (r.stage_key, r.recipient_email) for r in _outbox(directory, kind="stage_assigned")
    )
    assert assigned == {
        ("practitioner", RAISER): 1,
        ("named_professional", NAMED): 1,
        ("designated_professional", DESIGNATED): 1,
        ("board_manager", MANAGER): 1,
        ("chair", CHAIR): 1,
    }
    overdue = _outbox(directory, kind="final_stage_overdue")
    assert sorted(r.recipient_email for r in overdue) == sorted([CHAIR, MANAGER] * 2)
    events = [(e.kind, e.from_stage, e.to_stage, e.at) for e in events_of(directory, reference)]
    automatic = [e for e in events if e[0] == "escalate_automatically"]
    assert [(e[1], e[2], e[3]) for e in automatic] == [
        ("practitioner", "named_professional", dues[0]),
        ("named_professional", "designated_professional", dues[1]),
        ("designated_professional", "board_manager", dues[2]),
        ("board_manager", "chair", dues[3]),
    ]
    flagged = [e for e in events if e[0] == "flag_final_stage_overdue"]
    assert [e[3] for e in flagged] == [final_due] and events[-1][0] == "remind"
    with transaction(directory) as session:
        assert verify_chain(session).ok


def test_the_owner_is_reminded_once_before_the_deadline(directory):
    reference = raise_one(directory, MONDAY)
    due = due_at(directory, reference)  # 17:00 Mon 30 Nov; reminder 4 hours before
    assert run_sweep(directory, now=due - timedelta(hours=4, seconds=1)).reminded == 0
    summary = run_sweep(directory, now=due - timedelta(hours=4))
    assert (summary.reminded, summary.queued_emails) == (1, 1)
    assert run_sweep(directory, now=due - timedelta(hours=1)).reminded == 0
    [row] = _outbox(directory, kind="reminder")
    assert (row.recipient_email, row.stage_key) == (RAISER, "practitioner")
    assert [e.kind for e in events_of(directory, reference)] == ["raise", "remind"]
    # The next stage has its own reminder.
    run_sweep(directory, now=due)
    next_due = due_at(directory, reference)
    assert run_sweep(directory, now=next_due - timedelta(hours=1)).reminded == 1
    assert [r.recipient_email for r in _outbox(directory, kind="reminder")] == [RAISER, NAMED]


def test_an_urgent_stage_is_reminded_half_way(directory):
    raise_one(directory, MONDAY, immediate_risk=True, protective_action="Police called (invented)")
    assert run_sweep(directory, now=MONDAY + timedelta(hours=1, minutes=59)).reminded == 0
    assert run_sweep(directory, now=MONDAY + timedelta(hours=2)).reminded == 1


def test_a_resolved_disagreement_is_never_swept(directory):
    reference = raise_one(directory, MONDAY)
    with transaction(directory) as session:
        d.resolve(
            session,
            reference=reference,
            actor=RAISER,
            now=MONDAY,
            outcome="decision_changed",
            summary="Agreed a strategy discussion",
            learning=LEARNING,
        )
    assert run_sweep(directory, now=MONDAY + timedelta(days=60)).as_dict()["escalated"] == 0
    closed = _outbox(directory, kind="closed")
    assert sorted(r.recipient_email for r in closed) == sorted([RAISER, COUNTERPART])


def test_one_blocked_disagreement_does_not_hold_up_the_others(sessions):
    no_board = "\n".join(
        line for line in DIRECTORY_CSV.splitlines() if MANAGER not in line and CHAIR not in line
    )
    load_directory(sessions, no_board + "\n")
    stuck = raise_one(sessions, MONDAY)
    for _ in range(2):
        run_sweep(sessions, now=due_at(sessions, stuck))
    assert _state(sessions, stuck)[0] == "designated_professional"
    fresh = raise_one(sessions, MONDAY)
    now = max(due_at(sessions, stuck), due_at(sessions, fresh))
    summary = run_sweep(sessions, now=now)
    assert summary.escalated == 1 and summary.blocked == [stuck]
    assert _state(sessions, stuck)[0] == "designated_professional"
    assert _state(sessions, fresh)[0] == "named_professional"
    with transaction(sessions) as session:
        [alert] = health.open_alerts(session)
        assert alert.kind == "escalation_blocked" and stuck in alert.message
        assert "no available board manager" in alert.message
    assert run_sweep(sessions, now=now).blocked == [stuck]
    with transaction(sessions) as session:
        assert session.execute(select(Alert.count)).scalar_one() == 2


def _many_due(sessions, count: int) -> tuple[list[str], object]:
    references = [raise_one(sessions, MONDAY) for _ in range(count)]
    return references, due_at(sessions, references[0])


def _assert_each_escalated_once(sessions, references: list[str]) -> None:
    with transaction(sessions) as session:
        kinds = Counter(
            (e.disagreement_id, e.kind) for e in session.execute(select(Event)).scalars()
        )
        rows = session.execute(select(Disagreement)).scalars().all()
        assert {r.reference: r.stage_key for r in rows} == {
            ref: "named_professional" for ref in references
        }
        for row in rows:
            assert kinds[(row.id, "escalate_automatically")] == 1
        assigned = Counter(
            (r.disagreement_id, r.recipient_email)
            for r in session.execute(
                select(OutboxMessage).where(OutboxMessage.stage_key == "named_professional")
            ).scalars()
        )
        assert len(assigned) == 3 * len(references) and set(assigned.values()) == {1}
        assert verify_chain(session).ok


def test_two_sweeps_in_threads_at_the_same_instant(directory, database_url):
    references, due = _many_due(directory, 12)
    barrier = threading.Barrier(2)
    summaries, errors = [], []

    def sweep():
        sessions = session_factory(make_engine(database_url))
        barrier.wait()
        try:
            summaries.append(run_sweep(sessions, now=due))
        except Exception as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sum(s.escalated for s in summaries) == 12
    assert sum(s.queued_emails for s in summaries) == 36
    _assert_each_escalated_once(directory, references)


# tests.sweep_worker with the sweep's group size set first, and optionally killed (os._exit,
# like kill -9) during the k-th escalation, before its group commits.
GROUPED_WORKER = """
import os, runpy, sys
from escalation.casework import sweep
from escalation.outbox import notifications
sweep.GROUP = int(sys.argv.pop(1))
die_during = int(sys.argv.pop(1))
real, calls = notifications.stage_entered, []
def stage_entered(*args):
    calls.append(1)
    if len(calls) == die_during:
        os._exit(137)
    real(*args)
notifications.stage_entered = stage_entered
runpy.run_module("tests.sweep_worker", run_name="__main__")
"""


def _worker(
    database_url: str, now, *extra: str, group: int | None = None, die_during: int = 0
) -> subprocess.Popen:
    """A sweep in its own process; `group` disagreements a transaction (else the default)."""
    start = ["-m", "tests.sweep_worker"]
    if group is not None:
        start = ["-c", GROUPED_WORKER, str(group), str(die_during)]
    return subprocess.Popen(
        [sys.executable, *start, database_url, now.isoformat(), *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_two_sweep_processes_at_the_same_instant(directory, database_url):
    references, due = _many_due(directory, 12)
    start = f"{time.time() + 4:.3f}"  # after both have imported everything
    workers = [_worker(database_url, due, "--start-at", start) for _ in range(2)]
    results = [worker.communicate(timeout=120) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], results
    summaries = [json.loads(out) for out, _ in results]
    assert sum(s["escalated"] for s in summaries) == 12
    _assert_each_escalated_once(directory, references)


def test_a_sweep_killed_after_k_of_n_is_finished_by_the_next(directory, database_url):
    references, due = _many_due(directory, 6)
    worker = _worker(database_url, due, "--die-after", "2", group=2)  # right after a group
    worker.communicate(timeout=120)
    assert worker.returncode == 137
    with transaction(directory) as session:
        stages = Counter(session.execute(select(Disagreement.stage_key)).scalars())
    assert stages == {"named_professional": 2, "practitioner": 4}
    assert run_sweep(directory, now=due).escalated == 4
    _assert_each_escalated_once(directory, references)


def test_a_sweep_killed_inside_a_group_leaves_that_group_untouched(directory, database_url):
    references, due = _many_due(directory, 7)
    worker = _worker(database_url, due, group=3, die_during=5)  # the second group's second
    worker.communicate(timeout=120)
    assert worker.returncode == 137
    with transaction(directory) as session:
        stages = Counter(session.execute(select(Disagreement.stage_key)).scalars())
        assert verify_chain(session).ok
    assert stages == {"named_professional": 3, "practitioner": 4}
    assert len(_outbox(directory, stage_key="named_professional")) == 3 * 3
    assert run_sweep(directory, now=due).escalated == 4
    _assert_each_escalated_once(directory, references)


@pytest.mark.postgres
def test_postgresql_connection_dropped_mid_sweep(postgres_url):
    database_url = postgres_url
    engine = make_engine(database_url)
    sessions = session_factory(engine)
    load_directory(sessions)
    references, due = _many_due(sessions, 5)
    admin = create_engine(database_url)
    updates = []

    @event.listens_for(engine, "before_cursor_execute")
    def kill_during_third_escalation(connection, cursor, statement, *args):
        if statement.startswith("UPDATE disagreements") and "row_version" in statement:
            updates.append(statement)  # the escalation's own (not its record's head)
            if len(updates) == 3:
                pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
                with admin.begin() as other:
                    other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    with pytest.raises(Exception, match="terminat|closed|connection"):
        run_sweep(sessions, now=due, group=2)  # during the second group's first
    event.remove(engine, "before_cursor_execute", kill_during_third_escalation)
    with transaction(sessions) as session:
        done = session.execute(
            select(func.count()).where(Disagreement.stage_key == "named_professional")
        ).scalar_one()
    assert done == 2  # the third's group was rolled back whole
    assert run_sweep(sessions, now=due).escalated == 3
    _assert_each_escalated_once(sessions, references)
    admin.dispose()
    engine.dispose()


def test_an_unexpected_failure_on_one_disagreement_does_not_stop_the_sweep(directory, monkeypatch):
    from escalation.outbox import notifications

    references, due = _many_due(directory, 3)
    broken = references[1]
    real = notifications.stage_entered

    def fail_for_one(session, disagreement, policy, now):
        if disagreement.reference == broken:
            raise RuntimeError("template store unavailable")
        real(session, disagreement, policy, now)

    monkeypatch.setattr(notifications, "stage_entered", fail_for_one)
    summary = run_sweep(directory, now=due)
    assert summary.escalated == 2 and summary.blocked == [broken]
    assert _state(directory, broken)[0] == "practitioner"  # rolled back whole
    assert [e.kind for e in events_of(directory, broken)] == ["raise"]
    with transaction(directory) as session:
        [alert] = health.open_alerts(session)
        assert "unexpected RuntimeError: template store unavailable" in alert.message
        assert verify_chain(session).ok
    monkeypatch.setattr(notifications, "stage_entered", real)
    assert run_sweep(directory, now=due).escalated == 1


def test_a_long_sweep_records_progress_so_it_reads_alive_while_it_goes(directory):
    """Twelve due, each taking 20 s on the sweep's clock: the sweep outlasts 3 intervals (the
    stall limit at 60 s) and yet health reads alive all along, and for 3 intervals after."""
    _, due = _many_due(directory, 12)
    clock = {"at": due}
    seen = []

    def twenty_seconds_each(reference: str) -> None:
        clock["at"] += timedelta(seconds=20)
        with transaction(directory) as session:
            seen.append(health.sweep_health(session, SWEEP, clock["at"], 60))

    run_sweep(directory, now=due, after_each=twenty_seconds_each, clock=lambda: clock["at"])
    assert clock["at"] == due + timedelta(minutes=4)
    assert [status.stalled for status in seen] == [False] * 12
    at = due + timedelta(seconds=220)
    assert f"a long sweep is running (11 done by {at:%H:%M:%S} UTC)" == seen[-1].message
    with transaction(directory) as session:
        alive = health.sweep_health(session, SWEEP, due + timedelta(seconds=240 + 180), 60)
        stalled = health.sweep_health(session, SWEEP, due + timedelta(seconds=240 + 181), 60)
    assert not alive.stalled and stalled.stalled
    assert "nor made progress since" in stalled.message


def test_a_fast_sweep_records_progress_every_so_many_disagreements(directory, monkeypatch):
    from escalation.casework import sweep

    monkeypatch.setattr(sweep, "PROGRESS_EVERY", 5)
    _, due = _many_due(directory, 7)
    run_sweep(directory, now=due, clock=lambda: due)  # no time passes: only the count counts
    with transaction(directory) as session:
        progress = session.get(Heartbeat, SWEEP + health.PROGRESS)
        assert (progress.detail, progress.last_started_at) == ({"done": 5}, due)


def test_an_idle_sweep_is_one_transaction(directory):
    """Nothing due, to remind or to watch: its heartbeats and one question, one commit."""
    raise_one(directory, MONDAY)
    engine = directory.kw["bind"]
    commits = []

    def count(connection):
        commits.append(1)

    event.listen(engine, "commit", count)
    run_sweep(directory, now=MONDAY + timedelta(hours=1))
    event.remove(engine, "commit", count)
    assert len(commits) == 1
    with transaction(directory) as session:
        beat = session.get(Heartbeat, SWEEP)
        assert beat.last_started_at == beat.last_completed_at == MONDAY + timedelta(hours=1)
