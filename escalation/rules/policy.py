"""Policies: the partnership's escalation ladder as data (YAML), validated into frozen models.

A bad file is refused with one line per mistake naming the file and the field, e.g.
``policies/x.yaml: stages[2].timescale: working_days must be ≥ 1``.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from escalation.rules.calendar import NATION_SUBDIVISIONS, WorkingCalendar, add_hours
from escalation.rules.errors import PolicyError

OwnerRole = Literal[
    "raiser", "named_professional", "designated_professional", "board_manager", "chair"
]
NotifiedRole = Literal[
    "raiser",
    "counterpart",
    "named_professional",
    "designated_professional",
    "board_manager",
    "chair",
]
Nation = Literal["england-and-wales", "scotland", "northern-ireland"]
assert set(NATION_SUBDIVISIONS) == set(Nation.__args__)

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Timescale(BaseModel):
    """Either `working_days: N` or `hours: N`, never both."""

    model_config = _FROZEN
    working_days: int | None = None
    hours: int | None = None

    @model_validator(mode="after")
    def exactly_one_positive(self) -> Timescale:
        given = [name for name in ("working_days", "hours") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of working_days or hours")
        if getattr(self, given[0]) < 1:
            raise ValueError(f"{given[0]} must be ≥ 1")
        return self

    def describe(self) -> str:
        if self.working_days is not None:
            return f"{self.working_days} working day{'s' if self.working_days != 1 else ''}"
        return f"{self.hours} hour{'s' if self.hours != 1 else ''}"


class Stage(BaseModel):
    model_config = _FROZEN
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=1)
    owner: OwnerRole
    notify: tuple[NotifiedRole, ...] = ()
    timescale: Timescale


class UrgentTrack(BaseModel):
    """The track for a child at immediate risk: clocks in hours, possibly starting higher up."""

    model_config = _FROZEN
    start_stage: str
    timescales: dict[str, Timescale]

    @field_validator("timescales")
    @classmethod
    def hours_only(cls, timescales: dict[str, Timescale]) -> dict[str, Timescale]:
        for key, timescale in timescales.items():
            if timescale.hours is None:
                raise ValueError(f"{key}: urgent timescales are in hours, not working days")
        return timescales


class Policy(BaseModel):
    model_config = _FROZEN
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    partnership: str = Field(min_length=1)
    nation: Nation
    timezone: str = "Europe/London"
    close_of_business: time = time(17, 0)
    closure_days: tuple[date, ...] = ()
    reminder_before_hours: float = Field(default=4, ge=0)
    stages: tuple[Stage, ...] = Field(min_length=2)
    urgent: UrgentTrack

    @field_validator("version", mode="before")
    @classmethod
    def version_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, (int, float)) else value

    @field_validator("timezone")
    @classmethod
    def known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r}") from None
        return value

    @model_validator(mode="after")
    def ladder_is_consistent(self) -> Policy:
        keys = [stage.key for stage in self.stages]
        duplicates = sorted({key for key in keys if keys.count(key) > 1})
        if duplicates:
            raise ValueError(f"stages: duplicate key {duplicates[0]!r}")
        if self.stages[0].owner != "raiser":
            raise ValueError("stages[0].owner: the first stage must be owned by the raiser")
        if self.urgent.start_stage not in keys:
            raise ValueError(f"urgent.start_stage: {self.urgent.start_stage!r} is not a stage key")
        start = keys.index(self.urgent.start_stage)
        for key in self.urgent.timescales:
            if key not in keys:
                raise ValueError(f"urgent.timescales: {key!r} is not a stage key")
        missing = [key for key in keys[start:] if key not in self.urgent.timescales]
        if missing:
            raise ValueError(f"urgent.timescales: no timescale for stage {missing[0]!r}")
        return self

    @property
    def calendar(self) -> WorkingCalendar:
        return WorkingCalendar(
            nation=self.nation,
            timezone=self.timezone,
            close_of_business=self.close_of_business,
            closure_days=frozenset(self.closure_days),
        )

    def stage(self, key: str) -> Stage:
        for stage in self.stages:
            if stage.key == key:
                return stage
        raise KeyError(key)

    def stage_index(self, key: str) -> int:
        return [stage.key for stage in self.stages].index(key)

    def first_stage(self, urgent: bool) -> Stage:
        return self.stage(self.urgent.start_stage) if urgent else self.stages[0]

    def next_stage(self, key: str) -> Stage | None:
        index = self.stage_index(key) + 1
        return self.stages[index] if index < len(self.stages) else None

    def is_final(self, key: str) -> bool:
        return self.stage_index(key) == len(self.stages) - 1

    def timescale(self, key: str, urgent: bool) -> Timescale:
        if urgent and key in self.urgent.timescales:
            return self.urgent.timescales[key]
        return self.stage(key).timescale

    def due_at(self, key: str, urgent: bool, started_at: datetime) -> datetime:
        """When the stage `key`, begun at `started_at`, must be resolved or it escalates."""
        timescale = self.timescale(key, urgent)
        if timescale.hours is not None:
            return add_hours(started_at, timescale.hours)
        return self.calendar.add_working_days(started_at, timescale.working_days)

    def reminder_at(self, key: str, urgent: bool, started_at: datetime) -> datetime | None:
        """When to remind the owner of the stage `key` begun at `started_at` (see reminder)."""
        return self.reminder(self.due_at(key, urgent, started_at), since=started_at)

    def reminder(self, due: datetime, *, since: datetime) -> datetime | None:
        """When to remind the owner of a deadline `due` they have had since `since` (the stage
        began, or an extension was approved): `reminder_before_hours` before it, but never in
        the first half of that time (a 4-hour urgent stage is reminded after 2 hours). None if
        the policy sends no reminders, or there is no time left to remind in."""
        if self.reminder_before_hours == 0 or due <= since:
            return None
        lead = min(timedelta(hours=self.reminder_before_hours), (due - since) / 2)
        return due - lead

    def document(self) -> dict:
        """The policy as plain JSON-able data (what a disagreement is pinned to)."""
        return self.model_dump(mode="json")

    def digest(self) -> str:
        canonical = json.dumps(self.document(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def load_policy(path: str | Path) -> Policy:
    """Read and validate one policy file; raise PolicyError naming the file and each bad field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PolicyError(f"{path}: cannot read file: {error.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise PolicyError(f"{path}: {where}invalid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise PolicyError(f"{path}: expected a mapping of policy fields at the top level")
    return policy_from_document(data, source=str(path))


def policy_from_document(data: dict, source: str) -> Policy:
    try:
        return Policy.model_validate(data)
    except ValidationError as error:
        lines = [f"{source}: {message}" for message in _field_messages(error)]
        raise PolicyError("\n".join(lines)) from None


def load_policies(directory: str | Path) -> dict[str, Policy]:
    """Every `*.yaml` policy in `directory`, by id. All files are checked before any is used."""
    policies: dict[str, Policy] = {}
    problems: list[str] = []
    for path in sorted(Path(directory).glob("*.yaml")):
        try:
            policy = load_policy(path)
        except PolicyError as error:
            problems.append(str(error))
            continue
        if policy.id in policies:
            problems.append(f"{path}: id: {policy.id!r} is already used by another policy file")
        policies[policy.id] = policy
    if problems:
        raise PolicyError("\n".join(problems))
    return policies


def partnership_policy(policies: dict[str, Policy], partnership: str, default_id: str) -> Policy:
    """The policy `partnership` works to (its stages and calendar): the default policy if it is
    theirs, else their first by id, else the default one."""
    default = policies[default_id]
    if default.partnership == partnership:
        return default
    theirs = (policy for _, policy in sorted(policies.items()) if policy.partnership == partnership)
    return next(theirs, default)


def _field_messages(error: ValidationError) -> list[str]:
    messages = []
    for item in error.errors(include_url=False):
        field = _dotted(item["loc"])
        message = _plain(item)
        nested = re.match(r"^([a-z_\[\]0-9.]+): (.*)$", message)
        if nested and not field:
            field, message = nested.groups()
        elif nested:
            field, message = f"{field}.{nested.group(1)}", nested.group(2)
        messages.append(f"{field}: {message}" if field else message)
    return messages


def _dotted(loc: tuple) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _plain(item: dict) -> str:
    kind, message = item["type"], item["msg"]
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field (check the spelling)"
    if kind == "value_error":
        return message.removeprefix("Value error, ")
    if kind == "literal_error":
        return f"must be {message.removeprefix('Input should be ')}, not {item['input']!r}"
    if kind == "too_short" and item["loc"] and item["loc"][-1] == "stages":
        return "a policy needs at least two stages"
    return message
