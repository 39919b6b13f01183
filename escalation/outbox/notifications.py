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

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation.directory.people import role_holders
from escalation.outbox.kinds import MessageKind
from escalation.outbox.rows import LINK_PURPOSES, Recipient, insert_row
from escalation.rules.calendar import due_text
from escalation.rules.policy import Policy
from escalation.rules.vocabulary import BOARD_ROLES
from escalation.store.models import (
    AgreedAction,
    Disagreement,
    Person,
    ResolutionSay,
    StagePeriod,
)
from escalation.store.pinned_policies import policy_for

LINK_EMAIL_INTERVAL = timedelta(minutes=5)


def stage_entered(
    session: Session, disagreement: Disagreement, policy: Policy, now: datetime
) -> None:
    """The new owner is asked to act; the stage's counterpart is asked to respond (whatever
    `notify` says: the receiving side always hears, with its own link); everyone else the stage
    names in `notify` is told."""
    owner = Recipient(disagreement.owner.email, "owner")
    queue(session, disagreement, policy, MessageKind.STAGE_ASSIGNED, [owner], now)
    notify = ("counterpart", *policy.stage(disagreement.stage_key).notify)
    others = [
        recipient for role in notify for recipient in _holders(session, disagreement, policy, role)
    ]
    others = without(others, owner.email)
    queue(session, disagreement, policy, MessageKind.STAGE_UPDATE, others, now)


def reassigned(session: Session, disagreement: Disagreement, policy: Policy, now: datetime) -> None:
    owner = Recipient(disagreement.owner.email, "owner")
    queue(session, disagreement, policy, MessageKind.STAGE_ASSIGNED, [owner], now)


def reminder(session: Session, disagreement: Disagreement, policy: Policy, now: datetime) -> None:
    owner = Recipient(disagreement.owner.email, "owner")
    queue(session, disagreement, policy, MessageKind.REMINDER, [owner], now)


def counterpart_changed(
    session: Session, disagreement: Disagreement, policy: Policy, now: datetime
) -> None:
    """The stage's new counterpart gets their own link (the old one's no longer works)."""
    counterpart = _counterpart(disagreement)
    if counterpart is not None:
        queue(session, disagreement, policy, MessageKind.STAGE_UPDATE, [counterpart], now)


def counterpart_responded(
    session: Session, disagreement: Disagreement, policy: Policy, now: datetime
) -> None:
    owner = Recipient(disagreement.owner.email, "owner")
    queue(session, disagreement, policy, MessageKind.COUNTERPART_RESPONSE, [owner], now)


def final_stage_overdue(
    session: Session, disagreement: Disagreement, policy: Policy, now: datetime, again=False
) -> None:
    """To the owner and the board managers; `again` for the repeated reminder (one a day)."""
    owner = Recipient(disagreement.owner.email, "owner")
    managers = board_managers(session, disagreement.partnership)
    recipients = [owner, *without(managers, owner.email)]
    extra = policy.calendar.local_date(now).isoformat() if again else ""
    queue(session, disagreement, policy, MessageKind.FINAL_STAGE_OVERDUE, recipients, now, extra)


def closed(session: Session, disagreement: Disagreement, policy: Policy, now: datetime) -> None:
    recipients = [
        Recipient(disagreement.owner.email, "owner"),
        Recipient(disagreement.raiser_email, "raiser"),
        *filter(None, [_counterpart(disagreement)]),
    ]
    queue(session, disagreement, policy, MessageKind.CLOSED, _distinct(recipients), now)


def undeliverable(
    session: Session, disagreement: Disagreement, policy: Policy, failed_email: str, now: datetime
) -> None:
    """Tell the board manager that a stage owner's email could not be delivered."""
    managers = without(board_managers(session, disagreement.partnership), failed_email)
    queue(
        session,
        disagreement,
        policy,
        MessageKind.UNDELIVERABLE,
        managers,
        now,
        key_extra=failed_email,
    )


def fresh_links(session: Session, email: str, now: datetime) -> None:
    """New links for someone whose link no longer works: one email with a link for each open
    disagreement in which the address is the stage owner, is asked for their say on a proposed
    resolution, owns an open agreed action, is the counterpart or the raiser (the first of these
    decides the link's page), never to any other address, and at most one such email per
    address per `LINK_EMAIL_INTERVAL`."""
    email = email.strip().lower()
    queries = {
        "owner": select(Disagreement)
        .join(Person, Disagreement.owner_id == Person.id)
        .where(Person.email == email),
        "asked": select(Disagreement)
        .join(ResolutionSay, ResolutionSay.disagreement_id == Disagreement.id)
        .where(ResolutionSay.email == email, ResolutionSay.answer.is_(None)),
        "action_owner": select(Disagreement)
        .join(AgreedAction, AgreedAction.disagreement_id == Disagreement.id)
        .join(Person, AgreedAction.owner_id == Person.id)
        .where(Person.email == email, AgreedAction.ended.is_(None)),
        "counterpart": select(Disagreement)
        .join(StagePeriod, StagePeriod.disagreement_id == Disagreement.id)
        .join(Person, StagePeriod.counterpart_id == Person.id)
        .where(Person.email == email, StagePeriod.ended_at.is_(None)),
        "raiser": select(Disagreement).where(Disagreement.raiser_email == email),
    }
    cases: dict[int, dict] = {}
    for role, query in queries.items():
        for disagreement in session.execute(query.where(Disagreement.status == "open")).scalars():
            cases.setdefault(
                disagreement.id,
                {
                    **_case_context(disagreement, policy_for(session, disagreement)),
                    "disagreement_id": disagreement.id,
                    "stage_key": disagreement.stage_key,
                    "purpose": LINK_PURPOSES[role],
                },
            )
    if cases:
        insert_row(
            session,
            kind=MessageKind.FRESH_LINKS,
            key=f"fresh_links/{email}/{interval(now)}",
            recipient=Recipient(email, "practitioner"),
            context={"cases": sorted(cases.values(), key=lambda c: c["reference"])},
            now=now,
        )


def sign_in_link(session: Session, email: str, now: datetime) -> None:
    """A one-time sign-in link (no case content at all); at most one email per address per
    `LINK_EMAIL_INTERVAL` (the first one's link works for 30 minutes)."""
    insert_row(
        session,
        kind=MessageKind.SIGN_IN,
        key=f"sign_in/{email}/{interval(now)}",
        recipient=Recipient(email, "practitioner"),
        context={},
        now=now,
    )


def interval(now: datetime) -> int:
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
        for manager in board_managers(session, partnership):
            insert_row(
                session,
                kind=kind,
                key=f"{kind.value}/{key}/{manager.email}",
                recipient=manager,
                context={"partnership": partnership, **context},
                now=now,
            )


# --- helpers ----------------------------------------------------------------------------------


def queue(
    session: Session,
    disagreement: Disagreement,
    policy: Policy,
    kind: MessageKind,
    recipients: list[Recipient],
    now: datetime,
    key_extra: str = "",
    extra: dict | None = None,
) -> None:
    context = {**_case_context(disagreement, policy), **(extra or {})}
    for recipient in _distinct(recipients):
        key = "/".join(
            part
            for part in (
                kind.value,
                disagreement.reference,
                disagreement.stage_key,
                key_extra,
                recipient.email,
            )
            if part
        )
        insert_row(
            session,
            kind=kind,
            key=key,
            recipient=recipient,
            context=context,
            now=now,
            disagreement=disagreement,
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


def _holders(
    session: Session, disagreement: Disagreement, policy: Policy, role: str
) -> list[Recipient]:
    """Who plays `role` in this disagreement: the raiser, the current counterpart, whoever
    owned that role's stage most recently, or for the board's roles every holder of the role in
    the partnership. Nobody else: the directory is never asked to pick one of several."""
    if role == "raiser":
        return [Recipient(disagreement.raiser_email, "raiser")]
    if role == "counterpart":
        return [recipient for recipient in [_counterpart(disagreement)] if recipient]
    for period in reversed(disagreement.stages):
        if policy.stage(period.stage_key).owner_role == role:
            return [Recipient(period.owner.email, role)]
    if role in BOARD_ROLES:
        holders = role_holders(session, role, disagreement.partnership)
        return [Recipient(holder.email, role) for holder in holders]
    return []


def _counterpart(disagreement: Disagreement) -> Recipient | None:
    """The current stage's counterpart (the receiving side), if it has one."""
    counterpart = disagreement.stages[-1].counterpart if disagreement.stages else None
    return Recipient(counterpart.email, "counterpart") if counterpart else None


def board_managers(session: Session, partnership: str) -> list[Recipient]:
    return [
        Recipient(p.email, "board_manager")
        for p in role_holders(session, "board_manager", partnership)
    ]


def without(recipients: list[Recipient], email: str) -> list[Recipient]:
    return [recipient for recipient in recipients if recipient.email != email]


def _distinct(recipients: list[Recipient]) -> list[Recipient]:
    seen: set[str] = set()
    distinct = []
    for recipient in recipients:
        if recipient.email not in seen:
            seen.add(recipient.email)
            distinct.append(recipient)
    return distinct
