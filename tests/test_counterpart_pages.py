"""Both sides of the disagreement on the pages (issue 12): the counterpart responds through their
emailed link; the owner, the raiser and the board change the counterpart (the old counterpart's
link stops working, the new one is emailed their own); each stage's owner and counterpart, why
they hold it, and the response or silence, on the link pages, the board's case page and the
plain-text record; the dashboard flags a counterpart silent past a stage's deadline. SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import html
import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from escalation.casework import disagreements as d
from escalation.casework.sweep import run_sweep
from escalation.outbox.delivery import deliver
from escalation.reads import plain_text
from escalation.store.db import transaction
from escalation.store.models import OutboxMessage, Person, PersonRole
from tests.board_helpers import act_on_link, board_sign_in, csrf_of, link_path, open_case
from tests.factories import (
    COUNTERPART,
    MANAGER,
    MONDAY,
    RAISER,
    due_at,
    events_of,
    raise_one,
)
from tests.outbox_helpers import BASE_URL, delivery
from tests.smtp_server import Server
from tests.web_helpers import emailed_link

TEAM_MANAGER = "tess.team@council.example"
NEW_FORM = {
    "counterpart_person": "",
    "counterpart_name": "Tom Duty",
    "counterpart_role": "Duty team manager",
    "counterpart_organisation": "Example Council",
    "counterpart_email": "tom.duty@council.example",
    "change_reason": "Case reallocated to the duty team",
}


def _add_to_directory(sessions, name: str, email: str, organisation: str, *, listed=True) -> int:
    with transaction(sessions) as session:
        person = Person(
            name=name,
            email=email,
            organisation=organisation,
            partnership="example-partnership",
            job_title="Team manager",
            role_rows=[PersonRole(role="practitioner")],
            listed=listed,
        )
        session.add(person)
        session.flush()
        return person.id


def _counterpart_link(sessions, email: str = COUNTERPART, now=MONDAY) -> str:
    return link_path(sessions, email, "stage_update", now)


def _stage(sessions, reference: str) -> SimpleNamespace:
    """The current stage period's two sides, as plain values."""
    with transaction(sessions) as session:
        period = d.get(session, reference).stages[-1]
        return SimpleNamespace(
            owner_reason=period.owner_reason,
            counterpart_email=period.counterpart.email if period.counterpart else None,
            counterpart_reason=period.counterpart_reason,
            counterpart_response=period.counterpart_response,
            counterpart_responded_at=period.counterpart_responded_at,
        )


# --- the counterpart responds --------------------------------------------------------------------


@pytest.mark.parametrize("position", ["decision_stands", "decision_changed", "meeting_proposed"])
def test_the_counterpart_responds_through_their_link_and_the_owner_is_emailed(
    client, sessions, position
):
    reference = raise_one(sessions, MONDAY)
    path = _counterpart_link(sessions)
    page = open_case(client, path).text
    assert "Your response" in page and "Change the counterpart" not in page
    assert "Move onto the urgent track" not in page  # the receiving side does not hold the stage
    done = act_on_link(
        client, path, "respond", position=position, response=f"Our answer: {position}"
    )
    assert done.status_code == 200 and "Your response has been recorded" in done.text
    period = _stage(sessions, reference)
    assert period.counterpart_response == position and period.counterpart_responded_at == MONDAY
    with transaction(sessions) as session:
        sent = session.execute(
            select(OutboxMessage).where(OutboxMessage.kind == "counterpart_response")
        ).scalar_one()
    assert sent.recipient_email == RAISER  # the owner of the practitioner stage
    owner_page = open_case(client, emailed_link(sessions, RAISER)).text
    stages = owner_page[owner_page.index('id="stages"') :]
    assert f"Our answer: {position}" in stages and "10:00 Mon 23 Nov 2026" in stages


def test_a_response_without_a_position_comes_back_with_what_was_typed(client, sessions):
    raise_one(sessions, MONDAY)
    refused = act_on_link(client, _counterpart_link(sessions), "respond", response="kept words")
    assert refused.status_code == 422 and 'href="#position"' in refused.text
    assert "kept words" in refused.text and "govuk-error-summary" in refused.text


# --- the counterpart is changed --------------------------------------------------------------------


def test_the_owner_changes_the_counterpart_the_old_link_dies_and_the_new_one_is_emailed(
    client, sessions
):
    reference = raise_one(sessions, MONDAY)
    old_link = _counterpart_link(sessions)
    assert client.get(old_link).status_code == 200
    owner_link = emailed_link(sessions, RAISER)  # the raiser owns the practitioner stage
    changed = act_on_link(client, owner_link, "change_counterpart", **NEW_FORM)
    assert changed.status_code == 200 and "You have changed the counterpart" in changed.text
    assert "Tom Duty now answers for the receiving side" in changed.text

    gone = client.get(old_link)
    assert gone.status_code == 404 and "This link cannot be used" in gone.text
    assert "TEST-CHILD-1" not in gone.text
    assert client.post(f"{old_link}/continue").status_code == 404

    with Server() as mail:
        asyncio.run(deliver(delivery(sessions, mail.url()), now=MONDAY))
        to_new = [m for m in mail.messages if m["To"] == "tom.duty@council.example"]
    assert len(to_new) == 1 and reference in to_new[0]["Subject"]
    text = to_new[0].get_body(("plain",)).get_content()
    new_link = next(word for word in text.split() if word.startswith(f"{BASE_URL}/l/"))
    new_page = open_case(client, new_link.removeprefix(BASE_URL))
    assert new_page.status_code == 200 and "Record your response" in new_page.text

    change = [e for e in events_of(sessions, reference) if e.kind == "change_counterpart"]
    assert len(change) == 1 and change[0].actor == RAISER
    assert "Sam Social" in change[0].note and "Tom Duty" in change[0].note
    assert "Case reallocated to the duty team" in change[0].note
    period = _stage(sessions, reference)
    assert period.counterpart_email == "tom.duty@council.example"
    assert "Case reallocated to the duty team" in period.counterpart_reason


def test_an_address_at_a_domain_that_is_not_secure_is_refused_naming_the_field_and_why(
    client, sessions
):
    reference = raise_one(sessions, MONDAY)
    owner_link = emailed_link(sessions, RAISER)
    form = {**NEW_FORM, "counterpart_email": "tom.duty@freemail.example"}
    refused = act_on_link(client, owner_link, "change_counterpart", **form)
    assert refused.status_code == 422 and "govuk-error-summary" in refused.text
    assert 'href="#counterpart_email"' in refused.text
    assert "freemail.example is not one of" in refused.text and "secure domains" in refused.text
    assert 'value="Tom Duty"' in refused.text and "Case reallocated" in refused.text
    assert _stage(sessions, reference).counterpart_email == COUNTERPART
    assert not [e for e in events_of(sessions, reference) if e.kind == "change_counterpart"]
    # Nothing was spent: the corrected form, from the page that came back, works.
    fixed = client.post(
        owner_link,
        data={"action": "change_counterpart", "csrf": csrf_of(refused.text), **NEW_FORM},
    )
    assert fixed.status_code == 200 and "You have changed the counterpart" in fixed.text


def test_a_change_without_a_reason_or_anyone_names_each_field(client, sessions):
    raise_one(sessions, MONDAY)
    empty = dict.fromkeys(NEW_FORM, "")
    refused = act_on_link(client, emailed_link(sessions, RAISER), "change_counterpart", **empty)
    assert refused.status_code == 422
    assert 'href="#change_reason"' in refused.text and 'href="#counterpart_email"' in refused.text


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("counterpart_person", "99999", "Select a person from the list"),
        ("counterpart_person", "not-an-id", "Select a person from the list"),
        ("counterpart_name", "x" * 201, "200 characters or fewer"),
        ("counterpart_role", "Team\nmanager", "line breaks"),
    ],
)
def test_a_bad_value_in_the_change_form_is_named_never_a_server_error(
    client, sessions, field, value, words
):
    reference = raise_one(sessions, MONDAY)
    form = {**NEW_FORM, field: value}
    if field == "counterpart_person":
        form.update(counterpart_name="", counterpart_role="", counterpart_organisation="")
        form["counterpart_email"] = ""
    refused = act_on_link(client, emailed_link(sessions, RAISER), "change_counterpart", **form)
    assert refused.status_code == 422 and f'href="#{field}"' in refused.text
    assert words in html.unescape(refused.text)
    assert _stage(sessions, reference).counterpart_email == COUNTERPART


def test_the_owner_chooses_the_new_counterpart_from_the_directory_by_organisation(client, sessions):
    reference = raise_one(sessions, MONDAY)
    tess = _add_to_directory(sessions, "Tess Team", TEAM_MANAGER, "Example Council")
    _add_to_directory(
        sessions, "Una Listed", "una@council.example", "Example Council", listed=False
    )
    owner_link = emailed_link(sessions, RAISER)
    open_case(client, owner_link)
    page = client.get(f"{owner_link}/do/change_counterpart").text
    group = page[page.index('<optgroup label="Example Council">') :]
    group = group[: group.index("</optgroup>")]
    assert f'<option value="{tess}">Tess Team, Team manager</option>' in group
    chooser = page[page.index('<select class="govuk-select" id="counterpart_person"') :]
    chooser = chooser[: chooser.index("</select>")]
    assert "Una Listed" not in chooser  # not listed in the directory: not offered
    assert "Bea Manager" not in chooser and "Hana Visitor" not in chooser  # the board, the raiser
    assert 'label="Example Trust"' in page  # the partnership's other organisations
    choose = {
        **dict.fromkeys(NEW_FORM, ""),
        "counterpart_person": str(tess),
        "change_reason": "Tess holds the case now",
    }
    done = client.post(
        owner_link, data={"action": "change_counterpart", "csrf": csrf_of(page), **choose}
    )
    assert done.status_code == 200 and "Tess Team now answers" in done.text
    assert _stage(sessions, reference).counterpart_email == TEAM_MANAGER
    assert client.get(_counterpart_link(sessions, TEAM_MANAGER)).status_code == 200


def test_the_raiser_changes_the_counterpart_from_the_status_link(client, sessions):
    reference = raise_one(sessions, MONDAY)
    with transaction(sessions) as session:
        d.escalate(session, reference=reference, actor=RAISER, now=MONDAY, reason="No reply")
    status_link = _counterpart_link(sessions, RAISER)  # the raiser is told, with a status link
    page = open_case(client, status_link).text
    choices = re.findall(r'name="choice"[^>]*value="([^"]+)"', page)
    assert choices == ["change_counterpart", "make_urgent"]
    done = client.post(
        status_link,
        data={"action": "change_counterpart", "csrf": csrf_of(page), **NEW_FORM},
    )
    assert done.status_code == 200 and "You have changed the counterpart" in done.text
    assert _stage(sessions, reference).counterpart_email == "tom.duty@council.example"


def test_the_board_changes_the_counterpart_from_the_case_page(client, sessions, clock):
    reference = raise_one(sessions, MONDAY)
    tess = _add_to_directory(sessions, "Tess Team", TEAM_MANAGER, "Example Council")
    old_link = _counterpart_link(sessions)
    board_sign_in(client, sessions, clock, MANAGER)
    page = client.get(f"/board/d/{reference}").text
    assert 'id="change-counterpart"' in page and f'<option value="{tess}">' in page
    refused = client.post(
        f"/board/d/{reference}/counterpart",
        data={"csrf": csrf_of(page), "counterpart_person": str(tess), "change_reason": ""},
    )
    assert refused.status_code == 422 and 'href="#change_reason"' in refused.text
    assert f'<option value="{tess}" selected>' in refused.text  # the choice is kept
    unsigned = client.post(
        f"/board/d/{reference}/counterpart",
        data={"counterpart_person": str(tess), "change_reason": "Reallocated"},
    )
    assert unsigned.status_code == 403
    done = client.post(
        f"/board/d/{reference}/counterpart",
        data={
            "csrf": csrf_of(page),
            "counterpart_person": str(tess),
            "change_reason": "Reallocated",
        },
    )
    assert done.status_code == 200 and "Counterpart changed" in done.text
    assert client.get(old_link).status_code == 404
    change = [e for e in events_of(sessions, reference) if e.kind == "change_counterpart"][0]
    assert change.actor == MANAGER and "Sam Social to Tess Team: Reallocated" in change.note


# --- both sides on the pages -------------------------------------------------------------------------


def test_both_sides_of_each_stage_are_on_the_link_pages_and_the_board_case_page(
    client, sessions, clock
):
    reference = raise_one(sessions, MONDAY)
    period = _stage(sessions, reference)
    for path in (emailed_link(sessions, RAISER), _counterpart_link(sessions)):
        page = html.unescape(open_case(client, path).text)
        stages = page[page.index('id="stages"') :]
        assert "Owner (raising side)" in stages and "Hana Visitor" in stages
        assert "Counterpart (receiving side)" in stages and "Sam Social" in stages
        assert period.owner_reason in stages and period.counterpart_reason in stages
        assert "No response yet" in stages
    board_sign_in(client, sessions, clock, MANAGER)
    page = html.unescape(client.get(f"/board/d/{reference}").text)
    stages = page[page.index('id="stages"') :]
    assert "Hana Visitor</strong>, Health visitor, Example Trust" in stages
    assert "Sam Social</strong>, Duty social worker, Example Council" in stages
    assert period.owner_reason in stages and period.counterpart_reason in stages


def test_a_silent_counterpart_is_flagged_on_the_case_the_dashboard_and_the_record(
    client, sessions, clock
):
    silent = raise_one(sessions, MONDAY)
    answered = raise_one(sessions, MONDAY, child_reference="TEST-CHILD-2")
    with transaction(sessions) as session:
        d.record_response(
            session,
            reference=answered,
            actor=COUNTERPART,
            now=MONDAY + timedelta(hours=1),
            position="decision_stands",
            text="Threshold not met",
        )
    deadline = due_at(sessions, silent)
    run_sweep(sessions, now=deadline)  # both escalated; one counterpart was silent
    with transaction(sessions) as session:
        assert d.get(session, silent).counterpart_silent_at == deadline
        assert d.get(session, answered).counterpart_silent_at is None
    board_sign_in(client, sessions, clock, MANAGER)
    rows = client.get("/board").text
    silent_row = rows[rows.index(f">{silent}<") :].split("</tr>")[0]
    answered_row = rows[rows.index(f">{answered}<") :].split("</tr>")[0]
    assert "Counterpart silent" in silent_row and "Counterpart silent" not in answered_row
    only = client.get("/board?counterpart_silent=yes").text
    assert f">{silent}<" in only and f">{answered}<" not in only
    assert (
        'id="counterpart_silent" name="counterpart_silent" type="checkbox" value="yes" checked'
        in (only)
    )
    bad = client.get("/board?counterpart_silent=maybe")
    assert bad.status_code == 200 and 'href="#counterpart_silent"' in bad.text
    case = html.unescape(client.get(f"/board/d/{silent}").text)
    assert 'id="counterpart-silent"' in case and "Silent past the deadline" in case
    assert "Threshold not met" in html.unescape(client.get(f"/board/d/{answered}").text)
    with transaction(sessions) as session:
        record = plain_text.record(session, d.get(session, silent), MONDAY + timedelta(days=8))
    assert "COUNTERPART SILENT" in record and "Stages, both sides" in record
    assert "    Owner:        Hana Visitor, Health visitor, Example Trust (" in record
    assert "    Counterpart:  Sam Social, Duty social worker, Example Council (" in record
    assert "    Response:     Silent past the deadline: no response by 17:00 Mon 30 Nov" in record
