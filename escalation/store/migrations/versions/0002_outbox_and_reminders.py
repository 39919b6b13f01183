"""outbox, link tokens, alerts, heartbeats, reminders

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

import escalation.store.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("first_at", escalation.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_at", escalation.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("cleared_at", escalation.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_table(
        "heartbeats",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("last_started_at", escalation.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "last_completed_at", escalation.store.db.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=500), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("disagreement_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("stage_key", sa.String(length=60), nullable=True),
        sa.Column("recipient_email", sa.String(length=320), nullable=False),
        sa.Column("recipient_role", sa.String(length=40), nullable=False),
        sa.Column("link_purpose", sa.String(length=20), nullable=True),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at", escalation.store.db.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("locked_until", escalation.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", escalation.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", escalation.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["disagreement_id"],
            ["disagreements.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
        sa.UniqueConstraint("message_id"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbox_disagreement_id"), ["disagreement_id"], unique=False
        )
        batch_op.create_index(
            "ix_outbox_status_next_attempt", ["status", "next_attempt_at"], unique=False
        )

    op.create_table(
        "link_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("disagreement_id", sa.Integer(), nullable=True),
        sa.Column("stage_key", sa.String(length=60), nullable=True),
        sa.Column("recipient_email", sa.String(length=320), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("created_at", escalation.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", escalation.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", escalation.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["disagreement_id"],
            ["disagreements.id"],
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("link_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_link_tokens_outbox_id"), ["outbox_id"], unique=False)

    with op.batch_alter_table("disagreements", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("remind_at", escalation.store.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            "ix_disagreements_status_remind", ["status", "remind_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("disagreements", schema=None) as batch_op:
        batch_op.drop_index("ix_disagreements_status_remind")
        batch_op.drop_column("remind_at")

    with op.batch_alter_table("link_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_link_tokens_outbox_id"))

    op.drop_table("link_tokens")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_status_next_attempt")
        batch_op.drop_index(batch_op.f("ix_outbox_disagreement_id"))

    op.drop_table("outbox")
    op.drop_table("heartbeats")
    op.drop_table("alerts")
