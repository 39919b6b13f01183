"""The chronology: an append-only, hash-chained record of every event on every disagreement.

Each row stores the previous row's hash and SHA-256(previous hash + canonical row). Writers lock
the single chain-head row (FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises
writers), so rows form one order. Changing, deleting or inserting a row breaks every later hash;
`verify_chain` finds the first break. Tamper-evident, not tamper-proof: the database also refuses
UPDATE and DELETE on the table (triggers), and the head hash can be copied elsewhere as an anchor.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation.store.models import ChainHead, Disagreement, Event

GENESIS_HASH = "0" * 64


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
) -> Event:
    """Add one chained event in the caller's transaction (which must also hold the state change)."""
    head = session.execute(
        select(ChainHead).where(ChainHead.id == 1).with_for_update()
    ).scalar_one()
    if disagreement.id is None:
        session.flush()
    event = Event(
        id=head.last_event_id + 1,
        disagreement_id=disagreement.id,
        at=at.astimezone(UTC),
        actor=actor,
        kind=kind,
        from_stage=from_stage,
        to_stage=to_stage,
        note=note,
        prev_hash=head.last_hash,
    )
    event.hash = event_hash(event)
    session.add(event)
    head.last_event_id, head.last_hash = event.id, event.hash
    return event


def event_hash(event: Event) -> str:
    canonical = json.dumps(
        [
            event.id,
            event.disagreement_id,
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


@dataclass(frozen=True)
class ChainReport:
    checked: int
    first_broken_id: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.first_broken_id is None


def verify_chain(session: Session) -> ChainReport:
    """Walk the whole chronology in order; report the first row whose link or content is wrong."""
    expected_id, previous = 1, GENESIS_HASH
    checked = 0
    rows = session.execute(select(Event).order_by(Event.id).execution_options(yield_per=1000))
    for event in rows.scalars():
        problem = _row_problem(event, expected_id, previous)
        if problem:
            return ChainReport(checked, event.id, problem)
        checked += 1
        expected_id, previous = event.id + 1, event.hash
    head = session.get(ChainHead, 1)
    if head is None or head.last_hash != previous or head.last_event_id != expected_id - 1:
        return ChainReport(checked, expected_id, "rows after this point are missing (chain head)")
    return ChainReport(checked)


def _row_problem(event: Event, expected_id: int, previous: str) -> str:
    if event.id != expected_id:
        return f"event {expected_id} is missing (next row is {event.id})"
    if event.prev_hash != previous:
        return "its link to the previous event is broken"
    if event.hash != event_hash(event):
        return "its content does not match its hash (changed after it was written)"
    return ""
