"""API keys for agency case-management systems: one organisation of one partnership each, shown
once, stored as SHA-256 only. A key acts for its organisation: it raises disagreements whose
raiser belongs to that organisation, under its own partnership's policies only, and reads those
its organisation raised or is the counterpart in. A key stops working at once when it is revoked
or its expiry passes."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pendulum
from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation.rules.errors import InvalidInput, NotFound
from escalation.store.models import ApiKey

PREFIX = "rpd_"
LONGEST_LIFE = timedelta(days=3660)  # about ten years: an expiry further off is a mistake


def create_key(
    session: Session,
    *,
    organisation: str,
    partnership: str,
    now: datetime,
    expires_at: datetime | None = None,
) -> str:
    """A new key for `organisation`; the only time the raw key exists. `expires_at` None: the
    key works until revoked; otherwise it must be later than `now`."""
    problems = {}
    if not organisation.strip():
        problems["--organisation"] = "name the organisation the key acts for"
    if expires_at is not None and expires_at <= now:
        problems["--expires"] = "the expiry must be in the future"
    if problems:
        raise InvalidInput(problems)
    raw = PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiKey(
            key_hash=_hash(raw),
            prefix=raw[:12],
            organisation=organisation.strip(),
            partnership=partnership,
            created_at=now,
            expires_at=expires_at,
        )
    )
    return raw


def expiry(
    now: datetime, *, in_days: int | None = None, last_day: date | None = None
) -> datetime | None:
    """When a new key stops working: `in_days` days after `now`, or at the end of `last_day` in
    the UK (00:00 on the day after); None when neither is given (until revoked). InvalidInput
    if both are given, or the expiry is not after `now` or is more than about ten years off."""
    if in_days is not None and last_day is not None:
        raise InvalidInput({"--expires": "give --expires or --expires-in-days, not both"})
    if in_days is not None:
        if not 1 <= in_days <= LONGEST_LIFE.days:
            raise InvalidInput({"--expires-in-days": f"must be 1 to {LONGEST_LIFE.days}"})
        return now + timedelta(days=in_days)
    if last_day is None:
        return None
    if last_day > (now + LONGEST_LIFE).date():
        raise InvalidInput({"--expires": "must be within ten years from now"})
    if last_day < now.date() - timedelta(days=1):
        raise InvalidInput({"--expires": "must be today or later"})
    local_end = pendulum.datetime(last_day.year, last_day.month, last_day.day, tz="Europe/London")
    ends = datetime.fromtimestamp(local_end.add(days=1).timestamp(), UTC)
    if ends <= now:
        raise InvalidInput({"--expires": "must be today or later"})
    return ends


def find_key(session: Session, raw: str | None, *, now: datetime) -> ApiKey | None:
    """The key `raw` names, if it is in force at `now` (not revoked, not expired); else None."""
    if not raw or len(raw) > 200 or not raw.startswith(PREFIX):
        return None
    key = session.execute(select(ApiKey).where(ApiKey.key_hash == _hash(raw))).scalar_one_or_none()
    return key if key is not None and in_force(key, now) else None


def in_force(key: ApiKey, now: datetime) -> bool:
    return key.revoked_at is None and (key.expires_at is None or now < key.expires_at)


@dataclass(frozen=True)
class KeyListing:
    """What `escalation apikey list` shows of a key: never the key or its hash."""

    prefix: str
    organisation: str
    partnership: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


def list_keys(session: Session) -> list[KeyListing]:
    """Every key, oldest first, as listings."""
    keys = session.execute(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)).scalars()
    return [
        KeyListing(
            k.prefix, k.organisation, k.partnership, k.created_at, k.expires_at, k.revoked_at
        )
        for k in keys
    ]


def revoke(session: Session, prefix: str, *, now: datetime) -> ApiKey:
    """Revoke the key whose listed prefix is `prefix`, from `now` on (a key already revoked keeps
    its first revocation time). NotFound if no key has that prefix; InvalidInput if several do."""
    keys = list(session.execute(select(ApiKey).where(ApiKey.prefix == prefix.strip())).scalars())
    if not keys:
        raise NotFound(f"no API key with prefix {prefix.strip()[:20]!r}")
    if len(keys) > 1:
        raise InvalidInput({"PREFIX": f"{len(keys)} keys share that prefix; none was revoked"})
    key = keys[0]
    if key.revoked_at is None:
        key.revoked_at = now
    return key


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()
