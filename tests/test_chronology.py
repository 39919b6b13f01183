"""The chronology is append-only and tamper-evident, a hash chain per disagreement sealed by
anchors: `audit verify` finds an edited event, a deleted one, a deleted tail and a deleted
disagreement; views are recorded outside the chains."""

import threading
import time

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from escalation.casework import disagreements as d
from escalation.casework.chain_anchor import seal
from escalation.casework.chain_audit import verify_chain
from escalation.casework.chronology import event_hash
from escalation.store.db import transaction
from escalation.store.models import Disagreement, Event
from tests.factories import DEFAULT, RAISER, load_directory, raise_request, utc

NOW = utc(2026, 11, 23, 10)
GUARDED = ("events", "chain_anchors", "anchor_entries")


@pytest.fixture
def history(sessions):
    """Three disagreements (ids 1, 2, 3) with six events between them: event 2n-1 raises
    disagreement n, event 2n is a note on it."""
    load_directory(sessions)
    for child in ("A", "B", "C"):
        with transaction(sessions) as session:
            reference = d.raise_disagreement(
                session, request=raise_request(child_reference=child), policy=DEFAULT, now=NOW
            ).reference
        with transaction(sessions) as session:
            d.add_note(session, reference=reference, actor=RAISER, now=NOW, note=f"note {child}")
    return sessions


def _verify(sessions, expect_seal=None):
    with transaction(sessions) as session:
        return verify_chain(session, expect_seal)


def _seal(sessions):
    with transaction(sessions) as session:
        anchor = seal(session, NOW)
        return anchor.hash if anchor else None


@pytest.fixture
def dba(engine):
    """Run SQL as a DBA could: no append-only triggers, no foreign-key checks. Restores the
    triggers after (PostgreSQL is shared)."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as connection:
        for table in GUARDED:
            if sqlite:
                connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_update")
                connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_delete")
            else:
                connection.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")

    def run(*statements: str) -> None:
        if sqlite:  # foreign_keys is only switched outside a transaction (autocommit here)
            raw = engine.raw_connection()
            try:
                raw.driver_connection.execute("PRAGMA foreign_keys = OFF")
                for statement in statements:
                    raw.driver_connection.execute(statement)
            finally:
                raw.invalidate()
            return
        with engine.begin() as connection:
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
            for statement in statements:
                connection.exec_driver_sql(statement)

    yield run
    if not sqlite:
        with engine.begin() as connection:
            for table in GUARDED:
                connection.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def test_an_untouched_chronology_verifies(history):
    report = _verify(history)
    assert report.ok and report.checked == 6 and report.seals == 0


def test_each_disagreement_has_its_own_chain(history):
    with transaction(history) as session:
        rows = session.execute(select(Event.disagreement_id, Event.seq).order_by(Event.id)).all()
        heads = session.execute(
            select(Disagreement.id, Disagreement.chain_seq).order_by(Disagreement.id)
        ).all()
    assert [tuple(row) for row in rows] == [(1, 1), (1, 2), (2, 1), (2, 2), (3, 1), (3, 2)]
    assert [tuple(row) for row in heads] == [(1, 2), (2, 2), (3, 2)]


def test_the_database_refuses_to_change_or_delete_events_and_seals(history, engine):
    _seal(history)
    for statement in (
        "UPDATE events SET note = 'x' WHERE id = 2",
        "DELETE FROM events WHERE id = 2",
        "UPDATE chain_anchors SET heads = 0",
        "DELETE FROM anchor_entries",
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    assert _verify(history).ok


def test_an_edited_note_is_found(history, dba):
    dba("UPDATE events SET note = 'nothing to see' WHERE id = 4")
    report = _verify(history)
    assert (report.event_id, report.checked) == (4, 3)
    assert "content does not match" in report.problem


def test_an_edited_actor_is_found(history, dba):
    dba("UPDATE events SET actor = 'someone@else.example' WHERE id = 5")
    assert _verify(history).event_id == 5


def test_a_deleted_event_is_found(history, dba):
    dba("DELETE FROM events WHERE id = 3")
    report = _verify(history)
    assert report.event_id == 4 and "event 1 of its record is missing" in report.problem


def test_a_deleted_tail_is_found_by_the_head(history, dba):
    dba("DELETE FROM events WHERE id = 6")
    report = _verify(history)
    assert report.disagreement_id == 3 and "events after 1 are missing" in report.problem


def test_a_deleted_tail_with_its_head_rolled_back_is_found_by_the_seal(history, dba):
    _seal(history)
    with transaction(history) as session:
        first = session.scalar(select(Event.hash).where(Event.id == 5))
    dba(
        "DELETE FROM events WHERE id = 6",
        f"UPDATE disagreements SET chain_seq = 1, chain_hash = '{first}' WHERE id = 3",
    )
    report = _verify(history)
    assert report.disagreement_id == 3
    assert "a seal covered its record to event 2; it now ends at event 1" in report.problem


def test_a_deleted_disagreement_is_found_by_the_seal(history, dba):
    _seal(history)
    tables = [t for t in ("events", "stage_periods", "outbox", "link_tokens", "stage_records")]
    dba(
        *[f"DELETE FROM {table} WHERE disagreement_id = 2" for table in tables],
        "DELETE FROM disagreements WHERE id = 2",
    )
    report = _verify(history)
    assert report.disagreement_id == 2
    assert "disagreement 2 is missing (a seal covered it at event 2)" in report.problem


def test_a_rehashed_event_still_breaks_the_next_link(history, dba):
    """Someone who edits an event and recomputes its hash breaks the following event's link."""
    with transaction(history) as session:
        event = session.get(Event, 1)
        event.note = "rewritten"
        rewritten = event_hash(event)
        session.rollback()
    dba(f"UPDATE events SET note = 'rewritten', hash = '{rewritten}' WHERE id = 1")
    report = _verify(history)
    assert report.event_id == 2 and "link" in report.problem


def test_an_edited_or_deleted_seal_is_found(history, dba):
    _seal(history)
    dba("DELETE FROM anchor_entries WHERE disagreement_id = 2")
    assert "seal 1: its entries were changed or deleted" in _verify(history).problem
    dba("DELETE FROM anchor_entries", "DELETE FROM chain_anchors")
    assert _verify(history).ok  # all seals gone: only a copy kept elsewhere shows it


def test_the_newest_seal_kept_elsewhere_shows_later_seals_deleted(history, dba):
    kept = _seal(history)
    with transaction(history) as session:
        d.add_note(session, reference=_reference(session, 1), actor=RAISER, now=NOW, note="more")
    later = _seal(history)
    assert _verify(history, expect_seal=later).ok
    assert _verify(history, expect_seal=kept).ok  # later seals do not hide an earlier one
    dba("DELETE FROM anchor_entries WHERE anchor_id = 2", "DELETE FROM chain_anchors WHERE id = 2")
    assert _verify(history, expect_seal=kept).ok
    assert "is not in the chain of seals" in _verify(history, expect_seal=later).problem


def test_a_seal_covers_only_what_moved(history):
    assert _seal(history) is not None
    assert _seal(history) is None  # nothing moved since
    with transaction(history) as session:
        d.add_note(session, reference=_reference(session, 2), actor=RAISER, now=NOW, note="more")
        anchor = seal(session, NOW)
        assert anchor.heads == 1
    assert _verify(history).seals == 2


def test_views_are_outside_the_chain_but_an_edited_one_is_found(history, dba):
    with transaction(history) as session:
        reference = _reference(session, 1)
        for _ in range(2):  # the same person, the same instant: still two records
            d.record_view(session, reference=reference, actor=RAISER, now=NOW, how="link")
    with transaction(history) as session:
        views = session.execute(select(Event).where(Event.kind == "view")).scalars().all()
        assert [v.seq for v in views] == [None, None]
        assert session.get(Disagreement, 1).chain_seq == 2  # the head did not move
    assert _verify(history).checked == 8
    dba(f"UPDATE events SET actor = 'x@y.example' WHERE id = {views[0].id}")
    assert "recorded view does not match" in _verify(history).problem


def _reference(session, disagreement_id: int) -> str:
    return session.get(Disagreement, disagreement_id).reference


def _note_on_another(session):
    d.add_note(session, reference=_reference(session, 2), actor=RAISER, now=NOW, note="b")


def _view_of_the_same(session):
    d.record_view(session, reference=_reference(session, 1), actor=RAISER, now=NOW, how="api")


@pytest.mark.parametrize("second", [_note_on_another, _view_of_the_same])
def test_a_writer_holding_one_record_holds_up_neither_others_nor_views(history, engine, second):
    """PostgreSQL: a transaction holding disagreement 1's chain does not block an event on
    disagreement 2, nor a view of disagreement 1 (the old global chain head blocked both)."""
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite serialises all writers")
    held, release = threading.Event(), threading.Event()

    def hold_first() -> None:
        with transaction(history) as session:
            d.add_note(session, reference=_reference(session, 1), actor=RAISER, now=NOW, note="a")
            session.flush()
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold_first)
    holder.start()
    assert held.wait(10)
    started = time.monotonic()
    with transaction(history) as session:
        second(session)
    waited = time.monotonic() - started
    release.set()
    holder.join()
    assert waited < 5, waited  # it would wait the full 10 s behind the lock
    assert _verify(history).ok
