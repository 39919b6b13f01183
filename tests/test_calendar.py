"""Working-day and hour deadlines, checked by hand against the calendar (times in UTC).

GMT is UTC+0 (late October to late March); BST is UTC+1. Close of business is 17:00 local.
"""

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest

from escalation.rules.calendar import (
    WorkingCalendar,
    add_hours,
    date_text,
    due_text,
    local_midnight,
    local_time,
    parse_instant,
    time_text,
)
from tests.factories import utc

ENGLAND = WorkingCalendar(nation="england-and-wales")
SCOTLAND = WorkingCalendar(nation="scotland")
NORTHERN_IRELAND = WorkingCalendar(nation="northern-ireland")
WITH_CLOSURES = WorkingCalendar(
    nation="england-and-wales",
    close_of_business=time(17, 30),
    closure_days=frozenset({datetime(2026, 12, 24).date()}),
)

WORKING_DAY_CASES = [
    # (case, calendar, stage began (UTC), working days, due (UTC))
    ("plain weekday", ENGLAND, utc(2026, 11, 23, 10), 1, utc(2026, 11, 24, 17)),
    ("over a weekend", ENGLAND, utc(2026, 11, 27, 10), 1, utc(2026, 11, 30, 17)),
    ("five days is a working week", ENGLAND, utc(2026, 11, 23, 10), 5, utc(2026, 11, 30, 17)),
    ("begun after close of business", ENGLAND, utc(2026, 11, 27, 17, 30), 1, utc(2026, 12, 1, 17)),
    ("begun exactly at close of business", ENGLAND, utc(2026, 11, 27, 17), 1, utc(2026, 12, 1, 17)),
    ("begun a minute before close", ENGLAND, utc(2026, 11, 27, 16, 59), 1, utc(2026, 11, 30, 17)),
    ("begun on a Saturday", ENGLAND, utc(2026, 11, 28, 9), 1, utc(2026, 12, 1, 17)),
    ("begun on a Saturday, two days", ENGLAND, utc(2026, 11, 28, 9), 2, utc(2026, 12, 2, 17)),
    ("begun on a Sunday night", ENGLAND, utc(2026, 11, 29, 23), 1, utc(2026, 12, 1, 17)),
    ("Good Friday and Easter Monday 2026", ENGLAND, utc(2026, 4, 2, 9), 1, utc(2026, 4, 7, 16)),
    ("Easter 2027 (Good Friday 26 Mar)", ENGLAND, utc(2027, 3, 25, 10), 1, utc(2027, 3, 30, 16)),
    (
        "Christmas 2026, Boxing Day substitute",
        ENGLAND,
        utc(2026, 12, 23, 10),
        2,
        utc(2026, 12, 29, 17),
    ),
    ("Christmas 2026, three days", ENGLAND, utc(2026, 12, 23, 10), 3, utc(2026, 12, 30, 17)),
    ("Christmas 2026 to New Year", ENGLAND, utc(2026, 12, 23, 10), 5, utc(2027, 1, 4, 17)),
    ("Christmas 2027, both substitutes", ENGLAND, utc(2027, 12, 24, 10), 1, utc(2027, 12, 29, 17)),
    ("Christmas Eve 2027 after close", ENGLAND, utc(2027, 12, 24, 18), 1, utc(2027, 12, 30, 17)),
    ("St Andrew's Day: not in England", ENGLAND, utc(2026, 11, 27, 10), 1, utc(2026, 11, 30, 17)),
    ("St Andrew's Day: Scotland only", SCOTLAND, utc(2026, 11, 27, 10), 1, utc(2026, 12, 1, 17)),
    ("2 January: not in England", ENGLAND, utc(2025, 12, 31, 10), 1, utc(2026, 1, 2, 17)),
    ("2 January: Scotland only", SCOTLAND, utc(2025, 12, 31, 10), 1, utc(2026, 1, 5, 17)),
    ("Easter Monday: not a Scottish holiday", SCOTLAND, utc(2026, 4, 2, 9), 1, utc(2026, 4, 6, 16)),
    ("St Patrick's Day: not in England", ENGLAND, utc(2026, 3, 16, 10), 1, utc(2026, 3, 17, 17)),
    (
        "St Patrick's Day: Northern Ireland only",
        NORTHERN_IRELAND,
        utc(2026, 3, 16, 10),
        1,
        utc(2026, 3, 18, 17),
    ),
    (
        "Boyne substitute 13 July: NI only",
        NORTHERN_IRELAND,
        utc(2026, 7, 10, 9),
        1,
        utc(2026, 7, 14, 16),
    ),
    (
        "Boyne substitute 13 July: England works",
        ENGLAND,
        utc(2026, 7, 10, 9),
        1,
        utc(2026, 7, 13, 16),
    ),
    ("spring clock change (29 Mar 2026)", ENGLAND, utc(2026, 3, 27, 10), 1, utc(2026, 3, 30, 16)),
    ("autumn clock change (25 Oct 2026)", ENGLAND, utc(2026, 10, 23, 9), 1, utc(2026, 10, 26, 17)),
    (
        "spring clock change 2027 in Easter weekend",
        ENGLAND,
        utc(2027, 3, 26, 10),
        1,
        utc(2027, 3, 31, 16),
    ),
    ("autumn clock change 2027", ENGLAND, utc(2027, 10, 29, 9), 1, utc(2027, 11, 1, 17)),
    (
        "begun in the repeated hour (BST)",
        ENGLAND,
        utc(2026, 10, 25, 0, 30),
        1,
        utc(2026, 10, 27, 17),
    ),
    (
        "begun in the repeated hour (GMT)",
        ENGLAND,
        utc(2026, 10, 25, 1, 30),
        1,
        utc(2026, 10, 27, 17),
    ),
    (
        "summer: 16:59 BST is before close",
        ENGLAND,
        utc(2026, 7, 16, 15, 59),
        1,
        utc(2026, 7, 17, 16),
    ),
    (
        "summer: 17:30 BST is after close",
        ENGLAND,
        utc(2026, 7, 16, 16, 30),
        1,
        utc(2026, 7, 20, 16),
    ),
    (
        "partnership closure day and 17:30 close",
        WITH_CLOSURES,
        utc(2026, 12, 23, 10),
        1,
        utc(2026, 12, 29, 17, 30),
    ),
]


@pytest.mark.parametrize(
    "calendar, started_at, working_days, due",
    [case[1:] for case in WORKING_DAY_CASES],
    ids=[case[0] for case in WORKING_DAY_CASES],
)
def test_working_day_deadline(calendar, started_at, working_days, due):
    assert calendar.add_working_days(started_at, working_days) == due


HOUR_CASES = [
    # (case, began (UTC), hours, due (UTC), due as London wall-clock text)
    ("ordinary day", utc(2026, 11, 24, 10), 4, utc(2026, 11, 24, 14), "2026-11-24 14:00 GMT"),
    ("over a weekend", utc(2026, 11, 27, 16), 24, utc(2026, 11, 28, 16), "2026-11-28 16:00 GMT"),
    (
        "spring forward: 24h is 25 wall-clock hours",
        utc(2026, 3, 28, 12),
        24,
        utc(2026, 3, 29, 12),
        "2026-03-29 13:00 BST",
    ),
    (
        "fall back: 24h is 23 wall-clock hours",
        utc(2026, 10, 24, 12),
        24,
        utc(2026, 10, 25, 12),
        "2026-10-25 12:00 GMT",
    ),
    (
        "through the missing hour",
        utc(2026, 3, 29, 0, 30),
        1,
        utc(2026, 3, 29, 1, 30),
        "2026-03-29 02:30 BST",
    ),
    (
        "through the repeated hour",
        utc(2026, 10, 25, 0, 30),
        1,
        utc(2026, 10, 25, 1, 30),
        "2026-10-25 01:30 GMT",
    ),
]


@pytest.mark.parametrize(
    "started_at, hours, due, wall_clock",
    [case[1:] for case in HOUR_CASES],
    ids=[case[0] for case in HOUR_CASES],
)
def test_hour_deadline_is_elapsed_time(started_at, hours, due, wall_clock):
    result = add_hours(started_at, hours)
    assert result == due
    assert result - started_at == timedelta(hours=hours)
    assert local_time(result).strftime("%Y-%m-%d %H:%M %Z") == wall_clock


def test_deadline_from_a_non_utc_instant_is_the_same_instant():
    in_bst = datetime(2026, 7, 16, 16, 59, tzinfo=timezone(timedelta(hours=1)))
    assert ENGLAND.add_working_days(in_bst, 1) == utc(2026, 7, 17, 16)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive"):
        ENGLAND.add_working_days(datetime(2026, 11, 23, 10), 1)
    with pytest.raises(ValueError, match="naive"):
        add_hours(datetime(2026, 11, 23, 10), 1)


def test_skipped_days_explain_the_christmas_deadline():
    skipped = ENGLAND.skipped_days(utc(2026, 12, 23, 10), 2)
    assert [(day.isoformat(), why) for day, why in skipped] == [
        ("2026-12-25", "Christmas Day"),
        ("2026-12-28", "Boxing Day (observed)"),
    ]


@pytest.mark.parametrize("text", ["2026-11-24T10:00:00", "yesterday", ""])
def test_parse_instant_refuses_naive_or_garbage(text):
    with pytest.raises(ValueError):
        parse_instant(text)


def test_parse_instant_converts_to_utc():
    assert parse_instant("2026-07-16T17:30:00+01:00") == utc(2026, 7, 16, 16, 30)


def test_bank_holiday_data_covers_next_year():
    """Fails when the holidays package no longer knows the coming year's holidays."""
    next_year = datetime.now(UTC).year + 1
    for calendar in (ENGLAND, SCOTLAND, NORTHERN_IRELAND):
        assert not calendar.is_working_day(datetime(next_year, 12, 25).date())


EXTENSION_CASES = [
    # (case, due (UTC), amount, unit, new due (UTC))
    (
        "two working days from a Thursday",
        utc(2026, 11, 26, 17),
        2,
        "working_days",
        utc(2026, 11, 30, 17),
    ),
    ("over Christmas", utc(2026, 12, 23, 17), 2, "working_days", utc(2026, 12, 29, 17)),
    (
        "from a Saturday (an approval after the deadline)",
        utc(2026, 11, 28, 9),
        1,
        "working_days",
        utc(2026, 11, 30, 17),
    ),
    ("hours are elapsed time", utc(2026, 10, 25, 0, 30), 2, "hours", utc(2026, 10, 25, 2, 30)),
]


@pytest.mark.parametrize(
    "due, amount, unit, extended",
    [case[1:] for case in EXTENSION_CASES],
    ids=[case[0] for case in EXTENSION_CASES],
)
def test_an_extension_moves_the_deadline_on_the_calendar(due, amount, unit, extended):
    assert ENGLAND.extended(due, amount, unit) == extended


def test_an_extension_is_in_hours_or_working_days():
    with pytest.raises(ValueError, match="working_days"):
        ENGLAND.extended(utc(2026, 11, 26, 17), 1, "weeks")


@pytest.mark.parametrize(
    "now, days",
    [
        (utc(2026, 12, 23, 16), 0),  # before the deadline
        (utc(2026, 12, 23, 18), 0),  # the day it passed
        (utc(2026, 12, 24, 9), 1),
        (utc(2026, 12, 29, 9), 2),  # 25 and 28 Dec are bank holidays, the weekend is not counted
        (utc(2027, 1, 4, 9), 5),  # 29, 30, 31 Dec; 1 Jan is a holiday; Mon 4 Jan
    ],
)
def test_working_days_overdue(now, days):
    assert ENGLAND.working_days_overdue(utc(2026, 12, 23, 17), now) == days


def test_local_midnight_is_the_start_of_the_local_day_in_utc():
    assert local_midnight(date(2026, 12, 1)) == utc(2026, 12, 1, 0)
    assert local_midnight(date(2026, 7, 1)) == utc(2026, 6, 30, 23)  # BST
    assert ENGLAND.midnight(date(2026, 7, 1)) == utc(2026, 6, 30, 23)
    assert local_midnight(date(2026, 7, 1), "UTC") == utc(2026, 7, 1, 0)


def test_one_way_to_say_a_day_a_time_and_a_deadline():
    assert date_text(date(2026, 12, 1)) == "Tue 1 Dec 2026"
    assert time_text(utc(2026, 12, 1, 9, 5)) == "09:05 Tue 1 Dec 2026"
    assert time_text(utc(2026, 7, 16, 16)) == "17:00 Thu 16 Jul 2026"
    assert due_text(utc(2026, 12, 1, 17)) == "17:00 Tue 1 Dec 2026 GMT"
    # The hour repeated when the clocks go back: the clock tells the two apart.
    assert due_text(utc(2026, 10, 25, 0, 30)) == "01:30 Sun 25 Oct 2026 BST"
    assert due_text(utc(2026, 10, 25, 1, 30)) == "01:30 Sun 25 Oct 2026 GMT"


def test_a_local_time_on_a_day_is_an_instant_in_utc():
    assert ENGLAND.instant_at(date(2026, 12, 1), time(8)) == utc(2026, 12, 1, 8)
    assert ENGLAND.instant_at(date(2026, 7, 1), time(8)) == utc(2026, 7, 1, 7)  # BST
    # Skipped (29 Mar) and repeated (25 Oct) times are taken after the change.
    assert ENGLAND.instant_at(date(2026, 3, 29), time(1, 30)) == utc(2026, 3, 29, 1, 30)
    assert ENGLAND.instant_at(date(2026, 10, 25), time(1, 30)) == utc(2026, 10, 25, 1, 30)
