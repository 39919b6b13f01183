"""The chronology is append-only and tamper-evident: verify finds the first broken row."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from escalation.casework import disagreements as d
from escalation.casework.chronology import verify_chain
from escalation.store.db import transaction
from tests.factories import DEFAULT, RAISER, load_directory, raise_request, utc

NOW = utc(2026, 11, 23, 10)


@pytest.fixture
def history(sessions):
    """Three disagreements with six events between them."""
    load_directory(sessions)
    for child in ("A", "B", "C"):
        with transaction(sessions) as session:
            reference = d.raise_disagreement(
                session, request=raise_request(child_reference=child), policy=DEFAULT, now=NOW
            ).reference
        with transaction(sessions) as session:
            d.add_note(session, reference=reference, actor=RAISER, now=NOW, note=f"note {child}")
    return sessions


def _verify(sessions):
    with transaction(sessions) as session:
        return verify_chain(session)


@pytest.fixture
def unguarded(engine):
    """Drop the append-only triggers, as a DBA could; restore them after (PostgreSQL is shared)."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("DROP TRIGGER events_no_update")
            connection.exec_driver_sql("DROP TRIGGER events_no_delete")
        else:
            connection.exec_driver_sql("DROP TRIGGER IF EXISTS events_append_only ON events")
    yield engine
    if engine.dialect.name != "sqlite":
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events "
                "FOR EACH ROW EXECUTE FUNCTION events_append_only()"
            )


def test_an_untouched_chain_verifies(history):
    report = _verify(history)
    assert report.ok and report.checked == 6


def test_the_database_refuses_to_change_or_delete_events(history, engine):
    for statement in (
        "UPDATE events SET note = 'x' WHERE id = 2",
        "DELETE FROM events WHERE id = 2",
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    assert _verify(history).ok


def test_an_edited_note_is_found(history, unguarded):
    with unguarded.begin() as connection:
        connection.execute(text("UPDATE events SET note = 'nothing to see' WHERE id = 4"))
    report = _verify(history)
    assert (report.first_broken_id, report.checked) == (4, 3)
    assert "content does not match" in report.problem


def test_an_edited_actor_is_found(history, unguarded):
    with unguarded.begin() as connection:
        connection.execute(text("UPDATE events SET actor = 'someone@else.example' WHERE id = 5"))
    assert _verify(history).first_broken_id == 5


def test_a_deleted_row_is_found(history, unguarded):
    with unguarded.begin() as connection:
        connection.execute(text("DELETE FROM events WHERE id = 3"))
    report = _verify(history)
    assert report.first_broken_id == 4 and "event 3 is missing" in report.problem


def test_a_deleted_last_row_is_found(history, unguarded):
    with unguarded.begin() as connection:
        connection.execute(text("DELETE FROM events WHERE id = 6"))
    report = _verify(history)
    assert report.first_broken_id == 6 and "missing" in report.problem


def test_a_rehashed_row_still_breaks_the_next_link(history, unguarded):
    """Someone who edits a row and recomputes its hash breaks the following row's link."""
    from escalation.casework.chronology import event_hash
    from escalation.store.models import Event

    with transaction(history) as session:
        event = session.get(Event, 2)
        event.note = "rewritten"
        event.hash = event_hash(event)
    report = _verify(history)
    assert report.first_broken_id == 3 and "link" in report.problem
