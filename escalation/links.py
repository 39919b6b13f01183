"""Emailed links. A token is 256 random bits, stored only as its SHA-256, bound to one
recipient, one disagreement and one stage; it is minted when the email is sent, so the raw
token exists only in the email itself.

Tokens expire after `TOKEN_LIFETIME` at most; a token is also dead as soon as its stage ends
(checked when it is used: the disagreement must still be open at that stage).
Board links carry no token: the board signs in.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from escalation.models import Disagreement, LinkToken, OutboxMessage

TOKEN_PURPOSES = ("act", "respond", "status", "view")
TOKEN_LIFETIME = timedelta(days=30)
SIGN_IN_LIFETIME = timedelta(minutes=30)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_for(session: Session, row: OutboxMessage, *, base_url: str, now: datetime) -> str | None:
    """The URL this message's recipient follows (minting a token when the link needs one)."""
    base = base_url.rstrip("/")
    if row.link_purpose in TOKEN_PURPOSES and row.disagreement_id is not None:
        token = secrets.token_urlsafe(32)
        session.add(
            LinkToken(
                token_hash=hash_token(token),
                outbox_id=row.id,
                disagreement_id=row.disagreement_id,
                stage_key=row.stage_key,
                recipient_email=row.recipient_email,
                purpose=row.link_purpose,
                created_at=now,
                expires_at=now + TOKEN_LIFETIME,
            )
        )
        return f"{base}/l/{token}"
    if row.link_purpose == "signin":
        token = secrets.token_urlsafe(32)
        session.add(LinkToken(
            token_hash=hash_token(token), outbox_id=row.id, disagreement_id=None, stage_key=None,
            recipient_email=row.recipient_email, purpose="signin", created_at=now,
            expires_at=now + SIGN_IN_LIFETIME,
        ))
        return f"{base}/signin/{token}"
    if row.link_purpose == "board" and row.context.get("reference"):
        return f"{base}/board/d/{row.context['reference']}"
    if row.recipient_role in ("board_manager", "chair"):
        return f"{base}/board"
    return None


@dataclass(frozen=True)
class LinkHolder:
    """A valid link: who holds it, for what, on which disagreement."""

    token: LinkToken
    disagreement: Disagreement

    @property
    def may_act(self) -> bool:
        return self.token.purpose == "act" and self.disagreement.owner.email == self.token.recipient_email


def open_link(session: Session, raw_token: str, *, now: datetime) -> LinkHolder | None:
    """The holder of `raw_token`, or None if it is unknown, used, expired or superseded (the
    stage it was sent for has ended, or the owner has changed). All of those look the same."""
    if not raw_token or len(raw_token) > 100:
        return None
    token = session.execute(
        select(LinkToken).where(LinkToken.token_hash == hash_token(raw_token))
    ).scalar_one_or_none()
    if token is None or token.purpose not in TOKEN_PURPOSES or token.used_at is not None \
            or token.expires_at <= now:
        return None
    disagreement = session.get(Disagreement, token.disagreement_id)
    if disagreement is None or disagreement.stage_key != token.stage_key:
        return None
    if token.purpose in ("act", "respond") and not disagreement.is_open:
        return None
    holder = LinkHolder(token, disagreement)
    if token.purpose == "act" and not holder.may_act:
        return None
    return holder


def use_link(session: Session, holder: LinkHolder, *, now: datetime) -> bool:
    return spend(session, holder.token, now=now)


def find_token(session: Session, raw_token: str, *, purpose: str, now: datetime) -> LinkToken | None:
    """An unused, unexpired token for `purpose`, or None."""
    if not raw_token or len(raw_token) > 100:
        return None
    token = session.execute(
        select(LinkToken).where(LinkToken.token_hash == hash_token(raw_token))
    ).scalar_one_or_none()
    if token is None or token.purpose != purpose or token.used_at is not None or token.expires_at <= now:
        return None
    return token


def spend(session: Session, token: LinkToken, *, now: datetime) -> bool:
    """Spend the token (compare-and-set): True for exactly one of any number of concurrent uses."""
    spent = session.execute(
        update(LinkToken).where(LinkToken.id == token.id, LinkToken.used_at.is_(None)).values(used_at=now)
    )
    return spent.rowcount == 1


def renew_link(session: Session, holder: LinkHolder, *, now: datetime) -> str:
    """A fresh link (its path) for the same person and stage: after acknowledging, to go on."""
    token = secrets.token_urlsafe(32)
    old = holder.token
    session.add(LinkToken(
        token_hash=hash_token(token), outbox_id=old.outbox_id, disagreement_id=old.disagreement_id,
        stage_key=old.stage_key, recipient_email=old.recipient_email, purpose=old.purpose,
        created_at=now, expires_at=old.expires_at,
    ))
    return f"/l/{token}"
