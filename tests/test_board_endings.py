"""How a disagreement ends, from the board's pages: proposing a resolution with the learning and
agreed actions (and its problems, shown with what was typed), convening a meeting and recording
it, confirming an action on its owner's behalf, every stage's formal record listed with its PDF,
and the dashboard's watched cases (tags, filter, panel), on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import event, select

from escalation.casework import disagreements as d
from escalation.store.db import transaction
from escalation.store.models import AgreedAction, OutboxMessage, ResolutionMeeting, StageRecord
from tests.board_helpers import board_sign_in, csrf_of
from tests.factories import (
    COUNTERPART,
    LEARNING,
    MANAGER,
    MONDAY,
    NAMED,
    RAISER,
    accept_all,
    events_of,
    raise_one,
    utc,
)

LESSON = "Health's weights were not shared at referral (invented)"


def _at_stage_two(sessions, **overrides) -> str:
    reference = raise_one(sessions, MONDAY, **overrides)
    with transaction(sessions) as session:
        d.escalate(session, reference=reference, actor=RAISER, now=MONDAY)
    return reference


def _case(client, reference: str) -> tuple[str, str]:
    page = client.get(f"/board/d/{reference}")
    assert page.status_code == 200
    return page.text, csrf_of(page.text)


def _row(number: int, what: str, owner: str, day: str, time: str = "", place: str = "") -> dict:
    """One agreed-action row of the propose form, its date as "1 12 2026"."""
    dd, mm, yyyy = day.split()
    prefix = f"actions[{number}]."
    return {
        prefix + "what": what,
        prefix + "owner": owner,
        prefix + "due_on-day": dd,
        prefix + "due_on-month": mm,
        prefix + "due_on-year": yyyy,
        prefix + "meeting_at": time,
        prefix + "place": place,
    }


def _proposal(csrf: str, **fields) -> dict:
    data = {
        "csrf": csrf,
        "outcome": "resolution_meeting_convened",
        "summary": "A resolution meeting with both agencies (invented)",
        "learning_themes": ["thresholds", "information_sharing"],
        "systemic": "yes",
        "lesson": LESSON,
    }
    data.update(fields)
    return data


def test_the_propose_form_names_each_problem_and_keeps_what_was_typed(client, sessions, clock):
    reference = _at_stage_two(sessions)
    board_sign_in(client, sessions, clock, MANAGER)
    html, csrf = _case(client, reference)
    # Both sides' people may own an action: the directory's and the (unlisted) decision-maker.
    assert f'<option value="{COUNTERPART}">Sam Social' in html
    assert "puts it to the raiser (and to the counterpart when the decision stands)" in html
    # Row 1 left blank, row 2 with no owner and a time that is not one.
    data = _proposal(
        csrf, systemic="", lesson="", **_row(2, "Typed <b>what</b> kept", "", "1 12 2026", "25:99")
    )
    bad = client.post(f"/board/d/{reference}/close", data=data)
    assert bad.status_code == 422
    for anchor in ("systemic", "lesson", "actions", "actions[2].owner", "actions[2].meeting_at"):
        assert f'href="#{anchor}"' in bad.text, anchor
    assert 'href="#actions[1].owner"' not in bad.text  # the casework's first row is the page's 2nd
    assert "Typed &lt;b&gt;what&lt;/b&gt; kept" in bad.text and 'value="25:99"' in bad.text
    assert re.search(
        r'id="learning_themes" name="learning_themes" type="checkbox" value="thresholds"\s+checked',
        bad.text,
    )
    settling = client.post(
        f"/board/d/{reference}/close",
        data=_proposal(csrf, outcome="decision_changed", **_row(1, "X", NAMED, "1 12 2026")),
    )
    assert settling.status_code == 422 and "settles it: it has no agreed actions" in settling.text
    past = client.post(
        f"/board/d/{reference}/close", data=_proposal(csrf, **_row(1, "X", NAMED, "20 11 2026"))
    )
    assert past.status_code == 422 and 'href="#actions[1].due_on-day"' in past.text
    with transaction(sessions) as session:
        disagreement = d.get(session, reference)
        assert disagreement.resolution_state is None and disagreement.learning_themes is None
        assert session.execute(select(AgreedAction)).first() is None  # nothing half-proposed


def test_a_meeting_outcome_is_proposed_watched_confirmed_and_recorded(client, sessions, clock):
    reference = _at_stage_two(sessions)
    board_sign_in(client, sessions, clock, MANAGER)
    _, csrf = _case(client, reference)
    data = _proposal(
        csrf,
        **_row(1, "Resolution meeting", NAMED, "1 12 2026", "14:30", "Room 4, Example Trust"),
        **_row(3, "Send the chronology to health", COUNTERPART, "27 11 2026"),
    )
    proposed = client.post(f"/board/d/{reference}/close", data=data)
    assert proposed.status_code == 200, proposed.text
    assert "Resolution proposed: put to the raiser for their say" in proposed.text
    assert "Awaiting the say of the raiser" in proposed.text
    assert "Propose resolution" not in proposed.text  # the stage's actions wait meanwhile
    with transaction(sessions) as session:
        items = session.execute(select(AgreedAction).order_by(AgreedAction.id)).scalars().all()
        meeting, action = items
        assert meeting.kind == "meeting" and meeting.meeting_at == utc(2026, 12, 1, 14, 30)
        assert action.owner.email == COUNTERPART and str(action.due_on) == "2026-11-27"
        disagreement = d.get(session, reference)
        assert disagreement.learning_systemic is True and disagreement.learning_lesson == LESSON
    accept_all(sessions, reference, MONDAY + timedelta(hours=1))

    html, csrf = _case(client, reference)
    assert "Watched</strong> The resolution was accepted" in html and "2 agreed actions are" in html
    assert "Systemic issue" in html and LESSON.replace("'", "&#39;") in html
    # The board confirms the chronology sent, on Sam Social's behalf; a note is needed.
    empty = client.post(
        f"/board/d/{reference}/confirm", data={"csrf": csrf, "action_id": str(action.id)}
    )
    assert empty.status_code == 422 and f'href="#confirm-{action.id}-note"' in empty.text
    done = client.post(
        f"/board/d/{reference}/confirm",
        data={"csrf": csrf, "action_id": str(action.id), "note": "Chronology emailed securely"},
    )
    assert done.status_code == 200 and "Agreed action confirmed done" in done.text
    # The meeting form records the convened meeting, once it has happened.
    early = client.post(
        f"/board/d/{reference}/meeting",
        data={
            "csrf": csrf,
            "meeting": str(meeting.id),
            "attendees": "Nadia Named, Sam Social",
            "meeting_outcome": "Strategy discussion agreed",
        },
    )
    assert early.status_code == 422 and "The meeting has not happened yet" in early.text
    assert 'href="#meeting_outcome"' in early.text and "Strategy discussion agreed" in early.text
    clock["now"] = utc(2026, 12, 1, 16)
    board_sign_in(client, sessions, clock, MANAGER)  # the earlier session has timed out
    _, csrf = _case(client, reference)
    held = client.post(
        f"/board/d/{reference}/meeting",
        data={
            "csrf": csrf,
            "meeting": str(meeting.id),
            "attendees": "Nadia Named, Sam Social",
            "meeting_outcome": "Strategy discussion agreed",
        },
    )
    assert held.status_code == 200 and "Resolution meeting recorded" in held.text
    with transaction(sessions) as session:
        disagreement = d.get(session, reference)
        assert disagreement.status == "resolved"
        recorded = session.execute(select(ResolutionMeeting)).scalar_one()
        assert recorded.attendees == "Nadia Named, Sam Social" and recorded.recorded_by == MANAGER
    kinds = [e.kind for e in events_of(sessions, reference) if e.kind != "view"]
    assert kinds[-3:] == ["confirm_action", "confirm_action", "complete"]


def test_convene_a_meeting_and_record_it_or_one_held_outside(client, sessions, clock):
    reference = _at_stage_two(sessions)
    board_sign_in(client, sessions, clock, MANAGER)
    html, csrf = _case(client, reference)
    invitees = html[html.index('id="convene-form"') :]
    for email in (RAISER, NAMED, COUNTERPART, MANAGER):
        assert f'value="{email}"' in invitees[: invitees.index("</form>")], email
    assert "(raised it; owner at Practitioner to practitioner)" in invitees
    empty = client.post(f"/board/d/{reference}/convene", data={"csrf": csrf})
    assert empty.status_code == 422
    for anchor in ("convene_on-day", "convene_on_time", "convene_place", "invitees"):
        assert f'href="#{anchor}"' in empty.text, anchor
    fields = {
        "csrf": csrf,
        "convene_on-day": "2",
        "convene_on-month": "12",
        "convene_on-year": "2026",
        "convene_on_time": "10:00",
        "convene_place": "Video call (details to follow)",
        "invitees": [RAISER, NAMED, COUNTERPART],
    }
    convened = client.post(f"/board/d/{reference}/convene", data=fields)
    assert convened.status_code == 200 and "Meeting convened" in convened.text
    with transaction(sessions) as session:
        meeting = session.execute(select(AgreedAction)).scalar_one()
        assert meeting.meeting_at == utc(2026, 12, 2, 10) and meeting.owner.email == MANAGER
        assert meeting.invitees == sorted([RAISER, NAMED, COUNTERPART])
        invited = session.execute(
            select(OutboxMessage.recipient_email).where(OutboxMessage.kind == "meeting_invitation")
        ).scalars()
        assert sorted(invited) == sorted([RAISER, NAMED, COUNTERPART, MANAGER])  # and the convener
    html = convened.text
    assert 'name="meeting" type="radio" value="outside"' in html  # the older record stays
    # A meeting held outside the service is recorded on its own; the convened one stays open.
    outside = client.post(
        f"/board/d/{reference}/meeting",
        data={
            "csrf": csrf,
            "meeting": "outside",
            "held_on-day": "23",
            "held_on-month": "11",
            "held_on-year": "2026",
            "attendees": "Bea Manager, Nadia Named",
            "meeting_outcome": "Agreed to meet with the council",
        },
    )
    assert outside.status_code == 200 and "Resolution meeting recorded" in outside.text
    clock["now"] = utc(2026, 12, 2, 11)
    board_sign_in(client, sessions, clock, MANAGER)
    _, csrf = _case(client, reference)
    held = client.post(
        f"/board/d/{reference}/meeting",
        data={
            "csrf": csrf,
            "meeting": str(meeting.id),
            "attendees": "",
            "meeting_outcome": "Assessment to open",
        },
    )
    assert held.status_code == 422 and 'href="#attendees"' in held.text
    held = client.post(
        f"/board/d/{reference}/meeting",
        data={
            "csrf": csrf,
            "meeting": str(meeting.id),
            "attendees": "Hana Visitor, Nadia Named, Sam Social",
            "meeting_outcome": "Assessment to open",
        },
    )
    assert held.status_code == 200
    with transaction(sessions) as session:
        assert session.get(AgreedAction, meeting.id).ended == "done"
        assert len(session.execute(select(ResolutionMeeting)).all()) == 2
        assert d.get(session, reference).is_open  # a meeting held is not a resolution
    assert 'name="meeting"' not in held.text  # no convened meeting left open


def test_every_stage_record_is_listed_with_its_pdf(client, sessions, clock):
    reference = _at_stage_two(sessions)
    with transaction(sessions) as session:
        d.resolve(
            session,
            reference=reference,
            actor=NAMED,
            now=MONDAY + timedelta(hours=1),
            outcome="decision_changed",
            summary="Referral accepted (invented)",
            learning=LEARNING,
        )
        ids = session.execute(select(StageRecord.id).order_by(StageRecord.id)).scalars().all()
    assert len(ids) == 2  # the escalation at stage 1, the proposed resolution at stage 2
    board_sign_in(client, sessions, clock, MANAGER)
    html = client.get(f"/board/d/{reference}").text
    section = html[html.index('id="formal-records"') :]
    for record_id in ids:
        assert f'href="/board/d/{reference}/records/{record_id}.pdf"' in section
    assert "signed by Nadia Named" in section
    pdf = client.get(f"/board/d/{reference}/records/{ids[-1]}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    says = html[html.index('id="says"') :]
    assert "The raiser (" + RAISER + "): <strong>awaited</strong>" in says


def _table_references(html: str) -> list[str]:
    table = html[html.index('id="disagreements"') :]
    return re.findall(r'href="/board/d/(RPD-[A-Z0-9-]+)"', table)


def _watched(sessions, child: str, day: str) -> str:
    reference = _at_stage_two(sessions, child_reference=child)
    with transaction(sessions) as session:
        d.resolve(
            session,
            reference=reference,
            actor=NAMED,
            now=MONDAY,
            outcome="resolved_agreed_actions",
            summary="Agreed (invented)",
            learning=LEARNING,
            actions=(
                _input("Share the chronology", NAMED, day),
                _input("Visit together", COUNTERPART, "4 12 2026"),
            ),
        )
    accept_all(sessions, reference, MONDAY)
    return reference


def _input(what: str, owner: str, day: str):
    from datetime import date

    from escalation.casework.endings import ActionInput

    dd, mm, yyyy = (int(part) for part in day.split())
    return ActionInput(what, owner, date(yyyy, mm, dd))


def test_the_dashboard_tags_filters_and_lists_watched_cases(client, sessions, clock, engine):
    active = raise_one(sessions, MONDAY, child_reference="TEST-ACTIVE")
    proposed = _at_stage_two(sessions, child_reference="TEST-PROPOSED")
    with transaction(sessions) as session:
        d.resolve(
            session,
            reference=proposed,
            actor=NAMED,
            now=MONDAY,
            outcome="decision_changed",
            summary="Referral accepted (invented)",
            learning=LEARNING,
        )
    later = _watched(sessions, "TEST-LATER", "3 12 2026")
    sooner = _watched(sessions, "TEST-SOONER", "26 11 2026")
    board_sign_in(client, sessions, clock, MANAGER)
    html = client.get("/board").text
    panel = html[
        html.index('id="watched-cases"') : html.index("</table>", html.index('id="watched-cases"'))
    ]
    rows = re.findall(
        r"(RPD-[A-Z0-9-]+)</a></td>\s*<td[^>]*>(\d+)</td>\s*<td[^>]*>([^<]+)</td>", panel
    )
    assert rows == [(sooner, "2", "Thu 26 Nov 2026"), (later, "2", "Thu 3 Dec 2026")]
    table = html[html.index('id="disagreements"') :]
    assert "Watched: 2 open actions, next due Thu 26 Nov 2026" in table
    assert table.count("Resolution proposed</strong>") == 1
    assert _table_references(client.get("/board?ending=proposed").text) == [proposed]
    assert sorted(_table_references(client.get("/board?ending=watched").text)) == sorted(
        [later, sooner]
    )
    assert active not in _table_references(client.get("/board?ending=either").text)
    bad = client.get("/board?ending=nonsense")
    assert bad.status_code == 200 and 'href="#ending"' in bad.text
    assert len(_table_references(bad.text)) == 4  # the bad filter is left out

    # The page's queries do not grow with the rows: open actions come from one grouped subquery.
    def queries() -> int:
        seen = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert client.get("/board").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    before = queries()
    for child in ("TEST-MORE-1", "TEST-MORE-2", "TEST-MORE-3"):
        _watched(sessions, child, "30 11 2026")
    assert queries() == before
