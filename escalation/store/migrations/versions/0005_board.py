"""board oversight: second factor, meetings, extensions, learning themes, dashboard indexes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

import escalation.store.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
    with op.batch_alter_table("disagreements") as batch:
        batch.add_column(sa.Column("learning_themes", sa.JSON(), nullable=True))
    with op.batch_alter_table("stage_periods") as batch:
        batch.add_column(
            sa.Column(
                "clock_started_at", escalation.store.db.UTCDateTime(timezone=True), nullable=True
            )
        )
    with op.batch_alter_table("web_sessions") as batch:
        batch.add_column(
            sa.Column(
                "second_factor_at", escalation.store.db.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch.add_column(
            sa.Column("failed_codes", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_index(
        "ix_disagreements_board",
        "disagreements",
        ["partnership", "status", "urgent", "due_at", "id"],
    )
    op.create_index(
        "ix_disagreements_board_stage",
        "disagreements",
        ["partnership", "status", "stage_key", "urgent", "due_at"],
    )
    op.create_index(
        "ix_disagreements_board_raised", "disagreements", ["partnership", "raised_at", "id"]
    )
    op.create_table(
        "resolution_meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("disagreement_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("attendees", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=320), nullable=False),
        sa.Column("recorded_at", escalation.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["disagreement_id"], ["disagreements.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_resolution_meetings_disagreement_id", "resolution_meetings", ["disagreement_id"]
    )
    op.create_table(
        "deadline_extensions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("disagreement_id", sa.Integer(), nullable=False),
        sa.Column("stage_period_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=320), nullable=False),
        sa.Column("requested_at", escalation.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=True),
        sa.Column("decided_by", sa.String(length=320), nullable=True),
        sa.Column("decided_at", escalation.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("new_due_at", escalation.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["disagreement_id"], ["disagreements.id"]),
        sa.ForeignKeyConstraint(["stage_period_id"], ["stage_periods.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_deadline_extensions_disagreement_id", "deadline_extensions", ["disagreement_id"]
    )


def downgrade() -> None:
    op.drop_table("deadline_extensions")
    op.drop_table("resolution_meetings")
    op.drop_index("ix_disagreements_board_raised", "disagreements")
    op.drop_index("ix_disagreements_board_stage", "disagreements")
    op.drop_index("ix_disagreements_board", "disagreements")
    with op.batch_alter_table("web_sessions") as batch:
        batch.drop_column("failed_codes")
        batch.drop_column("second_factor_at")
    with op.batch_alter_table("stage_periods") as batch:
        batch.drop_column("clock_started_at")
    with op.batch_alter_table("disagreements") as batch:
        batch.drop_column("learning_themes")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_secret")
