"""One outbox row: who it is for, which link it carries, and its idempotent insert. A row's
idempotency key is unique and inserted with ON CONFLICT DO NOTHING (the same SQL on SQLite and
PostgreSQL), so a repeated or concurrent sweep queues nothing twice."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from email.utils import make_msgid, parseaddr

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from escalation.outbox.kinds import MessageKind
from escalation.settings import get_settings
from escalation.store.models import Disagreement, OutboxMessage

# Which page a recipient's link opens, by their part in the disagreement.
LINK_PURPOSES = {
    "owner": "act",
    "counterpart": "respond",
    "raiser": "status",
    "board_manager": "board",
    "chair": "board",
    "named_professional": "view",
    "designated_professional": "view",
    "practitioner": "signin",
    "asked": "say",  # asked to accept or contest a proposed resolution
    "action_owner": "action",  # owns an agreed action or convened meeting
    "invitee": "view",  # invited to a convened meeting
    "last_step": "view",  # a statutory partner's lead representative
}
# Kinds whose link is not the recipient's part: a closed case's links all stop working, so its
# emails carry none; a fresh-links email carries one link per case it lists.
LINKS_BY_KIND = {MessageKind.CLOSED: None, MessageKind.FRESH_LINKS: "several"}
QUEUED = "queued_emails"  # session.info counter: rows this session actually inserted


@dataclass(frozen=True)
class Recipient:
    email: str
    role: str  # a key of LINK_PURPOSES


def insert_row(
    session: Session,
    *,
    kind: MessageKind,
    key: str,
    recipient: Recipient,
    context: dict,
    now: datetime,
    disagreement: Disagreement | None = None,
) -> None:
    values = dict(
        idempotency_key=key,
        message_id=make_msgid(domain=_mail_domain()),
        disagreement_id=disagreement.id if disagreement else None,
        kind=kind.value,
        stage_key=disagreement.stage_key if disagreement else None,
        recipient_email=recipient.email,
        recipient_role=recipient.role,
        link_purpose=LINKS_BY_KIND.get(kind, LINK_PURPOSES.get(recipient.role)),
        context={**context, "recipient_role": recipient.role},
        status="pending",
        attempts=0,
        next_attempt_at=now,
        last_error="",
        created_at=now,
    )
    inserted = session.connection().execute(_insert_statement(session), values).first()
    session.info[QUEUED] = session.info.get(QUEUED, 0) + (inserted is not None)


def _insert_statement(session: Session):
    """Plain SQL, same on SQLite (3.35+) and PostgreSQL, compiled once: a repeat of a key
    inserts nothing and returns no row."""
    return _INSERT


_OUTBOX_COLUMNS = (
    "idempotency_key",
    "message_id",
    "disagreement_id",
    "kind",
    "stage_key",
    "recipient_email",
    "recipient_role",
    "link_purpose",
    "context",
    "status",
    "attempts",
    "next_attempt_at",
    "last_error",
    "created_at",
)
_INSERT = text(
    f"INSERT INTO outbox ({', '.join(_OUTBOX_COLUMNS)}) "
    f"VALUES ({', '.join(':' + column for column in _OUTBOX_COLUMNS)}) "
    "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id"
).bindparams(
    *(bindparam(column, type_=OutboxMessage.__table__.c[column].type) for column in _OUTBOX_COLUMNS)
)


def _mail_domain() -> str:
    return _domain_of(get_settings().mail_from)


@functools.cache
def _domain_of(mail_from: str) -> str:
    """The Message-ID's domain: the sender's (parsing the address costs more than the insert)."""
    return parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
