"""Routing rules: who owns a stage (the raising side) and who answers for the agency whose
decision is disputed (the receiving side), as policy data.

A stage lists rules for each side; the first rule whose `when` matches decides (never the
directory's order). `when` is matched against that side's case: its agency type, its
organisation, the professional group of the person the side started with (the raiser, or the
decision-maker) and of whoever held the side before (its latest holder from the side's own
agency type: a board manager holding a gap does not break a doctor's chain; see
casework.assignment). The rule then names whom to
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

from escalation.rules.vocabulary import AGENCY_TYPES, CATEGORIES, ROLES, ROUTE_PEOPLE

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
        """The rule in words, for the chronology: why this person holds the stage, e.g.
        "rule: children's social care or police → team manager in the same organisation"."""
        who = ROLES.get(self.role) or ROUTE_PEOPLE[self.role]
        if self.group:
            who = f"{who} ({_either(_word(group) for group in self.group)})"
        if self.role in ROLES:
            who += {
                "organisation": " in the same organisation",
                "agency": " in the same agency",
            }.get(self.within, "")
        when = self.when
        conditions = [
            _either(AGENCY_TYPES.get(agency, _word(agency)).lower() for agency in when.agency),
            _either(when.organisation),
            _either(_word(group) for group in when.group),
            _either(_word(group) for group in when.previous_group),
        ]
        if conditions[3]:
            conditions[3] = f"after a {conditions[3]}"
        said = ", ".join(condition for condition in conditions if condition)
        return f"rule: {said} → {who}" if said else f"rule: {who}"


def _word(key: str) -> str:
    return key.replace("_", " ")


def _either(words) -> str:
    """'a', 'a or b', 'a, b or c'; '' for none."""
    words = list(words)
    return " or ".join(filter(None, [", ".join(words[:-1]), *words[-1:]]))


def short_routes(value: object) -> object:
    """The short form `owner: designated_professional` as one rule (named professionals are
    looked for in the side's own organisation, as every procedure says)."""
    if not isinstance(value, str):
        return value
    if value == "named_professional":
        return [{"role": value, "within": "organisation"}]
    return [{"role": value}]


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
    side: Literal["owner", "counterpart"] = "owner",
) -> list[str]:
    """Mistakes in one side's rules of one stage, each as `field[i].name: message`: unknown
    agency types or groups, a person the side cannot have (the decision-maker owning the raising
    side, the raiser answering for the receiving one), settings that cannot apply to the raiser,
    the decision-maker or a line manager, a rule an earlier one always catches, a rule that needs
    a previous holder at a first stage, and agency types no rule covers."""
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
        problems += _person_problems(route, where, side)
        agencies = set(route.when.agency or agency_types)
        caught = [
            earlier for earlier in routes[:index] if _catches(earlier.when, route.when, agencies)
        ]
        if agencies <= covered or caught:
            problems.append(f"{where}: can never match: earlier rules catch every case it matches")
        if first_stage and route.when.previous_group:
            problems.append(f"{where}.when.previous_group: can never match: {_NOBODY_BEFORE}")
        if first_stage and route.role == "line_manager":
            problems.append(f"{where}.role: can never match: {_NOBODY_BEFORE}")
        if first_stage and route.or_line_manager:
            problems.append(f"{where}.or_line_manager: can never apply: {_NOBODY_BEFORE}")
        if route.when.agency_only:
            covered |= agencies
    uncovered = [agency for agency in agency_types if agency not in covered]
    if uncovered:
        problems.append(
            f"{field}: no rule for agency type {', '.join(map(repr, uncovered))} (add a rule "
            "without conditions, or one for that agency type)"
        )
    return problems


_NOBODY_BEFORE = "nobody held the first stage before"
# The person a side may never be: the raising side is not owned by the professional whose
# decision is disputed, and the raiser does not answer for the agency they disagree with.
_WRONG_SIDE = {"owner": "decision_maker", "counterpart": "raiser"}


def _person_problems(route: Route, where: str, side: str) -> list[str]:
    if route.role == _WRONG_SIDE[side]:
        words = ROUTE_PEOPLE[route.role]
        return [f"{where}.role: {words} cannot hold the {side} side of a stage"]
    if route.role not in ROUTE_PEOPLE:
        return []
    # Compared with the defaults, not model_fields_set: a stored policy's document has them all.
    given = {
        "group": bool(route.group),
        "or_line_manager": route.or_line_manager,
        "within": route.within != "partnership",
    }
    return [
        f"{where}.{name}: only narrows a directory role; {route.role} is one known person"
        for name, set_here in given.items()
        if set_here
    ]


def ladder_problems(
    *,
    stages: tuple,
    route_stages: tuple,
    category_routes: dict[str, tuple[str, ...]],
    out_of_hours_owner: tuple[Route, ...],
    agency_types: tuple[str, ...],
    groups: tuple[str, ...],
) -> list[str]:
    """Every side of every stage checked by route_problems (a first stage is the ladder's, or a
    category route's), the out-of-hours owner's rules, and the category routes: known
    categories, known stage keys, no stage twice, every route stage on some route."""
    problems = []
    kinds = {"agency_types": agency_types, "groups": groups}
    firsts = {stages[0].key} | {ladder[0] for ladder in category_routes.values() if ladder}
    for field, group in (("stages", stages), ("route_stages", route_stages)):
        for index, stage in enumerate(group):
            for side in ("owner", "counterpart"):
                problems += route_problems(
                    getattr(stage, side),
                    field=f"{field}[{index}].{side}",
                    first_stage=stage.key in firsts,
                    side=side,
                    **kinds,
                )
    if out_of_hours_owner:
        field = "urgent.out_of_hours_owner"
        problems += route_problems(out_of_hours_owner, field=field, first_stage=False, **kinds)
    keys = [stage.key for stage in (*stages, *route_stages)]
    problems += _category_problems(category_routes, keys)
    routed = {key for ladder in category_routes.values() for key in ladder}
    problems += [
        f"route_stages[{index}]: can never be reached: no category route goes through {stage.key!r}"
        for index, stage in enumerate(route_stages)
        if stage.key not in routed
    ]
    return problems


def _category_problems(category_routes: dict[str, tuple[str, ...]], keys: list[str]) -> list[str]:
    problems = []
    for category, ladder in category_routes.items():
        where = f"category_routes.{category}"
        if category not in CATEGORIES:
            problems.append(f"{where}: unknown category; use one of {', '.join(CATEGORIES)}")
        if not ladder:
            problems.append(f"{where}: name at least one stage")
        problems += [f"{where}: {key!r} is not a stage key" for key in ladder if key not in keys]
        twice = sorted({key for key in ladder if ladder.count(key) > 1})
        problems += [f"{where}: {key!r} is named twice" for key in twice]
    return problems


def _catches(earlier: When, later: When, later_agencies: set[str]) -> bool:
    """True if every case `later` matches is matched by `earlier` (each of its conditions is
    absent, or holds for every value the later rule allows)."""
    if earlier.agency and not later_agencies <= set(earlier.agency):
        return False
    pairs = (
        (map(_lower, earlier.organisation), map(_lower, later.organisation)),
        (earlier.group, later.group),
        (earlier.previous_group, later.previous_group),
    )
    for wide, narrow in pairs:
        wide, narrow = set(wide), set(narrow)
        if wide and not (narrow and narrow <= wide):
            return False
    return True


def _unknown(values: tuple[str, ...], known: tuple[str, ...], field: str, what: str) -> list[str]:
    return [
        f"{field}: unknown {what} {value!r}; the policy knows {', '.join(known)}"
        for value in values
        if value not in known
    ]


def _lower(text: str) -> str:
    return text.strip().lower()
