"""The demo (escalation/demo.py) shows how disagreements end: besides the one at its first
stage, one is watched with an open agreed action and one's proposed resolution waits for the
raiser's say, each with its learning and the emails a person trying the service can follow.
Loading it again changes nothing. (demo.load is plain casework: both databases.)"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from escalation import demo
from escalation.casework import disagreements as d
from escalation.casework.endings import open_actions, pending_says
from escalation.casework.lifecycle import state_of
from escalation.store.db import transaction
from escalation.store.models import Disagreement, OutboxMessage
from tests.factories import MONDAY, POLICIES

NURSERY = "nia.nursery@nursery.example"
TEAM_MANAGER = "tia.team@council.example"


def _references(summary: str) -> dict[str, str]:
    """'demo watched: RPD-...' lines as {"watched": reference, ...}."""
    found = {}
    for line in summary.splitlines():
        name, _, rest = line.partition(": ")
        if rest.startswith("RPD-"):
            found[name.removeprefix("demo ")] = rest.split()[0]
    return found


def _emails(session, reference: str) -> set[tuple[str, str]]:
    disagreement = d.get(session, reference)
    rows = session.execute(
        select(OutboxMessage.kind, OutboxMessage.recipient_email).where(
            OutboxMessage.disagreement_id == disagreement.id
        )
    ).all()
    return {tuple(row) for row in rows}


def test_the_demo_shows_a_watched_case_and_a_proposed_resolution(sessions):
    with transaction(sessions) as session:
        summary = demo.load(session, POLICIES, MONDAY)
    references = _references(summary)
    assert set(references) == {"disagreement", "watched", "proposed"}
    assert "awaiting acknowledgement at practitioner" in summary  # the first one, as before
    with transaction(sessions) as session:
        watched = d.get(session, references["watched"])
        assert state_of(watched) == "watched" and watched.stage_key == "named_professional"
        [action] = open_actions(session, watched)
        assert action.owner.email == TEAM_MANAGER and action.kind == "action"
        assert action.due_on == MONDAY.date() + timedelta(days=3)  # three working days on
        assert pending_says(session, watched) == []
        assert watched.learning_themes == ["information_sharing", "thresholds"]
        assert ("action_agreed", TEAM_MANAGER) in _emails(session, watched.reference)

        proposed = d.get(session, references["proposed"])
        assert state_of(proposed) == "resolution_proposed"
        assert [say.email for say in pending_says(session, proposed)] == [NURSERY]
        [meeting] = open_actions(session, proposed)
        assert meeting.kind == "meeting" and meeting.meeting_at > MONDAY
        assert proposed.learning_lesson and proposed.learning_systemic is False
        assert ("say_asked", NURSERY) in _emails(session, proposed.reference)


def test_loading_the_demo_again_changes_nothing(sessions):
    with transaction(sessions) as session:
        first = demo.load(session, POLICIES, MONDAY)
    with transaction(sessions) as session:
        again = demo.load(session, POLICIES, MONDAY + timedelta(days=1))
        count = session.scalar(select(func.count()).select_from(Disagreement))
    assert count == 3
    assert _references(first) == _references(again)
    assert "demo watched: " in again and " watched at named_professional" in again
    assert " resolution proposed at named_professional" in again
