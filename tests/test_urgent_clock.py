"""The urgent track's clock in the shipped default policy: service hours 08:00-20:00 every day,
the chair's on working days only, so an urgent case escalated at 02:01 before Christmas does not
have its final stage end on Christmas Day; and a `days` the policy cannot use is refused."""

from datetime import UTC, datetime

import pytest
import yaml

from escalation.rules.errors import PolicyError
from escalation.rules.policy import load_policy
from tests.factories import DEFAULT

NIGHT_BEFORE_CHRISTMAS_EVE = datetime(2026, 12, 23, 2, 1, tzinfo=UTC)


def test_the_chairs_urgent_hours_skip_christmas_and_the_others_do_not():
    # Chair: 48 hours of 08:00-20:00 on working days: 23, 24, 29, 30 Dec (25-28 Dec skipped).
    assert DEFAULT.due_at("chair", True, NIGHT_BEFORE_CHRISTMAS_EVE) == datetime(
        2026, 12, 30, 20, tzinfo=UTC
    )
    # Board manager: 24 hours of 08:00-20:00 every day, counted from 08:00.
    assert DEFAULT.due_at("board_manager", True, NIGHT_BEFORE_CHRISTMAS_EVE) == datetime(
        2026, 12, 24, 20, tzinfo=UTC
    )
    # Not urgent: 10 working days after 23 Dec (24, 29, 30, 31 Dec, 4-8 and 11 Jan).
    assert DEFAULT.due_at("chair", False, NIGHT_BEFORE_CHRISTMAS_EVE) == datetime(
        2027, 1, 11, 17, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            lambda p: p["stages"][1]["timescale"].update(days="working_days"),
            "stages[1].timescale.days: only an hours timescale counts service hours",
        ),
        (
            lambda p: p["urgent"].update(clock="elapsed", out_of_hours_owner=[]),
            "urgent.timescales: days counts service hours: set clock: service_hours",
        ),
        (
            lambda p: p["urgent"]["timescales"]["chair"].update(days="weekends"),
            "urgent.timescales.chair.days: must be 'every_day' or 'working_days'",
        ),
    ],
)
def test_a_days_the_policy_cannot_use_is_refused_naming_the_field(tmp_path, change, expected):
    data = DEFAULT.document()
    change(data)
    path = tmp_path / "x.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert any(line.startswith(f"{path}: {expected}") for line in str(caught.value).splitlines())
