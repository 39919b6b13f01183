"""endings: agreed actions and convened meetings, the raiser's say, formal stage records,
learning at every stage, and the watched state's clock

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

import escalation.store.db

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

INSTANT = escalation.store.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("disagreements") as batch:
        batch.add_column(sa.Column("resolution_state", sa.String(30), nullable=True))
        batch.add_column(sa.Column("watch_at", INSTANT, nullable=True))
        batch.add_column(sa.Column("learning_systemic", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("learning_lesson", sa.Text(), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("learning_recorded_by", sa.String(320), nullable=False, server_default="")
        )
    op.create_index("ix_disagreements_status_watch", "disagreements", ["status", "watch_at"])
    op.create_table(
        "agreed_actions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "disagreement_id", sa.Integer(), sa.ForeignKey("disagreements.id"), nullable=False
        ),
        sa.Column("stage_key", sa.String(60), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("what", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("meeting_at", INSTANT, nullable=True),
        sa.Column("place", sa.Text(), nullable=False),
        sa.Column("invitees", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(320), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("reminded_at", INSTANT, nullable=True),
        sa.Column("chased_at", INSTANT, nullable=True),
        sa.Column("ended", sa.String(20), nullable=True),
        sa.Column("ended_at", INSTANT, nullable=True),
        sa.Column("done_note", sa.Text(), nullable=False),
        sa.Column("attendees", sa.Text(), nullable=False),
    )
    op.create_index("ix_agreed_actions_disagreement_id", "agreed_actions", ["disagreement_id"])
    op.create_index("ix_agreed_actions_open", "agreed_actions", ["ended", "disagreement_id"])
    op.create_table(
        "resolution_says",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "disagreement_id", sa.Integer(), sa.ForeignKey("disagreements.id"), nullable=False
        ),
        sa.Column("stage_key", sa.String(60), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("part", sa.String(20), nullable=False),
        sa.Column("asked_at", INSTANT, nullable=False),
        sa.Column("due_at", INSTANT, nullable=False),
        sa.Column("answer", sa.String(30), nullable=True),
        sa.Column("answered_at", INSTANT, nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
    )
    op.create_index("ix_resolution_says_disagreement_id", "resolution_says", ["disagreement_id"])
    op.create_table(
        "stage_records",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "disagreement_id", sa.Integer(), sa.ForeignKey("disagreements.id"), nullable=False
        ),
        sa.Column("stage_key", sa.String(60), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("decided_at", INSTANT, nullable=False),
        sa.Column("signed_by", sa.String(200), nullable=False),
        sa.Column("signed_role", sa.String(200), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
    )
    op.create_index("ix_stage_records_disagreement_id", "stage_records", ["disagreement_id"])


def downgrade() -> None:
    op.drop_table("stage_records")
    op.drop_table("resolution_says")
    op.drop_table("agreed_actions")
    op.drop_index("ix_disagreements_status_watch", table_name="disagreements")
    with op.batch_alter_table("disagreements") as batch:
        for column in (
            "learning_recorded_by",
            "learning_lesson",
            "learning_systemic",
            "watch_at",
            "resolution_state",
        ):
            batch.drop_column(column)
