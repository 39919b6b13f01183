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
from escalation.casework.sweep import SWEEP, run_sweep
from escalation.outbox import notifications
from escalation.outbox.delivery import deliver
from escalation.outbox.digest import queue_digests
from escalation.store.db import transaction
from escalation.store.models import OutboxMessage
from tests.factories import CHAIR, COUNCIL_LEAD, MONDAY, due_at, load_directory, raise_one
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
        d.resolve(
            session,
            reference=reference,
            actor=CHAIR,
            now=final_due,
            outcome="decision_changed",
            summary="Zarquon summary of the resolution",
        )
    return reference


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
        COUNTERPART_NAME,
        "Zarquon",
        "Yzzyx",
        "Hana Visitor",
        "Nadia Named",
    ]
    for message in messages:
        raw = message.as_string()
        for text in forbidden:
            assert text not in raw, f"{text!r} leaked into {message['Subject']!r}"
        assert len(message.get_all("To")) == 1
    assert any(reference in message["Subject"] for message in messages)


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
