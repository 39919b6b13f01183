"""The urgent clock, checked by hand against the calendar (instants in UTC).

GMT is UTC+0 (late October to late March); BST is UTC+1. In England 25 and 26 Dec 2026 are bank
holidays and Mon 28 Dec 2026 is the substitute for Boxing Day; in Scotland Mon 30 Nov 2026 is
St Andrew's Day. The clocks go back on Sun 25 Oct 2026 and forward on Sun 29 Mar 2026.
"""

from datetime import datetime, time, timedelta, timezone

import pytest

from escalation.rules.calendar import WorkingCalendar
from escalation.rules.service_hours import (
    ServiceHours,
    add_service_hours,
    is_in_service_hours,
    next_service_start,
)
from tests.factories import utc

ENGLAND = WorkingCalendar(nation="england-and-wales")
SCOTLAND = WorkingCalendar(nation="scotland")
CLOSED_ON_24_DEC = WorkingCalendar(
    nation="england-and-wales", closure_days=frozenset({utc(2026, 12, 24).date()})
)
EVERY_DAY = ServiceHours(start=time(8), end=time(20), days="every_day")
WORKING_DAYS = ServiceHours(start=time(8), end=time(20), days="working_days")
MIDNIGHT_TO_NOON = ServiceHours(start=time(0), end=time(12), days="every_day")

CASES = [
    # (case, calendar, service, started (UTC), hours, due (UTC))
    ("within one window", ENGLAND, EVERY_DAY, utc(2026, 11, 24, 10), 3, utc(2026, 11, 24, 13)),
    ("a whole window", ENGLAND, EVERY_DAY, utc(2026, 11, 24, 8), 12, utc(2026, 11, 24, 20)),
    ("due at close", ENGLAND, EVERY_DAY, utc(2026, 11, 24, 19), 1, utc(2026, 11, 24, 20)),
    ("over night", ENGLAND, EVERY_DAY, utc(2026, 11, 24, 19), 2, utc(2026, 11, 25, 9)),
    ("begun at 02:00", ENGLAND, EVERY_DAY, utc(2026, 11, 24, 2), 1, utc(2026, 11, 24, 9)),
    ("begun exactly at close", ENGLAND, EVERY_DAY, utc(2026, 11, 24, 20), 1, utc(2026, 11, 25, 9)),
    ("begun after close", ENGLAND, EVERY_DAY, utc(2026, 11, 24, 21, 30), 1, utc(2026, 11, 25, 9)),
    ("summer: 07:30 BST", ENGLAND, EVERY_DAY, utc(2026, 7, 16, 6, 30), 1, utc(2026, 7, 16, 8)),
    ("summer: over night", ENGLAND, EVERY_DAY, utc(2026, 7, 16, 18), 2, utc(2026, 7, 17, 8)),
    ("Saturday counts", ENGLAND, EVERY_DAY, utc(2026, 11, 27, 19), 2, utc(2026, 11, 28, 9)),
    ("weekend skipped", ENGLAND, WORKING_DAYS, utc(2026, 11, 27, 19), 2, utc(2026, 11, 30, 9)),
    ("St Andrew's Day", SCOTLAND, WORKING_DAYS, utc(2026, 11, 27, 19), 2, utc(2026, 12, 1, 9)),
    ("Christmas Day counts", ENGLAND, EVERY_DAY, utc(2026, 12, 24, 19), 2, utc(2026, 12, 25, 9)),
    ("Christmas skipped", ENGLAND, WORKING_DAYS, utc(2026, 12, 24, 19), 2, utc(2026, 12, 29, 9)),
    ("48h every day", ENGLAND, EVERY_DAY, utc(2026, 12, 23, 2, 1), 48, utc(2026, 12, 26, 20)),
    # 12h on 23 and 24 Dec; 25 to 28 Dec skipped; 12h on 29 and 30 Dec.
    ("48h, Christmas", ENGLAND, WORKING_DAYS, utc(2026, 12, 23, 2, 1), 48, utc(2026, 12, 30, 20)),
    ("closure day", CLOSED_ON_24_DEC, WORKING_DAYS, utc(2026, 12, 23, 19), 2, utc(2026, 12, 29, 9)),
    # 20:00 BST on Saturday, then 08:00 GMT on Sunday.
    ("clocks go back", ENGLAND, EVERY_DAY, utc(2026, 10, 24, 18), 2, utc(2026, 10, 25, 9)),
    # 20:00 GMT on Saturday, then 08:00 BST on Sunday.
    ("clocks go forward", ENGLAND, EVERY_DAY, utc(2026, 3, 28, 19), 2, utc(2026, 3, 29, 8)),
    # 00:00 BST to 12:00 GMT is 13 real hours; 00:00 GMT to 12:00 BST is 11.
    ("13h window", ENGLAND, MIDNIGHT_TO_NOON, utc(2026, 10, 24, 23), 13, utc(2026, 10, 25, 12)),
    (
        "after a 13h window",
        ENGLAND,
        MIDNIGHT_TO_NOON,
        utc(2026, 10, 24, 23),
        14,
        utc(2026, 10, 26, 1),
    ),
    ("11h window", ENGLAND, MIDNIGHT_TO_NOON, utc(2026, 3, 29, 0), 11, utc(2026, 3, 29, 11)),
    (
        "after an 11h window",
        ENGLAND,
        MIDNIGHT_TO_NOON,
        utc(2026, 3, 29, 0),
        12,
        utc(2026, 3, 30, 0),
    ),
]


@pytest.mark.parametrize(
    "calendar, service, started_at, hours, due",
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_service_hours_deadline(calendar, service, started_at, hours, due):
    assert add_service_hours(calendar, started_at, hours, service) == due


def test_a_window_in_the_skipped_hour_is_empty():
    # On 29 Mar 2026 01:30 is taken as 02:30 BST (01:30Z), after 02:15 BST (01:15Z): no time.
    # On 30 Mar the window is 00:30Z to 01:15Z.
    service = ServiceHours(start=time(1, 30), end=time(2, 15))
    assert add_service_hours(ENGLAND, utc(2026, 3, 29, 0), 1, service) == utc(2026, 3, 31, 0, 45)


def test_an_instant_with_another_offset_is_the_same_instant():
    in_bst = datetime(2026, 7, 16, 20, 30, tzinfo=timezone(timedelta(hours=1)))
    due = add_service_hours(ENGLAND, in_bst, 1, EVERY_DAY)
    assert due == utc(2026, 7, 17, 8)
    assert due.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "instant, inside",
    [
        (utc(2026, 11, 24, 7, 59, 59), False),
        (utc(2026, 11, 24, 8), True),
        (utc(2026, 11, 24, 19, 59, 59), True),
        (utc(2026, 11, 24, 20), False),
        (utc(2026, 7, 16, 6, 59), False),  # 07:59 BST
        (utc(2026, 7, 16, 7), True),  # 08:00 BST
        (utc(2026, 7, 16, 18, 59), True),  # 19:59 BST
        (utc(2026, 7, 16, 19), False),  # 20:00 BST
    ],
)
def test_in_service_hours_from_start_up_to_end(instant, inside):
    assert is_in_service_hours(ENGLAND, instant, EVERY_DAY) is inside


def test_christmas_day_is_in_service_hours_only_every_day():
    assert is_in_service_hours(ENGLAND, utc(2026, 12, 25, 10), EVERY_DAY)
    assert not is_in_service_hours(ENGLAND, utc(2026, 12, 25, 10), WORKING_DAYS)
    assert not is_in_service_hours(ENGLAND, utc(2026, 12, 28, 10), WORKING_DAYS)
    assert is_in_service_hours(ENGLAND, utc(2026, 12, 29, 10), WORKING_DAYS)


@pytest.mark.parametrize(
    "service, instant, start",
    [
        (EVERY_DAY, utc(2026, 11, 24, 10, 15), utc(2026, 11, 24, 10, 15)),
        (EVERY_DAY, utc(2026, 11, 24, 8), utc(2026, 11, 24, 8)),
        (EVERY_DAY, utc(2026, 11, 24, 2), utc(2026, 11, 24, 8)),
        (EVERY_DAY, utc(2026, 11, 24, 20), utc(2026, 11, 25, 8)),
        (EVERY_DAY, utc(2026, 10, 24, 19), utc(2026, 10, 25, 8)),  # 08:00 GMT
        (EVERY_DAY, utc(2026, 3, 28, 20), utc(2026, 3, 29, 7)),  # 08:00 BST
        (WORKING_DAYS, utc(2026, 11, 28, 10), utc(2026, 11, 30, 8)),
        (WORKING_DAYS, utc(2026, 12, 24, 20), utc(2026, 12, 29, 8)),
    ],
)
def test_next_service_start(service, instant, start):
    assert next_service_start(ENGLAND, instant, service) == start


@pytest.mark.parametrize("start, end", [(time(20), time(8)), (time(8), time(8))])
def test_service_hours_must_end_after_they_start(start, end):
    with pytest.raises(ValueError, match="must end after they start"):
        ServiceHours(start=start, end=end)


def test_service_days_are_every_day_or_working_days():
    with pytest.raises(ValueError, match="every_day or working_days"):
        ServiceHours(start=time(8), end=time(20), days="weekdays")


@pytest.mark.parametrize("hours", [0, -1])
def test_at_least_one_hour_is_added(hours):
    with pytest.raises(ValueError, match="at least 1"):
        add_service_hours(ENGLAND, utc(2026, 11, 24, 10), hours, EVERY_DAY)


def test_naive_datetimes_are_refused():
    naive = datetime(2026, 11, 24, 10)
    for check in (is_in_service_hours, next_service_start):
        with pytest.raises(ValueError, match="naive"):
            check(ENGLAND, naive, EVERY_DAY)
    with pytest.raises(ValueError, match="naive"):
        add_service_hours(ENGLAND, naive, 1, EVERY_DAY)
