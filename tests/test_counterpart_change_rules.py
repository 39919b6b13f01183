"""Changing the counterpart follows the raise form's rule: a listed, active directory person, or
an address at one of the area's secure domains. Someone recorded unlisted by an earlier case is
not thereby verified, and an inactive person is refused."""

import pytest

from escalation.casework import disagreements as d
from escalation.directory.people import find_person
from escalation.rules.errors import InvalidInput
from escalation.store.db import transaction
from escalation.store.models import Person
from tests.factories import MONDAY, RAISER, TEAM_MANAGER, raise_one


def _change(sessions, reference: str, email: str) -> None:
    with transaction(sessions) as session:
        d.change_counterpart(
            session,
            reference=reference,
            actor=RAISER,
            now=MONDAY,
            email=email,
            reason="Reallocated to another worker",
            name="Pat Typed",
            role="Social worker",
            organisation="Example Council",
        )


def _refusal(sessions, reference: str, email: str) -> str:
    with pytest.raises(InvalidInput) as refused:
        _change(sessions, reference, email)
    return refused.value.problems["email"]


def test_someone_recorded_unlisted_is_not_thereby_verified(directory):
    unverified = "pat.typed@freemail.example"
    with transaction(directory) as session:  # as an earlier case recorded them: unlisted
        session.add(Person(**_party(unverified), partnership="example-partnership", listed=False))
    reference = raise_one(directory, MONDAY, child_reference="TEST-CHILD-2")
    problem = _refusal(directory, reference, unverified)
    assert problem.startswith("freemail.example is not one of Example Borough's secure domains")


def test_an_inactive_person_is_refused_and_a_listed_one_accepted(directory):
    reference = raise_one(directory, MONDAY)
    with transaction(directory) as session:
        find_person(session, TEAM_MANAGER).active = False
    assert _refusal(directory, reference, TEAM_MANAGER) == (
        "Tia Team is no longer active in the directory: choose someone else"
    )
    with transaction(directory) as session:
        find_person(session, TEAM_MANAGER).active = True
    _change(directory, reference, TEAM_MANAGER)
    with transaction(directory) as session:
        disagreement = d.get(session, reference)
        assert disagreement.stages[-1].counterpart.email == TEAM_MANAGER


def _party(email: str) -> dict:
    return {
        "name": "Pat Typed",
        "email": email,
        "organisation": "Example Council",
        "job_title": "Social worker",
    }
