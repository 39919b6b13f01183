"""The anchor: seals every disagreement's chain head that moved since the last seal.

A seal (chain_anchors) records, for each such disagreement, its head's seq and hash
(anchor_entries), a digest over those entries, and the previous seal's hash: the seals form one
chain of their own. A deleted tail (even with the head rolled back) or a deleted disagreement
that a seal covered no longer matches it (casework/chain_audit.py). The sweep seals at the end of
each run, so what is not yet sealed is at most one sweep interval old.

Only heads that moved are read (a partial index on chain_seq > anchored_seq), so a seal costs
what changed, not what exists. Seals are taken one at a time (an advisory lock on PostgreSQL,
BEGIN IMMEDIATE on SQLite; a unique `prev_hash` refuses a fork if both ever failed). Events
never wait for a seal: it locks no disagreement; a head that moves while it runs is sealed at
its old seq now and at its new one next time.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.orm import Session

from escalation.casework.chronology import GENESIS_HASH, HEADS
from escalation.store.models import AnchorEntry, ChainAnchor

SEAL_LOCK = 4_602_017  # the PostgreSQL advisory lock that takes seals one at a time
_SET_ANCHORED = (
    update(HEADS)
    .where(HEADS.c.id == bindparam("head_id"))
    .values(anchored_seq=bindparam("head_seq"))
)


def seal(session: Session, now: datetime) -> ChainAnchor | None:
    """Seal every head that moved since the last seal, in the caller's transaction; None when
    nothing moved."""
    session.flush()  # heads moved in this transaction by the ORM are read back from the rows
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEAL_LOCK})
    moved = session.execute(
        select(HEADS.c.id, HEADS.c.chain_seq, HEADS.c.chain_hash)
        .where(HEADS.c.chain_seq > HEADS.c.anchored_seq)
        .order_by(HEADS.c.id)
    ).all()
    if not moved:
        return None
    last = session.execute(
        select(ChainAnchor.hash).order_by(ChainAnchor.id.desc()).limit(1)
    ).scalar()
    anchor = ChainAnchor(
        at=now.astimezone(UTC),
        heads=len(moved),
        digest=entries_digest(moved),
        prev_hash=last or GENESIS_HASH,
    )
    anchor.hash = anchor_hash(anchor)
    session.add(anchor)
    session.flush()
    entries = [
        {"anchor_id": anchor.id, "disagreement_id": i, "seq": s, "hash": h} for i, s, h in moved
    ]
    session.execute(insert(AnchorEntry), entries)
    session.execute(_SET_ANCHORED, [{"head_id": i, "head_seq": s} for i, s, _ in moved])
    return anchor


def entries_digest(entries) -> str:
    """SHA-256 over (disagreement id, seq, hash) rows, in disagreement order."""
    digest = hashlib.sha256()
    for disagreement_id, seq, head_hash in entries:
        digest.update(f"{disagreement_id}:{seq}:{head_hash}\n".encode())
    return digest.hexdigest()


def anchor_hash(anchor: ChainAnchor) -> str:
    canonical = json.dumps(
        [anchor.at.astimezone(UTC).isoformat(), anchor.heads, anchor.digest],
        separators=(",", ":"),
    )
    return hashlib.sha256((anchor.prev_hash + canonical).encode()).hexdigest()
