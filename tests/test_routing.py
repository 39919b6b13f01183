"""Who holds each side of every stage, on a real database (SQLite and PostgreSQL), with the
invented multi-agency directory of routing_helpers: the raising side climbs its own agency's
ladder, the agency whose decision is disputed answers at the same level, and the chronology
says who held each side and why."""

from dataclasses import dataclass

import pytest

from tests.factories import MONDAY, POLICIES
from tests.routing_helpers import (
    EXAMPLE,
    RIVERSIDE,
    build,
    escalate_when_due,
    gap_alerts,
    periods,
    raise_between,
    stage_events,
)

BOARD = ("board_manager", "Bea Manager")
CHAIR = ("chair", "Chris Chair")


@dataclass(frozen=True)
class Ladder:
    what: str
    raiser: str
    decision_maker: str
    # (stage key, owner, counterpart) for every stage it climbs, by name
    stages: list[tuple[str, str, str | None]]
    policy: str = "default"
    home: str = EXAMPLE  # the partnership of everyone but Lakeside's own people


LADDERS = [
    Ladder(
        "a health visitor's case goes to the named nurse, then the designated nurse",
        "Hana Visitor",
        "Sam Social",
        [
            ("practitioner", "Hana Visitor", "Sam Social"),
            ("named_professional", "Nina Named", "Tess Team"),
            ("designated_professional", "Dina Designated", "Sid Service"),
            (*BOARD, "Hugh Head"),
            (*CHAIR, "Dora Director"),
        ],
    ),
    Ladder(
        "a doctor's case goes to the named doctor, then the designated doctor",
        "Dr Paula Paed",
        "Sam Social",
        [
            ("practitioner", "Dr Paula Paed", "Sam Social"),
            ("named_professional", "Dr Nadia Named", "Tess Team"),
            ("designated_professional", "Dr Dev Designated", "Sid Service"),
        ],
    ),
    Ladder(
        "a nursery's case goes to its setting lead, then the council's early years lead",
        "Nell Nursery",
        "Sam Social",
        [
            ("practitioner", "Nell Nursery", "Sam Social"),
            ("named_professional", "Sara Setting", "Tess Team"),
            ("designated_professional", "Eli Early", "Sid Service"),
            (*BOARD, "Hugh Head"),
        ],
    ),
    Ladder(
        "a social worker climbs social care's ladder while health answers on its own",
        "Sam Social",
        "Dr Paula Paed",
        [
            ("practitioner", "Sam Social", "Dr Paula Paed"),
            ("named_professional", "Tess Team", "Dr Nadia Named"),
            ("designated_professional", "Sid Service", "Dr Dev Designated"),
            (*BOARD, "Ian Executive"),
            (*CHAIR, "Ian Executive"),
        ],
    ),
    Ladder(
        "a police officer's case goes to the detective sergeant, then the detective inspector",
        "PC Olly Officer",
        "Sam Social",
        [
            ("practitioner", "PC Olly Officer", "Sam Social"),
            ("named_professional", "DS Dee Sergeant", "Tess Team"),
            ("designated_professional", "DI Ira Inspector", "Sid Service"),
            (*BOARD, "Hugh Head"),
        ],
    ),
    Ladder(
        "a teacher's case goes to the designated safeguarding lead, then the head teacher",
        "Tom Teacher",
        "Sam Social",
        [
            ("practitioner", "Tom Teacher", "Sam Social"),
            ("named_professional", "Dana Lead", "Tess Team"),
            ("designated_professional", "Hal Head", "Sid Service"),
        ],
    ),
    Ladder(
        "a school answers police through its safeguarding lead, head and the council's lead",
        "PC Olly Officer",
        "Tom Teacher",
        [
            ("practitioner", "PC Olly Officer", "Tom Teacher"),
            ("named_professional", "DS Dee Sergeant", "Dana Lead"),
            ("designated_professional", "DI Ira Inspector", "Hal Head"),
            (*BOARD, "Liz Learning"),
            (*CHAIR, "Liz Learning"),
        ],
    ),
    Ladder(
        "a GP's case goes to the practice's lead, then the ICB's designated doctor",
        "Dr Gail General",
        "Sam Social",
        [
            ("practitioner", "Dr Gail General", "Sam Social"),
            ("named_professional", "Dr Lee Lead", "Tess Team"),
            ("designated_professional", "Dr Dev Designated", "Sid Service"),
        ],
    ),
    Ladder(
        "a rung nobody holds goes to the line manager, and theirs, where the rule allows it",
        "PC Rob Rural",
        "Sam Social",
        [
            ("practitioner", "PC Rob Rural", "Sam Social"),
            ("named_professional", "Sgt Rita Rural", "Tess Team"),
            ("designated_professional", "DI Ira Inspector", "Sid Service"),
        ],
    ),
    Ladder(
        "lakeside's four steps: a doctor serving two areas, a council's line managers",
        "Dr Paula Paed",
        "Lou Lake",
        [
            ("practitioner", "Dr Paula Paed", "Lou Lake"),
            ("line_manager", "Dr Nadia Named", "Lottie Lake"),
            ("senior_manager", "Dr Dev Designated", "Luke Lake"),
            ("chaired_meeting", "Lars Lake", "Lyn Lake"),
        ],
        policy="four-stage",
    ),
    Ladder(
        "riverside's police rungs: sergeant, inspector, the force's lead; a school answers",
        "PC Olly Officer",
        "Tom Teacher",
        [
            ("practitioner", "PC Olly Officer", "Tom Teacher"),
            ("supervisor", "DS Dee Sergeant", "Dana Lead"),
            ("senior_manager", "DI Ira Inspector", "Hal Head"),
            ("agency_lead", "Supt Pat Lead", "Liz Learning"),
            ("resolution_meeting", "Bea Manager", "Liz Learning"),
        ],
        policy="police-education",
        home=RIVERSIDE,
    ),
    Ladder(
        "riverside's education rungs: safeguarding lead, head teacher, the council's lead",
        "Tom Teacher",
        "PC Olly Officer",
        [
            ("practitioner", "Tom Teacher", "PC Olly Officer"),
            ("supervisor", "Dana Lead", "DS Dee Sergeant"),
            ("senior_manager", "Hal Head", "DI Ira Inspector"),
            ("agency_lead", "Liz Learning", "Supt Pat Lead"),
            ("resolution_meeting", "Bea Manager", "Supt Pat Lead"),
        ],
        policy="police-education",
        home=RIVERSIDE,
    ),
]


@pytest.mark.parametrize("ladder", LADDERS, ids=[ladder.what for ladder in LADDERS])
def test_each_side_climbs_its_own_agencys_ladder(sessions, ladder):
    build(sessions, home=ladder.home)
    policy = POLICIES[ladder.policy]
    reference = raise_between(
        sessions, ladder.raiser, ladder.decision_maker, policy=policy, now=MONDAY
    )
    for _ in ladder.stages[1:]:
        escalate_when_due(sessions, reference)
    held = periods(sessions, reference)
    assert [(p.stage_key, p.owner, p.counterpart) for p in held] == ladder.stages
    assert gap_alerts(sessions) == []
    events = stage_events(sessions, reference)
    assert [event.to_stage for event in events] == [stage for stage, _, _ in ladder.stages]
    for event, period in zip(events, held, strict=True):
        assert f"owner {period.owner} ({period.owner_reason})" in event.note
        assert f"counterpart {period.counterpart} ({period.counterpart_reason})" in event.note
        assert period.owner_reason.startswith("rule: ")
