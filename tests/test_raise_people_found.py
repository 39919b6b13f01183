"""A raise asks the directory for the same people several times (the counterpart: the form's
check, the casework's, the decision-maker): find_person answers a repeat from the people it
found in the same transaction, and only while they are still there at that address."""

from __future__ import annotations

from sqlalchemy import event

from escalation.directory.people import find_person
from escalation.store.db import transaction
from tests.factories import DESIGNATED, TEAM_MANAGER


def _counted(engine) -> list[str]:
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _k, text, *_: sent.append(text))
    return sent


def test_a_person_found_is_found_again_without_a_query_in_the_same_transaction(directory):
    sent = _counted(directory.kw["bind"])
    with transaction(directory) as session:
        person = find_person(session, TEAM_MANAGER)
        asked = len(sent)
        assert find_person(session, "  " + TEAM_MANAGER.upper()) is person
        assert len(sent) == asked
        assert person.roles  # loaded with the person, in the same query
        assert len(sent) == asked
    with transaction(directory) as session:
        again = find_person(session, TEAM_MANAGER)
        assert again is not None and len(sent) > asked  # a new transaction asks again


def test_a_person_whose_address_changed_or_who_was_deleted_is_not_answered(directory):
    with transaction(directory) as session:
        person = find_person(session, TEAM_MANAGER)
        person.email = "tia.new@council.example"
        assert find_person(session, TEAM_MANAGER) is None
        assert find_person(session, "tia.new@council.example") is person
        session.delete(find_person(session, DESIGNATED))
        session.flush()
        assert find_person(session, DESIGNATED) is None


def test_nobody_is_not_remembered(directory):
    with transaction(directory) as session:
        assert find_person(session, "new.person@trust.example") is None
        tia = find_person(session, TEAM_MANAGER)
        tia.email = "new.person@trust.example"
        assert find_person(session, "new.person@trust.example") is tia


def test_roles_are_there_after_the_transaction(directory):
    with transaction(directory) as session:
        person = find_person(session, TEAM_MANAGER)
    assert person.roles == {"team_manager"}  # loaded with it: no lazy load on a closed session
    assert person.partnerships == ["example-partnership"]
