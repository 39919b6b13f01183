"""Practitioner sign-in: a one-time link emailed to a work address, then a server-side session.

Who may ask: anyone active in the directory, or with an address at one of the settings'
allowed domains. The answer to "send me a link" is the same whether or not the address may
sign in (no probing for who is listed). The link's GET only shows a Sign in button; the POST
spends it and starts the session. Sessions end on sign-out, after 2 idle hours, or 12 hours.
A request records that the session was seen at most once a minute (TOUCH_EVERY): a write on
every request cost a busy form POST a seventh of its time, and idleness is measured in hours.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation.directory.people import find_person, normalise_email
from escalation.outbox import links, notifications
from escalation.store.models import WebSession

IDLE_TIMEOUT = timedelta(hours=2)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
TOUCH_EVERY = timedelta(minutes=1)  # so an idle session ends 1 h 59 to 2 h after its last use


def looks_like_email(email: str) -> bool:
    """Enough of a shape to send to: one line, no spaces or separators, an @."""
    return "@" in email and len(email) <= 320 and not any(c in email for c in "\r\n\0 ,")


def may_sign_in(session: Session, email: str, allowed_domains: list[str]) -> bool:
    """An active, listed directory person may; an inactive one may not; anyone else (including
    a raiser an agency system named, whom nobody has listed) only at an allowed domain."""
    person = find_person(session, email)
    if person is not None and not person.active:
        return False
    if person is not None and person.listed:
        return True
    domain = email.rpartition("@")[2]
    return domain in {d.lower().lstrip("@") for d in allowed_domains}


def request_link(
    session: Session, email: str, *, allowed_domains: list[str], now: datetime
) -> None:
    email = normalise_email(email)
    if may_sign_in(session, email, allowed_domains):
        notifications.sign_in_link(session, email, now)


def start_session(
    session: Session, raw_token: str, *, now: datetime
) -> tuple[str, WebSession] | None:
    """Spend a sign-in token; the new session's cookie value and row, or None if not valid."""
    token = links.find_token(session, raw_token, purpose="signin", now=now)
    if token is None or not links.spend(session, token, now=now):
        return None
    raw = secrets.token_urlsafe(32)
    web = WebSession(
        id_hash=_hash(raw),
        email=token.recipient_email,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
    )
    session.add(web)
    return raw, web


def current(session: Session, raw: str | None, *, now: datetime) -> WebSession | None:
    if not raw or len(raw) > 100:
        return None
    web = session.execute(
        select(WebSession).where(WebSession.id_hash == _hash(raw))
    ).scalar_one_or_none()
    if web is None or web.ended_at is not None:
        return None
    if now - web.last_seen_at > IDLE_TIMEOUT or now - web.created_at > ABSOLUTE_TIMEOUT:
        web.ended_at = now
        return None
    if now - web.last_seen_at >= TOUCH_EVERY:
        web.last_seen_at = now
    return web


def end(session: Session, raw: str | None, *, now: datetime) -> None:
    web = current(session, raw, now=now)
    if web is not None:
        web.ended_at = now


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def confirm_second_factor(session: Session, raw: str | None, *, now: datetime) -> str | None:
    """Mark the session's second factor as checked and give it a new id (the new cookie value);
    None if the session has ended meanwhile (signed out in another tab)."""
    web = current(session, raw, now=now)
    if web is None:
        return None
    new_raw = secrets.token_urlsafe(32)
    web.id_hash, web.second_factor_at, web.failed_codes = _hash(new_raw), now, 0
    return new_raw


def count_failed_code(session: Session, raw: str | None, *, now: datetime, limit: int) -> int:
    """Count a wrong code; at `limit` the session ends. Returns the count so far."""
    web = current(session, raw, now=now)
    if web is None:
        return limit
    web.failed_codes += 1
    if web.failed_codes >= limit:
        web.ended_at = now
    return web.failed_codes
