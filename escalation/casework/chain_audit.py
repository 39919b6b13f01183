"""`audit verify`: walk the seals, then every disagreement's chain, and report the first problem.

Found: an edited event (its hash), an inserted, reordered or deleted one (a seq missing or a
broken link), a deleted tail (the head on the disagreement, or the last seal, is further on), a
deleted disagreement (a seal still names it), an edited or deleted seal (the seals' own chain and
digests), an edited view (its own hash). Not found: a deleted view, and a tail or disagreement
deleted before any seal covered it together with its head (at most one sweep interval of work,
see chain_anchor.py), or the newest seals deleted as a whole: keep the newest seal's hash
elsewhere (`audit verify` prints it; `--expect-seal` checks it is still in the chain of seals,
however many came after it).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation.casework.chain_anchor import anchor_hash, entries_digest
from escalation.casework.chronology import GENESIS_HASH, HEADS, event_hash
from escalation.store.models import AnchorEntry, ChainAnchor, Event

BATCH = 1000


@dataclass(frozen=True)
class ChainReport:
    checked: int  # events verified before the problem (all of them when there is none)
    seals: int = 0
    newest_seal: str = ""
    problem: str = ""
    event_id: int | None = None
    disagreement_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problem


class Broken(Exception):
    def __init__(self, problem: str, *, event_id=None, disagreement_id=None) -> None:
        super().__init__(problem)
        self.problem, self.event_id, self.disagreement_id = problem, event_id, disagreement_id


def verify_chain(session: Session, expect_seal: str | None = None) -> ChainReport:
    """Everything checked in order; the first problem stops the walk."""
    walk = _Walk(session)
    try:
        walk.seals(expect_seal)
        walk.chains()
        walk.views()
    except Broken as broken:
        return ChainReport(
            walk.checked,
            walk.seal_count,
            walk.newest_seal,
            broken.problem,
            broken.event_id,
            broken.disagreement_id,
        )
    return ChainReport(walk.checked, walk.seal_count, walk.newest_seal)


class _Walk:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.checked, self.seal_count, self.newest_seal = 0, 0, ""
        self.sealed: dict[int, tuple[int, str]] = {}  # disagreement id: its last sealed head

    def seals(self, expect_seal: str | None) -> None:
        anchors = self.session.execute(select(ChainAnchor).order_by(ChainAnchor.id)).scalars()
        entries = self.session.execute(
            select(AnchorEntry).order_by(AnchorEntry.anchor_id, AnchorEntry.disagreement_id)
        ).scalars()
        by_anchor = {key: list(group) for key, group in groupby(entries, lambda e: e.anchor_id)}
        previous, seen = GENESIS_HASH, set()
        for anchor in anchors:
            self._check_seal(anchor, previous, by_anchor.pop(anchor.id, []))
            previous, self.seal_count = anchor.hash, self.seal_count + 1
            seen.add(anchor.hash)
        self.newest_seal = previous if self.seal_count else ""
        if by_anchor:
            raise Broken(f"seal {min(by_anchor)} is missing (its entries remain)")
        if expect_seal and expect_seal not in seen:
            raise Broken(
                f"seal {expect_seal}, kept elsewhere, is not in the chain of seals: it and the "
                "seals after it were deleted or changed"
            )

    def _check_seal(self, anchor: ChainAnchor, previous: str, entries: list) -> None:
        rows = [(e.disagreement_id, e.seq, e.hash) for e in entries]
        if anchor.prev_hash != previous:
            raise Broken(f"seal {anchor.id}: its link to the seal before is broken")
        if anchor.hash != anchor_hash(anchor):
            raise Broken(f"seal {anchor.id}: its content does not match its hash")
        if len(rows) != anchor.heads or entries_digest(rows) != anchor.digest:
            raise Broken(f"seal {anchor.id}: its entries were changed or deleted")
        for disagreement_id, seq, head_hash in rows:
            self.sealed[disagreement_id] = (seq, head_hash)

    def chains(self) -> None:
        heads = dict(
            (i, (s, h))
            for i, s, h in self.session.execute(
                select(HEADS.c.id, HEADS.c.chain_seq, HEADS.c.chain_hash)
            )
        )
        chained = self.session.execute(
            select(Event)
            .where(Event.seq.is_not(None))
            .order_by(Event.disagreement_id, Event.seq)
            .execution_options(yield_per=BATCH)
        ).scalars()
        for disagreement_id, events in groupby(chained, lambda e: e.disagreement_id):
            self._chain(disagreement_id, events, heads.pop(disagreement_id, None))
        for disagreement_id, head in sorted(heads.items()):  # every event of theirs deleted
            self._ends(disagreement_id, 0, GENESIS_HASH, head, None)
        for disagreement_id, (seq, _) in sorted(self.sealed.items()):
            raise Broken(
                f"disagreement {disagreement_id} is missing (a seal covered it at event {seq})",
                disagreement_id=disagreement_id,
            )

    def _chain(self, disagreement_id: int, events, head) -> None:
        expected, previous, last_id, sealed_hash = 1, GENESIS_HASH, None, None
        sealed = self.sealed.get(disagreement_id)
        for event in events:
            self._event(event, expected, previous)
            if sealed and event.seq == sealed[0]:
                sealed_hash = event.hash
            expected, previous, last_id = event.seq + 1, event.hash, event.id
            self.checked += 1
        if head is None:
            raise Broken("events of a disagreement that no longer exists", event_id=last_id)
        self._ends(disagreement_id, expected - 1, previous, head, sealed_hash)

    def _event(self, event: Event, expected: int, previous: str) -> None:
        where = {"event_id": event.id, "disagreement_id": event.disagreement_id}
        if event.seq != expected:
            raise Broken(
                f"disagreement {event.disagreement_id}: event {expected} of its record is "
                f"missing (the next is {event.seq})",
                **where,
            )
        if event.prev_hash != previous:
            raise Broken("its link to the previous event is broken", **where)
        if event.hash != event_hash(event):
            raise Broken(
                "its content does not match its hash (changed after it was written)", **where
            )

    def _ends(self, disagreement_id, last_seq, last_hash, head, sealed_hash) -> None:
        """The chain ends where its head and its last seal say it does."""
        where = {"disagreement_id": disagreement_id}
        if (last_seq, last_hash) != tuple(head):
            raise Broken(
                f"disagreement {disagreement_id}: its record ends at event {last_seq}, its head "
                f"says {head[0]}: events after {last_seq} are missing or changed",
                **where,
            )
        sealed = self.sealed.pop(disagreement_id, None)
        if sealed and (sealed[0] > last_seq or sealed[1] != sealed_hash):
            raise Broken(
                f"disagreement {disagreement_id}: a seal covered its record to event {sealed[0]}; "
                f"it now ends at event {last_seq} or differs: events were deleted or changed",
                **where,
            )

    def views(self) -> None:
        views = self.session.execute(
            select(Event)
            .where(Event.seq.is_(None))
            .order_by(Event.id)
            .execution_options(yield_per=BATCH)
        ).scalars()
        for event in views:
            if event.hash != event_hash(event):
                raise Broken(
                    "a recorded view does not match its hash (changed after it was written)",
                    event_id=event.id,
                    disagreement_id=event.disagreement_id,
                )
            self.checked += 1
