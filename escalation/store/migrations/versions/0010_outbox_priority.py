"""outbox priority: alarms are claimed before routine mail (a stored column the database
computes from the kind, indexed for the delivery run's claim)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# The same SQL as store/models.OutboxMessage.PRIORITY_SQL at this revision (frozen here).
PRIORITY_SQL = (
    "CASE WHEN kind IN ('sweep_stalled', 'undeliverable') THEN 0 "
    "WHEN kind IN ('sign_in', 'fresh_links') THEN 1 ELSE 2 END"
)


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(
            sa.Column("priority", sa.SmallInteger(), sa.Computed(PRIORITY_SQL, persisted=True))
        )
    op.create_index("ix_outbox_claim", "outbox", ["status", "priority", "next_attempt_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_claim", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("priority")
