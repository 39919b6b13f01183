"""The urgent clock: hours of elapsed time counted only inside a daily service window.

A window is local wall-clock time, [start, end) in the calendar's timezone, on every day or only
on the calendar's working days (no weekends, bank holidays of its nation or closure days). Each
day's window is converted to UTC on its own, so a window is as long in real time as the clocks
make it: 08:00–20:00 is always 12 hours (the clocks change at 01:00/02:00), while 00:00–12:00 is
13 hours on the day the clocks go back and 11 on the day they go forward.

A clock started outside a window starts counting when the next one opens; a deadline falling
exactly when a window closes stays there (it does not move to the next opening).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

from escalation.rules.calendar import WorkingCalendar, as_utc

ServiceDays = Literal["every_day", "working_days"]
SERVICE_DAYS: tuple[ServiceDays, ...] = ("every_day", "working_days")


@dataclass(frozen=True)
class ServiceHours:
    """A daily window of local time, [start, end), on every day or on working days only."""

    start: time
    end: time
    days: ServiceDays = "every_day"

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(
                f"service hours must end after they start: {self.start:%H:%M}–{self.end:%H:%M}"
            )
        if self.days not in SERVICE_DAYS:
            raise ValueError(f"service days are every_day or working_days, not {self.days!r}")


def add_service_hours(
    calendar: WorkingCalendar, started_at: datetime, hours: int, service: ServiceHours
) -> datetime:
    """The instant by which `hours` of service time have passed since `started_at` (aware UTC)."""
    if hours < 1:
        raise ValueError(f"service hours to add must be at least 1, not {hours}")
    started_at, remaining = as_utc(started_at), timedelta(hours=hours)
    windows = _windows_from(calendar, started_at, service)
    opens, closes = next(windows)
    counting_from = max(opens, started_at)
    while counting_from + remaining > closes:
        remaining -= closes - counting_from
        counting_from, closes = next(windows)
    return counting_from + remaining


def next_service_start(
    calendar: WorkingCalendar, instant: datetime, service: ServiceHours
) -> datetime:
    """`instant` (in UTC) if it is inside service hours, else the next window's opening."""
    instant = as_utc(instant)
    opens, _ = next(_windows_from(calendar, instant, service))
    return max(opens, instant)


def is_in_service_hours(
    calendar: WorkingCalendar, instant: datetime, service: ServiceHours
) -> bool:
    """Whether `instant` falls inside a window (its start included, its end not)."""
    return next_service_start(calendar, instant, service) == instant


def _windows_from(
    calendar: WorkingCalendar, instant: datetime, service: ServiceHours
) -> Iterator[tuple[datetime, datetime]]:
    """The windows (opens, closes) in UTC that have not closed by `instant`, in order."""
    day = calendar.local_date(instant)
    while True:
        if _is_service_day(calendar, day, service):
            opens = calendar.instant_at(day, service.start)
            closes = calendar.instant_at(day, service.end)
            # 01:30-02:15 on the day the clocks go forward is empty: 01:30 is taken as 02:30.
            if opens < closes and closes > instant:
                yield opens, closes
        day += timedelta(days=1)


def _is_service_day(calendar: WorkingCalendar, day: date, service: ServiceHours) -> bool:
    return service.days == "every_day" or calendar.is_working_day(day)
