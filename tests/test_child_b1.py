"""The Child B1 review replayed end to end (seeds 004, section 17), on SQLite and PostgreSQL.

In 2014 the health visitor escalated to the Named Doctor, who did not escalate to the Designated
Doctor; later the doctors did not agree who would write to Children's Social Care, so the
meeting with the Board manager and chair never happened. Here nobody has to remember: the
health visitor raises against social care's decision and does nothing more; at each deadline
the sweep escalates, on the raising side to the trust's named doctor, the ICB's designated
doctor (never the designated nurse beside them), the board manager and the chair, and on social
care's side to the team manager, service manager, head of service and director. Every holder
is emailed through a real SMTP server with a link of their own, and no email names the child.
"""

import asyncio
import random
import re
from email.message import Message

import pytest
from sqlalchemy import select

from escalation.casework import disagreements as d
from escalation.casework.sweep import run_sweep
from escalation.outbox.delivery import deliver
from escalation.outbox.links import hash_token
from escalation.store.db import transaction
from escalation.store.models import LinkToken
from tests.factories import POLICIES, utc
from tests.outbox_helpers import BASE_URL, delivery
from tests.routing_helpers import (
    build,
    drop_role,
    email_of,
    periods,
    raise_between,
    set_primary,
    stage_events,
)
from tests.smtp_server import Server

CHILD = "B1-2014-0521"  # the agencies' case number for the child: never in an email
VISIT = utc(2026, 5, 21, 9, 30)  # Thursday 21 May, 10:30 BST: the health visitor's visit
LADDER = [
    # stage, the raising side's owner, social care's counterpart
    ("practitioner", "Hana Visitor", "Sam Social"),
    ("named_professional", "Dr Nadia Named", "Tess Team"),
    ("designated_professional", "Dr Dev Designated", "Sid Service"),
    ("board_manager", "Bea Manager", "Hugh Head"),
    ("chair", "Chris Chair", "Dora Director"),
]


@pytest.fixture
def server():
    with Server() as running:
        yield running


def _named_doctor_only(sessions) -> None:
    drop_role(sessions, "Nina Named", "named_professional")


def _named_doctor_primary(sessions) -> None:
    set_primary(sessions, "Nina Named", "named_professional", False)
    set_primary(sessions, "Dr Nadia Named", "named_professional", True)


def _deliver(sessions, server: Server, now) -> list[Message]:
    """Send what is due at `now`; the messages the server accepted in this pass."""
    before = len(server.messages)
    summary = asyncio.run(deliver(delivery(sessions, server.url()), now=now, rng=random.Random(1)))
    assert summary.retrying == summary.failed_permanent == 0
    return server.messages[before:]


def _link(sessions, message: Message) -> tuple[str, str, str]:
    """The message's own link, as stored: (recipient, stage, purpose)."""
    text = message.get_body(("plain",)).get_content()
    token = re.search(rf"{re.escape(BASE_URL)}/l/([A-Za-z0-9_-]+)", text).group(1)
    with transaction(sessions) as session:
        row = session.execute(
            select(LinkToken).where(LinkToken.token_hash == hash_token(token))
        ).scalar_one()
        return row.recipient_email, row.stage_key, row.purpose


def _everything_in(message: Message) -> str:
    parts = [str(message["Subject"]), message.as_string()]
    parts += [message.get_body((kind,)).get_content() for kind in ("plain", "html")]
    return "\n".join(parts)


@pytest.mark.parametrize(
    "named_doctor",
    [_named_doctor_only, _named_doctor_primary],
    ids=["the trust's only named professional", "the trust's primary named professional"],
)
def test_child_b1_climbs_to_the_chair_on_both_sides_without_anyone_remembering(
    sessions, server, named_doctor
):
    build(sessions)
    named_doctor(sessions)
    reference = raise_between(
        sessions,
        "Hana Visitor",
        "Sam Social",
        policy=POLICIES["default"],
        now=VISIT,
        child_reference=CHILD,
        category="plan_implementation",
        decision_disputed="The medical examination is to wait until tomorrow (invented)",
        decision_date="2026-05-21",
    )
    sent = {LADDER[0][0]: _deliver(sessions, server, VISIT)}
    for stage, _, _ in LADDER[1:]:
        with transaction(sessions) as session:
            due = d.get(session, reference).due_at
        summary = run_sweep(sessions, now=due)
        assert summary.escalated == 1 and summary.blocked == []
        sent[stage] = _deliver(sessions, server, due)

    held = periods(sessions, reference)
    assert [(p.stage_key, p.owner, p.counterpart) for p in held] == LADDER
    events = stage_events(sessions, reference)
    assert [e.kind for e in events] == ["raise"] + ["escalate_automatically"] * 4
    for event, period in zip(events, held, strict=True):
        assert f"owner {period.owner} ({period.owner_reason})" in event.note
        assert f"counterpart {period.counterpart} ({period.counterpart_reason})" in event.note
    assert "after a doctor → designated professional (doctor)" in held[2].owner_reason

    for number, (stage, owner, counterpart) in enumerate(LADDER, start=1):
        to = {message["To"]: message for message in sent[stage]}
        assert f"{reference}: you now own stage {number} " in to[email_of(owner)]["Subject"]
        assert _link(sessions, to[email_of(owner)]) == (email_of(owner), stage, "act")
        assert f"{reference}: now at stage {number} " in to[email_of(counterpart)]["Subject"]
        assert _link(sessions, to[email_of(counterpart)]) == (
            email_of(counterpart),
            stage,
            "respond",
        )
    # The designated doctor hears when the board manager and the chair take it on (in 2014
    # nobody told the Board); the designated nurse and the named nurse are never written to.
    for stage in ("board_manager", "chair"):
        assert email_of("Dr Dev Designated") in {message["To"] for message in sent[stage]}
    recipients = {message["To"] for message in server.messages}
    assert email_of("Dina Designated") not in recipients
    assert email_of("Nina Named") not in recipients
    for message in server.messages:
        assert CHILD not in _everything_in(message)
