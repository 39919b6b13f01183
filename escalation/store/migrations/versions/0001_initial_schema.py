"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24

The chronology (events) is append-only: triggers refuse UPDATE and DELETE on SQLite and
PostgreSQL. In production also REVOKE UPDATE, DELETE, TRUNCATE ON events from the app's role.
"""

import sqlalchemy as sa
from alembic import op

import escalation.store.db

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chain_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "people",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("partnership", sa.String(length=100), nullable=False),
        sa.Column("job_title", sa.String(length=200), nullable=False),
        sa.Column("deputy_id", sa.Integer(), nullable=True),
        sa.Column("absent_from", sa.Date(), nullable=True),
        sa.Column("absent_until", sa.Date(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deputy_id"],
            ["people.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_people_partnership"), ["partnership"], unique=False)

    op.create_table(
        "policy_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.String(length=100), nullable=False),
        sa.Column("version", sa.String(length=50), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("recorded_at", escalation.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("policy_id", "version"),
    )
    op.create_table(
        "disagreements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("partnership", sa.String(length=100), nullable=False),
        sa.Column("policy_id", sa.String(length=100), nullable=False),
        sa.Column("policy_version", sa.String(length=50), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("stage_key", sa.String(length=60), nullable=False),
        sa.Column("stage_index", sa.Integer(), nullable=False),
        sa.Column(
            "stage_entered_at", escalation.store.db.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "stage_acknowledged_at", escalation.store.db.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("due_at", escalation.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column(
            "final_stage_overdue_at", escalation.store.db.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("raised_at", escalation.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", escalation.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("raised_by_id", sa.Integer(), nullable=False),
        sa.Column("raiser_name", sa.String(length=200), nullable=False),
        sa.Column("raiser_email", sa.String(length=320), nullable=False),
        sa.Column("raiser_role", sa.String(length=200), nullable=False),
        sa.Column("raiser_organisation", sa.String(length=200), nullable=False),
        sa.Column("counterpart_name", sa.String(length=200), nullable=False),
        sa.Column("counterpart_email", sa.String(length=320), nullable=False),
        sa.Column("counterpart_role", sa.String(length=200), nullable=False),
        sa.Column("counterpart_organisation", sa.String(length=200), nullable=False),
        sa.Column("child_reference", sa.String(length=100), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("decision_disputed", sa.Text(), nullable=False),
        sa.Column("decision_date", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("outcome_sought", sa.Text(), nullable=False),
        sa.Column("immediate_risk", sa.Boolean(), nullable=False),
        sa.Column("protective_action", sa.Text(), nullable=False),
        sa.Column("level_of_need", sa.String(length=100), nullable=False),
        sa.Column("outcome", sa.String(length=60), nullable=True),
        sa.Column("outcome_summary", sa.Text(), nullable=True),
        sa.Column("resolved_stage", sa.String(length=60), nullable=True),
        sa.Column("closed_at", escalation.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["people.id"],
        ),
        sa.ForeignKeyConstraint(
            ["raised_by_id"],
            ["people.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
        sa.UniqueConstraint("reference"),
    )
    with op.batch_alter_table("disagreements", schema=None) as batch_op:
        batch_op.create_index(
            "ix_disagreements_actionable_due",
            ["due_at"],
            unique=False,
            sqlite_where=sa.text("status = 'open' AND final_stage_overdue_at IS NULL"),
            postgresql_where=sa.text("status = 'open' AND final_stage_overdue_at IS NULL"),
        )
        batch_op.create_index(
            batch_op.f("ix_disagreements_child_reference"), ["child_reference"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_disagreements_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_disagreements_partnership"), ["partnership"], unique=False
        )
        batch_op.create_index("ix_disagreements_status_due", ["status", "due_at"], unique=False)

    op.create_table(
        "person_roles",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
        ),
        sa.PrimaryKeyConstraint("person_id", "role"),
    )
    with op.batch_alter_table("person_roles", schema=None) as batch_op:
        batch_op.create_index("ix_person_roles_role", ["role"], unique=False)

    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("disagreement_id", sa.Integer(), nullable=False),
        sa.Column("at", escalation.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("from_stage", sa.String(length=60), nullable=True),
        sa.Column("to_stage", sa.String(length=60), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["disagreement_id"],
            ["disagreements.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hash"),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_events_disagreement_id"), ["disagreement_id"], unique=False
        )

    op.create_table(
        "stage_periods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("disagreement_id", sa.Integer(), nullable=False),
        sa.Column("stage_key", sa.String(length=60), nullable=False),
        sa.Column("stage_index", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("entered_at", escalation.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", escalation.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", escalation.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", escalation.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["disagreement_id"],
            ["disagreements.id"],
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["people.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("stage_periods", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stage_periods_disagreement_id"), ["disagreement_id"], unique=False
        )

    op.execute(
        "INSERT INTO chain_head (id, last_event_id, last_hash) VALUES (1, 0, '" + "0" * 64 + "')"
    )
    _append_only_events()


def _append_only_events() -> None:
    message = "the chronology is append-only"
    if op.get_bind().dialect.name == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER events_no_{action.lower()} BEFORE {action} ON events "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN RAISE EXCEPTION '{message}'; END $$"
    )
    op.execute(
        "CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events "
        "FOR EACH ROW EXECUTE FUNCTION events_append_only()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS events_no_update")
        op.execute("DROP TRIGGER IF EXISTS events_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS events_append_only ON events")
        op.execute("DROP FUNCTION IF EXISTS events_append_only()")
    with op.batch_alter_table("stage_periods", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stage_periods_disagreement_id"))

    op.drop_table("stage_periods")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_disagreement_id"))

    op.drop_table("events")
    with op.batch_alter_table("person_roles", schema=None) as batch_op:
        batch_op.drop_index("ix_person_roles_role")

    op.drop_table("person_roles")
    with op.batch_alter_table("disagreements", schema=None) as batch_op:
        batch_op.drop_index("ix_disagreements_status_due")
        batch_op.drop_index(batch_op.f("ix_disagreements_partnership"))
        batch_op.drop_index(batch_op.f("ix_disagreements_owner_id"))
        batch_op.drop_index(batch_op.f("ix_disagreements_child_reference"))
        batch_op.drop_index(
            "ix_disagreements_actionable_due",
            sqlite_where=sa.text("status = 'open' AND final_stage_overdue_at IS NULL"),
            postgresql_where=sa.text("status = 'open' AND final_stage_overdue_at IS NULL"),
        )

    op.drop_table("disagreements")
    op.drop_table("policy_versions")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_people_partnership"))

    op.drop_table("people")
    op.drop_table("chain_head")
