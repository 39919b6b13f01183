"""Policies: the partnership's escalation ladder as data (YAML), validated into frozen models.

A bad file is refused with one line per mistake naming the file and the field, e.g.
``policies/x.yaml: stages[2].timescale: working_days must be ≥ 1``.
"""

from __future__ import annotations

import hashlib
import json
import re
import weakref
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from escalation.rules.calendar import NATION_SUBDIVISIONS, WorkingCalendar, add_hours
from escalation.rules.endings import Endings
from escalation.rules.errors import PolicyError
from escalation.rules.policy_messages import field_messages
from escalation.rules.routing import WORD, Route, ladder_problems, short_routes
from escalation.rules.service_hours import add_service_hours
from escalation.rules.timescales import Timescale, UrgentTrack
from escalation.rules.vocabulary import AGENCY_TYPES, PROFESSIONAL_GROUPS

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
Word = Annotated[str, Field(pattern=WORD)]
DOMAIN = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")


class Stage(BaseModel):
    """One rung. `owner` and `counterpart` are routing rules (rules/routing.py) for the raising
    side and the receiving side; `owner: <role>` is short for one rule."""

    model_config = _FROZEN
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=1)
    owner: tuple[Route, ...] = Field(min_length=1)
    counterpart: tuple[Route, ...] = (Route(role="decision_maker"),)
    notify: tuple[NotifiedRole, ...] = ()
    timescale: Timescale

    _short_owner = field_validator("owner", "counterpart", mode="before")(short_routes)

    @property
    def owner_role(self) -> str:
        """The role the stage's owner rules name most often, the earliest of equals: the rung
        the stage is (`notify: [designated_professional]` finds whoever held it)."""
        roles = [route.role for route in self.owner]
        return max(roles, key=roles.count)


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
    # The area's name as a raiser knows it ("Example Borough"); the partnership id if not given.
    area_name: str = ""
    agency_types: tuple[Word, ...] = tuple(AGENCY_TYPES)
    professional_groups: tuple[Word, ...] = tuple(PROFESSIONAL_GROUPS)
    # Where a counterpart who is not in the directory may be written to (e.g. nhs.net).
    secure_domains: tuple[str, ...] = ()
    # Children's social care's front door (the number a raiser calls when a child is at risk now).
    front_door_phone: str = ""
    # Stages only a category's route goes through, and the routes: category -> stage keys.
    route_stages: tuple[Stage, ...] = ()
    category_routes: dict[str, tuple[str, ...]] = {}
    # How a disagreement ends: the raiser's say, actions' grace, learning themes (rules/endings.py).
    endings: Endings = Endings()

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

    @field_validator("secure_domains")
    @classmethod
    def domains_lower(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        domains = tuple(domain.strip().lower().lstrip("@") for domain in value)
        for domain in domains:
            if not DOMAIN.match(domain):
                raise ValueError(f"{domain!r} is not a domain name, like nhs.net")
        return domains

    @model_validator(mode="after")
    def ladder_is_consistent(self) -> Policy:
        keys = [stage.key for stage in (*self.stages, *self.route_stages)]
        duplicates = sorted({key for key in keys if keys.count(key) > 1})
        if duplicates:
            raise ValueError(f"stages: duplicate key {duplicates[0]!r}")
        if any(route.role != "raiser" for route in self.stages[0].owner):
            raise ValueError("stages[0].owner: the first stage must be owned by the raiser")
        if self.urgent.start_stage not in keys[: len(self.stages)]:
            raise ValueError(f"urgent.start_stage: {self.urgent.start_stage!r} is not a stage key")
        start = keys.index(self.urgent.start_stage)
        for key in self.urgent.timescales:
            if key not in keys:
                raise ValueError(f"urgent.timescales: {key!r} is not a stage key")
        missing = [
            key for key in keys[start : len(self.stages)] if key not in self.urgent.timescales
        ]
        if missing:
            raise ValueError(f"urgent.timescales: no timescale for stage {missing[0]!r}")
        problems = ladder_problems(
            stages=self.stages,
            route_stages=self.route_stages,
            category_routes=self.category_routes,
            out_of_hours_owner=self.urgent.out_of_hours_owner,
            agency_types=self.agency_types,
            groups=self.professional_groups,
        )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def for_category(self, category: str) -> Policy:
        """The ladder a disagreement of `category` climbs: the category's route if the policy
        has one (an urgent case starts at its first stage unless the route includes the urgent
        track's start), else the default ladder. The result is this policy with those stages."""
        ladder = self.category_routes.get(category)
        if not ladder:
            return self
        every = {stage.key: stage for stage in (*self.stages, *self.route_stages)}
        stages = tuple(every[key] for key in ladder)
        start = self.urgent.start_stage if self.urgent.start_stage in ladder else ladder[0]
        urgent = self.urgent.model_copy(update={"start_stage": start})
        return self.model_copy(update={"stages": stages, "route_stages": (), "urgent": urgent})

    @property
    def area(self) -> str:
        return self.area_name or self.partnership

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
        if timescale.working_days is not None:
            return self.calendar.add_working_days(started_at, timescale.working_days)
        window = self.urgent.service_hours
        if urgent and self.urgent.clock == "service_hours" and window is not None:
            if timescale.days is not None:
                window = window.model_copy(update={"days": timescale.days})
            return add_service_hours(self.calendar, started_at, timescale.hours, window)
        return add_hours(started_at, timescale.hours)

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
        """SHA-256 of the canonical document: computed once per policy object (a frozen model;
        every raise pins its policy by it, 0.3 ms of dumping and hashing each time)."""
        known = _DIGESTS.get(id(self))
        if known is not None and known[0]() is self:
            return known[1]
        canonical = json.dumps(self.document(), sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(canonical.encode()).hexdigest()
        key = id(self)
        _DIGESTS[key] = (weakref.ref(self, lambda _gone: _DIGESTS.pop(key, None)), digest)
        return digest


# Policy.digest's answers by object: keyed by id, not cached on the model, so that a copy made
# with other stages (for_category's model_copy) never inherits its original's digest; each entry
# goes when its policy does.
_DIGESTS: dict[int, tuple[weakref.ref, str]] = {}


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
        lines = [f"{source}: {message}" for message in field_messages(error)]
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
