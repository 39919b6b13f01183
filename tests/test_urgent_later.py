"""Moving an open disagreement onto the urgent track later, from the pages (issue 12, point 8):
the raiser from their status link, the stage owner from theirs, the board from the case page;
the protective action is required and recorded. SQLite and PostgreSQL."""

from __future__ import annotations

import re

from escalation.casework import disagreements as d
from escalation.store.db import transaction
from tests.board_helpers import act_on_link, board_sign_in, csrf_of, link_path, open_case
from tests.factories import MANAGER, MONDAY, RAISER, events_of, raise_one

ACTION = "Referred to Children's Social Care at 09:40; police informed (invented)"


def _escalated_to_the_named_professional(sessions) -> str:
    reference = raise_one(sessions, MONDAY)
    with transaction(sessions) as session:
        d.escalate(session, reference=reference, actor=RAISER, now=MONDAY, reason="No reply")
    return reference


def _state(sessions, reference: str) -> tuple:
    with transaction(sessions) as session:
        row = d.get(session, reference)
        return row.urgent, row.immediate_risk, row.protective_action, row.stage_key, row.due_at


def _buttons(page: str) -> list[str]:
    return [b.strip() for b in re.findall(r"<button[^>]*>(.*?)</button>", page, re.S)]


def _choices(page: str) -> list[str]:
    """The values of the emailed link's "What do you want to do?" radios."""
    return re.findall(r'name="choice"[^>]*value="([^"]+)"', page)


def test_the_raiser_moves_the_case_onto_the_urgent_track_from_the_status_link(client, sessions):
    reference = _escalated_to_the_named_professional(sessions)
    before = _state(sessions, reference)
    status_link = link_path(sessions, RAISER, "stage_update", MONDAY)
    assert "make_urgent" in _choices(open_case(client, status_link).text)
    page = client.get(f"{status_link}/do/make_urgent").text
    assert "The child is now at immediate risk" in page
    assert "Move onto the urgent track" in _buttons(page)

    refused = client.post(
        status_link, data={"action": "make_urgent", "csrf": csrf_of(page), "protective_action": ""}
    )
    assert refused.status_code == 422 and 'href="#protective_action"' in refused.text
    assert "protective action" in refused.text and _state(sessions, reference) == before

    done = client.post(
        status_link,
        data={"action": "make_urgent", "csrf": csrf_of(refused.text), "protective_action": ACTION},
    )
    assert done.status_code == 200 and "now on the urgent track" in done.text
    urgent, risk, action, stage, due = _state(sessions, reference)
    assert urgent and risk and action == ACTION and stage == before[3] == "named_professional"
    assert due < before[4]  # the urgent clock's 4 hours, not 3 working days
    event = [e for e in events_of(sessions, reference) if e.kind == "make_urgent"][0]
    assert event.actor == RAISER and ACTION in event.note

    again = open_case(client, status_link).text  # same stage: the raiser's link still works
    assert "make_urgent" not in _choices(again)
    assert "Urgent track" in again
    refused_twice = client.post(
        status_link,
        data={"action": "make_urgent", "csrf": csrf_of(again), "protective_action": "x"},
    )
    assert refused_twice.status_code == 404  # no longer offered: nothing to act on


def test_below_the_urgent_track_the_owner_moves_the_case_up_to_its_first_stage(client, sessions):
    reference = raise_one(sessions, MONDAY)
    owner_link = link_path(sessions, RAISER, "stage_assigned", MONDAY)
    done = act_on_link(client, owner_link, "make_urgent", protective_action=ACTION)
    assert done.status_code == 200 and "now on the urgent track" in done.text
    urgent, _, action, stage, _ = _state(sessions, reference)
    assert urgent and action == ACTION and stage == "named_professional"
    with transaction(sessions) as session:
        owner = d.get(session, reference).owner.name
    assert f"{owner} holds it now" in done.text
    assert client.get(owner_link).status_code == 404  # the practitioner stage has ended


def test_the_board_moves_a_case_onto_the_urgent_track_from_the_case_page(client, sessions, clock):
    reference = _escalated_to_the_named_professional(sessions)
    board_sign_in(client, sessions, clock, MANAGER)
    page = client.get(f"/board/d/{reference}").text
    assert 'id="make-urgent"' in page
    unsigned = client.post(f"/board/d/{reference}/urgent", data={"protective_action": ACTION})
    assert unsigned.status_code == 403 and not _state(sessions, reference)[0]
    refused = client.post(
        f"/board/d/{reference}/urgent", data={"csrf": csrf_of(page), "protective_action": " "}
    )
    assert refused.status_code == 422 and 'href="#protective_action"' in refused.text
    done = client.post(
        f"/board/d/{reference}/urgent", data={"csrf": csrf_of(page), "protective_action": ACTION}
    )
    assert done.status_code == 200 and "Moved onto the urgent track" in done.text
    assert 'id="make-urgent"' not in done.text and "Urgent track" in done.text
    assert _state(sessions, reference)[:3] == (True, True, ACTION)
    twice = client.post(
        f"/board/d/{reference}/urgent", data={"csrf": csrf_of(page), "protective_action": ACTION}
    )
    assert twice.status_code == 409 and "already on the urgent track" in twice.text
    event = [e for e in events_of(sessions, reference) if e.kind == "make_urgent"][0]
    assert event.actor == MANAGER and ACTION in event.note


def test_a_case_raised_urgent_offers_no_urgent_form(client, sessions):
    reference = raise_one(sessions, MONDAY, immediate_risk=True, protective_action=ACTION)
    with transaction(sessions) as session:
        owner = d.get(session, reference).owner.email
    page = open_case(client, link_path(sessions, owner, "stage_assigned", MONDAY)).text
    assert "make_urgent" not in _choices(page)
    assert "change_counterpart" in _choices(page)
