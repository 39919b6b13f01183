"""Routing rules: who owns a stage (the raising side) and who answers for the agency whose
decision is disputed (the receiving side), as policy data.

A stage lists rules for each side; the first rule whose `when` matches decides (never the
directory's order). `when` is matched against that side's case: its agency type, its
organisation, the professional group of the person the side started with (the raiser, or the
decision-maker) and of whoever held the side at the previous stage. The rule then names whom to
look for: holders of a directory `role` (within the same organisation, agency type or the whole
partnership, optionally of given professional groups), or the raiser, the decision-maker or the
previous holder's line manager; `or_line_manager` lets the previous holder's line manager take a
stage nobody holds the role for ("named professional or line manager").

How several matching people are decided between, and what a gap does, is the directory's
(escalation.directory.routing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

from escalation.rules.vocabulary import ROLES, ROUTE_PEOPLE

_FROZEN = ConfigDict(frozen=True, extra="forbid")
WORD = r"^[a-z][a-z0-9_]*$"


def _as_tuple(value: object) -> object:
    """A single word may be given where a list is expected: `agency: health`."""
    return (value,) if isinstance(value, str) else value


class When(BaseModel):
    """What a rule matches; every condition given must hold, an empty one matches anything."""

    model_config = _FROZEN
    agency: tuple[str, ...] = ()
    organisation: tuple[str, ...] = ()
    group: tuple[str, ...] = ()
    previous_group: tuple[str, ...] = ()

    _lists = field_validator("*", mode="before")(_as_tuple)

    @property
    def agency_only(self) -> bool:
        """True if the rule matches every case of its agency types (no narrower condition)."""
        return not (self.organisation or self.group or self.previous_group)


class Route(BaseModel):
    model_config = _FROZEN
    when: When = When()
    role: str
    within: Literal["organisation", "agency", "partnership"] = "partnership"
    group: tuple[str, ...] = ()
    or_line_manager: bool = False

    _lists = field_validator("group", mode="before")(_as_tuple)

    @field_validator("role")
    @classmethod
    def known_role(cls, value: str) -> str:
        if value not in ROLES and value not in ROUTE_PEOPLE:
            known = ", ".join([*ROUTE_PEOPLE, *ROLES])
            raise ValueError(f"unknown role {value!r}; use one of {known}")
        return value

    def describe(self) -> str:
        """The rule in words, for the chronology: why this person holds the stage."""
        who = ROLES.get(self.role) or ROUTE_PEOPLE[self.role]
        if self.group:
            who = f"{who} ({' or '.join(self.group)})"
        if self.role in ROLES:
            who += {
                "organisation": " in the same organisation",
                "agency": " in the same agency",
            }.get(self.within, "")
        conditions = [
            *(f"{', '.join(values)}" for values in (self.when.agency, self.when.organisation)),
            *(f"{', '.join(values)}" for values in (self.when.group,) if values),
            *(f"after a {' or '.join(values)}" for values in (self.when.previous_group,) if values),
        ]
        when = " ".join(condition for condition in conditions if condition)
        return f"rule: {when} → {who}" if when else f"rule: {who}"


def short_routes(value: object) -> object:
    """The short form `owner: designated_professional` as one rule (named professionals are
    looked for in the side's own organisation, as every procedure says)."""
    if not isinstance(value, str):
        return value
    within = "organisation" if value == "named_professional" else "partnership"
    return [{"role": value, "within": within}]


@dataclass(frozen=True)
class SideCase:
    """One side of a disagreement as routing sees it."""

    agency: str
    organisation: str
    group: str
    previous_group: str | None  # None at the first stage: nobody held it before

    def matches(self, when: When) -> bool:
        return (
            (not when.agency or self.agency in when.agency)
            and (
                not when.organisation or _lower(self.organisation) in map(_lower, when.organisation)
            )
            and (not when.group or self.group in when.group)
            and (not when.previous_group or self.previous_group in when.previous_group)
        )


def first_match(routes: tuple[Route, ...], case: SideCase) -> tuple[int, Route] | None:
    for index, route in enumerate(routes):
        if case.matches(route.when):
            return index, route
    return None


def route_problems(
    routes: tuple[Route, ...],
    *,
    field: str,
    agency_types: tuple[str, ...],
    groups: tuple[str, ...],
    first_stage: bool,
) -> list[str]:
    """Mistakes in one side's rules of one stage, each as `field[i].name: message`: unknown
    agency types or groups, a rule an earlier one always catches, a rule that needs a previous
    holder at the first stage, and agency types no rule covers."""
    problems = []
    covered: set[str] = set()
    for index, route in enumerate(routes):
        where = f"{field}[{index}]"
        problems += _unknown(route.when.agency, agency_types, f"{where}.when.agency", "agency type")
        for name, values in (
            ("when.group", route.when.group),
            ("when.previous_group", route.when.previous_group),
            ("group", route.group),
        ):
            problems += _unknown(values, groups, f"{where}.{name}", "professional group")
        agencies = set(route.when.agency or agency_types)
        if agencies <= covered:
            problems.append(f"{where}: can never match: earlier rules catch every case it matches")
        if first_stage and (route.when.previous_group or route.role == "line_manager"):
            problems.append(f"{where}: can never match: nobody held the first stage before")
        if route.when.agency_only:
            covered |= agencies
    uncovered = [agency for agency in agency_types if agency not in covered]
    if uncovered:
        problems.append(
            f"{field}: no rule for agency type {uncovered[0]!r} (add a rule without conditions, "
            "or one for that agency type)"
        )
    return problems


def _unknown(values: tuple[str, ...], known: tuple[str, ...], field: str, what: str) -> list[str]:
    return [
        f"{field}: unknown {what} {value!r}; the policy knows {', '.join(known)}"
        for value in values
        if value not in known
    ]


def _lower(text: str) -> str:
    return text.strip().lower()
