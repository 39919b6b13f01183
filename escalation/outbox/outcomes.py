"""What one email came to, recorded on its row; and the alerts of a run that stops sending.

- `prepare`: the message to send, or None when the row has nothing to send (not pending any
  more, or an owner's email whose stage has moved on: `superseded`).
- `record`: the server's answer, committed on its own. A `dead` or `failed_permanent` email to a
  stage owner offers the stage to their deputy and tells the board manager.
- `stop_sending`: the relay, not a mailbox, is at fault (authentication, TLS, relay or policy
  refusals, too many permanent failures in one run): an alert, and nothing recorded on the row.
"""

from __future__ import annotations

import logging
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy.orm import Session, sessionmaker

from escalation.casework import disagreements, health
from escalation.outbox import links
from escalation.outbox.kinds import OWNER_KINDS
from escalation.outbox.mail import CONFIG, RELAY, RETRY, SENT
from escalation.store.db import transaction
from escalation.store.models import Disagreement, OutboxMessage

log = logging.getLogger(__name__)

BURST = "burst"  # more permanent failures in one run than the limit allows
# Why a run stops sending: the alert each raises (key, kind) and what it says.
STOPS = {
    CONFIG: ("smtp/config", "smtp_config", "the mail relay refused to send ({detail})"),
    RELAY: (
        "smtp/relay",
        "smtp_relay",
        "the mail relay refused an email by its own policy, not for a bad mailbox ({detail})",
    ),
    BURST: (
        "smtp/permanent",
        "smtp_permanent_burst",
        "more than {limit} emails in one run were refused as undeliverable (the last: "
        "{detail}); the run stopped in case the relay, not the mailboxes, is at fault",
    ),
}


def prepare(delivery, row_id: int, now: datetime, summary) -> EmailMessage | None:
    with transaction(delivery.sessions) as session:
        row = session.get(OutboxMessage, row_id)
        if row is None or row.status != "pending":
            return None
        if moved_on(session, row):
            row.status, row.locked_until, row.last_error = "superseded", None, "stage moved on"
            summary.superseded += 1
            return None
        link = links.link_for(session, row, base_url=delivery.base_url, now=now)
        several = links.links_for(session, row, base_url=delivery.base_url, now=now)
        return delivery.renderer.render(row, link=link, links=several, now=now)


def moved_on(session: Session, row: OutboxMessage) -> bool:
    """An owner's email (stage_assigned, reminder) for a stage the case has left, or a closed case."""
    if row.kind not in OWNER_KINDS or row.disagreement_id is None:
        return False
    case = session.get(Disagreement, row.disagreement_id)
    return not case.is_open or case.stage_key != row.stage_key


def record(delivery, row_id, outcome, detail, now, rng, summary) -> None:
    with transaction(delivery.sessions) as session:
        row = session.get(OutboxMessage, row_id, with_for_update=True)
        if row is None or row.status != "pending":
            return
        row.attempts += 1
        row.locked_until = None
        if outcome == SENT:
            row.status, row.sent_at, row.last_error = "sent", now, ""
            summary.sent += 1
            return
        row.last_error = detail
        next_attempt = (
            delivery.retry.next_attempt(row.attempts, now, rng) if outcome == RETRY else None
        )
        if next_attempt is not None:
            row.next_attempt_at = next_attempt
            summary.retrying += 1
            return
        row.status = "dead" if outcome == RETRY else "failed_permanent"
        if row.status == "dead":
            summary.dead += 1
        else:
            summary.failed_permanent += 1
        log.error(
            "email %s to %s is %s: %s", row.message_id, row.recipient_email, row.status, detail
        )
        _owner_unreachable(session, row, now)


def _owner_unreachable(session: Session, row: OutboxMessage, now: datetime) -> None:
    if row.kind not in OWNER_KINDS or row.recipient_role != "owner" or row.disagreement_id is None:
        return
    reference = session.get(Disagreement, row.disagreement_id).reference
    what = disagreements.offer_to_deputy(
        session,
        reference=reference,
        undeliverable_email=row.recipient_email,
        now=now,
        error=row.last_error,
    )
    log.warning("%s: owner %s unreachable: %s", reference, row.recipient_email, what)


def stop_sending(sessions: sessionmaker[Session], why: str, detail: str, now, limit=0) -> str:
    """Raise the alert for stopping (`why` is a key of STOPS); the emails wait, unsent and
    untouched. Returns why, in a line (the run's `stopped`)."""
    key, kind, text = STOPS[why]
    message = text.format(detail=detail, limit=limit)
    log.error("%s: sending stopped, emails stay pending", message)
    with transaction(sessions) as session:
        health.raise_alert(
            session,
            key=key,
            kind=kind,
            message=f"{message}; emails are waiting, unsent",
            now=now,
        )
    return message if why == BURST else detail


def relay_works_again(sessions: sessionmaker[Session], now: datetime) -> None:
    """A run sent mail and did not stop: the relay's alerts are over."""
    with transaction(sessions) as session:
        for key, _, _ in STOPS.values():
            health.clear_alert(session, key=key, now=now)
