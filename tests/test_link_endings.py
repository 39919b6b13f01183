"""How a disagreement ends, through the emailed links only (no account): the stage owner resolves
with agreed actions and the learning, or convenes a meeting; each action's owner confirms it done
through their action link; the raiser accepts or contests through their say link. Every form is
sent as a browser would send it: the page's own form, its defaults as shown, with what the person
types or chooses (tests/test_link_endings.py `Form`)."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

from sqlalchemy import func, select

from escalation.casework import disagreements as d
from escalation.casework.endings import all_actions, pending_says
from escalation.store.db import transaction
from escalation.store.models import Event, LinkToken, OutboxMessage
from tests.board_helpers import link_path, open_case
from tests.factories import (
    CHAIR,
    DESIGNATED,
    LEARNING,
    MANAGER,
    MONDAY,
    NAMED,
    RAISER,
    TEAM_MANAGER,
    raise_one,
    utc,
)

TUESDAY = MONDAY + timedelta(days=1)
# The resolve form's learning, as a browser sends it (a list for the checkboxes).
LEARNING_FORM = {
    "learning_themes": ["thresholds"],
    "systemic": "no",
    "lesson": "Thresholds were read differently by the two teams",
}


# --- a browser's forms --------------------------------------------------------------------------


class Form(HTMLParser):
    """One form of a page as a browser would send it untouched: each field's value as shown (a
    checked box or radio, a select's selected option, a textarea's text), and what each choice
    field offers. `filled` then sends what a person types or chooses instead."""

    def __init__(self, page: str, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside, self.found = form_id, False, False
        self.fields: list[tuple[str, str]] = []
        self.offered: dict[str, list[str]] = {}
        self.labels: dict[str, dict[str, str]] = {}  # select: option text -> value
        self._textarea = self._select = self._option = None
        self._text: list[str] = []
        self.feed(page)
        assert self.found, f"no form #{form_id} on the page"

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
            self.found |= self.inside
        elif not self.inside:
            return
        elif tag == "input" and a.get("type") in ("checkbox", "radio"):
            self.offered.setdefault(a["name"], []).append(a["value"])
            if "checked" in a:
                self.fields.append((a["name"], a["value"]))
        elif tag == "input":
            self.fields.append((a["name"], a.get("value") or ""))
        elif tag == "textarea":
            self._textarea, self._text = a["name"], []
        elif tag == "select":
            self._select, self._chosen = a["name"], None
            self.offered[a["name"]], self.labels[a["name"]] = [], {}
        elif tag == "option" and self._select:
            self._option = a.get("value", "")
            self.offered[self._select].append(self._option)
            if "selected" in a:
                self._chosen = self._option

    def handle_data(self, data):
        if self._textarea:
            self._text.append(data)
        elif self._option is not None and self._select:
            self.labels[self._select][data.strip()] = self._option

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea" and self._textarea:
            self.fields.append((self._textarea, "".join(self._text).strip("\n")))
            self._textarea = None
        elif tag == "option":
            self._option = None
        elif tag == "select" and self._select:
            chosen = self._chosen if self._chosen is not None else self.offered[self._select][0]
            self.fields.append((self._select, chosen))
            self._select = None

    def value(self, name: str) -> list[str]:
        return [value for field, value in self.fields if field == name]

    def option(self, name: str, text: str) -> str:
        """The value of the select's option shown as `text` (a person chooses by what they see)."""
        return self.labels[name][text]

    def filled(self, typed: dict) -> dict[str, list[str]]:
        """The form's fields with `typed` in place of what was shown: a str for a text field, a
        radio or a select (which must be one it offers), a list for checkboxes."""
        sent: dict[str, list[str]] = {}
        for name, value in self.fields:
            sent.setdefault(name, []).append(value)
        for name, value in typed.items():
            values = value if isinstance(value, list) else [value]
            if name in self.offered:
                assert set(values) <= set(self.offered[name]) | {""}, (name, values)
            else:
                assert name in sent, f"the form has no field {name}"
            sent[name] = values
        return sent


def send(client, path: str, page: str, form_id: str, typed: dict):
    """Fill in the page's form `form_id` and send it."""
    return client.post(path, data=Form(page, form_id).filled(typed))


def open_step(client, path: str, action: str) -> str:
    """Continue on the link, then open one action's page (what choosing it on the case page
    leads to): its HTML."""
    assert open_case(client, path).status_code == 200
    page = client.get(f"{path}/do/{action}")
    assert page.status_code == 200, page.text
    return page.text


def buttons(page: str) -> list[str]:
    return [b.strip() for b in re.findall(r"<button[^>]*>(.*?)</button>", page, re.S)]


def error_links(page: str) -> list[str]:
    summary = page.split('class="govuk-error-summary', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'href="#([^"]+)"', summary)


# --- the case -----------------------------------------------------------------------------------


def _at_named(sessions) -> str:
    """Raised on Monday and escalated at once by the raiser: the named doctor owns stage 2."""
    reference = raise_one(sessions, MONDAY)
    with transaction(sessions) as session:
        d.escalate(session, reference=reference, actor=RAISER, now=MONDAY, reason="No reply")
    return reference


def _snapshot(sessions, reference: str) -> tuple:
    with transaction(sessions) as session:
        row = d.get(session, reference)
        changes = session.execute(
            select(func.count()).select_from(Event).where(Event.kind != "view")
        ).scalar_one()
        sent = session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()
        return (row.status, row.stage_key, row.resolution_state, row.row_version, changes, sent)


def _case(sessions, reference: str):
    with transaction(sessions) as session:
        disagreement = d.get(session, reference)
        items = [
            (i.kind, i.owner.email, i.due_on, i.meeting_at, i.place, i.ended)
            for i in all_actions(session, disagreement)
        ]
        says = [(s.email, s.answer) for s in pending_says(session, disagreement)]
        session.expunge(disagreement)
        return disagreement, items, says


def _link(sessions, recipient: str, kind: str, now) -> str:
    return link_path(sessions, recipient, kind, now)


TWO_ACTIONS = {
    "outcome": "resolved_agreed_actions",
    "summary": "Agreed at the professionals' meeting (invented)",
    "actions[1].what": "Send the health chronology to the duty team",
    "actions[1].due_on-day": "27",
    "actions[1].due_on-month": "11",
    "actions[1].due_on-year": "2026",
    "actions[2].what": "Resolution meeting",
    "actions[2].due_on-day": "24",
    "actions[2].due_on-month": "11",
    "actions[2].due_on-year": "2026",
    "actions[2].meeting_at": "9:30",
    "actions[2].place": "ICB offices, room 2",
    "learning_themes": ["thresholds", "information_sharing"],
    "systemic": "yes",
    "lesson": "Health and social care read the threshold differently",
}


def _resolve_with_two_actions(client, sessions, reference: str):
    """The named doctor resolves through their link: an action for the team manager and a
    meeting for the designated doctor on Tuesday at 09:30."""
    path = _link(sessions, NAMED, "stage_assigned", MONDAY)
    page = open_step(client, path, "resolve")
    form = Form(page, "resolve")
    typed = {
        **TWO_ACTIONS,
        "actions[1].owner": form.option("actions[1].owner", "Tia Team, Team manager"),
        "actions[2].owner": form.option("actions[2].owner", "Dev Designated, Designated doctor"),
    }
    return path, client.post(path, data=form.filled(typed))


def test_resolved_by_link_with_actions_confirmed_and_accepted_it_closes(client, sessions, clock):
    reference = _at_named(sessions)
    owner_link, done = _resolve_with_two_actions(client, sessions, reference)
    assert done.status_code == 200, done.text
    assert "You have proposed a resolution" in done.text
    assert "Waiting for the professional who raised it" in done.text
    case, items, says = _case(sessions, reference)
    assert case.resolution_state == "resolution_proposed"
    assert items == [
        ("action", TEAM_MANAGER, utc(2026, 11, 27).date(), None, "", None),
        (
            "meeting",
            DESIGNATED,
            TUESDAY.date(),
            utc(2026, 11, 24, 9, 30),
            "ICB offices, room 2",
            None,
        ),
    ]
    assert says == [(RAISER, None)]
    assert case.learning_themes == ["information_sharing", "thresholds"]
    assert (case.learning_systemic, case.learning_recorded_by) == (True, NAMED)

    # The owner's page now shows what is awaited, and offers nothing the case cannot do now.
    owner_page = client.get(owner_link).text
    assert "How it is ending" in owner_page and "Waiting for the professional" in owner_page
    assert buttons(owner_page) == []
    assert "Send the health chronology to the duty team" in owner_page

    # The meeting's owner is offered nothing to confirm before the meeting is held.
    meeting_link = _link(sessions, DESIGNATED, "action_agreed", MONDAY)
    early = open_case(client, meeting_link).text
    assert "once it has been held" in early and buttons(early) == []

    # Tuesday: the team manager confirms their action; the meeting is held and recorded.
    clock["now"] = TUESDAY + timedelta(hours=1)
    action_link = _link(sessions, TEAM_MANAGER, "action_agreed", clock["now"])
    assert 'value="confirm_action"' in open_case(client, action_link).text  # now offered
    page = open_step(client, action_link, "confirm_action")
    assert buttons(page) == ["Confirm it is done"]
    form_id = re.search(r'<form[^>]*id="(action-\d+)"', page).group(1)
    confirmed = send(
        client, action_link, page, form_id, {"note": "Chronology sent to the duty team"}
    )
    assert (
        confirmed.status_code == 200 and "You have confirmed the action is done" in confirmed.text
    )
    assert client.get(action_link).status_code == 404  # nothing more is awaited from them
    page = open_step(client, meeting_link, "confirm_action")
    form_id = re.search(r'<form[^>]*id="(action-\d+)"', page).group(1)
    held = send(
        client,
        meeting_link,
        page,
        form_id,
        {"note": "Assessment to open", "attendees": "Dev Designated, Tia Team, Hana Visitor"},
    )
    assert held.status_code == 200 and "Waiting for the professional" in held.text
    assert _case(sessions, reference)[0].status == "open"  # the raiser has not had their say

    # The raiser accepts through their say link: nothing is left open, so it closes.
    say_link = _link(sessions, RAISER, "say_asked", clock["now"])
    page = open_step(client, say_link, "say")
    assert "Do you accept this resolution?" in page and "Resolved with agreed actions" in page
    assert "Agreed at the professionals&#39; meeting (invented)" in page
    assert "Send the health chronology to the duty team" in page
    accepted = send(client, say_link, page, "say", {"answer": "accept"})
    assert accepted.status_code == 200
    assert "You have accepted the proposed resolution" in accepted.text
    assert "resolved and closed" in accepted.text
    case, items, says = _case(sessions, reference)
    assert (case.status, says) == ("resolved", [])
    assert [item[-1] for item in items] == ["done", "done"]
    for ended in (say_link, meeting_link, action_link, owner_link):
        assert client.get(ended).status_code == 404
        assert client.post(ended, data={"action": "say", "answer": "accept"}).status_code == 404


def test_resolve_errors_name_every_field_and_keep_what_was_typed(client, sessions):
    reference = _at_named(sessions)
    path = _link(sessions, NAMED, "stage_assigned", MONDAY)
    page = open_step(client, path, "resolve")
    form = Form(page, "resolve")
    tia = form.option("actions[3].owner", "Tia Team, Team manager")
    typed = {
        "summary": "Kept summary (typed)",
        "actions[1].what": "Kept action (typed)",
        "actions[1].due_on-day": "31",
        "actions[1].due_on-month": "2",
        "actions[1].due_on-year": "2026",
        "actions[1].meeting_at": "25:00",
        "actions[3].owner": tia,
        "actions[3].due_on-day": "1",
        "actions[3].due_on-month": "12",
        "actions[3].due_on-year": "2026",
        "actions[3].place": "Room 4",
    }
    before = _snapshot(sessions, reference)
    refused = client.post(path, data=form.filled(typed))
    assert refused.status_code == 422 and "There is a problem" in refused.text
    assert error_links(refused.text) == [
        "outcome",
        "actions[1].owner",
        "actions[1].due_on-day",
        "actions[1].meeting_at",
        "actions[3].what",
        "actions[3].meeting_at",
        "learning_themes",
        "systemic",
        "lesson",
    ]
    assert "The date must be a real date" in refused.text
    assert "The meeting time must be a real time" in refused.text
    assert _snapshot(sessions, reference) == before  # nothing changed, nothing was emailed
    # What was typed is on the page again, in the form that is sent next.
    again = Form(refused.text, "resolve")
    for name, value in typed.items():
        assert again.value(name) == [value], name
    fixed = {
        "outcome": "resolved_agreed_actions",
        "actions[1].owner": tia,
        "actions[1].due_on-day": "27",
        "actions[1].due_on-month": "11",
        "actions[1].meeting_at": "",
        "actions[3].what": "Strategy discussion",
        "actions[3].meeting_at": "11:00",
        "learning_themes": ["thresholds"],
        "systemic": "no",
        "lesson": "The threshold document was read two ways",
    }
    done = client.post(path, data=again.filled(fixed))
    assert done.status_code == 200, done.text
    case, items, _ = _case(sessions, reference)
    assert case.outcome_summary == "Kept summary (typed)"
    assert [(kind, owner, place) for kind, owner, _, _, place, _ in items] == [
        ("action", TEAM_MANAGER, ""),
        ("meeting", TEAM_MANAGER, "Room 4"),
    ]


def test_contesting_by_the_say_link_moves_it_up_at_once(client, sessions, clock):
    reference = _at_named(sessions)
    path = _link(sessions, NAMED, "stage_assigned", MONDAY)
    page = open_step(client, path, "resolve")
    upheld = {
        "outcome": "decision_upheld",
        "summary": "The threshold was not met (invented)",
        **LEARNING_FORM,
    }
    assert send(client, path, page, "resolve", upheld).status_code == 200
    with transaction(sessions) as session:
        asked = {s.email for s in pending_says(session, d.get(session, reference))}
        counterpart = d.get(session, reference).stages[-1].counterpart.email
    assert asked == {RAISER, counterpart}  # the decision stands: its side is asked too
    clock["now"] = TUESDAY
    say_link = _link(sessions, RAISER, "say_asked", clock["now"])
    other_say = _link(sessions, counterpart, "say_asked", clock["now"])
    page = open_step(client, say_link, "say")
    assert "moves the disagreement to the next stage at once" in page
    no_reason = send(client, say_link, page, "say", {"answer": "contest"})
    assert no_reason.status_code == 422 and error_links(no_reason.text) == ["reason"]
    assert Form(no_reason.text, "say").value("answer") == ["contest"]
    contested = send(
        client, say_link, no_reason.text, "say", {"reason": "The weight loss was not weighed"}
    )
    assert contested.status_code == 200
    assert "You have contested the proposed resolution" in contested.text
    assert "Dev Designated" in contested.text
    case, _, says = _case(sessions, reference)
    assert (case.status, case.stage_key, case.resolution_state) == (
        "open",
        "designated_professional",
        None,
    )
    assert case.owner.email == DESIGNATED and says == []
    for ended in (say_link, other_say, path):  # the say has lapsed; the stage has moved on
        assert client.get(ended).status_code == 404
    assert (
        client.get(_link(sessions, DESIGNATED, "stage_assigned", clock["now"])).status_code == 200
    )


def test_a_say_link_acts_only_for_its_own_holder(client, sessions):
    reference = _at_named(sessions)
    path = _link(sessions, NAMED, "stage_assigned", MONDAY)
    page = open_step(client, path, "resolve")
    upheld = {"outcome": "decision_upheld", "summary": "Threshold not met", **LEARNING_FORM}
    assert send(client, path, page, "resolve", upheld).status_code == 200
    with transaction(sessions) as session:
        counterpart = d.get(session, reference).stages[-1].counterpart.email
    say_link = _link(sessions, RAISER, "say_asked", MONDAY)
    other_say = _link(sessions, counterpart, "say_asked", MONDAY)
    # A session started from the counterpart's say link does not act on the raiser's.
    other_page = open_step(client, other_say, "say")
    form = Form(other_page, "say").filled({"answer": "accept"})
    refused = client.post(say_link, data=form)
    assert refused.status_code == 403 and "Nothing was changed" in refused.text
    # The owner's link, or the raiser's status link, cannot give anyone's say.
    for link in (path, _status_link(sessions)):
        answered = client.post(link, data={**form, "action": "say"})
        assert answered.status_code == 404
    case, _, says = _case(sessions, reference)
    assert case.resolution_state == "resolution_proposed"
    assert says == [(RAISER, None), (counterpart, None)]
    # Once the counterpart has answered, their link is done; the raiser's still works.
    answered = send(
        client, other_say, open_step(client, other_say, "say"), "say", {"answer": "accept"}
    )
    assert answered.status_code == 200
    assert "Waiting for the professional who raised it" in answered.text
    assert client.get(other_say).status_code == 404
    assert "Do you accept this resolution?" in open_step(client, say_link, "say")


def test_gets_of_say_and_action_links_change_nothing(client, sessions):
    reference = _at_named(sessions)
    _resolve_with_two_actions(client, sessions, reference)
    before = _snapshot(sessions, reference)
    for recipient, kind in ((RAISER, "say_asked"), (TEAM_MANAGER, "action_agreed")):
        path = _link(sessions, recipient, kind, MONDAY)
        for _ in range(2):
            page = client.get(path)
            assert page.status_code == 200 and buttons(page.text) == ["Continue"]
            assert "TEST-CHILD-1" not in page.text and "health chronology" not in page.text
        assert client.head(path).status_code == 200
    assert _snapshot(sessions, reference) == before
    with transaction(sessions) as session:
        views = session.execute(select(func.count()).select_from(Event).where(Event.kind == "view"))
        assert views.scalar_one() == 1  # the named doctor's own Continue, before resolving
        used = select(func.count()).select_from(LinkToken).where(LinkToken.used_at.is_not(None))
        assert session.execute(used).scalar_one() == 0


def test_an_action_link_ends_when_the_case_closes(client, sessions, clock):
    reference = _at_named(sessions)
    _resolve_with_two_actions(client, sessions, reference)
    action_link = _link(sessions, TEAM_MANAGER, "action_agreed", MONDAY)
    assert client.get(action_link).status_code == 200
    with transaction(sessions) as session:
        d.withdraw(
            session,
            reference=reference,
            actor=RAISER,
            now=MONDAY + timedelta(hours=1),
            reason="Resolved between the teams",
            learning=LEARNING,
        )
    for attempt in (client.get(action_link), client.post(f"{action_link}/continue")):
        assert attempt.status_code == 404 and reference not in attempt.text


def test_the_owner_convenes_a_meeting_through_their_link(client, sessions):
    reference = _at_named(sessions)
    path = _link(sessions, NAMED, "stage_assigned", MONDAY)
    page = open_step(client, path, "convene_meeting")
    form = Form(page, "convene")
    people = [
        form_value
        for text, form_value in _checkbox_labels(page, "invitees").items()
        if text.startswith(("Tia Team", "Hana Visitor"))
    ]
    typed = {
        "meeting_at-day": "26",
        "meeting_at-month": "11",
        "meeting_at-year": "2026",
        "meeting_time": "2pm",
        "place": "Partnership office, room 1",
        "invitees": people,
    }
    refused = client.post(path, data=form.filled(typed))
    assert refused.status_code == 422 and error_links(refused.text) == ["meeting_time"]
    again = Form(refused.text, "convene")
    assert again.value("invitees") == people and again.value("meeting_at-day") == ["26"]
    done = client.post(path, data=again.filled({"meeting_time": "14:00"}))
    assert done.status_code == 200 and "You have convened a meeting" in done.text
    _, items, _ = _case(sessions, reference)
    assert items == [
        (
            "meeting",
            NAMED,
            utc(2026, 11, 26).date(),
            utc(2026, 11, 26, 14),
            "Partnership office, room 1",
            None,
        )
    ]
    with transaction(sessions) as session:
        invited = session.execute(
            select(OutboxMessage.recipient_email).where(OutboxMessage.kind == "meeting_invitation")
        ).scalars()
        assert set(invited) == {NAMED, TEAM_MANAGER, RAISER}


def _checkbox_labels(page: str, name: str) -> dict[str, str]:
    """The checkboxes called `name` on the page: label text -> value."""
    boxes = re.findall(
        rf'<input class="govuk-checkboxes__input" id="([^"]+)" name="{re.escape(name)}" '
        r'type="checkbox" value="([^"]+)"',
        page,
    )
    found = {}
    for box_id, value in boxes:
        label = re.search(
            rf'<label[^>]*for="{re.escape(box_id)}"[^>]*>\s*(.*?)\s*</label>', page, re.S
        )
        found[label.group(1).strip()] = value
    return found


def _status_link(sessions) -> str:
    """The raiser's link to follow the case (their latest email that carries one)."""
    with transaction(sessions) as session:
        kind = (
            session.execute(
                select(OutboxMessage.kind)
                .where(
                    OutboxMessage.recipient_email == RAISER,
                    OutboxMessage.link_purpose == "status",
                )
                .order_by(OutboxMessage.id.desc())
            )
            .scalars()
            .first()
        )
    return _link(sessions, RAISER, kind, MONDAY)


def test_the_raisers_status_page_says_what_they_are_asked(client, sessions):
    reference = _at_named(sessions)
    status_link = _status_link(sessions)
    _resolve_with_two_actions(client, sessions, reference)
    page = open_case(client, status_link).text
    assert "A resolution has been proposed: you have until 17:00 Wed 25 Nov 2026 GMT" in page
    assert "We have emailed you a separate link" in page
    assert buttons(page) == []  # the raiser's say is given through its own link


def test_at_the_final_stage_the_determination_is_accepted_or_noted(client, sessions):
    reference = raise_one(sessions, MONDAY)
    with transaction(sessions) as session:
        for actor in (RAISER, NAMED, DESIGNATED, MANAGER):
            d.escalate(session, reference=reference, actor=actor, now=MONDAY, reason="Not agreed")
        assert d.get(session, reference).owner.email == CHAIR
        d.resolve(
            session,
            reference=reference,
            actor=CHAIR,
            now=MONDAY,
            outcome="dissent_recorded_no_change",
            summary="The chair's determination (invented)",
            learning=LEARNING,
        )
    say_link = _link(sessions, RAISER, "say_asked", MONDAY)
    page = open_step(client, say_link, "say")
    assert "cannot be contested here" in page
    assert buttons(page) == ["Accept the determination", "Add a note"]
    noted = send(client, say_link, page, "add-note", {"note": "I still disagree (invented)"})
    assert noted.status_code == 200 and "Your note has been added" in noted.text
    page = open_step(client, say_link, "say")
    contest = Form(page, "say").filled({})
    contest.update({"answer": ["contest"], "reason": ["No"]})
    refused = client.post(say_link, data=contest)
    assert refused.status_code == 409 and "final" in refused.text
    assert _case(sessions, reference)[0].resolution_state == "resolution_proposed"
