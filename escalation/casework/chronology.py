"""The chronology: an append-only, hash-chained record of every event on every disagreement.

Each disagreement's events form their own chain: event `seq` n stores the hash of event n - 1
(the genesis hash for the first) and SHA-256(previous hash + canonical row). The disagreement row
holds its chain's head (`chain_seq`, `chain_hash`); a writer locks that one row (FOR UPDATE on
PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers), so two disagreements' events
never wait for each other and sweeps or workers in parallel scale out. Changing, deleting or
inserting an event breaks its chain from that point; the anchor (casework/chain_anchor.py)
periodically seals every head that moved, so a deleted tail or a whole deleted disagreement is
found too (casework/chain_audit.py). Tamper-evident, not tamper-proof: the database also refuses
UPDATE and DELETE on the table (triggers), and the newest seal's hash can be kept elsewhere.

A view (someone opened the case) is on the record but outside the chain: it takes no lock and
moves no head, so reads never queue behind writes. Its `prev_hash` is a random salt, so its hash
still shows an edit, but a deleted view is not detected. Decision: views are the bulk of events
(every API read records one) and carry no decision; serialising them behind each disagreement's
writers would make reading wait for the sweep.

A writer that already holds the row's lock (the sweep's claim, every action through
lifecycle.locked) moves the head with its own UPDATE of the row. Any other writer locks the row
and moves the head with Core, outside the ORM's `row_version` check: appending to the record is
not a change to the disagreement, and must not make a concurrent action on it fail.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC, datetime
from types import SimpleNamespace

from sqlalchemy import insert, inspect, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from escalation.store.models import Disagreement, Event

GENESIS_HASH = "0" * 64
UNCHAINED = frozenset({"view"})
HEADS = Disagreement.__table__
_INSERT = insert(Event.__table__)


def append_event(
    session: Session,
    *,
    disagreement: Disagreement,
    at: datetime,
    actor: str,
    kind: str,
    from_stage: str | None = None,
    to_stage: str | None = None,
    note: str = "",
    locked: bool = False,
) -> None:
    """Add one event in the caller's transaction (which must also hold the state change).
    `locked`: the caller read `disagreement` under its row lock in this transaction, so its head
    is current and moves with the ORM's own UPDATE of the row (no statement of its own). The
    event is a plain INSERT, sent now: nothing reads it back as an object."""
    if disagreement.id is None:  # raised in this transaction: nobody else can see it yet
        session.flush()
        locked = True
    event = SimpleNamespace(
        disagreement_id=disagreement.id,
        seq=None,
        at=at.astimezone(UTC),
        actor=actor,
        kind=kind,
        from_stage=from_stage,
        to_stage=to_stage,
        note=note,
    )
    if kind in UNCHAINED:
        event.prev_hash = secrets.token_hex(32)
        event.hash = event_hash(event)
    elif locked:
        _link(event, disagreement.chain_seq or 0, disagreement.chain_hash or GENESIS_HASH)
        disagreement.chain_seq, disagreement.chain_hash = event.seq, event.hash
    else:
        _chain(session, disagreement, event)
    session.connection().execute(_INSERT, vars(event))


def _chain(session: Session, disagreement: Disagreement, event: SimpleNamespace) -> None:
    """Lock the disagreement's row, link the event to its head and move the head (Core: the row
    is not otherwise changed, so its version stays)."""
    if inspect(disagreement).attrs.chain_seq.history.has_changes():
        session.flush()  # a head moved earlier in this transaction is read back from the row
    head = HEADS.c.id == disagreement.id
    connection = session.connection()
    seq, prev_hash = connection.execute(
        select(HEADS.c.chain_seq, HEADS.c.chain_hash).where(head).with_for_update(key_share=True)
    ).one()
    _link(event, seq, prev_hash)
    connection.execute(update(HEADS).where(head).values(chain_seq=event.seq, chain_hash=event.hash))
    set_committed_value(disagreement, "chain_seq", event.seq)
    set_committed_value(disagreement, "chain_hash", event.hash)


def _link(event: SimpleNamespace, seq: int, prev_hash: str) -> None:
    event.seq, event.prev_hash = seq + 1, prev_hash
    event.hash = event_hash(event)


def event_hash(event: Event) -> str:
    canonical = json.dumps(
        [
            event.disagreement_id,
            event.seq,
            event.at.astimezone(UTC).isoformat(),
            event.actor,
            event.kind,
            event.from_stage,
            event.to_stage,
            event.note,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256((event.prev_hash + canonical).encode()).hexdigest()


def events_of(session: Session, disagreement: Disagreement) -> list[Event]:
    """One disagreement's chronology, in the order it was written (every view shows this)."""
    return list(
        session.execute(
            select(Event).where(Event.disagreement_id == disagreement.id).order_by(Event.id)
        ).scalars()
    )
