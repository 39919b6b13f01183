"""Emailed links. A token is 256 random bits, stored only as its SHA-256, bound to one
recipient, one disagreement and one stage; it is minted when the email is sent, so the raw
token exists only in the email itself.

A case link (act, respond, status, view) works while its stage lasts: it dies when the stage
moves on, the case closes, the owner changes (for the owner's link), the counterpart
changes (for theirs) or after `TOKEN_LIFETIME`. The two links of a disagreement's ending are
bound to what they are for, not to the stage: a say link ("say": accept or contest a proposed
resolution) works while its recipient has a say still awaited, and an action link ("action":
confirm an agreed action or a convened meeting done) while its recipient owns an open agreed
action on the disagreement. Both die when the case closes, when the say is given (or lapses)
and when the action is done, missed or cancelled (a contest or a reopening cancels them), or
after `TOKEN_LIFETIME`.
It is not spent by use: opening it shows only whom it is for and a Continue button, and each
Continue starts a short `LinkSession` bound to that link, in which the case is shown and acted
on (so the owner can acknowledge today and resolve tomorrow from the same email). A sign-in
token is spent by its one use. Board links carry no token: the board signs in.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, defaultload, lazyload

from escalation.casework.endings import open_actions, pending_says
from escalation.casework.lifecycle import hold
from escalation.directory.people import normalise_email
from escalation.rules.vocabulary import BOARD_ROLES
from escalation.store.models import (
    AgreedAction,
    Disagreement,
    LinkSession,
    LinkToken,
    OutboxMessage,
    Person,
    ResolutionSay,
)

TOKEN_PURPOSES = ("act", "respond", "status", "view", "say", "action")
STAGE_BOUND = ("act", "respond", "status", "view")  # die when their stage moves on
TOKEN_LIFETIME = timedelta(days=30)
SIGN_IN_LIFETIME = timedelta(minutes=30)
SESSION_LIFETIME = timedelta(hours=2)  # long enough to write a resolution, no longer

# The owner's roles and other partnerships are read only if asked for (a link's checks compare
# addresses): not the two selectin queries the model loads with every person.
OWNER_ALONE = (
    defaultload(Disagreement.owner).lazyload(Person.role_rows),
    defaultload(Disagreement.owner).lazyload(Person.other_partnership_rows),
)


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
        session.add(
            LinkToken(
                token_hash=hash_token(token),
                outbox_id=row.id,
                disagreement_id=None,
                stage_key=None,
                recipient_email=row.recipient_email,
                purpose="signin",
                created_at=now,
                expires_at=now + SIGN_IN_LIFETIME,
            )
        )
        return f"{base}/signin/{token}"
    if row.link_purpose == "board" and row.context.get("reference"):
        return f"{base}/board/d/{row.context['reference']}"
    if row.recipient_role in BOARD_ROLES:
        return f"{base}/board"
    return None


def links_for(session: Session, row: OutboxMessage, *, base_url: str, now: datetime) -> list[str]:
    """A message that lists several cases (fresh links): one link for each, in its order."""
    if row.link_purpose != "several":
        return []
    found = []
    for case in row.context["cases"]:
        token = secrets.token_urlsafe(32)
        session.add(
            LinkToken(
                token_hash=hash_token(token),
                outbox_id=row.id,
                disagreement_id=case["disagreement_id"],
                stage_key=case["stage_key"],
                recipient_email=row.recipient_email,
                purpose=case["purpose"],
                created_at=now,
                expires_at=now + TOKEN_LIFETIME,
            )
        )
        found.append(f"{base_url.rstrip('/')}/l/{token}")
    return found


@dataclass(frozen=True)
class LinkHolder:
    """A valid link: who holds it, for what, on which disagreement; for a say link the says
    awaited from its holder, for an action link the open actions they own."""

    token: LinkToken
    disagreement: Disagreement
    says: tuple[ResolutionSay, ...] = ()
    items: tuple[AgreedAction, ...] = ()

    @property
    def may_act(self) -> bool:
        return (
            self.token.purpose == "act"
            and self.disagreement.owner.email == self.token.recipient_email
        )

    @property
    def is_counterpart(self) -> bool:
        """The link's holder answers for the receiving side at the current stage."""
        counterpart = self.disagreement.stages[-1].counterpart
        return counterpart is not None and counterpart.email == self.token.recipient_email


def open_link(
    session: Session, raw_token: str, *, now: datetime, lock: bool = False
) -> LinkHolder | None:
    """The holder of `raw_token`, or None if it is unknown, expired or superseded (the case has
    closed, the stage it was sent for has ended, or the owner, or the counterpart, has changed;
    for a say or action link, nothing is awaited from its holder any more). All look the same.
    `lock` (a POST about to act, never a GET): the disagreement is read under its row lock and
    held for the action (lifecycle.hold), which then does not read it again."""
    if not raw_token or len(raw_token) > 100:
        return None
    token = session.execute(
        select(LinkToken).where(LinkToken.token_hash == hash_token(raw_token))
    ).scalar_one_or_none()
    if token is None or token.purpose not in TOKEN_PURPOSES or token.expires_at <= now:
        return None
    disagreement = _case(session, token.disagreement_id, lock)
    if disagreement is None or not disagreement.is_open:
        return None
    if token.purpose in STAGE_BOUND and disagreement.stage_key != token.stage_key:
        return None
    if token.purpose in ("say", "action"):
        return _ending_holder(session, token, disagreement)
    holder = LinkHolder(token, disagreement)
    if token.purpose == "act" and not holder.may_act:
        return None
    if token.purpose == "respond" and not holder.is_counterpart:
        return None
    return holder


def _case(session: Session, disagreement_id: int, lock: bool) -> Disagreement | None:
    if not lock:
        return session.get(Disagreement, disagreement_id, options=OWNER_ALONE)
    # Locked as lifecycle.locked locks: no join to the owner (see there), fresh.
    disagreement = session.get(
        Disagreement,
        disagreement_id,
        options=[
            lazyload(Disagreement.owner).lazyload(Person.role_rows),
            lazyload(Disagreement.owner).lazyload(Person.other_partnership_rows),
        ],
        with_for_update={"key_share": True},
        populate_existing=True,
    )
    if disagreement is not None:
        hold(session, disagreement)
    return disagreement


def _ending_holder(session: Session, token: LinkToken, disagreement) -> LinkHolder | None:
    """A say link's holder while their say is awaited; an action link's while they own an
    open action on the disagreement."""
    email = normalise_email(token.recipient_email)
    if token.purpose == "say":
        says = tuple(s for s in pending_says(session, disagreement) if s.email == email)
        return LinkHolder(token, disagreement, says=says) if says else None
    items = tuple(i for i in open_actions(session, disagreement) if i.owner.email == email)
    return LinkHolder(token, disagreement, items=items) if items else None


def start_session(session: Session, holder: LinkHolder, *, now: datetime) -> str:
    """A new session for this link (Continue was pressed); the cookie's raw value."""
    raw = secrets.token_urlsafe(32)
    session.add(
        LinkSession(
            id_hash=hash_token(raw),
            token_id=holder.token.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    return raw


def session_for(
    session: Session, holder: LinkHolder, raw: str | None, *, now: datetime
) -> LinkSession | None:
    """The live session this cookie value names, if it was started from this very link."""
    if not raw or len(raw) > 100:
        return None
    found = session.execute(
        select(LinkSession).where(LinkSession.id_hash == hash_token(raw))
    ).scalar_one_or_none()
    if found is None or found.token_id != holder.token.id or found.expires_at <= now:
        return None
    return found


def claim_form(session: Session, link_session: LinkSession, csrf: str) -> bool:
    """Spend the form's CSRF token (compare-and-set), so a form acts once however often it is
    sent: True for exactly one of any number of concurrent posts of the page's current form."""
    if not csrf or not secrets.compare_digest(csrf, link_session.csrf_token):
        return False
    claimed = session.execute(
        update(LinkSession)
        .where(LinkSession.id == link_session.id, LinkSession.csrf_token == csrf)
        .values(csrf_token=secrets.token_urlsafe(32))
    )
    return claimed.rowcount == 1


def find_token(
    session: Session, raw_token: str, *, purpose: str, now: datetime
) -> LinkToken | None:
    """An unused, unexpired token for `purpose`, or None."""
    if not raw_token or len(raw_token) > 100:
        return None
    token = session.execute(
        select(LinkToken).where(LinkToken.token_hash == hash_token(raw_token))
    ).scalar_one_or_none()
    if (
        token is None
        or token.purpose != purpose
        or token.used_at is not None
        or token.expires_at <= now
    ):
        return None
    return token


def spend(session: Session, token: LinkToken, *, now: datetime) -> bool:
    """Spend the token (compare-and-set): True for exactly one of any number of concurrent uses."""
    spent = session.execute(
        update(LinkToken)
        .where(LinkToken.id == token.id, LinkToken.used_at.is_(None))
        .values(used_at=now)
    )
    return spent.rowcount == 1
