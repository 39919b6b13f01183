"""Several board managers: the directory's primary one takes a gap; with none (or several)
marked primary nobody is picked by any order: the escalation is refused, naming why, and
nothing changes (the sweep alerts and tries again)."""

import pytest

from escalation.casework import disagreements as d
from escalation.directory.people import find_person
from escalation.rules.errors import NotAllowed
from escalation.store.db import transaction
from escalation.store.models import PersonRole
from tests.factories import MONDAY, POLICIES
from tests.routing_helpers import (
    build,
    drop_role,
    email_of,
    periods,
    raise_between,
    set_primary,
)


def _second_board_manager(sessions) -> None:
    with transaction(sessions) as session:
        chair = find_person(session, email_of("Chris Chair"))
        chair.role_rows.append(PersonRole(role="board_manager"))


def _raise_with_a_stage_2_gap(sessions) -> str:
    build(sessions)
    for name in ("Nina Named", "Dr Nadia Named"):
        drop_role(sessions, name, "named_professional")
    return raise_between(
        sessions, "Hana Visitor", "Sam Social", policy=POLICIES["default"], now=MONDAY
    )


def test_two_board_managers_and_none_primary_refuse_to_pick(sessions):
    reference = _raise_with_a_stage_2_gap(sessions)
    _second_board_manager(sessions)
    with transaction(sessions) as session, pytest.raises(NotAllowed) as refused:
        d.escalate(session, reference=reference, actor=d.SYSTEM, now=MONDAY)
    assert "2 board managers (Bea Manager, Chris Chair)" in str(refused.value)
    assert "not exactly one is marked primary" in str(refused.value)
    assert [period.stage_key for period in periods(sessions, reference)] == ["practitioner"]


def test_the_primary_board_manager_takes_the_gap(sessions):
    reference = _raise_with_a_stage_2_gap(sessions)
    _second_board_manager(sessions)
    set_primary(sessions, "Bea Manager", "board_manager", True)
    with transaction(sessions) as session:
        d.escalate(session, reference=reference, actor=d.SYSTEM, now=MONDAY)
    stage_2 = periods(sessions, reference)[1]
    assert stage_2.owner == "Bea Manager"
    assert stage_2.owner_reason.endswith("the board manager holds this stage")
