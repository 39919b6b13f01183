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

from sqlalchemy.orm import Session

from escalation.models import LinkToken, OutboxMessage

TOKEN_PURPOSES = ("act", "respond", "status", "view")
TOKEN_LIFETIME = timedelta(days=30)


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
    if row.link_purpose == "board" and row.context.get("reference"):
        return f"{base}/board/disagreements/{row.context['reference']}"
    if row.recipient_role in ("board_manager", "chair"):
        return f"{base}/board"
    return None
