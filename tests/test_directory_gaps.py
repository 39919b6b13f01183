"""The directory page's gap warnings before they bite (issue 12, point 3): the routing dry-run
for each organisation and professional group, on both sides, under the tests' small ladder
(directory_helpers.LADDER); what else would misroute a case; and that nothing is written.
Each on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from escalation.directory.people import find_person
from escalation.rules.policy import policy_from_document
from escalation.rules.vocabulary import AGENCY_TYPES
from escalation.store.db import transaction
from escalation.store.models import Alert, Base, Person, PersonRole
from tests.directory_helpers import (
    LADDER,
    TYPED_ROWS,
    gaps,
    import_rows,
    person_csv,
    rule_words,
)
from tests.factories import DEFAULT, load_directory

NAMED_GAP = (
    "Named professional or line manager (raising side) for Example Trust: 2 people match "
    "(Nadia Named, Nathan Nurse) and none is marked primary; the board manager would hold it."
)


def _without(rows: list[str], someone: str) -> list[str]:
    """`rows` but the one whose email starts with `someone`."""
    return [row for row in rows if not row.split(",")[1].startswith(someone)]


def _nathan(**facts) -> str:
    facts.setdefault("group", "nurse")
    return person_csv(
        "Nathan Nurse", "nathan.nurse@trust.example", "Example Trust", "named_professional", **facts
    )


def test_the_typed_factory_directory_has_no_gap_under_the_ladder(sessions):
    import_rows(sessions, *TYPED_ROWS)
    assert gaps(sessions) == []


def test_two_holders_without_a_primary_are_a_gap_on_both_sides(sessions):
    import_rows(sessions, *TYPED_ROWS)
    import_rows(sessions, _nathan(primary=""))
    assert gaps(sessions) == [
        NAMED_GAP,
        "Named professional or line manager (receiving side) for Example Trust: 2 people match "
        "(Nadia Named, Nathan Nurse) and none is marked primary; it would have no counterpart.",
    ]


def test_two_primary_holders_are_a_gap_too(sessions):
    import_rows(sessions, *TYPED_ROWS)
    import_rows(
        sessions,
        person_csv(
            "Nadia Named",
            "nadia.named@trust.example",
            "Example Trust",
            "named_professional",
            group="doctor",
            primary="named_professional",
        ),
    )
    assert (
        "Named professional or line manager (raising side) for Example Trust: 2 people match "
        "(Nadia Named, Nathan Nurse) and 2 are marked primary; the board manager would hold it."
    ) in gaps(sessions)


def test_a_doctor_raising_needs_a_named_doctor_and_then_a_designated_doctor(sessions):
    import_rows(
        sessions,
        *_without(TYPED_ROWS, "nadia.named"),
        person_csv("Dr Dan", "dan@trust.example", "Example Trust", "practitioner", group="doctor"),
    )
    named_doctor = rule_words(1, "owner", 0)  # the ladder's named doctor rule
    assert gaps(sessions) == [
        f"Named professional or line manager (raising side) for Example Trust: nobody matches "
        f"{named_doctor} (Example Trust); the board manager would hold it.",
        f"Named professional or line manager (receiving side) for Example Trust: nobody matches "
        f"{named_doctor} (Example Trust); it would have no counterpart.",
    ]


def test_nobody_holding_a_role_is_a_gap_naming_every_organisation_it_bites(sessions):
    import_rows(
        sessions,
        *_without(TYPED_ROWS, "dev.designated"),
        person_csv("Gia", "gia@gp.example", "Example GP", "practitioner", agency_type="health"),
    )
    warnings = gaps(sessions)
    assert (
        "Designated professional or service manager (raising side) for Example Trust, Example GP: "
        f"nobody matches {rule_words(2, 'owner', 1)} in example-partnership; the board manager "
        "would hold it."
    ) in warnings
    assert (
        "Board manager (receiving side) for Example Trust, Example GP: nobody matches "
        f"{rule_words(3, 'counterpart', 0)} in example-partnership; it would have no counterpart."
    ) in warnings


def test_a_practitioners_line_manager_takes_the_stage_the_rule_lets_them(sessions):
    council = "Example Council"
    rows = [
        person_csv("Lin", "lin@council.example", council, "practitioner", agency_type="other"),
        person_csv("Tom", "tom@council.example", council, "service_manager"),
    ]
    import_rows(sessions, *TYPED_ROWS, *rows)
    named_gap = "Named professional or line manager (raising side) for Example Council"
    assert any(warning.startswith(named_gap) for warning in gaps(sessions))
    import_rows(
        sessions,
        person_csv(
            "Lin",
            "lin@council.example",
            council,
            "practitioner",
            line_manager="tom@council.example",
        ),
    )
    assert not [warning for warning in gaps(sessions) if warning.startswith(named_gap)]


def test_organisations_without_an_agency_type_are_warned_once_each(sessions):
    import_rows(
        sessions,
        *TYPED_ROWS,
        person_csv("Ira", "ira@icb2.example", "Example ICB 2", "designated_professional"),
        person_csv("Pam", "pam@school.example", "Example School", "practitioner"),
        person_csv("Pat", "pat@school.example", "example school", "team_manager"),
    )
    untyped = [warning for warning in gaps(sessions) if "has no agency type" in warning]
    assert untyped == [
        f"{name} has no agency type ({count}): routing treats it as 'other'. Give it one in "
        "the directory."
        for name, count in (
            ("Example ICB 2", "1 person"),
            ("Example School", "2 people"),
        )
    ]


def test_a_person_serving_two_partnerships_holds_their_roles_in_both(sessions):
    lakeside = policy_from_document(
        {**LADDER, "id": "lakeside", "partnership": "lakeside-partnership"}, source="test"
    )
    lake = [
        person_csv(
            "Pat",
            "pat@lake.example",
            "Lake Trust",
            "practitioner",
            agency_type="health",
            group="nurse",
            partnership="lakeside-partnership",
        ),
        person_csv(
            "Lena",
            "lena@lake.example",
            "Lake Trust",
            "named_professional;board_manager",
            partnership="lakeside-partnership",
        ),
    ]
    import_rows(sessions, *TYPED_ROWS, *lake)
    designated = "Designated professional or service manager (raising side) for Lake Trust"
    with transaction(sessions) as session:
        from escalation.directory.gaps import role_gaps

        def lakeside_gaps() -> list[str]:
            return role_gaps(
                session, partnership="lakeside-partnership", policies=[lakeside], on=date.today()
            )

        assert any(warning.startswith(designated) for warning in lakeside_gaps())
    import_rows(
        sessions,
        person_csv(
            "Dev Designated",
            "dev.designated@icb.example",
            "Example ICB",
            "designated_professional;partnership_lead",
            group="doctor",
            others="lakeside-partnership",
        ),
    )
    with transaction(sessions) as session:
        assert not any(warning.startswith(designated) for warning in lakeside_gaps())
    assert gaps(sessions) == []  # still theirs at home


def test_an_absent_holder_without_a_deputy_is_warned(sessions):
    import_rows(sessions, *TYPED_ROWS)
    with transaction(sessions) as session:
        find_person(session, "dev.designated@icb.example").absent_from = date(2026, 11, 20)
    assert (
        "Every designated professional is absent today (Dev Designated): their stages go to a "
        "deputy, or the board manager."
    ) in gaps(sessions)


def test_a_loop_the_directory_already_holds_is_warned(sessions):
    import_rows(sessions, *TYPED_ROWS)
    with transaction(sessions) as session:  # as a directory from before loops were refused
        nadia = find_person(session, "nadia.named@trust.example")
        find_person(session, "nathan.nurse@trust.example").deputy = nadia
    assert (
        "A deputy loop: Nadia Named → Nathan Nurse → Nadia Named. Give one of them another deputy."
    ) in gaps(sessions)


def test_no_board_manager_is_warned_and_each_gap_says_escalation_would_stall(sessions):
    rows = _without(_without(TYPED_ROWS, "bea.manager"), "nathan.nurse")
    import_rows(sessions, *rows, _nathan(primary=""))
    warnings = gaps(sessions)
    assert warnings[:3] == [
        "Nobody is an active board manager: a stage whose owner is missing has nobody to hold "
        "it, and escalation will stall.",
        "Named professional or line manager (raising side) for Example Trust: 2 people match "
        "(Nadia Named, Nathan Nurse) and none is marked primary; nobody would hold it, and "
        "escalation would stall.",
        f"Board manager (raising side) for Example Trust: nobody matches "
        f"{rule_words(3, 'owner', 0)} in example-partnership; nobody would hold it, and "
        "escalation would stall.",
    ]


def test_only_practitioners_and_people_without_roles_are_climbed_from(sessions):
    import_rows(sessions, *TYPED_ROWS)
    with transaction(sessions) as session:  # a raiser an agency system named: no roles
        session.add(
            Person(
                name="Ola",
                email="ola@school.example",
                organisation="Example School",
                partnership="example-partnership",
                listed=False,
            )
        )
        session.add(  # a manager of an organisation nobody raises from: not climbed
            Person(
                name="Mo",
                email="mo@college.example",
                organisation="Example College",
                partnership="example-partnership",
                role_rows=[PersonRole(role="team_manager")],
            )
        )
    warnings = gaps(sessions)
    assert any(
        warning.startswith("Named professional or line manager (raising side) for Example School")
        for warning in warnings
    )
    assert not any("Example College:" in warning for warning in warnings)


def test_the_dry_run_writes_nothing_and_raises_no_alert(sessions):
    load_directory(sessions)  # gaps everywhere under the shipped default policy
    with transaction(sessions) as session:
        before = [session.execute(select(table)).all() for table in Base.metadata.sorted_tables]
    assert gaps(sessions, policy=DEFAULT)
    with transaction(sessions) as session:
        after = [session.execute(select(table)).all() for table in Base.metadata.sorted_tables]
        assert session.execute(select(Alert)).all() == []
    assert after == before


def test_an_agency_type_no_rule_names_is_a_gap_not_a_raiser_holding_their_own_stage(sessions):
    named = [
        {"when": {"agency": "health"}, "role": "named_professional", "within": "organisation"},
        {"when": {"agency": list(AGENCY_TYPES)}, "role": "team_manager", "within": "organisation"},
    ]
    stages = [dict(stage) for stage in LADDER["stages"]]
    stages[1] = {**stages[1], "owner": named, "counterpart": named}
    policy = policy_from_document({**LADDER, "stages": stages}, source="test")
    yot = person_csv(
        "Yan", "yan@yot.example", "Example YOT", "practitioner", agency_type="youth_justice"
    )
    import_rows(sessions, *TYPED_ROWS, yot)
    warnings = gaps(sessions, policy=policy)
    assert (
        "Named professional or line manager (raising side) for Example YOT: no routing rule "
        "matches (youth_justice, no professional group); the board manager would hold it."
    ) in warnings
    assert "Example YOT's agency type 'youth_justice' is not one the policy knows" in (
        " ".join(warnings)
    )
