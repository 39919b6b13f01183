"""API keys for agency case-management systems: one organisation each, shown once, stored as
SHA-256 only. A key acts for its organisation: it raises disagreements whose raiser belongs to
that organisation and reads those its organisation raised or is the counterpart in."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation.errors import InvalidInput
from escalation.models import ApiKey

PREFIX = "rpd_"


def create_key(session: Session, *, organisation: str, partnership: str, now: datetime) -> str:
    """A new key for `organisation`; the only time the raw key exists."""
    if not organisation.strip():
        raise InvalidInput({"--organisation": "name the organisation the key acts for"})
    raw = PREFIX + secrets.token_urlsafe(32)
    session.add(ApiKey(key_hash=_hash(raw), prefix=raw[:12], organisation=organisation.strip(),
                       partnership=partnership, created_at=now))
    return raw


def find_key(session: Session, raw: str | None) -> ApiKey | None:
    if not raw or len(raw) > 200 or not raw.startswith(PREFIX):
        return None
    key = session.execute(select(ApiKey).where(ApiKey.key_hash == _hash(raw))).scalar_one_or_none()
    return key if key is not None and key.revoked_at is None else None


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()
