"""The bench's starting point for the sweep: many open disagreements (the bench's directory and
default policy), the first `due` of them overdue with their open stage periods."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import Engine, bindparam, text

from escalation.store.db import UTCDateTime, make_engine, session_factory, transaction
from escalation.store.pinned_policies import pin_policy
from escalation.store.schema import upgrade
from tests.factories import DEFAULT, RAISER, load_directory, utc

NOW = utc(2026, 11, 30, 12)
COLUMNS = (
    "reference, partnership, policy_id, policy_version, status, stage_key, stage_index, "
    "stage_entered_at, due_at, owner_id, urgent, row_version, raised_at, recorded_at, "
    "raised_by_id, raiser_name, raiser_email, raiser_role, raiser_organisation, counterpart_name, "
    "counterpart_email, counterpart_role, counterpart_organisation, child_reference, category, "
    "decision_disputed, decision_date, reason, outcome_sought, immediate_risk, protective_action, "
    "level_of_need"
)
VALUES = (
    "{reference}, 'example-partnership', 'default', :version, 'open', 'practitioner', 0, "
    ":entered, :future, :owner, :false, 1, :entered, :entered, :owner, 'Hana Visitor', :raiser, "
    "'Health visitor', 'Example Trust', 'Sam Social', 'sam.social@council.example', "
    "'Duty social worker', 'Example Council', 'BENCH-' || {n}, 'referral', 'd', :decided, 'r', "
    "'o', :false, '', ''"
)


# References shaped as the service's (RPD-XXXX-XXXX; anything else is never looked up).
SQLITE_REFERENCE = (
    "'RPD-' || substr('0000' || (i / 10000), -4, 4) || '-' || substr('0000' || (i % 10000), -4, 4)"
)
POSTGRES_REFERENCE = (
    "'RPD-' || lpad((i / 10000)::text, 4, '0') || '-' || lpad((i % 10000)::text, 4, '0')"
)


def populate(engine: Engine, open_count: int) -> None:
    if engine.dialect.name == "sqlite":
        values = VALUES.format(n="i", reference=SQLITE_REFERENCE)
        sql = (
            f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count) "
            f"INSERT INTO disagreements ({COLUMNS}) SELECT {values} FROM n"
        )
    else:
        values = VALUES.format(n="i", reference=POSTGRES_REFERENCE)
        sql = (
            f"INSERT INTO disagreements ({COLUMNS}) SELECT {values} "
            "FROM generate_series(1, :count) AS s(i)"
        )
    statement = text(sql).bindparams(
        bindparam("entered", type_=UTCDateTime()), bindparam("future", type_=UTCDateTime())
    )
    with engine.begin() as connection:
        owner = connection.execute(
            text("SELECT id FROM people WHERE email = :e"), {"e": RAISER}
        ).scalar()
        connection.execute(
            statement,
            {
                "count": open_count,
                "entered": NOW - timedelta(days=10),
                "owner": owner,
                "future": NOW + timedelta(days=30),
                "false": False,
                "raiser": RAISER,
                "decided": NOW.date(),
                "version": DEFAULT.version,
            },
        )


def make_due(engine: Engine, due: int) -> None:
    """The first `due` become overdue, each with its open stage period."""
    past = bindparam("past", type_=UTCDateTime())
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE disagreements SET due_at = :past WHERE id IN "
                "(SELECT id FROM disagreements ORDER BY id LIMIT :due)"
            ).bindparams(past),
            {"past": NOW - timedelta(hours=1), "due": due},
        )
        connection.execute(
            text(
                "INSERT INTO stage_periods (disagreement_id, stage_key, stage_index, owner_id, "
                "entered_at, due_at) SELECT id, stage_key, stage_index, owner_id, stage_entered_at, "
                "due_at FROM disagreements WHERE due_at <= :past"
            ).bindparams(past),
            {"past": NOW - timedelta(hours=1)},
        )
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("ANALYZE")


def fresh(engine_url: str, open_count: int) -> Engine:
    engine = make_engine(engine_url)
    upgrade(engine)
    sessions = session_factory(engine)
    load_directory(sessions)
    with transaction(sessions) as session:
        pin_policy(session, DEFAULT, now=NOW)
    started = time.perf_counter()
    populate(engine, open_count)
    print(f"  populated {open_count:,} open in {time.perf_counter() - started:.1f} s", flush=True)
    return engine
