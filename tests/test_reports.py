"""Board report figures against values worked out by hand for a fixture of 30 disagreements.

The fixture (default policy, all invented), raised by:
  A: 12 from Example Trust against Example Council (referral), resolved by the raiser an hour
     later at the practitioner stage ("decision changed"); children A-1 .. A-12.
  B:  8 from Example School (no named professional there, so the board manager holds stage 2)
     against Example Council (icpc_request): escalated by the system at the practitioner
     deadline, resolved by the board manager two hours later ("decision upheld");
     children A-1, A-2, B-3 .. B-8.
  C:  6 urgent from Example Trust against Example Police (conference_decision), raised two days
     before `now`, left open at the named professional past their 4-hour clock; children
     A-1, C-2 .. C-6.
  D:  4 from Example Trust against Example Council (other), raised 40 days before `now` and
     escalated by the raiser after an hour, open at the named professional, long past due.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from escalation import disagreements as d
from escalation import reports
from escalation.db import transaction
from tests.factories import MANAGER, RAISER, due_at, load_directory, raise_one, utc

T0 = utc(2026, 11, 2, 10)   # Monday
NOW = utc(2026, 11, 30, 12)  # Monday, four weeks later
PARTNERSHIP = "example-partnership"
SCHOOL = {"name": "Pat Practitioner", "email": "pat@school.example", "organisation": "Example School",
          "role": "Designated safeguarding lead"}
POLICE = {"name": "Pc Poole", "email": "poole@police.example", "organisation": "Example Police",
          "role": "Public protection officer"}


@pytest.fixture
def fixture(sessions):
    load_directory(sessions)
    for number in range(1, 13):
        reference = raise_one(sessions, T0, child_reference=f"A-{number}", category="referral")
        with transaction(sessions) as session:
            d.resolve(session, reference=reference, actor=RAISER, now=T0 + timedelta(hours=1),
                      outcome="decision_changed", summary="Assessment opened")
    for child in ["A-1", "A-2", *(f"B-{n}" for n in range(3, 9))]:
        reference = raise_one(sessions, T0, raiser=SCHOOL, child_reference=child, category="icpc_request")
        deadline = due_at(sessions, reference)
        with transaction(sessions) as session:
            d.escalate(session, reference=reference, actor=d.SYSTEM, now=deadline)
        with transaction(sessions) as session:
            d.resolve(session, reference=reference, actor=MANAGER, now=deadline + timedelta(hours=2),
                      outcome="decision_upheld", summary="Rationale accepted")
    for child in ["A-1", *(f"C-{n}" for n in range(2, 7))]:
        raise_one(sessions, NOW - timedelta(days=2), counterpart=POLICE, child_reference=child,
                  category="conference_decision", immediate_risk=True,
                  protective_action="Police attended (invented)")
    raised = NOW - timedelta(days=40)
    for number in range(1, 5):
        reference = raise_one(sessions, raised, child_reference=f"D-{number}", category="other")
        with transaction(sessions) as session:
            d.escalate(session, reference=reference, actor=RAISER, now=raised + timedelta(hours=1),
                       reason="No reply")
    return sessions


def test_the_board_figures_match_the_hand_count(fixture):
    with transaction(fixture) as session:
        assert reports.open_by_stage_and_age(session, PARTNERSHIP, NOW) == {
            "named_professional": Counter({"0-7 days": 6, "over 30 days": 4})}
        assert reports.resolved_by_stage(session, PARTNERSHIP) == {
            "practitioner": (12, 0.6), "named_professional": (8, 0.4)}
        assert reports.stage_clock(session, PARTNERSHIP, NOW) == {
            "practitioner": {"periods": 24, "breaches": 8, "median_hours": 1.0},
            "named_professional": {"periods": 18, "breaches": 10, "median_hours": 48.0},
        }
        assert reports.outcome_mix(session, PARTNERSHIP) == {"decision_changed": 12, "decision_upheld": 8}
        assert reports.category_mix(session, PARTNERSHIP) == {
            "referral": 12, "icpc_request": 8, "conference_decision": 6, "other": 4}
        assert reports.organisation_matrix(session, PARTNERSHIP) == {
            ("Example Trust", "Example Council"): 16, ("Example School", "Example Council"): 8,
            ("Example Trust", "Example Police"): 6}
        assert reports.repeat_children(session, PARTNERSHIP) == {"A-1": 3, "A-2": 2}
        assert reports.urgent_count(session, PARTNERSHIP) == 6
        assert reports.never_raised(session, PARTNERSHIP) == ["Example ICB", "Example Partnership"]
        assert reports.urgent_count(session, "another-partnership") == 0


def test_the_board_report_as_text(fixture):
    from escalation.report import board_report

    with transaction(fixture) as session:
        text = board_report(session, PARTNERSHIP, NOW)
    assert "named_professional: 0-7 days 6, over 30 days 4" in text
    assert "practitioner: 12 (60%)" in text and "named_professional: 8 (40%)" in text
    assert "named_professional: 18 periods, 10 past the deadline, median 48.0 h" in text
    assert "Example Trust -> Example Council: 16" in text
    assert "Children with more than one disagreement: 2" in text and "Urgent track: 6" in text
    assert "never raised one: Example ICB, Example Partnership" in text
