"""api key scope: key expiry; raisers named by an agency system are not listed for sign-in

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

import escalation.store.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(
            sa.Column("expires_at", escalation.store.db.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("people") as batch:
        batch.add_column(
            sa.Column("listed", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.drop_column("listed")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("expires_at")
