"""What a review tried on the board pages: extreme dates, a huge CSV field, alerts of another
partnership, extensions renewed by reassigning, a manager making themselves chair, another
partnership's policy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from escalation.casework import board_actions, health
from escalation.casework import disagreements as d
from escalation.casework.endings import Learning
from escalation.directory.csv_rows import import_csv
from escalation.rules.errors import InvalidInput, NotAllowed
from escalation.store.db import transaction
from escalation.store.models import DeadlineExtension, Event
from tests.board_helpers import board_sign_in, csrf_of
from tests.factories import CHAIR, FOUR_STAGE, MANAGER, MONDAY, NAMED_DEPUTY, RAISER, raise_one


def test_the_largest_dates_are_refused_not_a_crash(client, sessions, clock):
    board_sign_in(client, sessions, clock, MANAGER)
    page = client.get("/board?raised_to=9999-12-31")
    assert page.status_code == 200 and 'href="#raised_to"' in page.text
    report = client.get("/board/reports?to=9999-12-31")
    assert report.status_code == 200 and "There is a problem" in report.text
    assert client.get("/board/reports/categories.csv?to=9999-12-31").status_code == 422


def test_a_csv_field_too_large_to_read_is_refused(client, sessions, clock):
    board_sign_in(client, sessions, clock, MANAGER)
    csrf = csrf_of(client.get("/board/directory/import").text)
    text = (
        "name,email,organisation,partnership,roles,job_title,deputy_email,absent_from,absent_until\n"
        + "N" * 140_000
        + ",x@x.example,O,example-partnership,practitioner,,,,\n"
    )
    response = client.post(
        "/board/directory/import",
        data={"csrf": csrf},
        files={"csv_file": ("people.csv", text.encode(), "text/csv")},
    )
    assert response.status_code == 422 and "could not be read as CSV" in response.text


def test_alerts_about_another_partnerships_disagreement_are_not_shown(client, sessions, clock):
    ours = raise_one(sessions, MONDAY)
    theirs = raise_one(sessions, MONDAY, child_reference="TEST-CHILD-2")
    with transaction(sessions) as session:
        d.get(session, theirs).partnership = "another-partnership"
        for reference in (ours, theirs):
            health.raise_alert(
                session,
                key=f"blocked/{reference}",
                kind="escalation_blocked",
                message=f"{reference}: the sweep could not act",
                now=MONDAY,
            )
        health.raise_alert(
            session,
            key="smtp/config",
            kind="smtp_config",
            message="the mail relay refused to send",
            now=MONDAY,
        )
    board_sign_in(client, sessions, clock, MANAGER)
    html = client.get("/board").text
    assert f"{ours}: the sweep could not act" in html and "mail relay refused" in html
    assert theirs not in html


def _extend(sessions, reference, now=MONDAY):
    with transaction(sessions) as session:
        board_actions.request_extension(
            session, reference=reference, actor=MANAGER, now=now, amount=1, reason="x"
        )
    with transaction(sessions) as session:
        board_actions.decide_extension(
            session, reference=reference, actor=CHAIR, now=now, approve=True
        )


def test_reassigning_does_not_renew_the_extension_allowance(client, sessions):
    reference = raise_one(sessions, MONDAY)
    with transaction(sessions) as session:
        d.escalate(session, reference=reference, actor=RAISER, now=MONDAY)
    _extend(sessions, reference)
    with transaction(sessions) as session:
        board_actions.reassign(
            session,
            reference=reference,
            actor=MANAGER,
            now=MONDAY,
            new_owner_email=NAMED_DEPUTY,
            reason="Leave",
        )
    with (
        transaction(sessions) as session,
        pytest.raises(NotAllowed, match="already had an extension"),
    ):
        board_actions.request_extension(
            session, reference=reference, actor=MANAGER, now=MONDAY, amount=1, reason="again"
        )


def test_a_request_survives_reassignment_but_lapses_with_the_stage(client, sessions):
    reference = raise_one(sessions, MONDAY)
    with transaction(sessions) as session:
        board_actions.request_extension(
            session, reference=reference, actor=MANAGER, now=MONDAY, amount=1, reason="x"
        )
        assert len(board_actions.pending_extensions(session, "example-partnership")) == 1
    with transaction(sessions) as session:
        d.escalate(session, reference=reference, actor=RAISER, now=MONDAY + timedelta(hours=1))
    with transaction(sessions) as session:
        assert board_actions.pending_extensions(session, "example-partnership") == []
        with pytest.raises(NotAllowed, match="no extension waiting"):
            board_actions.decide_extension(
                session,
                reference=reference,
                actor=CHAIR,
                now=MONDAY + timedelta(hours=2),
                approve=True,
            )
        assert session.execute(select(DeadlineExtension.decision)).scalar_one() is None


def test_a_manager_cannot_make_themselves_chair(client, sessions, clock):
    board_sign_in(client, sessions, clock, MANAGER)
    csrf = csrf_of(client.get("/board/directory/import").text)
    text = (
        "name,email,organisation,partnership,roles,job_title,deputy_email,absent_from,absent_until\n"
        f"Bea Manager,{MANAGER},Example Partnership,example-partnership,board_manager;chair,,,,\n"
    )
    response = client.post(
        "/board/directory/import",
        data={"csrf": csrf},
        files={"csv_file": ("people.csv", text.encode(), "text/csv")},
    )
    assert response.status_code == 422 and "cannot make yourself the chair" in response.text
    dropped = text.replace("board_manager;chair", "chair")
    response = client.post(
        "/board/directory/import",
        data={"csrf": csrf},
        files={"csv_file": ("people.csv", dropped.encode(), "text/csv")},
    )
    assert (
        response.status_code == 422 and "cannot remove your own board manager role" in response.text
    )


def test_closing_checks_the_summary_and_records_the_learning(client, sessions):
    reference = raise_one(sessions, MONDAY)
    learning = Learning(("timeliness",), True, "Decisions waited for a weekly panel")
    with transaction(sessions) as session, pytest.raises(InvalidInput) as refused:
        board_actions.close(
            session,
            reference=reference,
            actor=MANAGER,
            now=MONDAY,
            outcome="decision_changed",
            summary="x" * 5001,
            learning=learning,
        )
    assert "summary" in refused.value.problems
    with transaction(sessions) as session, pytest.raises(InvalidInput) as refused:
        board_actions.close(
            session,
            reference=reference,
            actor=MANAGER,
            now=MONDAY,
            outcome="decision_changed",
            summary="Agreed",
            learning=Learning(("not_a_theme",), None, ""),
        )
    assert set(refused.value.problems) == {"learning_themes", "systemic", "lesson"}
    with transaction(sessions) as session:
        board_actions.close(
            session,
            reference=reference,
            actor=MANAGER,
            now=MONDAY,
            outcome="decision_changed",
            summary="Agreed",
            learning=learning,
        )
    with transaction(sessions) as session:
        notes = session.execute(select(Event.note).where(Event.kind == "resolve")).scalars().all()
        disagreement = d.get(session, reference)
        assert disagreement.learning_themes == ["timeliness"] and disagreement.learning_systemic
        assert disagreement.resolution_state == "resolution_proposed"  # the raiser's say awaited
    assert len(notes) == 1 and notes[0].endswith(
        "learning: Timeliness of decisions and responses (systemic): "
        "Decisions waited for a weekly panel"
    )


LAKESIDE_COUNTERPART = {
    "name": "Sam Lake",
    "email": "sam.lake@lakeside.gov.uk",  # one of Lakeside's secure domains
    "organisation": "Lakeside Council",
    "role": "Duty social worker",
}


def test_a_partnership_on_another_policy_sees_its_own_stages(client, sessions, clock):
    with transaction(sessions) as session:
        import_csv(
            session,
            "name,email,organisation,partnership,roles,job_title,deputy_email,absent_from,absent_until\n"
            "Lena Lake,lena@lakeside.example,Lakeside Partnership,lakeside-partnership,board_manager,,,,\n"
            "Pip Lake,pip@lakeside.example,Lakeside Trust,lakeside-partnership,practitioner,,,,\n",
        )
    raise_one(
        sessions,
        MONDAY,
        policy=FOUR_STAGE,
        raiser={
            "name": "Pip Lake",
            "email": "pip@lakeside.example",
            "organisation": "Lakeside Trust",
            "role": "Health visitor",
        },
        counterpart=LAKESIDE_COUNTERPART,
    )
    board_sign_in(client, sessions, clock, "lena@lakeside.example")
    page = client.get("/board?stage=line_manager")
    assert page.status_code == 200 and "There is a problem" not in page.text
    assert "Step 4 - independently chaired resolution meeting" in page.text
    assert "Partnership business manager" not in page.text  # the default policy's stage


def test_a_long_figure_is_cut_on_the_page_but_whole_in_the_csv(
    client, sessions, clock, monkeypatch
):
    from escalation.web.board import reports as report_pages

    monkeypatch.setattr(report_pages, "SHOWN_ROWS", 2)
    for child in ("TEST-A", "TEST-B", "TEST-C"):
        for _ in range(2):
            raise_one(sessions, MONDAY, child_reference=child)
    board_sign_in(client, sessions, clock, MANAGER)
    page = client.get("/board/reports").text
    section = page[page.index('id="repeat-children"') : page.index('id="urgent-track"')]
    assert "TEST-A" in section and "TEST-B" in section and "TEST-C" not in section
    assert "Showing the first 2 of 3; the CSV has them all." in section
    csv_text = client.get("/board/reports/repeat-children.csv").text
    assert all(child in csv_text for child in ("TEST-A", "TEST-B", "TEST-C"))
