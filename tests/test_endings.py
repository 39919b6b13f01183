"""How a disagreement ends (casework/endings.py), replayed against the Child B1 review: a
promised meeting that never happens no longer closes the case."""

import io
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from escalation.casework import disagreements as d
from escalation.casework.chain_audit import verify_chain
from escalation.casework.endings import ActionInput, open_actions, pending_says
from escalation.casework.records import records_of
from escalation.casework.sweep import run_sweep
from escalation.outbox import notifications
from escalation.reads import plain_text
from escalation.reads.record_pdf import record_pdf
from escalation.rules.errors import InvalidInput, NotAllowed
from escalation.store.db import transaction
from escalation.store.models import OutboxMessage, ResolutionMeeting
from tests.factories import (
    CHAIR,
    COUNCIL_LEAD,
    COUNTERPART,
    DESIGNATED,
    LEARNING,
    MANAGER,
    MONDAY,
    NAMED,
    RAISER,
    TEAM_MANAGER,
    accept_all,
    events_of,
    raise_one,
    utc,
)


def _do(sessions, action, **kwargs):
    with transaction(sessions) as session:
        return action(session, **kwargs)


def _case(sessions, reference):
    with transaction(sessions) as session:
        disagreement = d.get(session, reference)
        session.expunge(disagreement)
        return disagreement


def _outbox(sessions, kind):
    with transaction(sessions) as session:
        rows = session.execute(
            select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        ).scalars()
        return [(row.recipient_email, row.link_purpose, row.stage_key) for row in rows]


def _at_designated(sessions) -> str:
    reference = raise_one(sessions, MONDAY)
    _do(sessions, d.escalate, reference=reference, actor=RAISER, now=MONDAY, reason="No reply")
    _do(sessions, d.escalate, reference=reference, actor=NAMED, now=MONDAY, reason="Not agreed")
    assert _case(sessions, reference).owner.email == DESIGNATED
    return reference


def test_child_b1_a_promised_meeting_is_watched_chased_reopened_and_then_held(directory):
    reference = _at_designated(directory)
    thursday = utc(2026, 11, 26, 14)  # 14:00 GMT, Thursday 26 November 2026
    # The designated doctor chooses "resolution meeting convened" for Thursday.
    _do(
        directory,
        d.resolve,
        reference=reference,
        actor=DESIGNATED,
        now=MONDAY,
        outcome="resolution_meeting_convened",
        summary="Doctors to meet with children's social care",
        learning=LEARNING,
        actions=(
            ActionInput("Resolution meeting", DESIGNATED, None, thursday, "ICB offices, room 2"),
        ),
    )
    case = _case(directory, reference)
    assert (case.status, case.resolution_state) == ("open", "resolution_proposed")
    assert _outbox(directory, "say_asked") == [(RAISER, "say", "designated_professional")]
    assert _outbox(directory, "action_agreed") == [
        (DESIGNATED, "action", "designated_professional")
    ]
    # The raiser says nothing: two working days later it is accepted, and still watched.
    say_due = utc(2026, 11, 25, 17)
    assert run_sweep(directory, now=say_due - timedelta(minutes=1)).accepted_by_silence == 0
    assert run_sweep(directory, now=say_due).accepted_by_silence == 1
    case = _case(directory, reference)
    assert (case.status, case.resolution_state) == ("open", "watched")
    # The meeting's time passes with no record: its owner is chased at close of business ...
    assert run_sweep(directory, now=utc(2026, 11, 26, 17)).actions_chased == 1
    assert (DESIGNATED, "action", "designated_professional") in _outbox(directory, "action_chase")
    # ... and one working day later it reopens a stage higher, at the board manager.
    assert run_sweep(directory, now=utc(2026, 11, 27, 16, 59)).reopened == 0
    reopened_at = utc(2026, 11, 27, 17)
    assert run_sweep(directory, now=reopened_at).reopened == 1
    case = _case(directory, reference)
    assert (case.stage_key, case.owner.email, case.resolution_state) == (
        "board_manager",
        MANAGER,
        None,
    )
    told = {email for email, _, _ in _outbox(directory, "reopened")}
    assert {RAISER, MANAGER} <= told
    assert (MANAGER, "act", "board_manager") in _outbox(directory, "stage_assigned")

    # The board manager convenes the meeting, with both sides, and it is held and recorded.
    meeting_at = utc(2026, 12, 1, 10)
    meeting = _do(
        directory,
        d.convene_meeting,
        reference=reference,
        actor=MANAGER,
        now=reopened_at + timedelta(hours=1),
        meeting_at=meeting_at,
        place="Partnership office, room 1",
        invitees=[RAISER, DESIGNATED, TEAM_MANAGER],
    )
    invited = {email for email, _, _ in _outbox(directory, "meeting_invitation")}
    assert invited == {MANAGER, RAISER, DESIGNATED, TEAM_MANAGER}
    held = meeting_at + timedelta(hours=2)
    _do(
        directory,
        d.confirm_action,
        reference=reference,
        actor=MANAGER,
        now=held,
        action_id=meeting.id,
        note="Assessment to open; health to attend the strategy discussion",
        attendees="Hana Visitor, Dev Designated, Tia Team, Bea Manager",
    )
    # Actions are agreed; the team manager confirms theirs done; the raiser accepts.
    _do(
        directory,
        d.resolve,
        reference=reference,
        actor=MANAGER,
        now=held,
        outcome="resolved_agreed_actions",
        summary="Agreed at the resolution meeting",
        learning=LEARNING,
        actions=(ActionInput("Open a child and family assessment", TEAM_MANAGER, held.date()),),
    )
    with transaction(directory) as session:
        (action,) = open_actions(session, d.get(session, reference))
        action_id = action.id
    _do(
        directory,
        d.confirm_action,
        reference=reference,
        actor=TEAM_MANAGER,
        now=held + timedelta(hours=1),
        action_id=action_id,
        note="Assessment opened",
    )
    assert _case(directory, reference).resolution_state == "resolution_proposed"
    _do(directory, d.accept, reference=reference, actor=RAISER, now=held + timedelta(hours=2))
    case = _case(directory, reference)
    assert (case.status, case.resolved_stage, case.outcome) == (
        "resolved",
        "board_manager",
        "resolved_agreed_actions",
    )
    assert case.learning_themes == ["thresholds"] and case.learning_lesson
    # Each stage's formal record exists, naming its owner; the chronology is intact.
    with transaction(directory) as session:
        disagreement = d.get(session, reference)
        recorded = [
            (r.stage_key, r.kind, r.content["stage_owner"])
            for r in records_of(session, disagreement)
        ]
        assert [(stage, kind) for stage, kind, _ in recorded] == [
            ("practitioner", "escalation"),
            ("named_professional", "escalation"),
            ("designated_professional", "resolution"),
            ("board_manager", "resolution"),
        ]
        assert "Hana Visitor" in recorded[0][2] and "Bea Manager" in recorded[3][2]
        # ... each printed as a PDF naming the stage's owner (text read back from the PDF).
        for row in records_of(session, disagreement):
            text = " ".join(
                page.extract_text() for page in PdfReader(io.BytesIO(record_pdf(row))).pages
            )
            assert reference in text and row.content["stage_owner"] in " ".join(text.split())
        meetings = session.execute(select(ResolutionMeeting)).scalars().all()
        assert [m.attendees for m in meetings] == [
            "Hana Visitor, Dev Designated, Tia Team, Bea Manager"
        ]
        assert verify_chain(session).ok
        text = plain_text.record(session, disagreement, held)
    kinds = [event.kind for event in events_of(directory, reference)]
    assert kinds.count("reopen") == 1 and kinds[-2:] == ["accept", "complete"]
    # The plain-text record (the CLI's) carries the ending: learning, actions, records.
    assert "Learning:          Understanding of thresholds and levels of need" in text
    assert "[missed] Resolution meeting, Dev Designated" in text
    assert "[done] Open a child and family assessment, Tia Team" in text
    assert "Written determination" not in text and "Proposed resolution, Stage 4 of 5" in text


def test_contesting_a_proposal_moves_it_up_at_once(directory):
    reference = raise_one(directory, MONDAY)
    _do(directory, d.escalate, reference=reference, actor=RAISER, now=MONDAY, reason="No reply")
    _do(
        directory,
        d.resolve,
        reference=reference,
        actor=NAMED,
        now=MONDAY,
        outcome="decision_upheld",
        summary="The threshold is not met",
        learning=LEARNING,
    )
    with transaction(directory) as session:
        asked = [say.email for say in pending_says(session, d.get(session, reference))]
    assert asked == [RAISER, TEAM_MANAGER]  # the decision stands: the counterpart is asked too
    with pytest.raises(InvalidInput, match="reason"):
        _do(directory, d.contest, reference=reference, actor=RAISER, now=MONDAY, reason=" ")
    with pytest.raises(NotAllowed, match="not asked"):
        _do(directory, d.contest, reference=reference, actor=CHAIR, now=MONDAY, reason="No")
    later = MONDAY + timedelta(hours=3)
    _do(directory, d.contest, reference=reference, actor=RAISER, now=later, reason="Weight loss")
    case = _case(directory, reference)
    assert (case.stage_key, case.owner.email, case.resolution_state, case.outcome) == (
        "designated_professional",
        DESIGNATED,
        None,
        None,
    )
    assert case.stage_entered_at == later
    with transaction(directory) as session:
        assert pending_says(session, d.get(session, reference)) == []
    kinds = [event.kind for event in events_of(directory, reference)]
    assert kinds[-1] == "contest"
    assert [email for email, _, _ in _outbox(directory, "ending_notice")] == [MANAGER, MANAGER]


def test_silence_past_the_window_is_recorded_as_acceptance(directory):
    reference = raise_one(directory, MONDAY)
    _do(directory, d.escalate, reference=reference, actor=RAISER, now=MONDAY, reason="No reply")
    _do(
        directory,
        d.resolve,
        reference=reference,
        actor=NAMED,
        now=MONDAY,
        outcome="decision_changed",
        summary="Referral accepted",
        learning=LEARNING,
    )
    assert run_sweep(directory, now=utc(2026, 11, 25, 16, 59)).accepted_by_silence == 0
    summary = run_sweep(directory, now=utc(2026, 11, 25, 17))  # two working days on
    assert summary.accepted_by_silence == 1
    case = _case(directory, reference)
    assert (case.status, case.resolved_stage) == ("resolved", "named_professional")
    notes = [event.note for event in events_of(directory, reference)]
    assert "the raiser did not answer in time: accepted" in notes


def test_settling_outcomes_have_no_actions_and_arranging_ones_need_them(directory):
    reference = raise_one(directory, MONDAY)
    base = dict(reference=reference, actor=RAISER, now=MONDAY, summary="x", learning=LEARNING)
    action = ActionInput("Strategy discussion", COUNTERPART, MONDAY.date() + timedelta(days=2))
    with pytest.raises(InvalidInput, match="settles it"):
        _do(directory, d.resolve, outcome="decision_changed", actions=(action,), **base)
    with pytest.raises(InvalidInput, match="agreed actions"):
        _do(directory, d.resolve, outcome="resolved_agreed_actions", **base)
    with pytest.raises(InvalidInput, match="meeting"):
        _do(directory, d.resolve, outcome="strategy_discussion_convened", actions=(action,), **base)
    with pytest.raises(InvalidInput, match="learning theme"):
        _do(directory, d.resolve, outcome="decision_changed", **{**base, "learning": None})
    stranger = ActionInput("x", "nobody@elsewhere.example", MONDAY.date())
    with pytest.raises(InvalidInput, match=r"actions\[1\]\.owner"):
        _do(directory, d.resolve, outcome="resolved_agreed_actions", actions=(stranger,), **base)
    # The decision-maker (the counterpart) may own an action; the raiser's own proposal is
    # accepted by proposing it, and the case is watched until the action is done.
    _do(directory, d.resolve, outcome="resolved_agreed_actions", actions=(action,), **base)
    assert _case(directory, reference).resolution_state == "watched"


def test_an_action_owner_is_reminded_before_its_date(directory):
    reference = raise_one(directory, MONDAY)
    due_on = utc(2026, 11, 27, 12).date()  # Friday
    _do(
        directory,
        d.resolve,
        reference=reference,
        actor=RAISER,
        now=MONDAY,
        outcome="resolved_agreed_actions",
        summary="Agreed",
        learning=LEARNING,
        actions=(ActionInput("Share the health records", COUNTERPART, due_on),),
    )
    assert run_sweep(directory, now=utc(2026, 11, 26, 8, 59)).action_reminders == 0
    assert run_sweep(directory, now=utc(2026, 11, 26, 9)).action_reminders == 1
    assert _outbox(directory, "action_reminder") == [(COUNTERPART, "action", "practitioner")]
    assert run_sweep(directory, now=utc(2026, 11, 26, 9, 30)).action_reminders == 0


def _at_chair(sessions) -> str:
    reference = raise_one(sessions, MONDAY)
    for actor in (RAISER, NAMED, DESIGNATED, MANAGER):
        _do(sessions, d.escalate, reference=reference, actor=actor, now=MONDAY, reason="Not agreed")
    assert _case(sessions, reference).owner.email == CHAIR
    return reference


def test_the_chairs_determination_is_final_and_goes_to_the_last_step(directory):
    reference = _at_chair(directory)
    _do(
        directory,
        d.resolve,
        reference=reference,
        actor=CHAIR,
        now=MONDAY,
        outcome="decision_upheld",
        summary="The threshold was applied correctly; health to be invited to reviews",
        learning=LEARNING,
    )
    with transaction(directory) as session:
        kinds = [r.kind for r in records_of(session, d.get(session, reference))]
    assert kinds == ["escalation"] * 4 + ["determination"]
    # The statutory partners' lead representatives (the policy's last step) receive it.
    assert _outbox(directory, "determination") == [(COUNCIL_LEAD, "view", "chair")]
    with pytest.raises(NotAllowed, match="determination is final"):
        _do(directory, d.contest, reference=reference, actor=RAISER, now=MONDAY, reason="No")
    accept_all(directory, reference, MONDAY + timedelta(hours=1))
    assert _case(directory, reference).status == "resolved"


def test_a_missed_action_at_the_final_stage_opens_the_final_stage_again(directory):
    reference = _at_chair(directory)
    _do(
        directory,
        d.resolve,
        reference=reference,
        actor=CHAIR,
        now=MONDAY,
        outcome="resolved_agreed_actions",
        summary="Health to be invited to the review conference",
        learning=LEARNING,
        actions=(ActionInput("Send the invitation", TEAM_MANAGER, MONDAY.date()),),
    )
    accept_all(directory, reference, MONDAY + timedelta(hours=1))
    assert _case(directory, reference).resolution_state == "watched"
    summary = run_sweep(directory, now=utc(2026, 11, 24, 17))  # due Monday, one day's grace
    assert summary.reopened == 1
    case = _case(directory, reference)
    assert (case.stage_key, case.owner.email, case.resolution_state) == ("chair", CHAIR, None)
    with transaction(directory) as session:
        states = [a.ended for a in d.endings.all_actions(session, d.get(session, reference))]
        assert states == ["missed"]


def test_withdrawing_a_watched_case_cancels_its_actions(directory):
    reference = raise_one(directory, MONDAY)
    _do(
        directory,
        d.resolve,
        reference=reference,
        actor=RAISER,
        now=MONDAY,
        outcome="resolved_agreed_actions",
        summary="Agreed",
        learning=LEARNING,
        actions=(ActionInput("Share the records", COUNTERPART, MONDAY.date()),),
    )
    _do(directory, d.withdraw, reference=reference, actor=RAISER, now=MONDAY, reason="Moved away")
    case = _case(directory, reference)
    assert (case.status, case.watch_at) == ("withdrawn", None)
    with transaction(directory) as session:
        disagreement = d.get(session, reference)
        assert [a.ended for a in d.endings.all_actions(session, disagreement)] == ["cancelled"]
        assert [r.kind for r in records_of(session, disagreement)] == ["resolution", "withdrawal"]
    assert run_sweep(directory, now=MONDAY + timedelta(days=10)).reopened == 0


def test_fresh_links_reach_an_awaited_say_and_an_open_action(directory):
    reference = raise_one(directory, MONDAY)
    _do(directory, d.escalate, reference=reference, actor=RAISER, now=MONDAY, reason="No reply")
    _do(
        directory,
        d.resolve,
        reference=reference,
        actor=NAMED,
        now=MONDAY,
        outcome="resolved_agreed_actions",
        summary="Agreed",
        learning=LEARNING,
        actions=(ActionInput("Share the records", COUNTERPART, MONDAY.date()),),
    )
    later = MONDAY + timedelta(hours=1)
    with transaction(directory) as session:
        for email in (RAISER, COUNTERPART):
            notifications.fresh_links(session, email, later)
    with transaction(directory) as session:
        rows = session.execute(
            select(OutboxMessage).where(OutboxMessage.kind == "fresh_links")
        ).scalars()
        purposes = {
            row.recipient_email: [case["purpose"] for case in row.context["cases"]] for row in rows
        }
    assert purposes == {RAISER: ["say"], COUNTERPART: ["action"]}
