"""When the ladder bends, on a real database (SQLite and PostgreSQL): several holders and the
primary one, nobody holding a rung, the line manager, absent holders and their deputies, a
person serving two partnerships, a cross-border child, the conference route, and the urgent
clock in service hours with its out-of-hours owner. Each time the record says who and why."""

from datetime import timedelta

import pytest

from escalation.casework import disagreements as d
from escalation.casework.intake import area_policy
from escalation.store.db import transaction
from tests.factories import MONDAY, POLICIES, utc
from tests.routing_helpers import (
    LAKESIDE,
    build,
    change,
    drop_role,
    escalate_when_due,
    gap_alerts,
    periods,
    raise_between,
    set_primary,
    stage_events,
)

BOARD = ("board_manager", "Bea Manager")
CHAIR = ("chair", "Chris Chair")


def _raise(sessions, raiser="Hana Visitor", decision_maker="Sam Social", **overrides) -> str:
    overrides.setdefault("now", MONDAY)
    overrides.setdefault("policy", POLICIES["default"])
    return raise_between(sessions, raiser, decision_maker, **overrides)


def _at_stage_2(sessions, raiser="Hana Visitor", decision_maker="Sam Social"):
    """Raised and escalated at its first deadline; the stage-2 period."""
    reference = _raise(sessions, raiser, decision_maker)
    escalate_when_due(sessions, reference)
    return reference, periods(sessions, reference)[1]


def test_the_primary_of_two_holders_decides(sessions):
    build(sessions)
    _, stage_2 = _at_stage_2(sessions)
    assert stage_2.owner == "Nina Named"
    assert stage_2.owner_reason.endswith("; the primary of 2 holders")


@pytest.mark.parametrize("primaries", [(), ("Nina Named", "Dr Nadia Named")])
def test_two_holders_and_no_one_primary_is_a_gap_the_board_manager_holds(sessions, primaries):
    build(sessions)
    for name in ("Nina Named", "Dr Nadia Named"):
        set_primary(sessions, name, "named_professional", name in primaries)
    reference, stage_2 = _at_stage_2(sessions)
    marked = "none is" if not primaries else "2 are"
    gap = f"2 people match (Nina Named, Dr Nadia Named) and {marked} marked primary"
    assert stage_2.owner == "Bea Manager"
    assert stage_2.owner_reason == f"{gap}; the board manager holds this stage"
    assert gap_alerts(sessions) == [
        f"Named professional or line manager: {gap}; the board manager holds it. Fix the directory."
    ]
    assert f"owner Bea Manager ({gap}; " in stage_events(sessions, reference)[1].note


def test_nobody_holding_a_role_is_a_gap_on_either_side(sessions):
    build(sessions)
    drop_role(sessions, "Dana Lead", "named_professional")
    _, raising = _at_stage_2(sessions, "Tom Teacher", "Sam Social")
    _, receiving = _at_stage_2(sessions, "PC Olly Officer", "Tom Teacher")
    nobody = (
        "nobody matches named professional or agency safeguarding lead in the same "
        "organisation (Example School)"
    )
    assert (raising.owner, raising.owner_reason) == (
        "Bea Manager",
        f"{nobody}; the board manager holds this stage",
    )
    assert (receiving.owner, receiving.counterpart) == ("DS Dee Sergeant", None)
    assert receiving.counterpart_reason == f"no counterpart: {nobody}"
    assert gap_alerts(sessions) == [
        f"Named professional or line manager: {nobody}; the board manager holds it. "
        "Fix the directory.",
        f"Named professional or line manager: {nobody}; it has no counterpart. Fix the directory.",
    ]


def test_a_board_managers_gap_does_not_break_the_chain_to_the_designated_nurse(sessions):
    build(sessions)
    set_primary(sessions, "Nina Named", "named_professional", False)
    reference, stage_2 = _at_stage_2(sessions)
    assert stage_2.owner == "Bea Manager"
    escalate_when_due(sessions, reference)
    assert periods(sessions, reference)[2].owner == "Dina Designated"


def test_the_line_manager_takes_a_stage_nobody_holds_where_the_rule_allows_it(sessions):
    build(sessions)
    _, stage_2 = _at_stage_2(sessions, "PC Rob Rural")
    assert stage_2.owner == "Sgt Rita Rural"
    assert stage_2.owner_reason.endswith("nobody holds it, so PC Rob Rural's line manager")


def test_absent_holders_deputies_take_both_sides_and_the_chronology_says_why(sessions):
    build(sessions)
    for name in ("Dana Lead", "Tess Team", "Sid Service"):
        change(sessions, name, absent_from=utc(2026, 11, 30).date())
    reference, stage_2 = _at_stage_2(sessions, "Tom Teacher", "Sam Social")
    absent = "is absent on Mon 30 Nov 2026"
    assert (stage_2.owner, stage_2.counterpart) == ("Derek Deputy", "Tina Cover")
    assert stage_2.owner_reason.endswith(
        f"; Dana Lead {absent}; their deputy Derek Deputy holds this stage"
    )
    assert stage_2.counterpart_reason.endswith(
        f"; Tess Team {absent}; their deputy Tina Cover holds this stage"
    )
    note = stage_events(sessions, reference)[1].note
    assert f"owner Derek Deputy ({stage_2.owner_reason})" in note
    assert f"counterpart Tina Cover ({stage_2.counterpart_reason})" in note
    escalate_when_due(sessions, reference)
    stage_3 = periods(sessions, reference)[2]
    assert (stage_3.owner, stage_3.counterpart) == ("Hal Head", None)
    assert stage_3.counterpart_reason.startswith("no counterpart: rule: ")
    assert stage_3.counterpart_reason.endswith(
        "; Sid Service is absent on Fri 4 Dec 2026 and has no deputy"
    )
    assert gap_alerts(sessions) == [
        "Designated professional or senior manager: Sid Service is absent and has no deputy "
        "available; it has no counterpart. Fix the directory."
    ]


def test_a_person_in_two_partnerships_holds_their_role_in_both(sessions):
    build(sessions)
    home = _raise(sessions, "Dr Paula Paed", "Sam Social")
    away = _raise(sessions, "Dr Paula Paed", "Lou Lake", policy=POLICIES["four-stage"])
    for reference in (home, away, home, away):
        escalate_when_due(sessions, reference)
    assert [(p.owner, p.counterpart) for p in periods(sessions, home)][1:] == [
        ("Dr Nadia Named", "Tess Team"),
        ("Dr Dev Designated", "Sid Service"),
    ]
    assert [(p.owner, p.counterpart) for p in periods(sessions, away)][1:] == [
        ("Dr Nadia Named", "Lottie Lake"),
        ("Dr Dev Designated", "Luke Lake"),
    ]


def test_a_cross_border_child_follows_the_childs_area(sessions):
    build(sessions)
    policy = area_policy(POLICIES, LAKESIDE, default_id="default")
    reference = _raise(
        sessions,
        "Hana Visitor",
        "Lou Lake",
        policy=policy,
        child_area=LAKESIDE,
        other_area="Example Borough",
    )
    escalate_when_due(sessions, reference)
    with transaction(sessions) as session:
        disagreement = d.get(session, reference)
        assert (disagreement.partnership, disagreement.policy_id) == (LAKESIDE, "four-stage")
        assert disagreement.other_area == "Example Borough"
    assert [(p.stage_key, p.owner, p.counterpart) for p in periods(sessions, reference)] == [
        ("practitioner", "Hana Visitor", "Lou Lake"),
        ("line_manager", "Nina Named", "Lottie Lake"),
    ]
    raised = stage_events(sessions, reference)[0].note
    assert "cross-border: the child lives in Lakeside; also involves Example Borough" in raised


def test_a_conference_decision_goes_to_the_iro_manager_on_a_72_hour_clock(sessions):
    build(sessions)
    reference = _raise(sessions, category="conference_decision")
    with transaction(sessions) as session:
        assert d.get(session, reference).due_at == MONDAY + timedelta(hours=72)
    escalate_when_due(sessions, reference)
    escalate_when_due(sessions, reference)
    assert [(p.stage_key, p.owner, p.counterpart) for p in periods(sessions, reference)] == [
        ("conference_review", "Ivy Reviewing", "Sam Social"),
        (*BOARD, "Hugh Head"),
        (*CHAIR, "Dora Director"),
    ]


def _urgent(sessions, at) -> str:
    return _raise(
        sessions, now=at, immediate_risk=True, protective_action="Referred to MASH (invented)"
    )


def test_an_urgent_case_raised_at_night_goes_to_the_emergency_duty_manager(sessions):
    build(sessions)
    reference = _urgent(sessions, utc(2026, 11, 24, 2))
    stage = periods(sessions, reference)[0]
    assert (stage.stage_key, stage.owner, stage.counterpart) == (
        "named_professional",
        "Eddie Duty",
        "Tess Team",
    )
    assert stage.owner_reason.startswith(
        "urgent and out of service hours (08:00–20:00 every day) at 02:00 Tue 24 Nov 2026; rule: "
    )
    with transaction(sessions) as session:
        assert d.get(session, reference).due_at == utc(2026, 11, 24, 12)  # 4 h from 08:00
    escalate_when_due(sessions, reference)
    assert periods(sessions, reference)[1].owner == "Dina Designated"


def test_the_urgent_clock_counts_service_hours_and_a_stage_due_at_night_goes_to_the_duty_manager(
    sessions,
):
    build(sessions)
    reference = _urgent(sessions, utc(2026, 11, 23, 19))
    dues = [escalate_when_due(sessions, reference) for _ in range(2)]
    # 1 h on Monday evening and 3 from 08:00 Tuesday; then 8 h, to 19:00 Tuesday.
    assert dues == [utc(2026, 11, 24, 11), utc(2026, 11, 24, 19)]
    with transaction(sessions) as session:
        # 1 h to 20:00 Tuesday, 12 on Wednesday, 11 from 08:00 Thursday.
        assert d.get(session, reference).due_at == utc(2026, 11, 26, 19)
    assert [(p.stage_key, p.owner) for p in periods(sessions, reference)] == [
        ("named_professional", "Nina Named"),
        ("designated_professional", "Dina Designated"),
        ("board_manager", "Bea Manager"),
    ]
    late = _urgent(sessions, utc(2026, 11, 23, 8))
    assert [escalate_when_due(sessions, late) for _ in range(2)] == [
        utc(2026, 11, 23, 12),
        utc(2026, 11, 23, 20),
    ]
    board = periods(sessions, late)[2]
    assert (board.stage_key, board.owner) == ("board_manager", "Eddie Duty")
    assert "out of service hours (08:00–20:00 every day) at 20:00 Mon 23 Nov 2026" in (
        board.owner_reason
    )
