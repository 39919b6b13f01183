"""Your disagreements (web/yours.py, reads/yours.py): a signed-in practitioner's own list, and a
page per disagreement with the short forms the casework offers them: a note, withdrawing, the
urgent track, their say on a proposed resolution."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from escalation.casework import disagreements as d
from escalation.casework.endings import ActionInput
from escalation.reads.yours import yours
from escalation.store.db import transaction
from escalation.store.models import Disagreement, Event
from tests.browser_helpers import check, link_in_latest_email, needs_chromium, send_emails
from tests.factories import (
    DESIGNATED,
    LEARNING,
    MONDAY,
    NAMED,
    NAMED_DEPUTY,
    RAISER,
    raise_one,
)
from tests.smtp_server import Server
from tests.web_helpers import sign_in


def _at_named(sessions) -> str:
    """Raised by the health visitor and escalated: the named doctor owns stage 2."""
    reference = raise_one(sessions, MONDAY)
    with transaction(sessions) as session:
        d.escalate(session, reference=reference, actor=RAISER, now=MONDAY, reason="No reply")
    return reference


def _proposed(sessions, reference: str) -> None:
    """The named doctor proposes a resolution with an agreed action of the designated doctor."""
    with transaction(sessions) as session:
        d.resolve(
            session,
            reference=reference,
            actor=NAMED,
            now=MONDAY,
            outcome="resolved_agreed_actions",
            summary="Health records to be shared (invented)",
            learning=LEARNING,
            actions=(
                ActionInput("Share the health records", DESIGNATED, MONDAY.date() + timedelta(2)),
            ),
        )


def _csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def _send(client, reference: str, **fields):
    page = client.get(f"/yours/{reference}")
    assert page.status_code == 200, page.text
    return client.post(f"/yours/{reference}", data={"csrf": _csrf(page.text), **fields})


def _case(sessions, reference: str) -> Disagreement:
    with transaction(sessions) as session:
        disagreement = d.get(session, reference)
        session.expunge(disagreement)
        return disagreement


def _events(sessions) -> int:
    with transaction(sessions) as session:
        return session.execute(select(func.count()).select_from(Event)).scalar_one()


def _banner(page: str) -> str:
    found = re.search(r'govuk-notification-banner__heading">\s*(.*?)\s*<', page, re.S)
    return found.group(1) if found else ""


def test_the_raiser_sees_what_they_raised_and_who_it_waits_for(client, sessions):
    reference = _at_named(sessions)
    other = raise_one(sessions, MONDAY, child_reference="TEST-CHILD-2")
    with transaction(sessions) as session:
        d.withdraw(session, reference=other, actor=RAISER, now=MONDAY, reason="Agreed after all")
    someone_elses = raise_one(
        sessions,
        MONDAY,
        raiser={
            "name": "Nathan Nurse",
            "email": NAMED_DEPUTY,
            "organisation": "Example Trust",
            "role": "Named nurse",
        },
    )
    sign_in(client, sessions, RAISER)
    page = client.get("/yours")
    assert page.status_code == 200
    assert someone_elses not in page.text
    assert client.get(f"/yours/{someone_elses}").status_code == 404
    assert reference in page.text and "You raised it" in page.text
    assert "Waiting for Nadia Named (Example Trust) to acknowledge and act, due" in page.text
    assert "2 of 5: Named professional or line manager" in page.text
    assert other in page.text and "Withdrawn on Mon 23 Nov 2026" in page.text  # closed, below


def test_the_owner_sees_what_waits_for_them_and_nobody_else_sees_it(client, sessions):
    reference = _at_named(sessions)
    sign_in(client, sessions, NAMED)
    page = client.get("/yours").text
    assert reference in page and "You own this stage" in page
    assert "Waiting for you to acknowledge and act, due" in page
    case = client.get(f"/yours/{reference}").text
    assert 'action="/l/resend"' in case and 'id="withdraw"' not in case
    client.cookies.clear()
    sign_in(client, sessions, DESIGNATED)
    assert reference not in client.get("/yours").text
    assert "You have no disagreements open" in client.get("/yours").text
    assert client.get(f"/yours/{reference}").status_code == 404


def test_those_asked_for_a_say_or_owning_an_action_see_it(client, sessions):
    reference = _at_named(sessions)
    _proposed(sessions, reference)
    sign_in(client, sessions, RAISER)
    page = client.get("/yours").text
    assert "A resolution is proposed: waiting for you to accept or contest it by" in page
    client.cookies.clear()
    sign_in(client, sessions, DESIGNATED)
    page = client.get("/yours").text
    assert reference in page and "You own an agreed action" in page
    assert "waiting for Hana Visitor to accept or contest it" in page
    case = client.get(f"/yours/{reference}").text
    assert "Share the health records" in case and 'value="accept"' not in case


def test_a_note_is_added_and_the_banner_says_who_holds_it(client, sessions):
    reference = _at_named(sessions)
    sign_in(client, sessions, RAISER)
    empty = _send(client, reference, action="add_note", note="  ")
    assert empty.status_code == 422 and "Enter your note" in empty.text
    assert "govuk-error-summary" in empty.text
    done = _send(client, reference, action="add_note", note="Spoke to the duty team (invented)")
    assert done.status_code == 200 and done.url.path == f"/yours/{reference}"
    assert "Your note is on the record. It is now with Nadia Named (Example Trust)" in done.text
    assert "govuk-notification-banner--success" in done.text
    notes = [e.note for e in _all_events(sessions) if e.kind == "add_note"]
    assert notes[-1] == "Spoke to the duty team (invented)"


def _all_events(sessions) -> list[Event]:
    with transaction(sessions) as session:
        return list(session.execute(select(Event).order_by(Event.id)).scalars())


def test_only_the_raiser_withdraws_and_says_why(client, sessions):
    reference = _at_named(sessions)
    sign_in(client, sessions, NAMED)
    assert 'id="withdraw"' not in client.get(f"/yours/{reference}").text
    refused = _send(client, reference, action="withdraw", withdraw_reason="Not mine to withdraw")
    assert refused.status_code == 409
    assert "only the practitioner who raised the disagreement can withdraw it" in refused.text
    assert _case(sessions, reference).status == "open"
    client.cookies.clear()
    sign_in(client, sessions, RAISER)
    empty = _send(client, reference, action="withdraw", withdraw_reason="")
    assert empty.status_code == 422 and "Enter why you are withdrawing it" in empty.text
    done = _send(client, reference, action="withdraw", withdraw_reason="Decision changed")
    assert done.status_code == 200 and "You have withdrawn it" in done.text
    assert _case(sessions, reference).status == "withdrawn"
    assert 'id="add-note"' not in done.text  # closed: no forms


def test_the_urgent_track_needs_the_protective_action(client, sessions):
    reference = _at_named(sessions)
    sign_in(client, sessions, RAISER)
    empty = _send(client, reference, action="make_urgent", protective_action="")
    assert empty.status_code == 422 and "Say what protective action has been taken" in empty.text
    assert not _case(sessions, reference).urgent
    done = _send(
        client, reference, action="make_urgent", protective_action="Referred to CSC (invented)"
    )
    assert done.status_code == 200 and "It is now on the urgent track" in done.text
    assert "It is now with" in done.text
    assert _case(sessions, reference).urgent
    assert 'id="make-urgent"' not in done.text  # already urgent: not offered again


def test_the_raiser_accepts_a_proposed_resolution(client, sessions):
    reference = _at_named(sessions)
    _proposed(sessions, reference)
    sign_in(client, sessions, RAISER)
    unanswered = _send(client, reference, action="say")
    assert unanswered.status_code == 422
    assert "Select whether you accept or contest the proposed resolution" in unanswered.text
    done = _send(client, reference, action="say", answer="accept")
    assert done.status_code == 200 and "You accepted the proposed resolution" in done.text
    assert "Watched: 1 agreed action open" in done.text
    assert _case(sessions, reference).resolution_state == "watched"


def test_the_raiser_contests_with_a_reason_and_it_moves_up(client, sessions):
    reference = _at_named(sessions)
    _proposed(sessions, reference)
    sign_in(client, sessions, RAISER)
    no_reason = _send(client, reference, action="say", answer="contest", reason="")
    assert no_reason.status_code == 422
    assert "Enter why you do not accept the proposed resolution" in no_reason.text
    done = _send(client, reference, action="say", answer="contest", reason="Records not enough")
    assert done.status_code == 200 and "You contested the proposed resolution" in done.text
    assert "It is now with Dev Designated (Example ICB) at stage 3 of" in done.text
    assert _case(sessions, reference).stage_index == 2


def test_a_post_without_the_session_token_changes_nothing(client, sessions):
    reference = _at_named(sessions)
    sign_in(client, sessions, RAISER)
    before = _events(sessions)
    refused = client.post(f"/yours/{reference}", data={"action": "add_note", "note": "x"})
    assert refused.status_code == 403 and "This form had expired" in refused.text
    forged = client.post(
        f"/yours/{reference}", data={"action": "add_note", "note": "x", "csrf": "forged"}
    )
    assert forged.status_code == 403
    assert _events(sessions) == before


def test_not_signed_in_is_the_sign_in_page(client, sessions):
    reference = _at_named(sessions)
    for response in (
        client.get("/yours"),
        client.get(f"/yours/{reference}"),
        client.post(f"/yours/{reference}", data={"action": "add_note", "note": "x"}),
    ):
        assert response.status_code == 401
        assert "Sign in to see your disagreements" in response.text
        assert 'action="/signin"' in response.text


def test_a_get_changes_nothing(client, sessions):
    reference = _at_named(sessions)
    _proposed(sessions, reference)
    sign_in(client, sessions, RAISER)
    before, version = _events(sessions), _case(sessions, reference).row_version
    for path in ("/yours", f"/yours/{reference}", f"/yours/{reference}?done=accepted"):
        assert client.get(path).status_code == 200
    assert _events(sessions) == before
    assert _case(sessions, reference).row_version == version


def test_the_raise_pages_link_to_your_disagreements(client, sessions):
    sign_in(client, sessions, RAISER)
    assert 'href="/yours"' in client.get("/raise").text


# --- in Chromium, at 1280 px and at 375 px ------------------------------------------------------


@needs_chromium
@pytest.mark.slow
def test_your_disagreements_in_a_browser(site, page, sessions):
    reference = _at_named(sessions)
    _proposed(sessions, reference)
    refused = []  # the strict CSP's refusals (a 401 or 422 status is logged too: not these)
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security" in message.text else None
        ),
    )
    with Server() as mail:
        page.goto(f"{site}/yours")
        assert page.inner_text("h1") == "Sign in to see your disagreements"
        page.fill("#email", RAISER)
        page.click("text=Send me a sign-in link")
        send_emails(sessions, mail)
        page.goto(link_in_latest_email(mail, RAISER, "sign-in link"))
        page.click("button:has-text('Sign in')")
    page.click("a:has-text('Your disagreements')")
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{site}/yours")
        assert "waiting for you to accept or contest it" in page.inner_text("main")
        check(page, f"yours-01-list-{width}")
        page.click(f"a:has-text('{reference}')")
        assert page.inner_text("h1") == f"Disagreement {reference}"
        check(page, f"yours-02-case-{width}")
        page.click("button:has-text('Add the note')")
        assert "Enter your note" in page.inner_text(".govuk-error-summary")
        check(page, f"yours-03-note-error-{width}")
        page.fill("#note", f"Read it on a {width} px screen (invented)")
        page.click("button:has-text('Add the note')")
        assert "Your note is on the record" in page.inner_text(".govuk-notification-banner")
        check(page, f"yours-04-note-added-{width}")
    page.check("input[name=answer][value=accept]")
    page.click("button:has-text('Send your answer')")
    assert "You accepted the proposed resolution" in page.inner_text(".govuk-notification-banner")
    check(page, "yours-05-accepted-375")
    page.click("summary:has-text('Withdraw the disagreement')")
    page.fill("#withdraw_reason", "The strategy discussion is booked (invented)")
    page.click("button:has-text('Withdraw it')")
    assert "You have withdrawn it" in page.inner_text(".govuk-notification-banner")
    check(page, "yours-06-withdrawn-375")
    assert refused == []


def test_the_list_takes_the_same_queries_for_one_disagreement_or_many(engine, directory):
    def statements(count: int) -> int:
        for _ in range(count):
            _proposed(directory, _at_named(directory))
        seen = []
        listen = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listen)
        try:
            with transaction(directory) as session:
                assert len(yours(session, RAISER, MONDAY)) >= count
        finally:
            event.remove(engine, "before_cursor_execute", listen)
        return len(seen)

    assert statements(1) == statements(4)
