"""two-sided routing: organisations with agency types, professional groups, line managers,
several partnerships, primary role holders; each stage's counterpart and why each side holds it

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

import escalation.store.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

INSTANT = escalation.store.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(length=200), nullable=False, unique=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("agency_type", sa.String(length=40), nullable=False),
    )
    op.create_table(
        "person_partnerships",
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id"), primary_key=True),
        sa.Column("partnership", sa.String(length=100), primary_key=True),
    )
    op.create_index("ix_person_partnerships_partnership", "person_partnerships", ["partnership"])
    with op.batch_alter_table("people") as batch:
        batch.add_column(
            sa.Column("professional_group", sa.String(40), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("line_manager_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_people_line_manager", "people", ["line_manager_id"], ["id"])
    with op.batch_alter_table("person_roles") as batch:
        batch.add_column(
            sa.Column("is_primary", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("disagreements") as batch:
        batch.add_column(sa.Column("counterpart_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("other_area", sa.String(100), nullable=False, server_default=""))
        batch.add_column(sa.Column("counterpart_silent_at", INSTANT, nullable=True))
        batch.create_foreign_key(
            "fk_disagreements_counterpart", "people", ["counterpart_id"], ["id"]
        )
    with op.batch_alter_table("stage_periods") as batch:
        batch.add_column(sa.Column("owner_reason", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("counterpart_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("counterpart_reason", sa.Text(), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("counterpart_response", sa.String(30), nullable=True))
        batch.add_column(sa.Column("counterpart_responded_at", INSTANT, nullable=True))
        batch.add_column(sa.Column("counterpart_silent_at", INSTANT, nullable=True))
        batch.create_foreign_key(
            "fk_stage_periods_counterpart", "people", ["counterpart_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("stage_periods") as batch:
        batch.drop_constraint("fk_stage_periods_counterpart", type_="foreignkey")
        for column in (
            "counterpart_silent_at",
            "counterpart_responded_at",
            "counterpart_response",
            "counterpart_reason",
            "counterpart_id",
            "owner_reason",
        ):
            batch.drop_column(column)
    with op.batch_alter_table("disagreements") as batch:
        batch.drop_constraint("fk_disagreements_counterpart", type_="foreignkey")
        for column in ("counterpart_silent_at", "other_area", "counterpart_id"):
            batch.drop_column(column)
    with op.batch_alter_table("person_roles") as batch:
        batch.drop_column("is_primary")
    with op.batch_alter_table("people") as batch:
        batch.drop_constraint("fk_people_line_manager", type_="foreignkey")
        batch.drop_column("line_manager_id")
        batch.drop_column("professional_group")
    op.drop_index("ix_person_partnerships_partnership", "person_partnerships")
    op.drop_table("person_partnerships")
    op.drop_table("organisations")
