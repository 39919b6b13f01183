"""The board manager's journeys of issue 14: the dashboard flags missed deadlines, automatic
escalations and unacknowledged stages (a tag per row, a filter for each), its title follows the
status filter, the partnership shows its name, every organisation named in the directory or on
a disagreement is offered by the filters (one choice per organisation, whatever its case); the
directory's person form picks the organisation from the list or adds one deliberately; the
reports page opens with a headline paragraph from the tables' own figures."""

from __future__ import annotations

import re
from datetime import timedelta

from escalation.casework import disagreements as d
from escalation.casework.lifecycle import SYSTEM
from escalation.store.db import transaction
from tests.board_helpers import board_sign_in
from tests.factories import MANAGER, MONDAY, RAISER, due_at, raise_one


def _references(html: str) -> list[str]:
    table = html[html.index('id="disagreements"') :] if 'id="disagreements"' in html else ""
    return re.findall(r'href="/board/d/(RPD-[A-Z0-9-]+)"', table)


def _row(html: str, reference: str) -> str:
    start = html.index(f'href="/board/d/{reference}"', html.index('id="disagreements"'))
    return html[start : html.index("</tr>", start)]


def _three_cases(sessions) -> tuple[str, str, str]:
    """One escalated by the service at its deadline, one acknowledged, one not yet."""
    missed = raise_one(sessions, MONDAY - timedelta(days=14), child_reference="TEST-MISSED")
    with transaction(sessions) as session:
        d.escalate(session, reference=missed, actor=SYSTEM, now=MONDAY - timedelta(days=2))
    seen = raise_one(sessions, MONDAY, child_reference="TEST-SEEN")
    with transaction(sessions) as session:
        d.acknowledge(session, reference=seen, actor=RAISER, now=MONDAY)
    fresh = raise_one(
        sessions,
        MONDAY,
        child_reference="TEST-FRESH",
        counterpart={
            "name": "Pat Police",
            "email": "pat@police.example",
            "organisation": "Example Police",
            "role": "Sergeant",
        },
    )
    return missed, seen, fresh


def test_the_dashboard_flags_each_case_and_filters_by_each_flag(client, sessions, clock):
    missed, seen, fresh = _three_cases(sessions)
    board_sign_in(client, sessions, clock, MANAGER)
    html = client.get("/board").text
    assert "Missed deadline" in _row(html, missed)
    assert "Escalated automatically" in _row(html, missed)
    assert "Not acknowledged" in _row(html, missed)  # the new stage's owner has not, yet
    for flag in ("Missed deadline", "Escalated automatically", "Not acknowledged"):
        assert flag not in _row(html, seen)
    assert "Not acknowledged" in _row(html, fresh) and "Missed deadline" not in _row(html, fresh)
    assert _references(client.get("/board?missed_deadline=yes").text) == [missed]
    assert _references(client.get("/board?escalated_automatically=yes").text) == [missed]
    assert sorted(_references(client.get("/board?unacknowledged=yes").text)) == sorted(
        [missed, fresh]
    )
    bad = client.get("/board?unacknowledged=maybe")
    assert 'href="#unacknowledged"' in bad.text
    assert "Tick “Not acknowledged” or leave it clear" in bad.text
    assert len(_references(bad.text)) == 3  # the bad filter is left out


def test_a_manual_escalation_before_the_deadline_is_not_flagged(client, sessions, clock):
    reference = raise_one(sessions, MONDAY)
    with transaction(sessions) as session:
        d.escalate(session, reference=reference, actor=RAISER, now=MONDAY + timedelta(hours=1))
    assert due_at(sessions, reference) > MONDAY
    board_sign_in(client, sessions, clock, MANAGER)
    row = _row(client.get("/board").text, reference)
    assert "Missed deadline" not in row and "Escalated automatically" not in row


def test_the_title_follows_the_status_and_the_partnership_has_its_name(client, sessions, clock):
    board_sign_in(client, sessions, clock, MANAGER)
    titles = {
        "": "Open disagreements",
        "?status=all": "All disagreements",
        "?status=resolved": "Resolved disagreements",
        "?status=withdrawn": "Withdrawn disagreements",
    }
    for query, title in titles.items():
        html = client.get(f"/board{query}").text
        assert re.search(r"<h1[^>]*>\s*" + title + r"\s*</h1>", html), query
        assert f"<title>{title}" in html
        assert 'id="partnership">Example Borough</span>' in html
        assert 'id="partnership">example-partnership' not in html


def test_every_organisation_named_is_offered_once(client, sessions, clock):
    _missed, _seen, fresh = _three_cases(sessions)  # Example Police is named only on a case
    other_case = raise_one(
        sessions,
        MONDAY,
        child_reference="TEST-CASE",
        counterpart={
            "name": "Pat Police",
            "email": "pat@police.example",
            "organisation": "example police ",  # typed in another case
            "role": "Sergeant",
        },
    )
    board_sign_in(client, sessions, clock, MANAGER)
    html = client.get("/board").text
    receiving = html[
        html.index('id="receiving"') : html.index("</select>", html.index('id="receiving"'))
    ]
    offered = re.findall(r'<option value="([^"]*)"', receiving)
    assert "Example Police" in offered and "Example Trust" in offered
    assert [name.lower() for name in offered].count("example police") == 1
    assert offered[1:] == sorted(offered[1:], key=str.lower)
    chosen = client.get("/board?receiving=Example+Police").text
    assert sorted(_references(chosen)) == sorted([fresh, other_case])
