"""The routing fields of a policy file (rules for both sides, agency types, professional
groups, category routes, the urgent clock in service hours, the out-of-hours owner, secure
domains): each mistake refused with a line naming the file and the field."""

from pathlib import Path

import pytest
import yaml

from escalation.rules.errors import PolicyError
from escalation.rules.policy import load_policies, load_policy, policy_from_document

GOOD = yaml.safe_load(Path("policies/default.yaml").read_text())
CATCH_ALL = {"role": "senior_manager", "within": "organisation"}


def _write(tmp_path, data) -> Path:
    path = tmp_path / "x.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _mutated(change) -> dict:
    data = yaml.safe_load(yaml.safe_dump(GOOD))
    change(data)
    return data


def _owner(data, stage: int) -> list:
    return data["stages"][stage]["owner"]


def _no_service_hours(data) -> None:
    data["urgent"].pop("service_hours")
    data["urgent"].pop("out_of_hours_owner")


MISTAKES = [
    # (what, change, the line expected after "<file>: ")
    (
        "unknown role in a rule",
        lambda p: _owner(p, 1)[2].update(role="ceo"),
        "stages[1].owner[2].role: unknown role 'ceo'; use one of raiser, decision_maker, ",
    ),
    (
        "unknown role in the short form",
        lambda p: p["stages"][3].update(owner="ceo"),
        "stages[3].owner[0].role: unknown role 'ceo'",
    ),
    (
        "unknown agency type in when",
        lambda p: _owner(p, 1)[2]["when"].update(agency="helth"),
        "stages[1].owner[2].when.agency: unknown agency type 'helth'; the policy knows health, ",
    ),
    (
        "unknown agency type in a list",
        lambda p: _owner(p, 1)[2]["when"].update(agency=["police", "polise"]),
        "stages[1].owner[2].when.agency: unknown agency type 'polise'",
    ),
    (
        "unknown group in when",
        lambda p: _owner(p, 1)[0]["when"].update(group="docter"),
        "stages[1].owner[0].when.group: unknown professional group 'docter'; the policy knows ",
    ),
    (
        "unknown previous group",
        lambda p: _owner(p, 2)[0]["when"].update(previous_group="nurze"),
        "stages[2].owner[0].when.previous_group: unknown professional group 'nurze'",
    ),
    (
        "unknown group of the holder",
        lambda p: _owner(p, 2)[0].update(group="docter"),
        "stages[2].owner[0].group: unknown professional group 'docter'",
    ),
    (
        "a group the policy's own list does not have",
        lambda p: p.update(professional_groups=["nurse", "social_worker", "other"]),
        "stages[1].owner[0].when.group: unknown professional group 'doctor'; the policy knows "
        "nurse, social_worker, other",
    ),
    (
        "unknown field in when",
        lambda p: _owner(p, 1)[0]["when"].update(agnecy="health"),
        "stages[1].owner[0].when.agnecy: is not a known field",
    ),
    (
        "unknown within",
        lambda p: _owner(p, 1)[1].update(within="team"),
        "stages[1].owner[1].within: must be 'organisation', 'agency' or 'partnership', not 'team'",
    ),
    (
        "a rule after a catch-all",
        lambda p: _owner(p, 1).append({"when": {"agency": "education"}, "role": "team_manager"}),
        "stages[1].owner[4]: can never match: earlier rules catch every case it matches",
    ),
    (
        "a rule an earlier, wider one catches",
        lambda p: _owner(p, 2).insert(
            3, {"when": {"agency": "health", "group": "doctor"}, "role": "designated_professional"}
        ),
        "stages[2].owner[3]: can never match: earlier rules catch every case it matches",
    ),
    (
        "previous_group at the first stage",
        lambda p: p["stages"][0].update(
            counterpart=[
                {"when": {"previous_group": "nurse"}, "role": "decision_maker"},
                {"role": "decision_maker"},
            ]
        ),
        "stages[0].counterpart[0].when.previous_group: can never match: nobody held the first "
        "stage before",
    ),
    (
        "previous_group at a category route's first stage",
        lambda p: p["route_stages"][0].update(
            owner=[
                {"when": {"previous_group": "doctor"}, "role": "iro_manager"},
                {"role": "iro_manager"},
            ]
        ),
        "route_stages[0].owner[0].when.previous_group: can never match: nobody held the first "
        "stage before",
    ),
    (
        "a line manager at the first stage",
        lambda p: p["stages"][0].update(counterpart="line_manager"),
        "stages[0].counterpart[0].role: can never match: nobody held the first stage before",
    ),
    (
        "or_line_manager at a category route's first stage",
        lambda p: p["route_stages"][0].update(
            owner=[{"role": "iro_manager", "or_line_manager": True}]
        ),
        "route_stages[0].owner[0].or_line_manager: can never apply: nobody held the first stage "
        "before",
    ),
    (
        "the decision-maker owning the raising side",
        lambda p: _owner(p, 1).__setitem__(3, {"role": "decision_maker"}),
        "stages[1].owner[3].role: the professional whose decision is disputed cannot hold the "
        "owner side of a stage",
    ),
    (
        "the raiser answering for the disputed agency",
        lambda p: p["stages"][1]["counterpart"].__setitem__(3, {"role": "raiser"}),
        "stages[1].counterpart[3].role: the practitioner who raised it cannot hold the "
        "counterpart side of a stage",
    ),
    (
        "a group narrowing the raiser",
        lambda p: p["stages"][0].update(owner=[{"role": "raiser", "group": "nurse"}]),
        "stages[0].owner[0].group: only narrows a directory role; raiser is one known person",
    ),
    (
        "a stage with no rule for some agency types",
        lambda p: _owner(p, 2).pop(),
        "stages[2].owner: no rule for agency type 'police', 'education', 'probation', 'housing', "
        "'other' (add a rule without conditions, or one for that agency type)",
    ),
    (
        "a counterpart with no rule for an agency type",
        lambda p: p["stages"][3]["counterpart"].pop(),
        "stages[3].counterpart: no rule for agency type 'health', 'police'",
    ),
    (
        "an agency type of the policy's own that no rule covers",
        lambda p: (
            p.update(agency_types=[*GOOD.get("agency_types", []), "health", "youth_justice"]),
            _owner(p, 1).pop(),
            _owner(p, 1).append({"when": {"agency": "education"}, "role": "named_professional"}),
        ),
        "stages[1].owner: no rule for agency type 'youth_justice'",
    ),
    (
        "an agency type that is not a word",
        lambda p: p.update(agency_types=["health", "Youth Justice"]),
        "agency_types[1]: String should match pattern",
    ),
    (
        "a professional group that is not a word",
        lambda p: p.update(professional_groups=["doctor", "nurse", "social worker"]),
        "professional_groups[2]: String should match pattern",
    ),
    (
        "category route for an unknown category",
        lambda p: p["category_routes"].update(conference=["conference_review"]),
        "category_routes.conference: unknown category; use one of referral, icpc_request, ",
    ),
    (
        "category route through an unknown stage",
        lambda p: p["category_routes"].update(conference_decision=["conference_review", "mash"]),
        "category_routes.conference_decision: 'mash' is not a stage key",
    ),
    (
        "category route naming a stage twice",
        lambda p: p["category_routes"].update(
            looked_after_plan=["practitioner", "iro_review", "practitioner"]
        ),
        "category_routes.looked_after_plan: 'practitioner' is named twice",
    ),
    (
        "category route with no stage",
        lambda p: p["category_routes"].update(looked_after_plan=[]),
        "category_routes.looked_after_plan: name at least one stage",
    ),
    (
        "a route stage no category goes through",
        lambda p: p["category_routes"].pop("looked_after_plan"),
        "route_stages[1]: can never be reached: no category route goes through 'iro_review'",
    ),
    (
        "urgent clock in service hours without service hours",
        lambda p: (_no_service_hours(p), p["urgent"].update(clock="service_hours")),
        "urgent.service_hours: is required when clock is service_hours",
    ),
    (
        "service hours ending before they start",
        lambda p: p["urgent"]["service_hours"].update(start="20:00", end="08:00"),
        "urgent.service_hours.end: must be later than start",
    ),
    (
        "service hours ending as they start",
        lambda p: p["urgent"]["service_hours"].update(start="08:00", end="08:00"),
        "urgent.service_hours.end: must be later than start",
    ),
    (
        "service hours on unknown days",
        lambda p: p["urgent"]["service_hours"].update(days="weekdays"),
        "urgent.service_hours.days: must be 'every_day' or 'working_days', not 'weekdays'",
    ),
    (
        "service hours not a time",
        lambda p: p["urgent"]["service_hours"].update(start="8am"),
        "urgent.service_hours.start: Input should be in a valid time format",
    ),
    (
        "an unknown urgent clock",
        lambda p: p["urgent"].update(clock="wall"),
        "urgent.clock: must be 'elapsed' or 'service_hours', not 'wall'",
    ),
    (
        "an out-of-hours owner without service hours",
        lambda p: (p["urgent"].pop("service_hours"), p["urgent"].update(clock="elapsed")),
        "urgent.service_hours: is required to know when it is out of hours",
    ),
    (
        "an out-of-hours owner of an unknown role",
        lambda p: p["urgent"].update(out_of_hours_owner="edt"),
        "urgent.out_of_hours_owner[0].role: unknown role 'edt'",
    ),
    (
        "an out-of-hours owner's rule for an unknown agency type",
        lambda p: p["urgent"].update(
            out_of_hours_owner=[
                {"when": {"agency": "polise"}, "role": "out_of_hours_manager"},
                {"role": "out_of_hours_manager"},
            ]
        ),
        "urgent.out_of_hours_owner[0].when.agency: unknown agency type 'polise'",
    ),
    (
        "first stage not owned by the raiser",
        lambda p: p["stages"][0].update(owner="named_professional"),
        "stages[0].owner: the first stage must be owned by the raiser",
    ),
    (
        "first stage owned by the raiser only for some",
        lambda p: p["stages"][0].update(
            owner=[{"when": {"agency": "health"}, "role": "raiser"}, {"role": "team_manager"}]
        ),
        "stages[0].owner: the first stage must be owned by the raiser",
    ),
    (
        "a secure domain that is not a domain",
        lambda p: p.update(secure_domains=["nhs.net", "nhs"]),
        "secure_domains: 'nhs' is not a domain name, like nhs.net",
    ),
]


@pytest.mark.parametrize(
    "change, expected", [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES]
)
def test_each_routing_mistake_names_the_file_and_the_field(tmp_path, change, expected):
    path = _write(tmp_path, _mutated(change))
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    lines = str(caught.value).splitlines()
    assert any(line.startswith(f"{path}: {expected}") for line in lines), lines


def test_every_routing_mistake_in_a_file_is_listed(tmp_path):
    def three_mistakes(p):
        _owner(p, 1)[2]["when"].update(agency="helth")
        _owner(p, 2)[0].update(group="docter")
        p["category_routes"].update(conference_decision=["conference_review", "mash"])

    path = _write(tmp_path, _mutated(three_mistakes))
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    lines = str(caught.value).splitlines()
    assert [line.split(": ")[1] for line in lines] == [
        "stages[1].owner[2].when.agency",
        "stages[2].owner[0].group",
        "category_routes.conference_decision",
    ]


def test_a_catch_all_rule_may_end_every_list_and_the_short_form_is_one_rule(tmp_path):
    policy = load_policy(_write(tmp_path, GOOD))
    board = policy.stage("board_manager")
    assert [(rule.role, rule.within) for rule in board.owner] == [("board_manager", "partnership")]
    named = _mutated(lambda p: p["stages"][1].update(owner="named_professional"))
    stage = load_policy(_write(tmp_path, named)).stage("named_professional")
    assert [(rule.role, rule.within) for rule in stage.owner] == [
        ("named_professional", "organisation")
    ]


def test_a_policy_may_name_agency_types_of_its_own(tmp_path):
    small = {
        "id": "small",
        "name": "Two stages",
        "version": "1",
        "partnership": "small-partnership",
        "nation": "england-and-wales",
        "agency_types": ["health", "youth_justice"],
        "stages": [
            {"key": "practitioner", "title": "One", "owner": "raiser", "timescale": {"hours": 4}},
            {
                "key": "manager",
                "title": "Two",
                "owner": [
                    {"when": {"agency": "youth_justice"}, "role": "team_manager"},
                    {"when": {"agency": "health"}, "role": "named_professional"},
                ],
                "timescale": {"working_days": 2},
            },
        ],
        "urgent": {"start_stage": "manager", "timescales": {"manager": {"hours": 2}}},
    }
    policy = load_policy(_write(tmp_path, small))
    assert policy.agency_types == ("health", "youth_justice")
    small["stages"][1]["owner"].pop()
    with pytest.raises(PolicyError, match=r"stages\[1\]\.owner: no rule for agency type 'health'"):
        load_policy(_write(tmp_path, small))


@pytest.mark.parametrize("policy_id", ["default", "four-stage", "police-education"])
def test_a_shipped_policy_stored_and_read_back_is_the_same_policy(policy_id):
    """A disagreement reads its pinned copy (the policy's document) back: every rule must load
    again from it exactly as it was."""
    policy = load_policies("policies")[policy_id]
    again = policy_from_document(policy.document(), source=f"stored policy {policy_id}")
    assert again == policy and again.digest() == policy.digest()


def test_the_conference_route_climbs_its_own_stages_on_its_own_clock():
    policies = load_policies("policies")
    route = policies["default"].for_category("conference_decision")
    assert [stage.key for stage in route.stages] == ["conference_review", "board_manager", "chair"]
    assert route.stages[0].owner_role == "iro_manager"
    assert route.timescale("conference_review", urgent=False).hours == 72
    riverside = policies["police-education"].for_category("conference_decision")
    assert riverside.first_stage(urgent=True).key == "conference_review"


def test_a_stage_is_the_rung_its_rules_name_most():
    policies = load_policies("policies")
    assert [stage.owner_role for stage in policies["default"].stages] == [
        "raiser",
        "named_professional",
        "designated_professional",
        "board_manager",
        "chair",
    ]
    assert [stage.owner_role for stage in policies["four-stage"].stages] == [
        "raiser",
        "named_professional",
        "designated_professional",
        "chair",
    ]
