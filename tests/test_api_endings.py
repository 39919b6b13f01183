"""Issue 13 through the JSON API: an agency system proposes a resolution for its stage owner,
has its raiser's say and confirms its people's agreed actions done, on both databases; the
key speaks only for its own organisation's people, and the casework decides the rest. Errors
name the body's fields, as the API's validation does."""

from __future__ import annotations

from datetime import timedelta

import pytest

from escalation.access import apikeys
from escalation.casework import disagreements as d
from escalation.store.db import transaction
from tests.factories import (
    COUNTERPART,
    MONDAY,
    NAMED,
    RAISER,
    TEAM_MANAGER,
    raise_one,
)

LEARNING = {"themes": ["thresholds"], "systemic": False, "lesson": "Thresholds read differently"}
STRATEGY = {
    "what": "Hold a strategy discussion",
    "owner_email": TEAM_MANAGER,
    "due_on": "2026-11-27",
}


@pytest.fixture
def council_key(sessions, client):
    """An API key of Example Council, the counterpart's organisation."""
    with transaction(sessions) as session:
        return apikeys.create_key(
            session, organisation="Example Council", partnership="example-partnership", now=MONDAY
        )


@pytest.fixture
def at_stage_two(sessions, client):
    """A disagreement raised on Monday and escalated to the named doctor (Example Trust)."""
    reference = raise_one(sessions, MONDAY)
    with transaction(sessions) as session:
        d.escalate(session, reference=reference, actor=RAISER, now=MONDAY)
    return reference


def _post(client, key, path, body):
    return client.post(f"/api/v1/disagreements/{path}", json=body, headers={"X-API-Key": key})


def _proposal(**overrides) -> dict:
    body = {
        "actor": NAMED,
        "outcome": "resolved_agreed_actions",
        "summary": "A strategy discussion will be held",
        "learning": LEARNING,
        "actions": [STRATEGY],
    }
    return {**body, **overrides}


def test_propose_accept_and_confirm_done_through_the_api(client, key, council_key, at_stage_two):
    proposed = _post(client, key, f"{at_stage_two}/resolution", _proposal())
    assert proposed.status_code == 200, proposed.text
    record = proposed.json()
    assert record["state"] == "resolution_proposed" and record["status"] == "open"
    assert [
        (a["what"], a["owner"]["email"], a["due_on"], a["state"]) for a in record["actions"]
    ] == [("Hold a strategy discussion", TEAM_MANAGER, "2026-11-27", "open")]
    assert [(s["part"], s["email"], s["answer"]) for s in record["says"]] == [
        ("raiser", RAISER, "awaited")
    ]
    notes = [e["note"] for e in record["chronology"] if e["kind"] == "add_note"]
    assert any(f"resolution proposed for {NAMED} through the API" in note for note in notes)

    accepted = _post(client, key, f"{at_stage_two}/say", {"actor": RAISER, "answer": "accept"})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["state"] == "watched"
    assert accepted.json()["says"][0]["answer"] == "accepted"

    action_id = record["actions"][0]["id"]
    done_body = {"actor": TEAM_MANAGER, "note": "Held on Wednesday; assessment opened"}
    path = f"{at_stage_two}/actions/{action_id}/done"
    refused = _post(client, key, path, done_body)  # Example Trust's key: not its person
    assert refused.status_code == 422 and "actor" in refused.json()["errors"]
    done = _post(client, council_key, path, done_body)
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "resolved" and done.json()["status"] == "resolved"
    assert done.json()["actions"][0]["state"] == "done"
    assert done.json()["stage"] is None


def test_a_contest_through_the_api_moves_it_up_at_once(client, key, at_stage_two):
    _post(client, key, f"{at_stage_two}/resolution", _proposal())
    empty = _post(client, key, f"{at_stage_two}/say", {"actor": RAISER, "answer": "contest"})
    assert empty.status_code == 422 and set(empty.json()["errors"]) == {"reason"}
    contested = _post(
        client,
        key,
        f"{at_stage_two}/say",
        {"actor": RAISER, "answer": "contest", "reason": "A discussion is not enough"},
    )
    assert contested.status_code == 200, contested.text
    record = contested.json()
    assert record["state"] == "awaiting_acknowledgement" and record["stage"]["number"] == 3
    assert record["says"][0]["answer"] == "contested"
    assert record["actions"][0]["state"] == "cancelled"


def test_the_counterpart_has_a_say_when_the_decision_stands(client, key, council_key, at_stage_two):
    body = _proposal(outcome="decision_upheld", actions=[], summary="The decision stands")
    record = _post(client, key, f"{at_stage_two}/resolution", body).json()
    assert {s["part"] for s in record["says"]} == {"raiser", "counterpart"}
    counterpart = next(s["email"] for s in record["says"] if s["part"] == "counterpart")
    said = _post(
        client, council_key, f"{at_stage_two}/say", {"actor": counterpart, "answer": "accept"}
    )
    assert said.status_code == 200 and said.json()["state"] == "resolution_proposed"
    said = _post(client, key, f"{at_stage_two}/say", {"actor": RAISER, "answer": "accept"})
    assert said.json()["state"] == "resolved"


def test_errors_name_the_bodys_fields(client, key, at_stage_two):
    response = _post(
        client,
        key,
        f"{at_stage_two}/resolution",
        _proposal(
            learning=None,
            actions=[{**STRATEGY, "owner_email": "nobody@trust.example", "due_on": "2026-11-01"}],
        ),
    )
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {
        "learning.themes",
        "actions.0.owner_email",
        "actions.0.due_on",
    }
    response = _post(
        client, key, f"{at_stage_two}/resolution", _proposal(outcome="made_up", summary="")
    )
    assert set(response.json()["errors"]) == {"outcome", "summary"}
    response = _post(
        client,
        key,
        f"{at_stage_two}/resolution",
        _proposal(actions=[{**STRATEGY, "due_on": "9999-12-31"}], actor="a\u0000b@x.example"),
    )
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"actor", "actions.0.due_on"}
    learning = {**LEARNING, "themes": ["gossip"], "systemic": None, "lesson": ""}
    response = _post(client, key, f"{at_stage_two}/resolution", _proposal(learning=learning))
    assert set(response.json()["errors"]) == {
        "learning.themes",
        "learning.systemic",
        "learning.lesson",
    }


def test_the_key_speaks_for_its_own_people_and_the_casework_decides_the_rest(
    client, key, council_key, sessions, at_stage_two
):
    path = f"{at_stage_two}/resolution"
    # Someone of the key's organisation who does not own the stage: the casework refuses.
    response = _post(client, key, path, _proposal(actor=RAISER))
    assert response.status_code == 409 and "stage owner" in response.json()["error"]
    # The stage owner, through another organisation's key.
    response = _post(client, council_key, path, _proposal())
    assert response.status_code == 422 and "actor" in response.json()["errors"]
    # Nobody the key could know.
    response = _post(client, key, path, _proposal(actor="stranger@trust.example"))
    assert response.status_code == 422 and "actor" in response.json()["errors"]
    # A key that cannot read the disagreement cannot act on it.
    with transaction(sessions) as session:
        other = apikeys.create_key(
            session, organisation="Elsewhere Trust", partnership="example-partnership", now=MONDAY
        )
    assert _post(client, other, path, _proposal()).status_code == 404
    assert _post(client, key, "RPD-NONE-XIST/resolution", _proposal()).status_code == 404
    # Nothing was proposed; the say and a done action are refused as not allowed now.
    got = client.get(f"/api/v1/disagreements/{at_stage_two}", headers={"X-API-Key": key}).json()
    assert got["state"] == "awaiting_acknowledgement" and got["actions"] == []
    say = _post(client, key, f"{at_stage_two}/say", {"actor": RAISER, "answer": "accept"})
    assert say.status_code == 409
    done = _post(
        client, key, f"{at_stage_two}/actions/1/done", {"actor": NAMED, "note": "Done already"}
    )
    assert done.status_code == 409


def test_a_raiser_known_only_from_the_raise_has_their_say(client, key, clock, sessions):
    """The agency system named a raiser who is not in the directory: the disagreement's own
    record of their organisation lets its key speak for them."""
    from tests.test_api_hardening import NEWCOMER, _as_newcomer

    created = client.post("/api/v1/disagreements", json=_as_newcomer(), headers={"X-API-Key": key})
    reference = created.json()["reference"]
    with transaction(sessions) as session:
        d.escalate(session, reference=reference, actor=NEWCOMER, now=MONDAY)
    clock["now"] = MONDAY + timedelta(hours=1)
    proposed = _post(client, key, f"{reference}/resolution", _proposal(actions=[STRATEGY]))
    assert proposed.status_code == 200, proposed.text
    said = _post(client, key, f"{reference}/say", {"actor": NEWCOMER, "answer": "accept"})
    assert said.status_code == 200 and said.json()["state"] == "watched"
    assert COUNTERPART not in {s["email"] for s in said.json()["says"]}


def test_a_meeting_is_recorded_with_who_attended(client, key, clock, at_stage_two):
    meeting = {
        "what": "Resolution meeting",
        "owner_email": NAMED,
        "meeting_at": "2026-11-25T14:00:00+00:00",
        "place": "Room 2, Example House",
    }
    body = _proposal(outcome="resolution_meeting_convened", actions=[meeting])
    record = _post(client, key, f"{at_stage_two}/resolution", body).json()
    assert record["actions"][0]["kind"] == "meeting"
    assert record["actions"][0]["meeting_at"].startswith("2026-11-25T14:00")
    _post(client, key, f"{at_stage_two}/say", {"actor": RAISER, "answer": "accept"})
    path = f"{at_stage_two}/actions/{record['actions'][0]['id']}/done"
    clock["now"] = MONDAY + timedelta(days=2, hours=6)
    response = _post(client, key, path, {"actor": NAMED, "note": "Assessment agreed"})
    assert response.status_code == 422 and set(response.json()["errors"]) == {"attendees"}
    body = {"actor": NAMED, "note": "Assessment agreed", "attendees": "Nadia Named, Tia Team"}
    assert _post(client, key, path, body).json()["state"] == "resolved"
