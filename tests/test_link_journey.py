"""Acting on an emailed link as a person on a phone would (issue 14, point 4): Continue shows the
case and asks "What do you want to do?", each choice opens one short page (a GET that changes
nothing), and sending it shows who holds the case now and by when."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from escalation.casework import disagreements as d
from escalation.store.db import transaction
from escalation.store.models import Event, LinkToken
from tests.board_helpers import csrf_of, link_path
from tests.browser_helpers import NOW, check, link_in_latest_email, needs_chromium, send_emails
from tests.factories import MONDAY, NAMED, RAISER, raise_one
from tests.smtp_server import Server

LEARNING = {
    "learning_themes": ["thresholds"],
    "systemic": "no",
    "lesson": "Thresholds were read differently by the two teams",
}


class Walk:
    """A person's walk through the pages from the email. A page load is one thing they do that
    shows them a new page: opening the emailed link, pressing a button (a redirect the browser
    follows is part of the same load). `loads` counts those after opening the email."""

    def __init__(self, client, path: str):
        self.client, self.path, self.loads = client, path, 0
        self.page = client.get(path)
        assert self.page.status_code == 200 and "Continue" in self.page.text

    def press(self, url: str, data: dict | None = None):
        self.loads += 1
        self.page = self.client.post(url, data={"csrf": self._csrf(), **(data or {})})
        return self.page

    def _csrf(self) -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', self.page.text)
        return found.group(1) if found else ""

    def open(self):
        return self.press(f"{self.path}/continue")

    def choose(self, action: str):
        return self.press(f"{self.path}/choose", {"choice": action})


def _snapshot(sessions, reference: str) -> tuple:
    with transaction(sessions) as session:
        row = d.get(session, reference)
        changes = session.execute(
            select(func.count()).select_from(Event).where(Event.kind != "view")
        ).scalar_one()
        spent = select(func.count()).select_from(LinkToken).where(LinkToken.used_at.is_not(None))
        return (
            row.status,
            row.stage_key,
            row.owner_id,
            row.stage_acknowledged_at,
            row.due_at,
            row.row_version,
            changes,
            session.execute(spent).scalar_one(),
        )


def _choices(page: str) -> list[str]:
    return re.findall(r'name="choice"[^>]*value="([^"]+)"', page)


def _at_named(sessions) -> str:
    """Raised on Monday and escalated at once: the named doctor (deputy Nathan Nurse) owns it."""
    reference = raise_one(sessions, MONDAY)
    with transaction(sessions) as session:
        d.escalate(session, reference=reference, actor=RAISER, now=MONDAY, reason="No reply")
    return reference


def test_an_owner_resolves_in_three_page_loads_from_opening_the_email(client, sessions):
    """Opening the emailed link is the start (its page only says whom it is for). Then: Continue
    (the case and "What do you want to do?"), choosing Resolve (its page), sending it (the
    confirmation): 3 page loads."""
    reference = raise_one(sessions, MONDAY)
    walk = Walk(client, link_path(sessions, RAISER, "stage_assigned", MONDAY))
    case = walk.open()
    assert "What do you want to do?" in case.text and "resolve" in _choices(case.text)
    form = walk.choose("resolve")
    assert form.url.path.endswith("/do/resolve") and 'id="resolve"' in form.text
    fields = {"action": "resolve", "outcome": "decision_changed", "summary": "Agreed", **LEARNING}
    done = walk.press(form.url.path, fields)
    assert done.status_code == 200 and "You have resolved" in done.text
    assert walk.loads == 3
    with transaction(sessions) as session:
        assert d.get(session, reference).status == "resolved"


def test_the_case_summary_has_the_decisions_date_the_risk_and_the_chronology_folds_views(
    client, sessions
):
    reference = raise_one(
        sessions, MONDAY, immediate_risk=True, protective_action="Police called (invented)"
    )
    with transaction(sessions) as session:
        owner = d.get(session, reference).owner.email  # the urgent track's first owner
    path = link_path(sessions, owner, "stage_assigned", MONDAY)
    for _ in range(3):
        page = Walk(client, path).open().text
    assert "Decision made" in page and "Immediate risk of significant harm" in page
    assert "Police called (invented)" in page
    chronology = page[page.index('id="chronology"') :]
    assert "<table" not in chronology and "govuk-summary-list" in chronology
    assert chronology.count("viewed it") == 1 and "viewed it 3 times, last 10:00" in chronology


def test_choosing_nothing_says_so_and_every_get_changes_nothing(client, sessions):
    reference = raise_one(sessions, MONDAY)
    path = link_path(sessions, RAISER, "stage_assigned", MONDAY)
    walk = Walk(client, path)
    case = walk.open()
    before = _snapshot(sessions, reference)
    nothing = walk.press(f"{path}/choose")
    assert nothing.status_code == 422 and 'href="#choice"' in nothing.text
    assert "Select what you want to do" in nothing.text
    for action in _choices(case.text):
        for _ in range(2):
            assert client.get(f"{path}/do/{action}").status_code == 200
    assert client.head(path).status_code == 200
    assert client.get(f"{path}/do/respond").status_code == 404  # not the owner's to do
    assert _snapshot(sessions, reference) == before
    stranger = client.__class__(client.app)
    assert "TEST-CHILD-1" not in stranger.get(f"{path}/do/resolve").text  # no session there


def test_the_owner_acknowledges_then_resolves_later_from_the_same_link(client, sessions, clock):
    reference = raise_one(sessions, MONDAY)
    path = link_path(sessions, RAISER, "stage_assigned", MONDAY)
    walk = Walk(client, path)
    walk.open()
    page = walk.choose("acknowledge")
    assert "Acknowledge this stage" in page.text
    back = walk.press(path, {"action": "acknowledge"})
    assert back.url.path == path and "You have acknowledged this stage" in back.text
    assert "acknowledge" not in _choices(back.text) and "resolve" in _choices(back.text)
    clock["now"] = MONDAY + timedelta(days=1)  # the session has ended; the link has not
    walk = Walk(client, path)
    walk.open()
    walk.choose("resolve")
    done = walk.press(
        walk.page.url.path,
        {"action": "resolve", "outcome": "decision_changed", "summary": "Agreed", **LEARNING},
    )
    assert "You have resolved" in done.text
    with transaction(sessions) as session:
        assert d.get(session, reference).stage_acknowledged_at == MONDAY


def test_handing_to_the_deputy_names_them_and_keeps_the_deadline(client, sessions):
    reference = _at_named(sessions)
    before = _snapshot(sessions, reference)
    path = link_path(sessions, NAMED, "stage_assigned", MONDAY)
    walk = Walk(client, path)
    walk.open()
    ask = walk.choose("hand_to_deputy").text
    due = re.search(r"The deadline stays ([^.]+)\.", ask).group(1)
    assert "Hand this stage to <strong>Nathan Nurse (Example Trust)</strong>?" in ask
    assert "Yes, hand it to Nathan Nurse" in ask
    assert _snapshot(sessions, reference) == before  # asking changed nothing
    done = walk.press(walk.page.url.path, {"action": "hand_to_deputy"})
    assert done.status_code == 200 and "You have handed this stage to your deputy" in done.text
    assert f"Now with Nathan Nurse (Example Trust), due {due}; we have emailed them." in done.text
    assert "Back to the case" not in done.text  # the owner's link has ended with the handover
    after = _snapshot(sessions, reference)
    assert after[4] == before[4] and after[2] != before[2]  # same deadline, new owner


def test_an_error_comes_back_on_the_actions_page_with_what_was_typed(client, sessions):
    reference = raise_one(sessions, MONDAY)
    path = link_path(sessions, RAISER, "stage_assigned", MONDAY)
    walk = Walk(client, path)
    walk.open()
    walk.choose("resolve")
    refused = walk.press(walk.page.url.path, {"action": "resolve", "summary": "Kept (typed)"})
    assert refused.status_code == 422 and 'href="#outcome"' in refused.text
    assert "Kept (typed)" in refused.text and 'id="resolve"' in refused.text
    assert "What do you want to do?" not in refused.text  # only this action's page
    with transaction(sessions) as session:
        assert d.get(session, reference).status == "open"


def _proposed(client, sessions, **fields) -> str:
    """The named doctor proposes a resolution through their link's resolve page."""
    reference = _at_named(sessions)
    path = link_path(sessions, NAMED, "stage_assigned", MONDAY)
    walk = Walk(client, path)
    walk.open()
    form = walk.choose("resolve").text
    for name, person in list(fields.items()):
        if name.endswith(".owner"):
            found = re.search(rf'<option value="(\d+)">{person}', form)
            fields[name] = found.group(1)
    done = walk.press(walk.page.url.path, {"action": "resolve", **LEARNING, **fields})
    assert done.status_code == 200 and "You have proposed a resolution" in done.text, done.text
    return reference


def test_the_raiser_contests_then_another_accepts_through_their_say_links(client, sessions):
    reference = _proposed(client, sessions, outcome="decision_upheld", summary="Not met")
    say = link_path(sessions, RAISER, "say_asked", MONDAY)
    walk = Walk(client, say)
    case = walk.open().text
    assert "The proposed resolution" in case and 'value="say"' in case
    page = walk.choose("say").text
    assert "Do you accept this resolution?" in page
    refused = walk.press(walk.page.url.path, {"action": "say", "answer": "contest"})
    assert refused.status_code == 422 and 'href="#reason"' in refused.text
    assert 'value="contest" checked' in refused.text
    contested = walk.press(
        walk.page.url.path, {"action": "say", "answer": "contest", "reason": "Not weighed"}
    )
    assert "You have contested the proposed resolution" in contested.text
    assert "Now with Dev Designated" in contested.text
    with transaction(sessions) as session:
        assert d.get(session, reference).stage_key == "designated_professional"


def test_the_raiser_accepts_and_the_actions_owner_confirms_it_done(client, sessions):
    _proposed(
        client,
        sessions,
        outcome="resolved_agreed_actions",
        summary="Agreed",
        **{
            "actions[1].what": "Send the chronology",
            "actions[1].owner": "Tia Team",
            "actions[1].due_on-day": "27",
            "actions[1].due_on-month": "11",
            "actions[1].due_on-year": "2026",
        },
    )
    walk = Walk(client, link_path(sessions, RAISER, "say_asked", MONDAY))
    walk.open()
    walk.choose("say")
    accepted = walk.press(walk.page.url.path, {"action": "say", "answer": "accept"})
    assert "You have accepted the proposed resolution" in accepted.text
    walk = Walk(client, link_path(sessions, "tia.team@council.example", "action_agreed", MONDAY))
    walk.open()
    page = walk.choose("confirm_action").text
    action_id = re.search(r'name="action_id" value="(\d+)"', page).group(1)
    empty = walk.press(walk.page.url.path, {"action": "confirm_action", "action_id": action_id})
    assert empty.status_code == 422 and f'href="#note-{action_id}"' in empty.text
    done = walk.press(
        walk.page.url.path,
        {"action": "confirm_action", "action_id": action_id, "note": "Sent (invented)"},
    )
    assert "You have confirmed the action is done" in done.text
    assert csrf_of(page)  # each page carries the session's form token


# --- in Chromium, at 1280 and 375 px -------------------------------------------------------------


@needs_chromium
@pytest.mark.slow
@pytest.mark.parametrize("width", [1280, 375])
def test_in_chromium_the_owner_acknowledges_then_resolves_and_a_doctor_hands_on(
    site, page, sessions, width
):
    """Every page axe-checked and screenshotted ("link-NN-what-WIDTH")."""
    page.set_viewport_size({"width": width, "height": 900})
    shot = iter(range(1, 100))

    def looked(name: str) -> None:
        check(page, f"link-{next(shot):02d}-{name}-{width}")

    practitioner = raise_one(sessions, NOW)
    named = _at_named(sessions)
    with Server() as mail:
        send_emails(sessions, mail)
        link = link_in_latest_email(mail, RAISER, practitioner)
        page.goto(link)
        looked("continue")
        page.click("button:has-text('Continue')")
        assert "What do you want to do?" in page.inner_text("main")
        assert page.evaluate("() => document.documentElement.scrollWidth <= innerWidth")
        looked("case")
        page.click("button:has-text('Continue')")  # nothing chosen
        assert "Select what you want to do" in page.inner_text(".govuk-error-summary")
        looked("choose-error")
        page.check("input[name=choice][value=acknowledge]")
        page.click("button:has-text('Continue')")
        looked("acknowledge")
        page.click("button:has-text('Acknowledge')")
        assert "You have acknowledged" in page.inner_text(".govuk-notification-banner")
        looked("acknowledged")
        page.goto(link)  # later, from the same email
        page.check("input[name=choice][value=resolve]")
        page.click("button:has-text('Continue')")
        page.click("button:has-text('Resolve')")  # nothing filled in
        assert "There is a problem" in page.inner_text(".govuk-error-summary")
        looked("resolve-errors")
        page.check("input[name=outcome][value=decision_changed]")
        page.fill("#summary", "Strategy discussion agreed (invented)")
        page.check("input[name=learning_themes] >> nth=0")
        page.check("input[name=systemic][value=no]")
        page.fill("#lesson", "Thresholds read differently (invented)")
        page.click("button:has-text('Resolve')")
        assert page.inner_text("h1") == "You have resolved this disagreement"
        looked("resolved")

        page.goto(link_in_latest_email(mail, NAMED, named))
        page.click("button:has-text('Continue')")
        chronology = page.inner_text("#chronology + p + dl")
        assert "viewed it" not in chronology or chronology.count("viewed it") == 1
        page.check("input[name=choice][value=hand_to_deputy]")
        page.click("button:has-text('Continue')")
        assert "Hand this stage to Nathan Nurse (Example Trust)?" in page.inner_text("main")
        looked("hand-to-deputy")
        page.click("button:has-text('Yes, hand it to Nathan Nurse')")
        assert "Now with Nathan Nurse (Example Trust)" in page.inner_text("main")
        looked("handed")
