"""link sessions: an emailed link shows the case only after Continue, in a short session

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

import escalation.store.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "link_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", escalation.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", escalation.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["token_id"], ["link_tokens.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("id_hash"),
    )
    op.create_index("ix_link_sessions_token_id", "link_sessions", ["token_id"])


def downgrade() -> None:
    op.drop_index("ix_link_sessions_token_id", table_name="link_sessions")
    op.drop_table("link_sessions")
