"""Working-day and elapsed-time deadline arithmetic: the only module that does calendar maths,
and the only one that turns an instant or a day into words.

Rules (see README "How deadlines are computed"):

* "N working days" is close of business on the Nth working day after the day the stage began.
  A working day is Monday to Friday that is neither a bank holiday of the policy's UK nation
  (substitute days included) nor one of the partnership's closure days.
* A stage that begins after close of business, or on a day that is not a working day, counts
  from the next working day (as if it had begun that morning).
* "N hours" is elapsed time, computed in UTC, so it is exact across clock changes.
* "N hours within service hours" (the urgent clock) counts elapsed time only inside a daily
  local window: see service_hours, which builds on this module.

Instants go in and come out as aware UTC datetimes; calendar rules are applied to local dates in
the policy's timezone (Europe/London), and the local close of business is converted back to UTC.

Words (pages, emails, the chronology, the command line) come from three helpers only:
`date_text` ("Tue 29 Dec 2026"), `time_text` ("17:00 Tue 29 Dec 2026": when something happened)
and `due_text` ("17:00 Tue 29 Dec 2026 GMT": a deadline names its clock, since an hour-clock
deadline can fall in the hour repeated when the clocks go back).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import holidays
import pendulum

DEFAULT_TIMEZONE = "Europe/London"
NATION_SUBDIVISIONS = {
    "england-and-wales": "ENG",
    "scotland": "SCT",
    "northern-ireland": "NIR",
}


@dataclass(frozen=True)
class WorkingCalendar:
    """The working-day rules of one policy: nation, timezone, close of business, closures."""

    nation: str
    timezone: str = DEFAULT_TIMEZONE
    close_of_business: time = time(17, 0)
    closure_days: frozenset[date] = frozenset()

    def non_working_reason(self, day: date) -> str | None:
        """Why `day` is not a working day ("Saturday", a holiday's name, "closure day"), or None."""
        if day.weekday() >= 5:
            return day.strftime("%A")
        holiday = bank_holidays(self.nation, day.year).get(day)
        if holiday:
            return holiday
        if day in self.closure_days:
            return "partnership closure day"
        return None

    def is_working_day(self, day: date) -> bool:
        return self.non_working_reason(day) is None

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def local(self, instant: datetime) -> pendulum.DateTime:
        return local_time(instant, self.timezone)

    def local_date(self, instant: datetime) -> date:
        """The local calendar day `instant` falls on."""
        return local_date(instant, self.timezone)

    def midnight(self, day: date) -> datetime:
        """The start of local `day`, as a UTC instant (see local_midnight)."""
        return local_midnight(day, self.timezone)

    def counting_day(self, started_at: datetime) -> date:
        """The working day a stage that began at `started_at` counts from."""
        local = self.local(started_at)
        day = date(local.year, local.month, local.day)
        if self.is_working_day(day) and local.time() < self.close_of_business:
            return day
        return self.next_working_day(day)

    def close_of_business_at(self, day: date) -> datetime:
        """Close of business on local `day`, as a UTC instant."""
        return self.instant_at(day, self.close_of_business)

    def instant_at(self, day: date, clock: time) -> datetime:
        """Local wall-clock `clock` on `day`, as a UTC instant. A time skipped or repeated when
        the clocks change is taken after the change (01:30 on 29 Mar 2026 is 02:30 BST)."""
        local = pendulum.datetime(
            day.year, day.month, day.day, clock.hour, clock.minute, clock.second, tz=self.timezone
        )
        return _to_utc(local)

    def add_working_days(self, started_at: datetime, working_days: int) -> datetime:
        """Close of business on the Nth working day after the day the stage counts from."""
        return self.close_of_business_at(self.working_day_after(started_at, working_days))

    def working_day_after(self, started_at: datetime, working_days: int) -> date:
        day = self.counting_day(started_at)
        for _ in range(working_days):
            day = self.next_working_day(day)
        return day

    def extended(self, due: datetime, amount: int, unit: str) -> datetime:
        """A deadline moved on by `amount` hours (elapsed), or by `amount` working days: close of
        business on the Nth working day after the local day of `due`."""
        if unit == "hours":
            return add_hours(due, amount)
        if unit != "working_days":
            raise ValueError(f"an extension is in hours or working_days, not {unit!r}")
        day = self.local_date(due)
        for _ in range(amount):
            day = self.next_working_day(day)
        return self.close_of_business_at(day)

    def working_days_overdue(self, due_at: datetime, now: datetime) -> int:
        """Whole working days since the deadline: 0 on the day it passed (and before it), 1 on
        the next working day, and so on (weekends, holidays and closure days not counted)."""
        today = self.local_date(now)
        days, day = 0, self.local_date(due_at)
        while (day := self.next_working_day(day)) <= today:
            days += 1
        return days

    def skipped_days(self, started_at: datetime, working_days: int) -> list[tuple[date, str]]:
        """Weekdays that were not counted between the start and the due day, with the reason.

        Used to explain a deadline ("25, 28 Dec are bank holidays"); weekends are left out
        because nobody needs them explained.
        """
        local = self.local(started_at)
        start = date(local.year, local.month, local.day)
        end = self.working_day_after(started_at, working_days)
        skipped = []
        day = start
        while day < end:
            day += timedelta(days=1)
            reason = self.non_working_reason(day)
            if reason and day.weekday() < 5:
                skipped.append((day, reason))
        return skipped


def add_hours(started_at: datetime, hours: int) -> datetime:
    """Elapsed time: `hours` after `started_at`, exact across clock changes."""
    return as_utc(started_at) + timedelta(hours=hours)


def as_utc(instant: datetime) -> datetime:
    """`instant` as aware UTC; a naive datetime is refused, not guessed."""
    return _require_aware(instant).astimezone(UTC)


@lru_cache(maxsize=32)
def _zone(tz: str) -> pendulum.Timezone:
    """The zone object (resolving the name on every call cost 53 us a call, 7 us with this)."""
    return pendulum.timezone(tz)


def local_time(instant: datetime, tz: str = DEFAULT_TIMEZONE) -> pendulum.DateTime:
    """`instant` as an aware datetime in `tz`."""
    return pendulum.instance(_require_aware(instant)).in_timezone(_zone(tz))


def local_date(instant: datetime, tz: str = DEFAULT_TIMEZONE) -> date:
    """The calendar day `instant` falls on in `tz` (e.g. "today" for the directory's absences)."""
    local = local_time(instant, tz)
    return date(local.year, local.month, local.day)


def local_midnight(day: date, tz: str = DEFAULT_TIMEZONE) -> datetime:
    """The start of local `day` in `tz`, as a UTC instant: a filter "raised on or after `day`"
    is `raised_at >= local_midnight(day)`, "on or before" is `< local_midnight(day + 1)`."""
    return _to_utc(pendulum.datetime(day.year, day.month, day.day, tz=tz))


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant with an offset, as aware UTC. Naive text is refused, not guessed."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as error:
        raise ValueError(f"not an ISO 8601 date-time: {text!r}") from error
    if parsed.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset; add one, e.g. +00:00")
    return parsed.astimezone(UTC)


@lru_cache(maxsize=64)
def bank_holidays(nation: str, year: int) -> dict[date, str]:
    subdivision = NATION_SUBDIVISIONS[nation]
    return dict(holidays.country_holidays("GB", subdiv=subdivision, years=year).items())


def _require_aware(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("a naive datetime is ambiguous; pass an aware (UTC) datetime")
    return instant


def _to_utc(local: pendulum.DateTime) -> datetime:
    utc = local.in_timezone("UTC")
    return datetime(
        utc.year,
        utc.month,
        utc.day,
        utc.hour,
        utc.minute,
        utc.second,
        utc.microsecond,
        tzinfo=UTC,
    )


# --- words ------------------------------------------------------------------------------------


def date_text(day: date) -> str:
    """'Tue 29 Dec 2026': a day, as every page, email, note and command shows one."""
    return f"{day:%a} {day.day} {day:%b %Y}"


def time_text(instant: datetime, tz: str = DEFAULT_TIMEZONE) -> str:
    """'17:00 Tue 29 Dec 2026': when something happened, in local time."""
    local = local_time(instant, tz)
    return f"{local:%H:%M} {date_text(date(local.year, local.month, local.day))}"


def utc_text(instant: datetime) -> str:
    """'2026-12-29T17:00Z': an instant in UTC, for operators to check against logs and servers
    (the command line shows it beside the local time)."""
    return f"{_require_aware(instant).astimezone(UTC):%Y-%m-%dT%H:%MZ}"


def due_text(instant: datetime, tz: str = DEFAULT_TIMEZONE) -> str:
    """'17:00 Tue 29 Dec 2026 GMT': a deadline, in local time with the clock it is on (GMT or
    BST), so an hour-clock deadline in the hour repeated in October is not ambiguous."""
    return f"{time_text(instant, tz)} {local_time(instant, tz).tzname()}"
