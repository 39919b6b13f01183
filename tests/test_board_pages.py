"""The board's pages through HTTP: sign-in with the second factor, the dashboard, the case page
and the board's actions, each on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from escalation.access import second_factor
from escalation.casework import disagreements as d
from escalation.casework.sweep import run_sweep
from escalation.store.db import transaction
from escalation.store.models import DeadlineExtension, Disagreement, OutboxMessage, WebSession
from tests.board_helpers import board_sign_in, csrf_of, enrol
from tests.factories import (
    CHAIR,
    MANAGER,
    MONDAY,
    NAMED_DEPUTY,
    RAISER,
    accept_all,
    events_of,
    raise_one,
    utc,
)
from tests.web_helpers import emailed_link

# --- sign-in ----------------------------------------------------------------------------------


def _link_then_code_page(client, sessions, email: str) -> str:
    client.post("/board/signin", data={"email": email})
    landed = client.post(emailed_link(sessions, email, kind="sign_in"), follow_redirects=False)
    assert landed.headers["location"] == "/board/verify"
    return csrf_of(client.get("/board/verify").text)


def test_the_board_needs_a_link_and_then_a_code(client, sessions, clock):
    assert client.get("/board", follow_redirects=False).status_code == 401
    secret = enrol(sessions, MANAGER)
    csrf = _link_then_code_page(client, sessions, MANAGER)
    # Signed in by link but without the code: the dashboard sends you to the code page.
    held = client.get("/board", follow_redirects=False)
    assert held.status_code == 303 and held.headers["location"] == "/board/verify"
    wrong = client.post("/board/verify", data={"csrf": csrf, "code": "000000"})
    assert wrong.status_code == 422 and "Enter the 6-digit code" in wrong.text
    before = client.cookies.get("rpd_session")
    right = client.post(
        "/board/verify",
        data={"csrf": csrf, "code": second_factor.code_at(secret, clock["now"])},
        follow_redirects=False,
    )
    assert right.status_code == 303
    assert client.cookies.get("rpd_session") != before  # a new session id after the second factor
    assert client.get("/board").status_code == 200


def test_a_code_is_accepted_once_and_only_near_its_time(client, sessions, clock):
    secret = enrol(sessions, MANAGER)
    code = second_factor.code_at(secret, clock["now"])
    with transaction(sessions) as session:
        assert not second_factor.verify(
            session,
            MANAGER,
            second_factor.code_at(secret, clock["now"] + timedelta(minutes=2)),
            now=clock["now"],
        )
        assert second_factor.verify(session, MANAGER, code, now=clock["now"])
    with transaction(sessions) as session:
        assert not second_factor.verify(session, MANAGER, code, now=clock["now"])  # replayed


def test_five_wrong_codes_end_the_session(client, sessions, clock):
    enrol(sessions, MANAGER)
    csrf = _link_then_code_page(client, sessions, MANAGER)
    for _ in range(4):
        assert (
            client.post("/board/verify", data={"csrf": csrf, "code": "123456"}).status_code == 422
        )
    last = client.post("/board/verify", data={"csrf": csrf, "code": "123456"})
    assert last.status_code == 403 and "Too many wrong codes" in last.text
    assert client.get("/board", follow_redirects=False).status_code == 401


def test_a_practitioner_cannot_reach_the_board_pages(client, sessions):
    client.post("/signin", data={"email": RAISER})
    assert (
        client.post(emailed_link(sessions, RAISER, kind="sign_in"), follow_redirects=False).headers[
            "location"
        ]
        == "/raise"
    )
    assert client.get("/board").status_code == 403
    assert client.get("/board/verify").status_code == 403


def test_someone_not_enrolled_is_told_how_to_get_an_authenticator(client, sessions):
    client.post("/board/signin", data={"email": CHAIR})
    client.post(emailed_link(sessions, CHAIR, kind="sign_in"))
    page = client.get("/board/verify")
    assert page.status_code == 200 and "no authenticator app set up" in page.text


def test_board_sessions_time_out(client, sessions, clock):
    board_sign_in(client, sessions, clock, MANAGER)
    clock["now"] += timedelta(hours=2, minutes=1)
    assert client.get("/board", follow_redirects=False).status_code == 401


# --- dashboard --------------------------------------------------------------------------------


def _table_references(html: str) -> list[str]:
    table = html[html.index('id="disagreements"') :]
    return re.findall(r'href="/board/d/(RPD-[A-Z0-9-]+)"', table)


def test_dashboard_counts_and_orders_urgent_then_most_overdue(client, sessions, clock):
    calm = raise_one(sessions, MONDAY)  # due in five working days
    late = raise_one(sessions, MONDAY - timedelta(days=14), child_reference="TEST-CHILD-2")
    later = raise_one(sessions, MONDAY - timedelta(days=21), child_reference="TEST-CHILD-3")
    urgent = raise_one(
        sessions, MONDAY, immediate_risk=True, protective_action="Police informed (invented)"
    )
    with transaction(sessions) as session:
        for reference in (late, later):  # stuck at the first stage: no sweep has run
            assert d.get(session, reference).due_at < MONDAY
    board_sign_in(client, sessions, clock, MANAGER)
    html = client.get("/board").text
    assert _table_references(html) == [urgent, later, late, calm]
    counts = html[html.index('id="counts"') : html.index("</table>", html.index('id="counts"'))]
    practitioner_row = counts[counts.index("Practitioner to practitioner") :]
    assert re.findall(r"numeric\">(\d+)<", practitioner_row)[:3] == ["3", "2", "0"]
    assert "Overdue 10 working days" in html or "Overdue 11 working days" in html
    assert "Urgent" in html


def test_dashboard_flags_undelivered_email(client, sessions, clock):
    reference = raise_one(sessions, MONDAY)
    with transaction(sessions) as session:
        row = (
            session.execute(select(OutboxMessage).where(OutboxMessage.kind == "stage_assigned"))
            .scalars()
            .first()
        )
        row.status = "dead"
    board_sign_in(client, sessions, clock, MANAGER)
    html = client.get("/board").text
    assert "1 email could not be delivered" in html
    row_html = html[html.index(f"/board/d/{reference}") :]
    assert "Email not delivered" in row_html[:1500]


def test_dashboard_filters(client, sessions, clock):
    first = raise_one(sessions, MONDAY - timedelta(days=7), category="icpc_request")
    second = raise_one(
        sessions,
        MONDAY,
        child_reference="TEST-CHILD-2",
        counterpart={
            "name": "Pat Police",
            "email": "pat@police.example",
            "organisation": "Example Police",
            "role": "Sergeant",
        },
    )
    with transaction(sessions) as session:
        d.escalate(session, reference=second, actor=RAISER, now=MONDAY + timedelta(hours=1))
    board_sign_in(client, sessions, clock, MANAGER)
    assert _table_references(client.get("/board?category=icpc_request").text) == [first]
    assert _table_references(client.get("/board?stage=named_professional").text) == [second]
    assert _table_references(client.get("/board?receiving=Example+Police").text) == [second]
    assert _table_references(client.get("/board?raised_from=2026-11-20").text) == [second]
    assert _table_references(client.get("/board?raised_to=2026-11-20").text) == [first]
    with transaction(sessions) as session:
        owner_id = d.get(session, second).owner_id
    assert _table_references(client.get(f"/board?owner={owner_id}").text) == [second]
    bad = client.get("/board?raised_from=31-02-2026&stage=nonsense")
    assert bad.status_code == 200 and "There is a problem with the filters" in bad.text
    assert 'href="#raised_from"' in bad.text and 'href="#stage"' in bad.text
    assert sorted(_table_references(bad.text)) == sorted([first, second])  # bad filters ignored


def test_dashboard_pages_through_results(client, sessions, clock):
    references = [
        raise_one(sessions, MONDAY - timedelta(minutes=i), child_reference=f"TEST-{i}")
        for i in range(55)
    ]
    board_sign_in(client, sessions, clock, MANAGER)
    first = _table_references(client.get("/board").text)
    second = _table_references(client.get("/board?page=2").text)
    assert len(first) == 50 and len(second) == 5
    assert sorted(first + second) == sorted(references)
    assert "55 disagreements" in client.get("/board?page=2").text
    assert client.get("/board?page=99999999999").status_code == 200


def test_dashboard_shows_only_the_users_partnership(client, sessions, clock):
    ours = raise_one(sessions, MONDAY)
    with transaction(sessions) as session:
        session.get(Disagreement, d.get(session, ours).id).partnership = "another-partnership"
    board_sign_in(client, sessions, clock, MANAGER)
    assert ours not in client.get("/board?status=all").text
    assert client.get(f"/board/d/{ours}").status_code == 404


# --- the case page ------------------------------------------------------------------------------


def test_case_page_explains_the_deadline_over_christmas(client, sessions, clock):
    wednesday = utc(2026, 12, 23, 10)
    reference = raise_one(sessions, wednesday)
    with transaction(sessions) as session:
        d.escalate(
            session, reference=reference, actor=RAISER, now=wednesday
        )  # named: 3 working days
    clock["now"] = utc(2026, 12, 24, 9)
    board_sign_in(client, sessions, clock, MANAGER)
    html = client.get(f"/board/d/{reference}").text
    assert (
        "due 17:00 Wed 30 Dec 2026 GMT: 3 working days after Wed 23 Dec 2026; not counted: "
        "Fri 25 Dec 2026 (Christmas Day), Mon 28 Dec 2026 (Boxing Day (observed))"
    ) in html


def test_opening_the_case_page_is_recorded_and_the_chronology_shows_views(client, sessions, clock):
    reference = raise_one(sessions, MONDAY, level_of_need="Level 3 (invented)")
    board_sign_in(client, sessions, clock, MANAGER)
    html = client.get(f"/board/d/{reference}").text
    views = [e for e in events_of(sessions, reference) if e.kind == "view"]
    assert [(v.actor, v.note) for v in views] == [(MANAGER, "opened the board case page")]
    assert "TEST-CHILD" in html and "Raise" in html  # the record and the chronology
    assert "Level 3 (invented)" in html


# --- board actions ----------------------------------------------------------------------------


def _case_csrf(client, reference: str) -> str:
    return csrf_of(client.get(f"/board/d/{reference}").text)


def test_record_a_resolution_meeting(client, sessions, clock):
    reference = raise_one(sessions, MONDAY)
    board_sign_in(client, sessions, clock, MANAGER)
    csrf = _case_csrf(client, reference)
    bad = client.post(
        f"/board/d/{reference}/meeting",
        data={
            "csrf": csrf,
            "held_on-day": "31",
            "held_on-month": "2",
            "held_on-year": "2026",
            "attendees": "",
            "meeting_outcome": "Typed <b>text</b> kept",
        },
    )
    assert bad.status_code == 422
    assert 'href="#held_on-day"' in bad.text and 'href="#attendees"' in bad.text
    assert "Typed &lt;b&gt;text&lt;/b&gt; kept" in bad.text
    future = client.post(
        f"/board/d/{reference}/meeting",
        data={
            "csrf": csrf,
            "held_on-day": "1",
            "held_on-month": "1",
            "held_on-year": "2027",
            "attendees": "A",
            "meeting_outcome": "B",
        },
    )
    assert future.status_code == 422 and "today or in the past" in future.text
    done = client.post(
        f"/board/d/{reference}/meeting",
        data={
            "csrf": csrf,
            "held_on-day": "23",
            "held_on-month": "11",
            "held_on-year": "2026",
            "attendees": "Bea Manager, Nadia Named, Sam Social",
            "meeting_outcome": "Strategy discussion agreed",
        },
    )
    assert done.status_code == 200 and "Resolution meeting recorded" in done.text
    meeting = [e for e in events_of(sessions, reference) if e.kind == "meeting"]
    assert len(meeting) == 1 and meeting[0].actor == MANAGER
    assert "Mon 23 Nov 2026" in meeting[0].note and "Strategy discussion agreed" in meeting[0].note


def test_reassign_keeps_the_deadline_and_emails_the_new_owner(client, sessions, clock):
    reference = raise_one(sessions, MONDAY)
    with transaction(sessions) as session:
        d.escalate(session, reference=reference, actor=RAISER, now=MONDAY)
        due = d.get(session, reference).due_at
    board_sign_in(client, sessions, clock, MANAGER)
    csrf = _case_csrf(client, reference)
    missing = client.post(
        f"/board/d/{reference}/reassign", data={"csrf": csrf, "new_owner": "", "reason": ""}
    )
    assert (
        missing.status_code == 422
        and 'href="#new_owner"' in missing.text
        and 'href="#reason"' in missing.text
    )
    done = client.post(
        f"/board/d/{reference}/reassign",
        data={"csrf": csrf, "new_owner": NAMED_DEPUTY, "reason": "Nadia is on leave"},
    )
    assert done.status_code == 200
    with transaction(sessions) as session:
        disagreement = d.get(session, reference)
        assert disagreement.owner.email == NAMED_DEPUTY and disagreement.due_at == due
        emailed = (
            session.execute(
                select(OutboxMessage.recipient_email).where(OutboxMessage.kind == "stage_assigned")
            )
            .scalars()
            .all()
        )
    assert NAMED_DEPUTY in emailed
    event = [e for e in events_of(sessions, reference) if e.kind == "reassign"][0]
    assert "Nadia Named to Nathan Nurse: Nadia is on leave" in event.note


def test_an_extension_is_bounded_and_needs_the_chair(client, sessions, clock):
    reference = raise_one(sessions, MONDAY)
    with transaction(sessions) as session:
        d.escalate(session, reference=reference, actor=RAISER, now=MONDAY)  # 3 working days
        due = d.get(session, reference).due_at
    board_sign_in(client, sessions, clock, MANAGER)
    csrf = _case_csrf(client, reference)
    too_long = client.post(
        f"/board/d/{reference}/extension",
        data={"csrf": csrf, "amount": "4", "extension_reason": "Awaiting records"},
    )
    assert too_long.status_code == 422 and "from 1 to 3" in too_long.text
    asked = client.post(
        f"/board/d/{reference}/extension",
        data={"csrf": csrf, "amount": "2", "extension_reason": "Awaiting records"},
    )
    assert asked.status_code == 200 and "the chair decides it" in asked.text
    again = client.post(
        f"/board/d/{reference}/extension",
        data={"csrf": csrf, "amount": "1", "extension_reason": "More"},
    )
    assert again.status_code == 409
    assert (
        client.post(
            f"/board/d/{reference}/extension/decision", data={"csrf": csrf, "decision": "approve"}
        ).status_code
        == 403
    )  # not the chair
    with transaction(sessions) as session:
        assert d.get(session, reference).due_at == due  # nothing moves until the chair approves

    client.cookies.clear()
    board_sign_in(client, sessions, clock, CHAIR)
    assert reference in client.get("/board").text  # "awaiting your decision"
    chair_csrf = _case_csrf(client, reference)
    approved = client.post(
        f"/board/d/{reference}/extension/decision", data={"csrf": chair_csrf, "decision": "approve"}
    )
    assert approved.status_code == 200
    with transaction(sessions) as session:
        disagreement = d.get(session, reference)
        # Due Thu 26 Nov 17:00; two more working days: Mon 30 Nov 17:00 (UTC, no DST in winter).
        assert disagreement.due_at == utc(2026, 11, 30, 17) and due == utc(2026, 11, 26, 17)
        extension = session.execute(select(DeadlineExtension)).scalar_one()
        assert extension.decision == "approved" and extension.decided_by == CHAIR
    assert (
        "extended by 2 working days to 17:00 Mon 30 Nov 2026 GMT, approved by the chair"
        in client.get(f"/board/d/{reference}").text
    )


def test_the_chair_cannot_approve_their_own_request(sessions):
    reference = raise_one(sessions, MONDAY)
    from escalation.casework import board_actions
    from escalation.rules.errors import NotAllowed
    from tests.factories import load_directory

    load_directory(sessions)
    with transaction(sessions) as session:
        board_actions.request_extension(
            session, reference=reference, actor=CHAIR, now=MONDAY, amount=1, reason="x"
        )
    with transaction(sessions) as session:
        try:
            board_actions.decide_extension(
                session, reference=reference, actor=CHAIR, now=MONDAY, approve=True
            )
        except NotAllowed as error:
            assert "cannot approve an extension they asked for" in str(error)
        else:
            raise AssertionError("approved their own request")


def test_close_with_outcome_and_learning_themes(client, sessions, clock):
    """The board's close is a proposal with the learning: put to the raiser for their say, it
    closes when they accept (decision_changed settles it: no agreed actions)."""
    reference = raise_one(sessions, MONDAY)
    board_sign_in(client, sessions, clock, MANAGER)
    csrf = _case_csrf(client, reference)
    missing = client.post(
        f"/board/d/{reference}/close", data={"csrf": csrf, "summary": "kept text"}
    )
    assert missing.status_code == 422 and "kept text" in missing.text
    assert 'href="#outcome"' in missing.text and 'href="#learning_themes"' in missing.text
    done = client.post(
        f"/board/d/{reference}/close",
        data={
            "csrf": csrf,
            "outcome": "decision_changed",
            "summary": "Referral accepted",
            "learning_themes": ["thresholds", "information_sharing"],
            "systemic": "no",
            "lesson": "Share the health visitor's weights at referral",
        },
    )
    assert done.status_code == 200
    assert "Resolution proposed: put to the raiser for their say" in done.text
    assert (
        "Information sharing between agencies; Understanding of thresholds and levels of need"
        in done.text
    )
    assert "Share the health visitor&#39;s weights at referral" in done.text
    with transaction(sessions) as session:
        disagreement = d.get(session, reference)
        assert disagreement.status == "open" and disagreement.outcome == "decision_changed"
        assert disagreement.resolution_state == "resolution_proposed"
        assert disagreement.learning_themes == ["information_sharing", "thresholds"]
        assert disagreement.learning_systemic is False
        assert disagreement.learning_recorded_by == MANAGER
    kinds = [e.kind for e in events_of(sessions, reference) if e.kind != "view"]
    assert kinds[-1] == "resolve"
    note = [e.note for e in events_of(sessions, reference) if e.kind == "resolve"][0]
    assert "learning: Information sharing between agencies, Understanding of thresholds" in note
    assert "(not systemic): Share the health visitor's weights at referral" in note
    accept_all(sessions, reference, MONDAY + timedelta(hours=1))
    with transaction(sessions) as session:
        assert d.get(session, reference).status == "resolved"
    kinds = [e.kind for e in events_of(sessions, reference) if e.kind != "view"]
    assert kinds[-4:] == ["resolve", "add_note", "accept", "complete"]  # the raiser accepted
    closed = client.get(f"/board/d/{reference}").text
    assert "This disagreement is <strong>resolved</strong>" in closed
    assert "Systemic issue" in closed and "Propose resolution" not in closed


def test_board_posts_need_the_session_csrf_token(client, sessions, clock):
    reference = raise_one(sessions, MONDAY)
    board_sign_in(client, sessions, clock, MANAGER)
    forged = client.post(
        f"/board/d/{reference}/meeting",
        data={
            "csrf": "forged",
            "held_on-day": "23",
            "held_on-month": "11",
            "held_on-year": "2026",
            "attendees": "A",
            "meeting_outcome": "B",
        },
    )
    assert forged.status_code == 403
    assert not [e for e in events_of(sessions, reference) if e.kind == "meeting"]


def test_escalated_by_the_sweep_then_seen_by_the_board(client, sessions, clock):
    reference = raise_one(sessions, MONDAY - timedelta(days=10))
    run_sweep(sessions, now=MONDAY)
    board_sign_in(client, sessions, clock, MANAGER)
    html = client.get(f"/board/d/{reference}").text
    assert "Escalate automatically" in html and "Named professional" in html
    stages = html[html.index('id="stages"') :]
    assert stages.count("Owner (raising side)") == stages.count("Counterpart (receiving side)") == 2
    assert "Silent past the deadline" in stages  # Sam Social never responded at stage 1
    with transaction(sessions) as session:
        assert (
            session.execute(select(WebSession).where(WebSession.second_factor_at.is_not(None)))
            .scalars()
            .first()
        )


# Demo mode runs only on SQLite (tests/test_settings.py shows PostgreSQL refused).
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_demo_mode_enrols_the_board_and_shows_codes(sessions, clock, monkeypatch, tmp_path):
    from fastapi.testclient import TestClient

    from escalation import demo
    from escalation.settings import get_settings
    from escalation.web.app import create_app
    from tests.factories import ORIGIN, POLICIES

    monkeypatch.setenv("ESCALATION_DEMO", "true")
    monkeypatch.setenv("ESCALATION_MAIL_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        with transaction(sessions) as session:
            summary = demo.load(session, POLICIES, MONDAY)
        assert "bea.manager@partnership.example" in summary and "/demo/authenticator" in summary
        with TestClient(
            create_app(sessions, clock=lambda: clock["now"]),
            headers={"Origin": ORIGIN},
            client=("127.0.0.1", 50000),
        ) as client:
            page = client.get("/demo/authenticator").text
            code = re.search(
                r"bea.manager@partnership.example</td><td[^>]*><strong[^>]*>(\d{6})<", page
            ).group(1)
            with transaction(sessions) as session:
                assert second_factor.verify(
                    session, "bea.manager@partnership.example", code, now=clock["now"]
                )
    finally:
        monkeypatch.delenv("ESCALATION_DEMO")
        monkeypatch.delenv("ESCALATION_MAIL_DIR")
        get_settings.cache_clear()
    with TestClient(
        create_app(sessions, clock=lambda: clock["now"]),
        headers={"Origin": ORIGIN},
        client=("127.0.0.1", 50000),
    ) as client:
        assert client.get("/demo/authenticator").status_code == 404  # never outside demo mode


def test_links_in_emails_to_the_board_open_the_case_page(client, sessions, clock):
    from escalation.outbox import links

    reference = raise_one(sessions, MONDAY)
    row = OutboxMessage(
        link_purpose="board",
        recipient_role="board_manager",
        disagreement_id=None,
        context={"reference": reference},
        recipient_email=MANAGER,
    )
    with transaction(sessions) as session:
        path = links.link_for(session, row, base_url="", now=MONDAY)
    board_sign_in(client, sessions, clock, MANAGER)
    assert path == f"/board/d/{reference}" and client.get(path).status_code == 200


def test_the_case_page_forms_start_empty(client, sessions, clock):
    reference = raise_one(sessions, MONDAY)
    board_sign_in(client, sessions, clock, MANAGER)
    html = client.get(f"/board/d/{reference}").text
    assert ">None<" not in html and 'value="None"' not in html
