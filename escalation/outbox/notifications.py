"""Who is told what: outbox rows written in the transaction that caused them (never sent here).

One row per recipient per message, never several professionals on one message. Each row's
idempotency key (kind, reference, stage, recipient) is unique and inserted with ON CONFLICT DO
NOTHING, so a repeated or concurrent sweep queues nothing twice. A row's `context` is built only
from `_case_context`: reference, stage, due time, urgency and the recipient's role, so a template
cannot show a child's identifier or the disagreement's text even by mistake.

Known limit: a stage handed back to someone who already held it (A -> deputy B -> A) does not
email A a second "you own this stage" message for that stage; the chronology still records it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid, parseaddr

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from escalation.directory.people import role_holders
from escalation.outbox.kinds import MessageKind
from escalation.rules.calendar import due_text
from escalation.rules.policy import Policy
from escalation.settings import get_settings
from escalation.store.models import Disagreement, OutboxMessage, Person
from escalation.store.pinned_policies import policy_for

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
}
# Kinds whose link is not the recipient's part: a closed case's links all stop working, so its
# emails carry none; a fresh-links email carries one link per case it lists.
LINKS_BY_KIND = {MessageKind.CLOSED: None, MessageKind.FRESH_LINKS: "several"}
LINK_EMAIL_INTERVAL = timedelta(minutes=5)
QUEUED = "queued_emails"  # session.info counter: rows this session actually inserted


@dataclass(frozen=True)
class Recipient:
    email: str
    role: str  # a key of LINK_PURPOSES


def stage_entered(session: Session, disagreement: Disagreement, policy: Policy, now: datetime) -> None:
    """The new owner is asked to act; everyone the stage names in `notify` is told."""
    owner = Recipient(disagreement.owner.email, "owner")
    _queue(session, disagreement, policy, MessageKind.STAGE_ASSIGNED, [owner], now)
    others = [
        recipient
        for role in policy.stage(disagreement.stage_key).notify
        if (recipient := _holder(session, disagreement, policy, role)) is not None
    ]
    others = _without(others, owner.email)
    _queue(session, disagreement, policy, MessageKind.STAGE_UPDATE, others, now)


def reassigned(session: Session, disagreement: Disagreement, policy: Policy, now: datetime) -> None:
    owner = Recipient(disagreement.owner.email, "owner")
    _queue(session, disagreement, policy, MessageKind.STAGE_ASSIGNED, [owner], now)


def reminder(session: Session, disagreement: Disagreement, policy: Policy, now: datetime) -> None:
    owner = Recipient(disagreement.owner.email, "owner")
    _queue(session, disagreement, policy, MessageKind.REMINDER, [owner], now)


def counterpart_responded(
    session: Session, disagreement: Disagreement, policy: Policy, now: datetime
) -> None:
    owner = Recipient(disagreement.owner.email, "owner")
    _queue(session, disagreement, policy, MessageKind.COUNTERPART_RESPONSE, [owner], now)


def final_stage_overdue(
    session: Session, disagreement: Disagreement, policy: Policy, now: datetime
) -> None:
    owner = Recipient(disagreement.owner.email, "owner")
    managers = _board_managers(session, disagreement.partnership)
    recipients = [owner, *_without(managers, owner.email)]
    _queue(session, disagreement, policy, MessageKind.FINAL_STAGE_OVERDUE, recipients, now)


def closed(session: Session, disagreement: Disagreement, policy: Policy, now: datetime) -> None:
    recipients = [
        Recipient(disagreement.owner.email, "owner"),
        Recipient(disagreement.raiser_email, "raiser"),
        Recipient(disagreement.counterpart_email, "counterpart"),
    ]
    _queue(session, disagreement, policy, MessageKind.CLOSED, _distinct(recipients), now)


def undeliverable(
    session: Session, disagreement: Disagreement, policy: Policy, failed_email: str, now: datetime
) -> None:
    """Tell the board manager that a stage owner's email could not be delivered."""
    managers = _without(_board_managers(session, disagreement.partnership), failed_email)
    _queue(
        session, disagreement, policy, MessageKind.UNDELIVERABLE, managers, now,
        key_extra=failed_email,
    )


def fresh_links(session: Session, email: str, now: datetime) -> None:
    """New links for someone whose link no longer works: one email with a link for each open
    disagreement in which the address is the stage owner, the counterpart or the raiser (never
    to any other address), and at most one such email per address per `LINK_EMAIL_INTERVAL`."""
    email = email.strip().lower()
    queries = {
        "owner": select(Disagreement).join(Person, Disagreement.owner_id == Person.id)
        .where(Person.email == email),
        "counterpart": select(Disagreement).where(Disagreement.counterpart_email == email),
        "raiser": select(Disagreement).where(Disagreement.raiser_email == email),
    }
    cases: dict[int, dict] = {}
    for role, query in queries.items():
        for disagreement in session.execute(query.where(Disagreement.status == "open")).scalars():
            cases.setdefault(disagreement.id, {
                **_case_context(disagreement, policy_for(session, disagreement)),
                "disagreement_id": disagreement.id, "stage_key": disagreement.stage_key,
                "purpose": LINK_PURPOSES[role]})
    if cases:
        _insert(session, kind=MessageKind.FRESH_LINKS, key=f"fresh_links/{email}/{_interval(now)}",
                recipient=Recipient(email, "practitioner"),
                context={"cases": sorted(cases.values(), key=lambda c: c["reference"])}, now=now)


def sign_in_link(session: Session, email: str, now: datetime) -> None:
    """A one-time sign-in link (no case content at all); at most one email per address per
    `LINK_EMAIL_INTERVAL` (the first one's link works for 30 minutes)."""
    _insert(session, kind=MessageKind.SIGN_IN, key=f"sign_in/{email}/{_interval(now)}",
            recipient=Recipient(email, "practitioner"), context={}, now=now)


def _interval(now: datetime) -> int:
    """Which `LINK_EMAIL_INTERVAL` `now` falls in: the outbox's unique key then refuses a second
    email of the kind to the address in it, across every web process and however it is asked."""
    return int(now.timestamp() // LINK_EMAIL_INTERVAL.total_seconds())


def alert_board_managers(
    session: Session,
    *,
    kind: MessageKind,
    partnerships: list[str],
    key: str,
    context: dict,
    now: datetime,
) -> None:
    """A message about the service itself (e.g. the sweep has stalled), to every board manager."""
    for partnership in partnerships:
        for manager in _board_managers(session, partnership):
            _insert(session, kind=kind, key=f"{kind.value}/{key}/{manager.email}",
                    recipient=manager, context={"partnership": partnership, **context}, now=now)


# --- helpers ----------------------------------------------------------------------------------


def _queue(
    session: Session,
    disagreement: Disagreement,
    policy: Policy,
    kind: MessageKind,
    recipients: list[Recipient],
    now: datetime,
    key_extra: str = "",
) -> None:
    context = _case_context(disagreement, policy)
    for recipient in _distinct(recipients):
        key = "/".join(
            part for part in (kind.value, disagreement.reference, disagreement.stage_key, key_extra,
                              recipient.email) if part
        )
        _insert(session, kind=kind, key=key, recipient=recipient, context=context, now=now,
                disagreement=disagreement)


def _insert(
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
    "idempotency_key", "message_id", "disagreement_id", "kind", "stage_key", "recipient_email",
    "recipient_role", "link_purpose", "context", "status", "attempts", "next_attempt_at",
    "last_error", "created_at",
)
_INSERT = text(
    f"INSERT INTO outbox ({', '.join(_OUTBOX_COLUMNS)}) "
    f"VALUES ({', '.join(':' + column for column in _OUTBOX_COLUMNS)}) "
    "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id"
).bindparams(
    *(bindparam(column, type_=OutboxMessage.__table__.c[column].type) for column in _OUTBOX_COLUMNS)
)


def _case_context(disagreement: Disagreement, policy: Policy) -> dict:
    """Everything an email may say about a disagreement. Nothing about the child or the case."""
    stage = policy.stage(disagreement.stage_key)
    return {
        "reference": disagreement.reference,
        "stage_title": stage.title,
        "stage_number": policy.stage_index(stage.key) + 1,
        "stage_count": len(policy.stages),
        "due_at": disagreement.due_at.isoformat(),
        "due_text": due_text(disagreement.due_at, policy.timezone),
        "urgent": disagreement.urgent,
        "status": disagreement.status,
        "partnership": disagreement.partnership,
    }


def _holder(
    session: Session, disagreement: Disagreement, policy: Policy, role: str
) -> Recipient | None:
    """Who plays `role` in this disagreement: whoever owned that role's stage, else the directory."""
    if role == "raiser":
        return Recipient(disagreement.raiser_email, "raiser")
    if role == "counterpart":
        return Recipient(disagreement.counterpart_email, "counterpart")
    for period in reversed(disagreement.stages):
        if policy.stage(period.stage_key).owner == role:
            return Recipient(period.owner.email, role)
    organisation = disagreement.raiser_organisation if role == "named_professional" else None
    holders = role_holders(session, role, disagreement.partnership, organisation)
    return Recipient(holders[0].email, role) if holders else None


def _board_managers(session: Session, partnership: str) -> list[Recipient]:
    return [Recipient(p.email, "board_manager") for p in role_holders(session, "board_manager", partnership)]


def _without(recipients: list[Recipient], email: str) -> list[Recipient]:
    return [recipient for recipient in recipients if recipient.email != email]


def _distinct(recipients: list[Recipient]) -> list[Recipient]:
    seen: set[str] = set()
    distinct = []
    for recipient in recipients:
        if recipient.email not in seen:
            seen.add(recipient.email)
            distinct.append(recipient)
    return distinct


def _mail_domain() -> str:
    address = parseaddr(get_settings().mail_from)[1]
    return address.rpartition("@")[2] or "localhost"
