"""Policy files: the shipped ones load; each kind of mistake is named by file and field."""

from pathlib import Path

import pytest
import yaml

from escalation.rules.errors import PolicyError
from escalation.rules.policy import load_policies, load_policy
from tests.factories import utc

GOOD = yaml.safe_load(Path("policies/default.yaml").read_text())


def test_shipped_policies_load():
    policies = load_policies("policies")
    assert [stage.key for stage in policies["default"].stages] == [
        "practitioner",
        "named_professional",
        "designated_professional",
        "board_manager",
        "chair",
    ]
    assert len(policies["four-stage"].stages) == 4
    assert policies["four-stage"].stages[-1].owner_role == "chair"
    assert policies["four-stage"].partnership == "lakeside-partnership"
    assert policies["police-education"].partnership == "riverside-partnership"
    assert [stage.key for stage in policies["police-education"].stages] == [
        "practitioner",
        "supervisor",
        "senior_manager",
        "agency_lead",
        "resolution_meeting",
    ]


def test_a_policy_is_frozen():
    policy = load_policy("policies/default.yaml")
    with pytest.raises((AttributeError, TypeError, ValueError)):
        policy.name = "changed"


def test_the_urgent_track_starts_later_and_runs_in_hours():
    policy = load_policy("policies/default.yaml")
    assert policy.first_stage(urgent=True).key == "named_professional"
    assert policy.due_at("named_professional", True, utc(2026, 12, 23, 10)) == utc(2026, 12, 23, 14)


def _write(tmp_path, data, name="x.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


def _mutated(change) -> dict:
    data = yaml.safe_load(yaml.safe_dump(GOOD))
    change(data)
    return data


MISTAKES = [
    (
        "zero working days",
        lambda p: p["stages"][2].update(timescale={"working_days": 0}),
        "stages[2].timescale: working_days must be ≥ 1",
    ),
    (
        "negative hours",
        lambda p: p["urgent"]["timescales"].update(chair={"hours": -3}),
        "urgent.timescales.chair: hours must be ≥ 1",
    ),
    (
        "both kinds of timescale",
        lambda p: p["stages"][1].update(timescale={"working_days": 2, "hours": 4}),
        "stages[1].timescale: give exactly one of working_days or hours",
    ),
    (
        "timescale not a number",
        lambda p: p["stages"][0].update(timescale={"working_days": "five"}),
        "stages[0].timescale.working_days: Input should be a valid integer",
    ),
    (
        "misspelt field",
        lambda p: p["stages"][0].update(timescale={"workng_days": 5}),
        "stages[0].timescale.workng_days: is not a known field",
    ),
    (
        "unknown owner role",
        lambda p: p["stages"][3].update(owner="ceo"),
        "stages[3].owner[0].role: unknown role 'ceo'; use one of raiser, decision_maker, "
        "line_manager, practitioner, named_professional",
    ),
    (
        "unknown notified role",
        lambda p: p["stages"][1].update(notify=["raiser", "everyone"]),
        "stages[1].notify[1]: must be",
    ),
    ("missing id", lambda p: p.pop("id"), "id: is required"),
    ("missing stages", lambda p: p.pop("stages"), "stages: is required"),
    (
        "one stage only",
        lambda p: p.update(stages=p["stages"][:1]),
        "stages: a policy needs at least two stages",
    ),
    (
        "unknown nation",
        lambda p: p.update(nation="wales"),
        "nation: must be 'england-and-wales', 'scotland' or 'northern-ireland', not 'wales'",
    ),
    (
        "unknown timezone",
        lambda p: p.update(timezone="Europe/Londres"),
        "timezone: unknown timezone 'Europe/Londres'",
    ),
    (
        "bad close of business",
        lambda p: p.update(close_of_business="5pm"),
        "close_of_business: Input should be in a valid time format",
    ),
    ("bad closure day", lambda p: p.update(closure_days=["2026-13-01"]), "closure_days[0]:"),
    (
        "duplicate stage key",
        lambda p: p["stages"][2].update(key="named_professional"),
        "stages: duplicate key 'named_professional'",
    ),
    (
        "first stage not the raiser's",
        lambda p: p["stages"][0].update(owner="chair"),
        "stages[0].owner: the first stage must be owned by the raiser",
    ),
    (
        "urgent start stage unknown",
        lambda p: p["urgent"].update(start_stage="mash"),
        "urgent.start_stage: 'mash' is not a stage key",
    ),
    (
        "urgent timescale in working days",
        lambda p: p["urgent"]["timescales"].update(chair={"working_days": 2}),
        "urgent.timescales.chair: urgent timescales are in hours, not working days",
    ),
    (
        "urgent stage left without a clock",
        lambda p: p["urgent"]["timescales"].pop("board_manager"),
        "urgent.timescales: no timescale for stage 'board_manager'",
    ),
    (
        "urgent clock for a stage that does not exist",
        lambda p: p["urgent"]["timescales"].update(mash={"hours": 1}),
        "urgent.timescales: 'mash' is not a stage key",
    ),
    (
        "bad stage key",
        lambda p: p["stages"][1].update(key="Named Professional"),
        "stages[1].key: String should match pattern",
    ),
]


@pytest.mark.parametrize(
    "change, expected", [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES]
)
def test_each_mistake_names_the_file_and_the_field(tmp_path, change, expected):
    path = _write(tmp_path, _mutated(change))
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert f"{path}: {expected}" in str(caught.value)


def test_invalid_yaml_names_the_file_and_line(tmp_path):
    path = _write(tmp_path, "id: x\nstages: [unclosed\n")
    with pytest.raises(PolicyError, match=rf"^{path}: line \d+: invalid YAML"):
        load_policy(path)


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path):
    path = _write(tmp_path, "- just\n- a list\n")
    with pytest.raises(PolicyError, match=rf"^{path}: expected a mapping"):
        load_policy(path)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(PolicyError, match="nope.yaml: cannot read file"):
        load_policy(tmp_path / "nope.yaml")


def test_every_mistake_in_a_file_is_listed(tmp_path):
    def two_mistakes(p):
        p.update(nation="wales")
        p.pop("name")

    path = _write(tmp_path, _mutated(two_mistakes))
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    lines = str(caught.value).splitlines()
    assert f"{path}: name: is required" in lines
    assert any(line.startswith(f"{path}: nation: must be") for line in lines)


def test_two_files_with_one_id_are_refused(tmp_path):
    _write(tmp_path, GOOD, "a.yaml")
    _write(tmp_path, GOOD, "b.yaml")
    with pytest.raises(PolicyError, match="b.yaml: id: 'default' is already used"):
        load_policies(tmp_path)
