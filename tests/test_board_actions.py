"""The board's actions as the rest of the engine sees them: an approved extension really moves
the sweep's deadline (and its reminder, by the policy's rule), a request lapses when the stage
moves on, reassignment stays inside the partnership and keeps the clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from escalation.casework import board_actions
from escalation.casework import disagreements as d
from escalation.casework.sweep import run_sweep
from escalation.directory.csv_rows import import_csv
from escalation.reads.casefile import casefile
from escalation.rules.errors import InvalidInput, NotAllowed
from escalation.store.db import transaction
from tests.factories import (
    CHAIR,
    MANAGER,
    MONDAY,
    NAMED,
    NAMED_DEPUTY,
    RAISER,
    due_at,
    load_directory,
    raise_one,
    utc,
)


@pytest.fixture
def reference(sessions):
    load_directory(sessions)
    reference = raise_one(sessions, MONDAY)
    with transaction(sessions) as session:
        d.escalate(session, reference=reference, actor=RAISER, now=MONDAY)  # due Thu 26 Nov 17:00
    return reference


def _extend(sessions, reference, amount, now=MONDAY):
    with transaction(sessions) as session:
        board_actions.request_extension(
            session,
            reference=reference,
            actor=MANAGER,
            now=now,
            amount=amount,
            reason="Awaiting health records",
        )
    with transaction(sessions) as session:
        board_actions.decide_extension(
            session, reference=reference, actor=CHAIR, now=now, approve=True
        )


def test_an_approved_extension_moves_the_sweeps_deadline(sessions, reference):
    _extend(sessions, reference, 2)
    run_sweep(sessions, now=utc(2026, 11, 27, 9))  # past the old deadline
    with transaction(sessions) as session:
        assert d.get(session, reference).stage_key == "named_professional"
    run_sweep(sessions, now=utc(2026, 11, 30, 17, 1))  # past the new one
    with transaction(sessions) as session:
        assert d.get(session, reference).stage_key == "designated_professional"


def test_a_refused_extension_leaves_the_deadline(sessions, reference):
    with transaction(sessions) as session:
        board_actions.request_extension(
            session, reference=reference, actor=MANAGER, now=MONDAY, amount=1, reason="x"
        )
    with transaction(sessions) as session:
        board_actions.decide_extension(
            session, reference=reference, actor=CHAIR, now=MONDAY, approve=False
        )
        assert d.get(session, reference).due_at == utc(2026, 11, 26, 17)


def test_a_request_lapses_when_the_stage_moves_on(sessions, reference):
    with transaction(sessions) as session:
        board_actions.request_extension(
            session, reference=reference, actor=MANAGER, now=MONDAY, amount=1, reason="x"
        )
    run_sweep(sessions, now=utc(2026, 11, 27, 9))
    with transaction(sessions) as session, pytest.raises(NotAllowed, match="no extension waiting"):
        board_actions.decide_extension(
            session, reference=reference, actor=CHAIR, now=MONDAY, approve=True
        )


def test_an_extension_at_the_final_stage_clears_the_overdue_flag(sessions, reference):
    now = MONDAY
    for _ in range(3):
        with transaction(sessions) as session:
            d.escalate(session, reference=reference, actor=MANAGER, now=now)
    late = now + timedelta(days=30)
    run_sweep(sessions, now=late)
    with transaction(sessions) as session:
        assert d.get(session, reference).final_stage_overdue_at is not None
    with transaction(sessions) as session:
        board_actions.request_extension(
            session,
            reference=reference,
            actor=MANAGER,
            now=late,
            amount=10,
            reason="Chair's meeting set",
        )
    with transaction(sessions) as session:
        # The chair owns this stage and approves the manager's request.
        board_actions.decide_extension(
            session, reference=reference, actor=CHAIR, now=late, approve=True
        )
        disagreement = d.get(session, reference)
        assert disagreement.due_at > late and disagreement.final_stage_overdue_at is None


def _urgent(sessions):
    """Raised on the urgent track at MONDAY: the named professional has 4 hours (due 14:00,
    reminded half way, at 12:00)."""
    load_directory(sessions)
    return raise_one(sessions, MONDAY, immediate_risk=True, protective_action="Police called")


def test_an_extended_stage_is_not_reminded_in_the_first_half_of_its_new_time(sessions):
    reference = _urgent(sessions)
    _extend(sessions, reference, 4, now=MONDAY + timedelta(hours=1))
    # Due 18:00: 7 hours after the approval. Four hours before would be in their first half.
    assert due_at(sessions, reference) == MONDAY + timedelta(hours=8)
    assert run_sweep(sessions, now=MONDAY + timedelta(hours=4)).reminded == 0
    assert run_sweep(sessions, now=MONDAY + timedelta(hours=4, minutes=29)).reminded == 0
    assert run_sweep(sessions, now=MONDAY + timedelta(hours=4, minutes=30)).reminded == 1


def test_a_short_extension_is_still_reminded_half_way(sessions):
    reference = _urgent(sessions)
    _extend(sessions, reference, 1, now=MONDAY + timedelta(hours=1))
    # Due 15:00, 4 hours after the approval: "4 hours before" would be the approval itself.
    assert due_at(sessions, reference) == MONDAY + timedelta(hours=5)
    assert run_sweep(sessions, now=MONDAY + timedelta(hours=2, minutes=59)).reminded == 0
    assert run_sweep(sessions, now=MONDAY + timedelta(hours=3)).reminded == 1


def test_reassignment_stays_in_the_partnership_and_keeps_the_clock(sessions, reference):
    with transaction(sessions) as session:
        import_csv(
            session,
            "name,email,organisation,partnership,roles,job_title,deputy_email,absent_from,absent_until\n"
            "Otto Outside,otto@elsewhere.example,Elsewhere,other-partnership,named_professional,,,,\n",
        )
    with transaction(sessions) as session, pytest.raises(InvalidInput) as refused:
        board_actions.reassign(
            session,
            reference=reference,
            actor=MANAGER,
            now=MONDAY,
            new_owner_email="otto@elsewhere.example",
            reason="x",
        )
    assert "new_owner" in refused.value.problems
    later = MONDAY + timedelta(days=1)
    with transaction(sessions) as session:
        board_actions.reassign(
            session,
            reference=reference,
            actor=MANAGER,
            now=later,
            new_owner_email=NAMED_DEPUTY,
            reason="Leave",
        )
    with transaction(sessions) as session:
        file = casefile(session, d.get(session, reference))
        last = file.stages[-1]
        assert last.owner == "Nathan Nurse"
        assert last.deadline.startswith(
            "due 17:00 Thu 26 Nov 2026 GMT: 3 working days after Mon 23 Nov 2026"
        )
        assert "kept when it changed hands" in last.deadline


def test_a_change_of_owner_keeps_the_clock_and_asks_for_acknowledgement_only_when_reassigned(
    sessions, reference
):
    with transaction(sessions) as session:
        d.acknowledge(session, reference=reference, actor=NAMED, now=MONDAY)
    with transaction(sessions) as session:
        d.hand_to_deputy(session, reference=reference, actor=NAMED, now=MONDAY + timedelta(hours=1))
        assert d.state_of(d.get(session, reference)) == "acknowledged"  # taken as it is
    with transaction(sessions) as session:
        board_actions.reassign(
            session,
            reference=reference,
            actor=MANAGER,
            now=MONDAY + timedelta(hours=2),
            new_owner_email=NAMED,
            reason="Back from leave",
        )
    with transaction(sessions) as session:
        disagreement = d.get(session, reference)
        assert d.state_of(disagreement) == "awaiting_acknowledgement"
        assert disagreement.due_at == utc(2026, 11, 26, 17)
        periods = disagreement.stages[-3:]
        assert [p.ended_by for p in periods] == ["hand_to_deputy", "reassign", None]
        assert {p.clock_start for p in periods} == {MONDAY}
        assert {p.due_at for p in periods} == {utc(2026, 11, 26, 17)}


def test_only_the_board_acts(sessions, reference):
    with (
        transaction(sessions) as session,
        pytest.raises(NotAllowed, match="board manager or chair"),
    ):
        board_actions.record_meeting(
            session,
            reference=reference,
            actor=RAISER,
            now=MONDAY,
            held_on=MONDAY.date(),
            attendees="A",
            outcome="B",
        )
    with transaction(sessions) as session, pytest.raises(NotAllowed, match="board manager"):
        board_actions.request_extension(
            session, reference=reference, actor=NAMED_DEPUTY, now=MONDAY, amount=1, reason="x"
        )


def test_the_digest_names_the_longest_overdue_by_reference(sessions, reference):
    from escalation.outbox.digest import digest_counts

    older = raise_one(sessions, MONDAY - timedelta(days=20), child_reference="TEST-CHILD-OLD")
    now = utc(2026, 11, 27, 9)
    with transaction(sessions) as session:
        counts = digest_counts(session, "example-partnership", now)
    assert counts["overdue"] == 2
    assert [ref for ref, _ in counts["most_overdue"]] == [older, reference]
    assert counts["most_overdue"][1][1] == "17:00 Thu 26 Nov 2026 GMT"
