"""the sweep's due question has an index of its own: open rows neither ending nor flagged at the
final stage, shaped for each database's planner

The old partial index (due_at WHERE status = 'open' AND final_stage_overdue_at IS NULL) lost to
ix_disagreements_status_due, which walks every open row whose deadline has passed: those
overdue at the final stage (flagged, never due again) and those ending (due_at their next date).
SQLite 3.40's planner passes over a partial index that has fewer equality columns than a full
one; PostgreSQL took it for the claim but not for an EXISTS. An idle sweep then read all of them
on every run (10,000 flagged among 1,000,000 open: 3.5 ms a sweep on SQLite, 4 to 6 ms on
PostgreSQL). Now the whole question is the index's WHERE, so it reads one entry when nothing is
due: on PostgreSQL keyed by due_at alone (an index-only scan, a third of the other's cost); on
SQLite by (status, final_stage_overdue_at, resolution_state, due_at), more equality columns than
(status, due_at), the planner's choice whatever the statistics say.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

NAME = "ix_disagreements_actionable_due"
OLD = "status = 'open' AND final_stage_overdue_at IS NULL"
NEW = "status = 'open' AND resolution_state IS NULL AND final_stage_overdue_at IS NULL"
SQLITE_COLUMNS = ["status", "final_stage_overdue_at", "resolution_state", "due_at"]


def upgrade() -> None:
    op.drop_index(NAME, table_name="disagreements")
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.create_index(
        NAME,
        "disagreements",
        SQLITE_COLUMNS if sqlite else ["due_at"],
        sqlite_where=sa.text(NEW),
        postgresql_where=sa.text(NEW),
    )


def downgrade() -> None:
    op.drop_index(NAME, table_name="disagreements")
    op.create_index(
        NAME, "disagreements", ["due_at"], sqlite_where=sa.text(OLD), postgresql_where=sa.text(OLD)
    )
