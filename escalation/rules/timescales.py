"""A stage's clock, and the urgent track's: working days, or hours counted as elapsed time or
only within the policy's service hours, with an out-of-hours owner for an urgent stage that
begins out of hours."""

from __future__ import annotations

from datetime import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from escalation.rules.routing import Route, short_routes

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Timescale(BaseModel):
    """Either `working_days: N` or `hours: N`, never both. An urgent stage counted in service
    hours may count them on other days than the track's window says (`days: working_days` for a
    chair who does not sit on bank holidays)."""

    model_config = _FROZEN
    working_days: int | None = None
    hours: int | None = None
    days: Literal["every_day", "working_days"] | None = None

    @model_validator(mode="after")
    def exactly_one_positive(self) -> Timescale:
        given = [name for name in ("working_days", "hours") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of working_days or hours")
        if getattr(self, given[0]) < 1:
            raise ValueError(f"{given[0]} must be ≥ 1")
        if self.days is not None and self.hours is None:
            raise ValueError("days: only an hours timescale counts service hours on given days")
        return self

    def describe(self) -> str:
        if self.working_days is not None:
            return f"{self.working_days} working day{'s' if self.working_days != 1 else ''}"
        return f"{self.hours} hour{'s' if self.hours != 1 else ''}"


class ServiceWindow(BaseModel):
    """The hours an urgent clock counts in: `start`–`end` local time, every day or working days."""

    model_config = _FROZEN
    start: time
    end: time
    days: Literal["every_day", "working_days"] = "every_day"

    @model_validator(mode="after")
    def end_after_start(self) -> ServiceWindow:
        if self.end <= self.start:
            raise ValueError("end: must be later than start")
        return self


class UrgentTrack(BaseModel):
    """The track for a child at immediate risk: clocks in hours, possibly starting higher up.

    `clock: elapsed` counts every hour; `clock: service_hours` counts only the hours of
    `service_hours`. `out_of_hours_owner` (rules, as a stage's `owner`) owns an urgent stage that
    begins outside `service_hours` (an emergency duty team manager), so nothing waits for
    someone asleep."""

    model_config = _FROZEN
    start_stage: str
    timescales: dict[str, Timescale]
    clock: Literal["elapsed", "service_hours"] = "elapsed"
    service_hours: ServiceWindow | None = None
    out_of_hours_owner: tuple[Route, ...] = ()

    _short_owner = field_validator("out_of_hours_owner", mode="before")(short_routes)

    @field_validator("timescales")
    @classmethod
    def hours_only(cls, timescales: dict[str, Timescale]) -> dict[str, Timescale]:
        for key, timescale in timescales.items():
            if timescale.hours is None:
                raise ValueError(f"{key}: urgent timescales are in hours, not working days")
        return timescales

    @model_validator(mode="after")
    def service_hours_when_needed(self) -> UrgentTrack:
        if self.service_hours is None and self.clock == "service_hours":
            raise ValueError("service_hours: is required when clock is service_hours")
        if self.service_hours is None and self.out_of_hours_owner:
            raise ValueError("service_hours: is required to know when it is out of hours")
        if self.clock != "service_hours" and any(t.days for t in self.timescales.values()):
            raise ValueError("timescales: days counts service hours: set clock: service_hours")
        return self
