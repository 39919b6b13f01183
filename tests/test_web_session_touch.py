"""A signed-in session records that it was seen at most once a minute (so a busy form does not
write on every request), and still ends after 2 idle hours and after 12 hours whatever."""

from __future__ import annotations

from datetime import timedelta

from escalation.access import signin
from escalation.store.db import transaction
from escalation.store.models import WebSession
from tests.factories import MONDAY, RAISER


def _start(sessions) -> str:
    raw = "touch-test-session"
    with transaction(sessions) as session:
        session.add(
            WebSession(
                id_hash=signin._hash(raw),
                email=RAISER,
                csrf_token="csrf",
                created_at=MONDAY,
                last_seen_at=MONDAY,
            )
        )
    return raw


def _seen(sessions, raw: str, at) -> WebSession | None:
    """The session as a request at `at` finds it (committed like a request's transaction)."""
    with transaction(sessions) as session:
        web = signin.current(session, raw, now=at)
        session.flush()
        return web and (web.last_seen_at, web.ended_at)


def test_requests_within_a_minute_write_nothing(sessions):
    raw = _start(sessions)
    assert _seen(sessions, raw, MONDAY + timedelta(seconds=59)) == (MONDAY, None)
    later = MONDAY + timedelta(minutes=1)
    assert _seen(sessions, raw, later) == (later, None)
    assert _seen(sessions, raw, later + timedelta(seconds=30)) == (later, None)


def test_an_idle_session_still_ends_after_two_hours(sessions):
    raw = _start(sessions)
    assert _seen(sessions, raw, MONDAY + timedelta(seconds=50)) == (MONDAY, None)
    # Idle from the last recorded sight: at most a minute earlier than the last request.
    assert _seen(sessions, raw, MONDAY + timedelta(hours=2, seconds=1)) is None
    assert _seen(sessions, raw, MONDAY + timedelta(hours=2, seconds=2)) is None


def test_an_active_session_ends_after_twelve_hours(sessions):
    raw = _start(sessions)
    at = MONDAY
    while at < MONDAY + timedelta(hours=12):
        assert _seen(sessions, raw, at) is not None
        at += timedelta(minutes=50)
    assert _seen(sessions, raw, MONDAY + timedelta(hours=12, minutes=1)) is None
