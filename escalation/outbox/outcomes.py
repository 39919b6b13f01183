"""What one email came to, recorded on its row; and the alerts of a run that stops sending.

- `prepare`: the message to send, or None when the row has nothing to send (not pending any
  more, or an owner's email whose stage has moved on: `superseded`).
- `prepare_batch`: a run's batch at once, in one transaction: claim, settle the superseded, mint
  the link tokens, render (one commit for the batch, not two a message).
- `record`: the server's answer, committed on its own. A `dead` or `failed_permanent` email to a
  stage owner offers the stage to their deputy and tells the board manager.
- `record_many`: a group of answers; the sent ones in one UPDATE and one commit.
- `stop_sending`: the relay, not a mailbox, is at fault (authentication, TLS, relay or policy
  refusals, too many permanent failures in one run): an alert, and nothing recorded on the row.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from escalation.casework import disagreements, health
from escalation.outbox import links
from escalation.outbox.kinds import OWNER_KINDS
from escalation.outbox.leases import claim_rows
from escalation.outbox.mail import CONFIG, PERMANENT, RELAY, RETRY, SENT, Wire
from escalation.store.db import transaction
from escalation.store.models import Disagreement, OutboxMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: attempt n waits base*2^(n-1) (capped), between half and
    all of it. After `max_attempts` the row is `dead` (defaults: about 17 hours in all)."""

    base_seconds: float = 60
    cap_seconds: float = 3600
    max_attempts: int = 24

    def next_attempt(self, attempts: int, now: datetime, rng: random.Random) -> datetime | None:
        if attempts >= self.max_attempts:
            return None
        delay = min(self.cap_seconds, self.base_seconds * 2 ** (attempts - 1))
        return now + timedelta(seconds=delay * (0.5 + rng.random() / 2))


@dataclass
class DeliverySummary:
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    failed_permanent: int = 0
    superseded: int = 0  # an owner's email for a stage that had moved on: not sent
    stopped: str = ""  # why sending stopped early (the relay's fault), if it did
    batches: int = 0  # how many batches this run claimed

    def as_dict(self) -> dict:
        return dict(self.__dict__)


BURST = "burst"  # more permanent failures in one run than the limit allows
STOPPING = (CONFIG, RELAY, BURST)  # the relay's fault: the run stops sending
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


@dataclass(frozen=True)
class Prepared:
    """A claimed row ready to send (`message`), or one that could not be rendered (`error`)."""

    row_id: int
    message: Wire | None
    error: str = ""


def prepare(delivery, row_id: int, now: datetime, summary) -> Wire | None:
    with transaction(delivery.sessions) as session:
        row = session.get(OutboxMessage, row_id)
        if row is None or row.status != "pending":
            return None
        if moved_on(session, row):
            _supersede(row, summary)
            return None
        return _render(session, delivery, row, now)


def prepare_batch(delivery, now: datetime, size: int, summary) -> tuple[int, list[Prepared]]:
    """Claim up to `size` rows and make each ready, in one transaction: (how many were claimed,
    those to send). A row that cannot be rendered is reported, its tokens not kept."""
    with transaction(delivery.sessions) as session:
        rows = claim_rows(session, now, size, delivery.lease)
        cases = _cases(session, rows)
        ready = []
        for row in rows:
            if row.disagreement_id in cases and _stale(row, *cases[row.disagreement_id]):
                _supersede(row, summary)
                continue
            before = set(session.new)
            try:
                ready.append(Prepared(row.id, _render(session, delivery, row, now)))
            except DBAPIError:
                raise
            except Exception as error:
                log.exception("could not prepare email %s", row.id)
                for minted in set(session.new) - before:
                    session.expunge(minted)
                detail = f"could not prepare the message: {type(error).__name__}: {error}"
                ready.append(Prepared(row.id, None, detail[:500]))
        return len(rows), ready


def _render(session: Session, delivery, row: OutboxMessage, now: datetime) -> Wire:
    link = links.link_for(session, row, base_url=delivery.base_url, now=now)
    several = links.links_for(session, row, base_url=delivery.base_url, now=now)
    return delivery.renderer.wire(row, link=link, links=several, now=now)


def _cases(session: Session, rows: list[OutboxMessage]) -> dict[int, tuple[str, str]]:
    """(status, stage) of the owner emails' disagreements, in one query."""
    wanted = {r.disagreement_id for r in rows if r.kind in OWNER_KINDS and r.disagreement_id}
    if not wanted:
        return {}
    query = select(Disagreement.id, Disagreement.status, Disagreement.stage_key)
    return {id_: (s, k) for id_, s, k in session.execute(query.where(Disagreement.id.in_(wanted)))}


def _stale(row: OutboxMessage, status: str, stage_key: str) -> bool:
    """moved_on, from the case's status and stage."""
    return row.kind in OWNER_KINDS and (status != "open" or stage_key != row.stage_key)


def _supersede(row: OutboxMessage, summary) -> None:
    row.status, row.locked_until, row.last_error = "superseded", None, "stage moved on"
    summary.superseded += 1


def moved_on(session: Session, row: OutboxMessage) -> bool:
    """An owner's email (stage_assigned, reminder) for a stage the case has left, or a closed case."""
    if row.kind not in OWNER_KINDS or row.disagreement_id is None:
        return False
    case = session.get(Disagreement, row.disagreement_id)
    return not case.is_open or case.stage_key != row.stage_key


def record_many(delivery, group: list[tuple[int, str, str]], now, rng, summary) -> None:
    """Record a group of answers: the sent ones in one UPDATE and one commit, the rest (rare)
    one by one, as `record` does."""
    sent = [row_id for row_id, outcome, _ in group if outcome == SENT]
    if sent:
        with transaction(delivery.sessions) as session:
            done = session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(sent), OutboxMessage.status == "pending")
                .values(
                    status="sent",
                    sent_at=now,
                    last_error="",
                    locked_until=None,
                    attempts=OutboxMessage.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
            summary.sent += done.rowcount
    for row_id, outcome, detail in group:
        if outcome != SENT:
            record(delivery, row_id, outcome, detail, now, rng, summary)


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


def admit(limit: int, run, outcome: str) -> str:
    """A permanent failure past the run's limit stops the run (BURST) instead of being recorded.
    Counted in the event loop (by the caller), so parallel connections cannot overshoot."""
    if outcome != PERMANENT:
        return outcome
    if run.permanent >= limit:
        return BURST
    run.permanent += 1
    return outcome


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
