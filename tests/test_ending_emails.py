"""The emails of endings: a convened meeting's invitation and its calendar entry (read back from
the real SMTP server), the board told at once of the endings its policy names, and the daily
digest's count of endings checked against cases counted by hand."""

from __future__ import annotations

import asyncio
import random
import re
from datetime import timedelta
from email.utils import parseaddr

from sqlalchemy import select

from escalation.casework import disagreements as d
from escalation.casework.actions import action_times, open_actions
from escalation.casework.endings import ActionInput
from escalation.casework.sweep import run_sweep
from escalation.outbox.delivery import deliver
from escalation.outbox.digest import digest_counts, queue_digests
from escalation.rules.policy import policy_from_document
from escalation.settings import get_settings
from escalation.store.db import transaction
from escalation.store.models import OutboxMessage
from tests.factories import (
    DEFAULT,
    DESIGNATED,
    LEARNING,
    MANAGER,
    MONDAY,
    NAMED,
    RAISER,
    TEAM_MANAGER,
    accept_all,
    raise_one,
    utc,
)
from tests.outbox_helpers import delivery
from tests.smtp_server import Server

PARTNERSHIP = "example-partnership"
# Long enough to fold, with every character a TEXT value escapes, and one of two octets.
PLACE = (
    "Partnership office, room 1; or call 0300 000 0000 \\ PIN 4321, "
    "ask at reception for the Ōtautahi room"
)
NO_BOARD_NOTICE = policy_from_document(
    DEFAULT.document()
    | {
        "version": "no-board-notice",
        "endings": {**DEFAULT.document()["endings"], "tell_board_at_once": []},
    },
    "test",
)


def _raise_at_named(sessions, now, policy=DEFAULT, child="TEST-CHILD-1") -> str:
    """Raised at `now` and escalated by the raiser: the named professional owns stage 2."""
    reference = raise_one(sessions, now, policy=policy, child_reference=child)
    with transaction(sessions) as session:
        d.escalate(session, reference=reference, actor=RAISER, now=now, reason="No reply")
    return reference


def _propose(sessions, reference, actor, now, *due_days, outcome="resolved_agreed_actions"):
    """A resolution with one agreed action (the team manager's) for each date in `due_days`."""
    actions = tuple(ActionInput("Write to the GP", TEAM_MANAGER, day) for day in due_days)
    with transaction(sessions) as session:
        d.resolve(
            session,
            reference=reference,
            actor=actor,
            now=now,
            outcome=outcome,
            summary="Agreed between the two teams",
            learning=LEARNING,
            actions=actions,
        )


def _withdraw(sessions, reference, now) -> None:
    with transaction(sessions) as session:
        d.withdraw(session, reference=reference, actor=RAISER, now=now, reason="Sorted locally")


def _rows(sessions, kind: str) -> list[OutboxMessage]:
    with transaction(sessions) as session:
        rows = session.execute(
            select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        ).scalars()
        return [row for row in rows if not session.expunge(row)]


def _reopen_time(sessions, reference):
    with transaction(sessions) as session:
        [item] = open_actions(session, d.get(session, reference))
        return action_times(DEFAULT, item).reopen_at


# --- the invitation and its calendar entry ------------------------------------------------------


def _convene(sessions) -> tuple[str, object]:
    """The named professional convenes a meeting, inviting themselves among others, one address
    twice in another spelling."""
    reference = _raise_at_named(sessions, MONDAY)
    meeting_at = utc(2026, 11, 30, 14, 30)
    with transaction(sessions) as session:
        d.convene_meeting(
            session,
            reference=reference,
            actor=NAMED,
            now=MONDAY,
            meeting_at=meeting_at,
            place=PLACE,
            invitees=[RAISER, " Hana.Visitor@Trust.example", DESIGNATED, TEAM_MANAGER, NAMED],
        )
    return reference, meeting_at


def _send(sessions) -> list:
    with Server() as server:
        asyncio.run(deliver(delivery(sessions, server.url()), now=MONDAY, rng=random.Random(1)))
        return list(server.messages)


def _calendar(message) -> bytes:
    [part] = list(message.iter_attachments())
    assert part.get_content_type() == "text/calendar"
    assert part.get_param("method") == "REQUEST"
    assert part.get_filename() == "invite.ics"
    return part.get_payload(decode=True)


def _properties(ics: bytes) -> dict[str, tuple[str, str]]:
    """Name -> (parameters, unescaped value), read as RFC 5545 says: CRLF line ends, lines of
    at most 75 octets, a line starting with a space continuing the one before."""
    assert ics.endswith(b"\r\n") and b"\n" not in ics.replace(b"\r\n", b"")
    physical = ics.split(b"\r\n")[:-1]
    assert max(len(line) for line in physical) <= 75
    properties = {}
    for line in ics.replace(b"\r\n ", b"").decode().split("\r\n")[:-1]:
        name, parameters, value = re.fullmatch(
            r'([A-Z-]+)((?:;[A-Z-]+=(?:"[^"]*"|[^";:,]*))*):(.*)', line
        ).groups()
        value = re.sub(r"\\([\\;,nN])", lambda m: {"n": "\n", "N": "\n"}.get(m[1], m[1]), value)
        properties.setdefault(name, (parameters, value))
    return properties


def test_the_invitation_goes_to_every_invitee_and_the_convener_once_each(directory):
    _convene(directory)
    rows = [
        (row.recipient_email, row.recipient_role) for row in _rows(directory, "meeting_invitation")
    ]
    assert sorted(rows) == sorted(
        [
            (NAMED, "action_owner"),  # the convener, not also as an invitee
            (DESIGNATED, "invitee"),
            (RAISER, "invitee"),  # once, however its address was typed
            (TEAM_MANAGER, "invitee"),
        ]
    )
    invitations = [m for m in _send(directory) if "resolution meeting" in m["Subject"]]
    assert sorted(m["To"] for m in invitations) == sorted(email for email, _ in rows)
    assert all(len(list(m.iter_attachments())) == 1 for m in invitations)


def test_the_calendar_entry_parses_folded_escaped_and_in_utc(directory):
    reference, meeting_at = _convene(directory)
    invitations = {m["To"]: m for m in _send(directory) if "resolution meeting" in m["Subject"]}
    ics = _calendar(invitations[RAISER])
    assert b"\r\n " in ics  # the place is long enough to be folded
    assert "Ōtautahi".encode() in ics.replace(b"\r\n ", b"")  # never split inside a character
    assert b"LOCATION:Partnership office\\, room 1\\; or call 0300 000 0000 \\\\ PIN 4321\\," in (
        ics.replace(b"\r\n ", b"")
    )
    calendar = _properties(ics)
    assert calendar["METHOD"][1] == "REQUEST" and calendar["VERSION"][1] == "2.0"
    assert calendar["DTSTART"][1] == "20261130T143000Z" == f"{meeting_at:%Y%m%dT%H%M%SZ}"
    assert calendar["DTEND"][1] == "20261130T153000Z"
    assert calendar["SUMMARY"][1] == f"Resolution meeting: {reference}"
    assert calendar["LOCATION"][1] == PLACE
    assert calendar["ORGANIZER"][1] == f"mailto:{parseaddr(get_settings().mail_from)[1]}"
    assert calendar["ATTENDEE"][1] == f"mailto:{RAISER}"
    assert re.fullmatch(r"\d{8}T\d{6}Z", calendar["DTSTAMP"][1])
    # One meeting: every copy has its UID (and the convener's names them as attendee).
    uids = {_properties(_calendar(m))["UID"][1] for m in invitations.values()}
    assert len(uids) == 1 and reference in uids.pop()
    assert _properties(_calendar(invitations[NAMED]))["ATTENDEE"][1] == f"mailto:{NAMED}"
    assert b"TEST-CHILD-1" not in ics and b"Write to" not in ics


def test_the_calendar_entry_is_the_same_when_the_email_is_rendered_again(directory):
    _convene(directory)
    [row] = [r for r in _rows(directory, "meeting_invitation") if r.recipient_email == RAISER]
    renderer = delivery(directory, "smtp://127.0.0.1:1").renderer
    first, again = (
        _calendar(renderer.render(row, link=None, now=MONDAY + timedelta(hours=hours)))
        for hours in (0, 5)
    )
    assert first == again


# --- the board told at once ---------------------------------------------------------------------


def _every_ending(sessions, policy) -> dict[str, str]:
    """Proposed, contested, proposed again and resolved; withdrawn; proposed, accepted and
    reopened when its action is missed. Their references, by what happened to them."""
    later = utc(2026, 11, 27)  # a Friday: the proposals' actions are due then
    contested = _raise_at_named(sessions, MONDAY, policy, "TEST-CHILD-1")
    _propose(sessions, contested, NAMED, MONDAY, later.date())
    with transaction(sessions) as session:
        d.contest(session, reference=contested, actor=RAISER, now=MONDAY, reason="Not enough")
    _propose(sessions, contested, DESIGNATED, MONDAY, outcome="decision_changed")
    accept_all(sessions, contested, MONDAY)
    withdrawn = raise_one(sessions, MONDAY, policy=policy, child_reference="TEST-CHILD-2")
    _withdraw(sessions, withdrawn, MONDAY)
    reopened = _raise_at_named(sessions, MONDAY, policy, "TEST-CHILD-3")
    _propose(sessions, reopened, NAMED, MONDAY, later.date())
    accept_all(sessions, reopened, MONDAY)
    assert run_sweep(sessions, now=_reopen_time(sessions, reopened)).reopened == 1
    return {"contested": contested, "withdrawn": withdrawn, "reopened": reopened}


def test_the_default_policy_tells_the_board_at_once_of_every_ending_but_completion(directory):
    cases = _every_ending(directory, DEFAULT)
    notices = [
        (row.recipient_email, row.context["reference"], row.context["how"], row.stage_key)
        for row in _rows(directory, "ending_notice")
    ]
    assert notices == [
        (MANAGER, cases["contested"], "resolve", "named_professional"),
        (MANAGER, cases["contested"], "contest", "designated_professional"),
        (MANAGER, cases["contested"], "resolve", "designated_professional"),
        # ... and its completion is only in the digest.
        (MANAGER, cases["withdrawn"], "withdraw", "practitioner"),
        (MANAGER, cases["reopened"], "resolve", "named_professional"),
        (MANAGER, cases["reopened"], "reopen", "designated_professional"),
    ]
    with transaction(directory) as session:
        assert d.get(session, cases["contested"]).status == "resolved"


def test_a_policy_without_board_notices_sends_none_but_still_reports_a_reopening(directory):
    cases = _every_ending(directory, NO_BOARD_NOTICE)
    assert _rows(directory, "ending_notice") == []
    told = {(row.recipient_email, row.context["reference"]) for row in _rows(directory, "reopened")}
    assert {(MANAGER, cases["reopened"]), (RAISER, cases["reopened"])} <= told


# --- the digest ---------------------------------------------------------------------------------

NOW = utc(2026, 11, 26, 12)  # the digest's moment: Thursday 26 November 2026, 12:00 GMT
WEDNESDAY, FRIDAY, NEXT_MONDAY = (utc(2026, 11, day).date() for day in (25, 27, 30))


def _hand_counted(sessions) -> None:
    """Cases whose endings fall inside and outside the day before NOW (noon to noon)."""
    # Proposed on Monday (before the day), its action missed: reopened on Wednesday at 17:00.
    missed = _raise_at_named(sessions, MONDAY, child="TEST-CHILD-X")
    _propose(sessions, missed, NAMED, MONDAY, utc(2026, 11, 24).date())
    accept_all(sessions, missed, MONDAY)
    assert run_sweep(sessions, now=utc(2026, 11, 25, 17)).reopened == 1  # reopened: 1
    # Proposed and accepted on Wednesday: watched, one action due that day (overdue), one not.
    watched = _raise_at_named(sessions, utc(2026, 11, 25, 12), child="TEST-CHILD-Y")
    _propose(sessions, watched, NAMED, utc(2026, 11, 25, 13), WEDNESDAY, NEXT_MONDAY)
    accept_all(sessions, watched, utc(2026, 11, 25, 13))  # proposed: 1, watched: 1, overdue: 1
    # Proposed this morning and not yet accepted: not watched yet.
    proposed = _raise_at_named(sessions, utc(2026, 11, 26, 8), child="TEST-CHILD-Z")
    _propose(sessions, proposed, NAMED, utc(2026, 11, 26, 9), NEXT_MONDAY)  # proposed: 2
    # Proposed and contested on Wednesday afternoon.
    contested = _raise_at_named(sessions, utc(2026, 11, 25, 13), child="TEST-CHILD-C")
    _propose(sessions, contested, NAMED, utc(2026, 11, 25, 14), FRIDAY)  # proposed: 3
    with transaction(sessions) as session:
        d.contest(
            session, reference=contested, actor=RAISER, now=utc(2026, 11, 25, 15), reason="No"
        )  # contested: 1
    # Proposed and accepted this morning: resolved.
    resolved = _raise_at_named(sessions, utc(2026, 11, 26, 9), child="TEST-CHILD-R")
    _propose(sessions, resolved, NAMED, utc(2026, 11, 26, 10), outcome="decision_changed")
    accept_all(sessions, resolved, utc(2026, 11, 26, 10))  # proposed: 4, resolved: 1
    # Withdrawn: exactly a day before NOW (not counted), at NOW (counted), just after (not).
    for number, at in enumerate((NOW - timedelta(days=1), NOW, NOW + timedelta(minutes=1))):
        withdrawn = raise_one(sessions, MONDAY, child_reference=f"TEST-CHILD-W{number}")
        _withdraw(sessions, withdrawn, at)  # withdrawn: 1


def test_the_digest_counts_the_days_endings_and_the_watched_actions(directory):
    _hand_counted(directory)
    with transaction(directory) as session:
        counts = digest_counts(session, PARTNERSHIP, NOW)
        elsewhere = digest_counts(session, "another-partnership", NOW)
    assert counts["endings"] == {
        "proposed": 4,
        "resolved": 1,
        "withdrawn": 1,
        "contested": 1,
        "reopened": 1,
    }
    assert (counts["watched"], counts["actions_overdue"]) == (1, 1)
    assert set(elsewhere["endings"].values()) == {0} and elsewhere["watched"] == 0


def test_the_digest_email_shows_the_endings_as_counts_only(directory):
    _hand_counted(directory)
    with transaction(directory) as session:
        queue_digests(session, NOW)
    [row] = _rows(directory, "digest")
    message = delivery(directory, "smtp://127.0.0.1:1").renderer.render(row, link=None, now=NOW)
    text = message.get_body(("plain",)).get_content()
    for label, count in (
        ("Resolutions proposed", 4),
        ("Resolved", 1),
        ("Withdrawn", 1),
        ("Proposed resolutions contested", 1),
        ("Reopened after a missed action", 1),
        ("Disagreements", 1),
        ("Of their actions, overdue", 1),
    ):
        assert re.search(rf"^  {label}: +{count}$", text, re.MULTILINE), label
    assert message["Subject"].endswith(", 1 agreed action overdue")
    assert "TEST-CHILD" not in message.as_string() and "Write to" not in message.as_string()
