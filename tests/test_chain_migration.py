"""Migration 0011 re-chains a database written under the old global chain: each
disagreement's events become their own chain (views outside it), and `audit verify` accepts
the result; an old chain that was already broken is refused, not laundered."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, timedelta

import pytest
from alembic import command
from sqlalchemy import MetaData, insert, select, text
from sqlalchemy.exc import DBAPIError

from escalation.casework import disagreements as d
from escalation.casework.chain_audit import verify_chain
from escalation.store.db import make_engine, session_factory, transaction
from escalation.store.models import Event
from escalation.store.schema import alembic_config, upgrade
from tests.databases import POSTGRES
from tests.factories import MONDAY, RAISER, load_directory, raise_one
from tests.test_schema import _fresh_urls

COPIED = ("people", "person_roles", "organisations", "policy_versions", "disagreements")


@pytest.fixture
def source(tmp_path):
    """Disagreements, people and events written by today's code (the rows to copy back)."""
    engine = make_engine(f"sqlite:///{tmp_path}/source.db")
    upgrade(engine)
    sessions = session_factory(engine)
    load_directory(sessions)
    references = [raise_one(sessions, MONDAY, child_reference=c) for c in ("A", "B")]
    with transaction(sessions) as session:
        d.add_note(session, reference=references[0], actor=RAISER, now=MONDAY, note="checked")
        d.record_view(session, reference=references[1], actor=RAISER, now=MONDAY, how="link")
        d.add_note(session, reference=references[1], actor=RAISER, now=MONDAY, note="later")
    yield engine
    engine.dispose()


def _at_0010(url: str, source, *, tamper: bool = False):
    """A database at revision 0010 holding the source's rows, its events in one global chain."""
    engine = make_engine(url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0010")
    old, new = MetaData(), MetaData()
    old.reflect(engine, only=[*COPIED, "events"])
    new.reflect(source, only=[*COPIED, "events"])
    with source.connect() as reading, engine.begin() as writing:
        if engine.dialect.name == "sqlite":  # people name their deputies: check at commit
            writing.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        else:
            writing.exec_driver_sql("SET LOCAL session_replication_role = replica")
        for name in COPIED:
            columns = [c.name for c in old.tables[name].c]
            rows = reading.execute(select(*[new.tables[name].c[c] for c in columns])).mappings()
            rows = [dict(row) for row in rows]
            if rows:
                writing.execute(insert(old.tables[name]), rows)
            if engine.dialect.name != "sqlite" and "id" in columns:  # copied ids: move on
                writing.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), max(id)) FROM {name}"
                    )
                )
        events = reading.execute(select(Event).order_by(Event.id)).all()
        previous = "0" * 64
        for number, event in enumerate(events, start=1):
            note = "edited later" if tamper and number == 2 else event.note
            row = [number, event.disagreement_id, event.at.astimezone(UTC).isoformat()]
            row += [event.actor, event.kind, event.from_stage, event.to_stage, event.note]
            canonical = json.dumps(row, ensure_ascii=False, separators=(",", ":"))
            digest = hashlib.sha256((previous + canonical).encode()).hexdigest()
            values = {"id": number, "disagreement_id": event.disagreement_id, "at": event.at}
            values |= {"actor": event.actor, "kind": event.kind, "note": note}
            values |= {"from_stage": event.from_stage, "to_stage": event.to_stage}
            writing.execute(
                insert(old.tables["events"]), values | {"prev_hash": previous, "hash": digest}
            )
            previous = digest
        writing.execute(
            text("UPDATE chain_head SET last_event_id = :n, last_hash = :h"),
            {"n": len(events), "h": previous},
        )
    return engine


def test_an_old_global_chain_is_rechained_per_disagreement(tmp_path, source):
    checked = 0
    for url in _fresh_urls(tmp_path):
        engine = _at_0010(url, source)
        upgrade(engine)
        sessions = session_factory(engine)
        with transaction(sessions) as session:
            report = verify_chain(session)
            assert report.ok, report.problem
            assert report.checked == 5  # two raises, two notes, one view
            rows = session.execute(
                select(Event.disagreement_id, Event.seq, Event.kind).order_by(Event.id)
            ).all()
        assert [(seq, kind) for _, seq, kind in rows] == [
            (1, "raise"),
            (1, "raise"),
            (2, "add_note"),
            (None, "view"),
            (2, "add_note"),
        ]
        # New events continue each chain, numbered after the old ones.
        raise_one(sessions, MONDAY + timedelta(hours=1), child_reference="C")
        with transaction(sessions) as session:
            assert verify_chain(session).ok
            assert session.scalar(select(Event.id).order_by(Event.id.desc()).limit(1)) == 6
        engine.dispose()
        checked += 1
    assert checked == (2 if POSTGRES else 1)


def test_a_broken_old_chain_is_refused_not_laundered(tmp_path, source):
    engine = _at_0010(f"sqlite:///{tmp_path}/old.db", source, tamper=True)
    with pytest.raises((RuntimeError, DBAPIError), match="broken at event 2"):
        upgrade(engine)
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT version_num FROM alembic_version")) == "0010"
    engine.dispose()
