"""Every email the service sends, rendered and delivered for a disagreement full of distinctive
strings: none of them may appear anywhere in any message (headers or bodies)."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from pathlib import Path

import jinja2
import pytest

from escalation.access import signin
from escalation.casework import disagreements as d
from escalation.casework import health
from escalation.casework.actions import action_times, open_actions
from escalation.casework.endings import ActionInput, Learning
from escalation.casework.sweep import SWEEP, run_sweep
from escalation.outbox import notifications
from escalation.outbox.delivery import deliver
from escalation.outbox.digest import queue_digests
from escalation.store.db import transaction
from escalation.store.models import OutboxMessage
from tests.factories import (
    CHAIR,
    COUNCIL_LEAD,
    DEFAULT,
    DESIGNATED,
    LEARNING,
    MANAGER,
    MONDAY,
    NAMED,
    RAISER,
    TEAM_MANAGER,
    accept_all,
    due_at,
    load_directory,
    raise_one,
)
from tests.outbox_helpers import delivery
from tests.smtp_server import Server

SECRETS = {
    "child_reference": "ZQXCHILD4471",
    "decision_disputed": "Vorpalnine decision text",
    "reason": "Qwyjibo family circumstances",
    "outcome_sought": "Xylophonic outcome",
    "protective_action": "Jabberwock protective step",
}
COUNTERPART_NAME = "Vexillo Counterpartson"
# How the second disagreement ends: every free text its people write is a sentinel.
ENDING_SECRETS = {
    "child_reference": "ZQXCHILD4472",
    "what": "Zarquon agreed action what",
    "summary": "Zarquon summary of the proposal",
    "lesson": "Zarquon lesson learned",
    "contest": "Zarquon reason for contesting",
}
PLACE = "ICB offices, room 2; dial-in 0300 000 0000"
KINDS = sorted(p.name.split(".")[0] for p in Path("templates/email").glob("*.subject.txt"))


def _every_kind_of_email(sessions) -> str:
    counterpart = {
        "name": COUNTERPART_NAME,
        "email": "vex@council.example",
        "organisation": "Example Council",
        "role": "Duty social worker",
    }
    reference = raise_one(sessions, MONDAY, counterpart=counterpart, **SECRETS)
    with transaction(sessions) as session:
        d.record_response(
            session,
            reference=reference,
            actor="vex@council.example",
            now=MONDAY,
            position="decision_stands",
            text="Yzzyx rationale text",
        )
    run_sweep(sessions, now=due_at(sessions, reference) - timedelta(hours=1))  # reminder
    for _ in range(4):
        run_sweep(sessions, now=due_at(sessions, reference))  # up to the chair
    final_due = due_at(sessions, reference)
    run_sweep(sessions, now=final_due)  # overdue at the final stage
    with transaction(sessions) as session:
        d.offer_to_deputy(
            session, reference=reference, undeliverable_email=CHAIR, now=final_due, error="550 test"
        )
        health.check_sweep(session, SWEEP, final_due + timedelta(hours=1), 60)  # stalled
        queue_digests(session, final_due)
        signin.request_link(
            session, "hana.visitor@trust.example", allowed_domains=[], now=final_due
        )
        notifications.fresh_links(session, COUNCIL_LEAD, final_due)  # the chair stage's counterpart
        d.resolve(  # at the final stage: a determination, to the last step
            session,
            reference=reference,
            actor=CHAIR,
            now=final_due,
            outcome="decision_changed",
            summary="Zarquon summary of the resolution",
            learning=LEARNING,
        )
    accept_all(sessions, reference, final_due)  # closed
    _every_ending_email(sessions, final_due + timedelta(hours=1))
    return reference


def _every_ending_email(sessions, start) -> None:
    """A second disagreement, raised at `start`: a proposal (say, action, board notice) that is
    contested; another whose action is reminded, chased and missed, so it reopens; then a
    meeting convened with a calendar entry."""
    secrets = {**SECRETS, "child_reference": ENDING_SECRETS["child_reference"]}
    reference = raise_one(sessions, start, **secrets)
    with transaction(sessions) as session:
        d.escalate(session, reference=reference, actor=RAISER, now=start, reason="No reply")
        _propose(session, reference, NAMED, start)
    with transaction(sessions) as session:
        d.contest(
            session, reference=reference, actor=RAISER, now=start, reason=ENDING_SECRETS["contest"]
        )
    with transaction(sessions) as session:
        _propose(session, reference, DESIGNATED, start)
    accept_all(sessions, reference, start)
    with transaction(sessions) as session:
        [item] = open_actions(session, d.get(session, reference))
        times = action_times(DEFAULT, item)
    assert run_sweep(sessions, now=times.remind_at).action_reminders == 1
    assert run_sweep(sessions, now=times.chase_at).actions_chased == 1
    assert run_sweep(sessions, now=times.reopen_at).reopened == 1
    with transaction(sessions) as session:
        d.convene_meeting(
            session,
            reference=reference,
            actor=MANAGER,
            now=times.reopen_at,
            meeting_at=times.reopen_at + timedelta(days=3),
            place=PLACE,
            invitees=[RAISER, TEAM_MANAGER, DESIGNATED],
        )


def _propose(session, reference, actor, now) -> None:
    """Resolved with one agreed action for the council's team manager, three working days on."""
    due_on = DEFAULT.calendar.local_date(DEFAULT.calendar.add_working_days(now, 3))
    d.resolve(
        session,
        reference=reference,
        actor=actor,
        now=now,
        outcome="resolved_agreed_actions",
        summary=ENDING_SECRETS["summary"],
        learning=Learning(("thresholds",), True, ENDING_SECRETS["lesson"]),
        actions=(ActionInput(ENDING_SECRETS["what"], TEAM_MANAGER, due_on),),
    )


def test_no_email_carries_child_identifiers_or_disagreement_text(sessions):
    load_directory(sessions)
    reference = _every_kind_of_email(sessions)
    with Server() as server:
        summary = asyncio.run(
            deliver(
                delivery(sessions, server.url()),
                now=MONDAY + timedelta(days=90),
                rng=random.Random(1),
            )
        )
        messages = server.messages
    assert summary.sent == len(messages) > 0
    with transaction(sessions) as session:
        sent_kinds = sorted({row.kind for row in session.query(OutboxMessage)})
    assert sent_kinds == KINDS  # every template was exercised
    forbidden = [
        *SECRETS.values(),
        *ENDING_SECRETS.values(),
        COUNTERPART_NAME,
        "Zarquon",
        "Yzzyx",
        "Hana Visitor",
        "Nadia Named",
    ]
    for message in messages:
        raw = message.as_string() + "".join(_attachments(message))  # those are base64
        for text in forbidden:
            assert text not in raw, f"{text!r} leaked into {message['Subject']!r}"
        assert len(message.get_all("To")) == 1
    assert any(reference in message["Subject"] for message in messages)
    invitations = [m for m in messages if "resolution meeting" in m["Subject"]]
    assert len(invitations) == 4  # the convener and three invitees
    for invitation in invitations:
        [ics] = _attachments(invitation)
        assert "SUMMARY:Resolution meeting: RPD-" in ics and "ICB offices\\, room 2\\;" in ics


def _attachments(message) -> list[str]:
    """The decoded text of each attachment (the calendar entry of an invitation)."""
    return [part.get_payload(decode=True).decode() for part in message.iter_attachments()]


def test_templates_refuse_a_missing_value(sessions):
    load_directory(sessions)
    raise_one(sessions, MONDAY)
    with transaction(sessions) as session:
        row = session.query(OutboxMessage).first()
        row.context = {k: v for k, v in row.context.items() if k != "due_text"}
        renderer = delivery(sessions, "smtp://127.0.0.1:1").renderer
        with pytest.raises(jinja2.UndefinedError, match="due_text"):
            renderer.render(row, link=None, now=MONDAY)
        session.rollback()


def test_html_is_escaped(sessions):
    load_directory(sessions)
    raise_one(sessions, MONDAY)
    with transaction(sessions) as session:
        row = session.query(OutboxMessage).first()
        row.context = {**row.context, "stage_title": "<script>alert(1)</script>"}
        message = delivery(sessions, "smtp://127.0.0.1:1").renderer.render(
            row, link=None, now=MONDAY
        )
        html = message.get_body(("html",)).get_content()
        assert "&lt;script&gt;" in html and "<script>" not in html
        session.rollback()
