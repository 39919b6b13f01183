"""chronology: a hash chain per disagreement (head on the disagreement row) and seals over the
heads, in place of one global chain whose head row every writer locked

The existing events are verified against the old global chain first and the migration stops if
it is broken (re-chaining must never launder an edit); then each disagreement's events are
re-chained in their order, views set outside the chain. One way: downgrading would need the old
global order re-hashed, so it is refused (restore the backup taken before upgrading).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""

import hashlib
import json
import secrets
from datetime import UTC

import sqlalchemy as sa
from alembic import op

import escalation.store.db

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

INSTANT = escalation.store.db.UTCDateTime(timezone=True)
GENESIS = "0" * 64
MESSAGE = "the chronology is append-only"
EVENTS = sa.table(
    "events",
    sa.column("id", sa.Integer),
    sa.column("disagreement_id", sa.Integer),
    sa.column("seq", sa.Integer),
    sa.column("at", INSTANT),
    sa.column("actor", sa.String),
    sa.column("kind", sa.String),
    sa.column("from_stage", sa.String),
    sa.column("to_stage", sa.String),
    sa.column("note", sa.Text),
    sa.column("prev_hash", sa.String),
    sa.column("hash", sa.String),
)


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    old_columns = [column for column in EVENTS.c if column.name != "seq"]
    rows = bind.execute(sa.select(*old_columns).order_by(EVENTS.c.id)).mappings().all()
    _check_old_chain(bind, rows)
    _events_writable(postgres)
    op.add_column("events", sa.Column("seq", sa.Integer(), nullable=True))
    op.create_index("uq_events_chain", "events", ["disagreement_id", "seq"], unique=True)
    op.add_column(
        "disagreements",
        sa.Column("chain_seq", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column(
        "disagreements",
        sa.Column("chain_hash", sa.String(64), nullable=False, server_default=GENESIS),
    )
    op.add_column(
        "disagreements",
        sa.Column("anchored_seq", sa.Integer(), nullable=False, server_default="0"),
    )
    _rechain(bind, rows)
    where = sa.text("chain_seq > anchored_seq")
    op.create_index(
        "ix_disagreements_unanchored",
        "disagreements",
        ["id"],
        sqlite_where=where,
        postgresql_where=where,
    )
    _seal_tables()
    if postgres:
        _events_numbered_by_postgres(bind)
    op.drop_table("chain_head")
    _append_only(postgres, "events")


def _check_old_chain(bind, rows) -> None:
    head = bind.execute(sa.text("SELECT last_event_id, last_hash FROM chain_head")).one()
    previous, expected = GENESIS, 1
    for row in rows:
        canonical = [row["id"], *_content(row)]
        if (
            row["id"] != expected
            or row["prev_hash"] != previous
            or row["hash"] != _hash(previous, canonical)
        ):
            raise RuntimeError(
                f"the chronology is broken at event {expected}: not re-chained. Run "
                "`escalation audit verify` on the previous version and restore a backup."
            )
        previous, expected = row["hash"], expected + 1
    if tuple(head) != (expected - 1, previous):
        raise RuntimeError("the chronology's last events are missing (chain head): not re-chained")


def _rechain(bind, rows) -> None:
    heads: dict[int, tuple[int, str]] = {}
    for row in sorted(rows, key=lambda r: (r["disagreement_id"], r["id"])):
        disagreement_id = row["disagreement_id"]
        if row["kind"] == "view":
            seq, prev = None, secrets.token_hex(32)
        else:
            last_seq, prev = heads.get(disagreement_id, (0, GENESIS))
            seq = last_seq + 1
        new_hash = _hash(prev, [disagreement_id, seq, *_content(row)[1:]])
        bind.execute(
            EVENTS.update()
            .where(EVENTS.c.id == row["id"])
            .values(seq=seq, prev_hash=prev, hash=new_hash)
        )
        if seq is not None:
            heads[disagreement_id] = (seq, new_hash)
    for disagreement_id, (seq, head_hash) in heads.items():
        bind.execute(
            sa.text("UPDATE disagreements SET chain_seq = :seq, chain_hash = :hash WHERE id = :id"),
            {"seq": seq, "hash": head_hash, "id": disagreement_id},
        )


def _content(row) -> list:
    return [
        row["disagreement_id"],
        row["at"].astimezone(UTC).isoformat(),
        row["actor"],
        row["kind"],
        row["from_stage"],
        row["to_stage"],
        row["note"],
    ]


def _hash(previous: str, canonical: list) -> str:
    text = json.dumps(canonical, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((previous + text).encode()).hexdigest()


def _seal_tables() -> None:
    op.create_table(
        "chain_anchors",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", INSTANT, nullable=False),
        sa.Column("heads", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "anchor_entries",
        sa.Column("anchor_id", sa.Integer(), sa.ForeignKey("chain_anchors.id"), primary_key=True),
        sa.Column("disagreement_id", sa.Integer(), primary_key=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    _append_only(postgres, "chain_anchors")
    _append_only(postgres, "anchor_entries")


def _events_writable(postgres: bool) -> None:
    if postgres:
        op.execute("DROP TRIGGER IF EXISTS events_append_only ON events")
    else:
        op.execute("DROP TRIGGER IF EXISTS events_no_update")
        op.execute("DROP TRIGGER IF EXISTS events_no_delete")


def _append_only(postgres: bool, table: str) -> None:
    """The same guard 0001 put on events (its PostgreSQL function is shared)."""
    if postgres:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION events_append_only()"
        )
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )


def _events_numbered_by_postgres(bind) -> None:
    """Ids now come from the database (SQLite's INTEGER PRIMARY KEY already does this)."""
    op.execute("CREATE SEQUENCE events_id_seq OWNED BY events.id")
    op.execute(
        "SELECT setval('events_id_seq', COALESCE((SELECT max(id) FROM events), 0) + 1, false)"
    )
    op.execute("ALTER TABLE events ALTER COLUMN id SET DEFAULT nextval('events_id_seq')")


def downgrade() -> None:
    raise RuntimeError("0011 is one way: restore the backup taken before upgrading")
