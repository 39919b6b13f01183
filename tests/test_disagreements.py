"""The disagreement's life on a real database (SQLite and PostgreSQL)."""

import pytest
from sqlalchemy import func, select

from escalation.casework import disagreements as d
from escalation.casework.chain_audit import verify_chain
from escalation.rules.errors import InvalidInput, NotAllowed
from escalation.rules.policy import policy_from_document
from escalation.store.db import transaction
from escalation.store.models import Disagreement, Event, Person, StagePeriod
from tests.factories import (
    CHAIR,
    DEFAULT,
    DESIGNATED,
    DIRECTORY_CSV,
    FOUR_STAGE,
    LEARNING,
    MANAGER,
    MONDAY,
    NAMED,
    NAMED_DEPUTY,
    RAISER,
    TEAM_MANAGER,
    load_directory,
    raise_request,
    utc,
)


def _raise(sessions, policy=DEFAULT, now=MONDAY, **overrides) -> str:
    with transaction(sessions) as session:
        return d.raise_disagreement(
            session, request=raise_request(**overrides), policy=policy, now=now
        ).reference


def _get(sessions, reference) -> Disagreement:
    with transaction(sessions) as session:
        disagreement = d.get(session, reference)
        _ = disagreement.owner, disagreement.stages  # load while the session is open
        return disagreement


def _events(sessions, reference) -> list[tuple]:
    with transaction(sessions) as session:
        disagreement = d.get(session, reference)
        rows = session.execute(
            select(Event).where(Event.disagreement_id == disagreement.id).order_by(Event.id)
        ).scalars()
        return [(e.kind, e.actor, e.from_stage, e.to_stage, e.note) for e in rows]


def _do(sessions, action, **kwargs):
    with transaction(sessions) as session:
        return action(session, **kwargs)


def test_raising_starts_the_first_stage_with_the_raiser_as_owner(directory):
    reference = _raise(directory)
    disagreement = _get(directory, reference)
    assert disagreement.status == "open" and disagreement.stage_key == "practitioner"
    assert disagreement.owner.email == RAISER
    assert disagreement.due_at == utc(2026, 11, 30, 17)  # 5 working days
    assert disagreement.policy_id == "default" and disagreement.policy_version == "2026.3"
    assert _events(directory, reference) == [
        (
            "raise",
            RAISER,
            None,
            "practitioner",
            "owner Hana Visitor (rule: the practitioner who raised it); counterpart Sam Social "
            "(rule: the professional whose decision is disputed)",
        )
    ]


def test_an_urgent_disagreement_starts_at_the_named_professional_on_an_hours_clock(directory):
    reference = _raise(
        directory, immediate_risk=True, protective_action="Referred to MASH at 09:40"
    )
    disagreement = _get(directory, reference)
    assert disagreement.urgent and disagreement.stage_key == "named_professional"
    assert disagreement.owner.email == NAMED
    assert disagreement.due_at == utc(2026, 11, 23, 14)
    assert "urgent track" in _events(directory, reference)[0][4]


def test_immediate_risk_without_protective_action_is_refused():
    with pytest.raises(InvalidInput) as caught:
        raise_request(immediate_risk=True)
    assert "protective_action" in caught.value.problems


def test_a_raiser_not_in_the_directory_is_added_as_a_practitioner(directory):
    raiser = {
        "name": "New Visitor",
        "email": "New.Visitor@Trust.example",
        "organisation": "Example Trust",
        "role": "Health visitor",
    }
    reference = _raise(directory, raiser=raiser)
    disagreement = _get(directory, reference)
    assert disagreement.owner.email == "new.visitor@trust.example"
    assert disagreement.owner.roles == {"practitioner"}


def test_the_same_idempotency_key_creates_one_disagreement(directory):
    first = _raise(directory, idempotency_key="form-123")
    second = _raise(directory, idempotency_key="form-123")
    assert first == second
    with transaction(directory) as session:
        assert session.scalar(select(func.count()).select_from(Disagreement)) == 1


def test_raised_at_in_the_past_starts_the_clock_then(directory):
    reference = _raise(directory, raised_at="2026-11-20T09:00:00+00:00")
    disagreement = _get(directory, reference)
    assert disagreement.raised_at == utc(2026, 11, 20, 9)
    assert disagreement.due_at == utc(2026, 11, 27, 17)
    assert disagreement.recorded_at == MONDAY


def test_raised_at_in_the_future_is_refused(directory):
    with pytest.raises(InvalidInput, match="raised_at"):
        _raise(directory, raised_at="2026-12-01T09:00:00+00:00")


def test_escalation_climbs_every_stage_with_one_owner_each(directory):
    reference = _raise(directory)
    expected = [
        ("named_professional", NAMED, utc(2026, 11, 26, 17)),
        ("designated_professional", DESIGNATED, utc(2026, 11, 30, 17)),
        ("board_manager", MANAGER, utc(2026, 11, 30, 17)),
        ("chair", CHAIR, utc(2026, 12, 7, 17)),
    ]
    for stage, owner, due in expected:
        _do(directory, d.escalate, reference=reference, actor=MANAGER, now=MONDAY)
        disagreement = _get(directory, reference)
        assert (disagreement.stage_key, disagreement.owner.email, disagreement.due_at) == (
            stage,
            owner,
            due,
        )
    with pytest.raises(NotAllowed, match="final stage"):
        _do(directory, d.escalate, reference=reference, actor=CHAIR, now=MONDAY)
    periods = _get(directory, reference).stages
    assert [p.stage_key for p in periods] == ["practitioner"] + [e[0] for e in expected]
    assert all(p.ended_by == "escalate" for p in periods[:-1]) and periods[-1].ended_at is None


def test_an_overdue_final_stage_stays_open_and_is_flagged_once(directory):
    reference = _raise(directory, immediate_risk=True, protective_action="Police called")
    for _ in range(3):
        _do(directory, d.escalate, reference=reference, actor=MANAGER, now=MONDAY)
    assert _get(directory, reference).stage_key == "chair"
    later = utc(2026, 11, 27, 10)  # 48 service hours (08:00-20:00) from 10:00 Monday
    with transaction(directory) as session:
        assert (
            d.act_if_due(session, reference=reference, now=later).action
            == "flag_final_stage_overdue"
        )
    with transaction(directory) as session:
        assert d.act_if_due(session, reference=reference, now=later) is None
        assert d.due_references(session, now=later) == []
    disagreement = _get(directory, reference)
    assert disagreement.status == "open" and disagreement.final_stage_overdue_at == later
    assert _events(directory, reference)[-1][0] == "flag_final_stage_overdue"


def test_the_sweep_escalates_only_what_is_due(directory):
    due = _raise(directory)
    not_due = _raise(directory, now=utc(2026, 11, 27, 10), child_reference="TEST-CHILD-2")
    after_deadline = utc(2026, 11, 30, 17, 1)
    with transaction(directory) as session:
        assert d.due_references(session, now=after_deadline) == [due]
        assert d.act_if_due(session, reference=due, now=after_deadline).action == "escalate"
        assert d.act_if_due(session, reference=not_due, now=after_deadline) is None
    disagreement = _get(directory, due)
    assert disagreement.stage_key == "named_professional"
    assert _events(directory, due)[-1][:4] == (
        "escalate_automatically",
        "system",
        "practitioner",
        "named_professional",
    )


def test_acknowledge_then_resolve(directory):
    reference = _raise(directory)
    _do(directory, d.acknowledge, reference=reference, actor=RAISER, now=MONDAY)
    _do(
        directory,
        d.resolve,
        reference=reference,
        actor=RAISER,
        now=MONDAY,
        outcome="decision_changed",
        summary="Referral accepted; assessment opened",
        learning=LEARNING,
    )
    disagreement = _get(directory, reference)
    assert disagreement.status == "resolved" and disagreement.resolved_stage == "practitioner"
    assert disagreement.outcome == "decision_changed"
    # The raiser proposed it at their own stage: their say is given; nothing was agreed to do.
    kinds = [e[0] for e in _events(directory, reference)]
    assert kinds == ["raise", "acknowledge", "resolve", "accept", "complete"]


def test_resolve_needs_a_listed_outcome_and_a_summary(directory):
    reference = _raise(directory)
    with pytest.raises(InvalidInput, match="outcome"):
        _do(
            directory,
            d.resolve,
            reference=reference,
            actor=RAISER,
            now=MONDAY,
            outcome="sorted",
            summary="x",
            learning=LEARNING,
        )
    with pytest.raises(InvalidInput, match="summary"):
        _do(
            directory,
            d.resolve,
            reference=reference,
            actor=RAISER,
            now=MONDAY,
            outcome="decision_upheld",
            summary="  ",
            learning=LEARNING,
        )


def test_only_the_raiser_withdraws(directory):
    reference = _raise(directory)
    with pytest.raises(NotAllowed, match="only the practitioner who raised"):
        _do(directory, d.withdraw, reference=reference, actor=MANAGER, now=MONDAY, reason="x")
    _do(
        directory,
        d.withdraw,
        reference=reference,
        actor=RAISER,
        now=MONDAY,
        reason="Resolved informally at the core group",
    )
    assert _get(directory, reference).status == "withdrawn"


def test_only_the_owner_or_the_board_acts_on_a_stage(directory):
    reference = _raise(directory)
    with pytest.raises(NotAllowed, match="only the stage owner"):
        _do(directory, d.escalate, reference=reference, actor=NAMED, now=MONDAY)
    _do(directory, d.escalate, reference=reference, actor=RAISER, now=MONDAY)
    _do(directory, d.acknowledge, reference=reference, actor=CHAIR, now=MONDAY)


def test_a_refused_event_changes_nothing(directory):
    reference = _raise(directory)
    _do(
        directory,
        d.resolve,
        reference=reference,
        actor=RAISER,
        now=MONDAY,
        outcome="decision_changed",
        summary="Rationale accepted",
        learning=LEARNING,
    )
    before = (_get(directory, reference).row_version, _events(directory, reference))
    for action, extra in [
        (d.acknowledge, {}),
        (d.escalate, {}),
        (d.resolve, {"outcome": "decision_upheld", "summary": "again", "learning": LEARNING}),
        (d.withdraw, {"reason": "x"}),
        (d.hand_to_deputy, {}),
    ]:
        with pytest.raises(NotAllowed, match="resolved"):
            _do(directory, action, reference=reference, actor=RAISER, now=MONDAY, **extra)
    assert (_get(directory, reference).row_version, _events(directory, reference)) == before


def test_acknowledging_twice_is_refused(directory):
    reference = _raise(directory)
    _do(directory, d.acknowledge, reference=reference, actor=RAISER, now=MONDAY)
    with pytest.raises(NotAllowed, match="cannot acknowledge a disagreement that is acknowledged"):
        _do(directory, d.acknowledge, reference=reference, actor=RAISER, now=MONDAY)


def test_notes_are_allowed_after_closing(directory):
    reference = _raise(directory)
    _do(directory, d.withdraw, reference=reference, actor=RAISER, now=MONDAY, reason="x")
    _do(directory, d.add_note, reference=reference, actor=MANAGER, now=MONDAY, note="Reviewed")
    assert _events(directory, reference)[-1] == (
        "add_note",
        MANAGER,
        "practitioner",
        "practitioner",
        "Reviewed",
    )


def test_hand_to_deputy_moves_the_stage_and_keeps_the_clock(directory):
    reference = _raise(directory, immediate_risk=True, protective_action="MASH referral")
    due = _get(directory, reference).due_at
    _do(directory, d.hand_to_deputy, reference=reference, actor=NAMED, now=MONDAY)
    disagreement = _get(directory, reference)
    assert disagreement.owner.email == NAMED_DEPUTY and disagreement.due_at == due
    assert "deputy Nathan Nurse" in _events(directory, reference)[-1][4]
    with pytest.raises(NotAllowed, match="Nathan Nurse has no deputy"):
        _do(directory, d.hand_to_deputy, reference=reference, actor=NAMED_DEPUTY, now=MONDAY)


def test_an_absent_owner_is_covered_by_their_deputy_and_the_chronology_says_so(sessions):
    absent = DIRECTORY_CSV.replace(
        f"Named doctor,{NAMED_DEPUTY},,", f"Named doctor,{NAMED_DEPUTY},2026-11-20,2026-11-27"
    )
    load_directory(sessions, absent)
    reference = _raise(sessions, immediate_risk=True, protective_action="MASH referral")
    assert _get(sessions, reference).owner.email == NAMED_DEPUTY
    assert (
        "Nadia Named is absent on Mon 23 Nov 2026; their deputy Nathan Nurse holds this stage"
        in (_events(sessions, reference)[0][4])
    )
    after = _raise(
        sessions,
        now=utc(2026, 11, 30, 10),
        immediate_risk=True,
        protective_action="MASH referral",
        child_reference="TEST-CHILD-2",
    )
    assert _get(sessions, after).owner.email == NAMED


def test_a_role_nobody_holds_falls_to_the_board_manager(sessions):
    no_designated = (
        "\n".join(line for line in DIRECTORY_CSV.splitlines() if DESIGNATED not in line) + "\n"
    )
    load_directory(sessions, no_designated)
    reference = _raise(sessions)
    _do(sessions, d.escalate, reference=reference, actor=RAISER, now=MONDAY)
    _do(sessions, d.escalate, reference=reference, actor=NAMED, now=MONDAY)
    disagreement = _get(sessions, reference)
    assert disagreement.stage_key == "designated_professional"
    assert disagreement.owner.email == MANAGER
    note = _events(sessions, reference)[-1][4]
    assert (
        "owner Bea Manager (nobody matches health, after a doctor → designated professional" in note
    )
    assert "the board manager holds this stage" in note


def test_without_a_board_manager_escalation_is_refused_and_nothing_changes(sessions):
    bare = (
        "\n".join(
            line
            for line in DIRECTORY_CSV.splitlines()
            if DESIGNATED not in line and MANAGER not in line
        )
        + "\n"
    )
    load_directory(sessions, bare)
    reference = _raise(sessions)
    _do(sessions, d.escalate, reference=reference, actor=RAISER, now=MONDAY)
    with pytest.raises(NotAllowed, match="no available board manager"):
        _do(sessions, d.escalate, reference=reference, actor=NAMED, now=MONDAY)
    assert _get(sessions, reference).stage_key == "named_professional"


def test_the_named_professional_comes_from_the_raisers_organisation(sessions):
    other_org = DIRECTORY_CSV + (
        "Olga Other,olga@other.example,Other Trust,health,example-partnership,"
        "named_professional,,nurse,Named nurse,,,\n"
    )
    load_directory(sessions, other_org)
    raiser = {
        "name": "Pat",
        "email": "pat@other.example",
        "organisation": "other trust",
        "role": "School nurse",
    }
    reference = _raise(sessions, raiser=raiser, immediate_risk=True, protective_action="999")
    assert _get(sessions, reference).owner.email == "olga@other.example"


def test_a_disagreement_keeps_the_policy_version_it_started_under(directory):
    reference = _raise(directory)
    changed = DEFAULT.document() | {"version": "2027.1"}
    changed["stages"][1]["timescale"] = {"working_days": 1}
    _raise(directory, policy=policy_from_document(changed, "test"), child_reference="TEST-2")
    _do(directory, d.escalate, reference=reference, actor=RAISER, now=MONDAY)
    assert _get(directory, reference).due_at == utc(2026, 11, 26, 17)  # still 3 working days


def test_a_changed_policy_must_bump_its_version(directory):
    _raise(directory)
    changed = DEFAULT.document()
    changed["stages"][1]["timescale"] = {"working_days": 1}
    with pytest.raises(InvalidInput, match="give the changed file a new version"):
        _raise(directory, policy=policy_from_document(changed, "test"))


def test_the_four_stage_policy_runs_its_own_ladder(sessions):
    load_directory(sessions, DIRECTORY_CSV.replace("example-partnership", "lakeside-partnership"))
    # The directory's council (now Lakeside's) answers for Lakeside: its team manager decided.
    counterpart = {
        "name": "Tia Team",
        "email": TEAM_MANAGER,
        "organisation": "Example Council",
        "role": "Team manager",
    }
    reference = _raise(sessions, policy=FOUR_STAGE, counterpart=counterpart)
    assert _get(sessions, reference).due_at == utc(2026, 11, 25, 17, 30)
    for _ in range(3):
        _do(sessions, d.escalate, reference=reference, actor=MANAGER, now=MONDAY)
    disagreement = _get(sessions, reference)
    assert disagreement.stage_key == "chaired_meeting" and disagreement.owner.email == CHAIR


def test_the_chronology_stays_verifiable_through_a_whole_life(directory):
    reference = _raise(directory)
    _do(directory, d.acknowledge, reference=reference, actor=RAISER, now=MONDAY)
    _do(directory, d.escalate, reference=reference, actor=RAISER, now=MONDAY, reason="No reply")
    _do(directory, d.hand_to_deputy, reference=reference, actor=NAMED, now=MONDAY)
    _do(
        directory,
        d.resolve,
        reference=reference,
        actor=NAMED_DEPUTY,
        now=MONDAY,
        outcome="decision_changed",
        summary="Strategy discussion held on Tuesday; the referral is accepted",
        learning=LEARNING,
    )
    with transaction(directory) as session:
        report = verify_chain(session)
        assert report.ok and report.checked == 5
        assert session.scalar(select(func.count()).select_from(StagePeriod)) == 3
        # the directory's ten and the decision-maker, recorded when the case was raised
        assert session.scalar(select(func.count()).select_from(Person)) == 11
