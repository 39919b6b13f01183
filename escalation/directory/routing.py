"""Who holds a stage, on each side of a disagreement, by the policy's routing rules.

1. The first of the stage's rules (for that side) whose `when` matches decides whom to look
   for (rules/routing.py); nothing else is ever consulted, least of all alphabetical order.
2. The people it finds: exactly one holds the stage. Several: the one the directory marks as the
   primary holder of that role decides; none or several marked primary is a gap. Nobody: the
   previous holder's line manager where the rule allows it (`or_line_manager`), else a gap.
3. An absent holder's deputy takes the stage (their deputy's deputy if the deputy is absent
   too); an absent holder without one available is a gap.
4. A gap on the raising side gives the stage to the board manager, and the caller raises an
   alert naming it; on the receiving side the stage has no counterpart and the alert says so
   (the board does not answer for the agency whose decision is disputed).

`why` says all of this in words for the chronology: the rule matched, the deputy, the gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from escalation.directory.people import (
    ROLE_WORDS,
    agency_of,
    board_manager,
    deputy_of,
    role_holders,
)
from escalation.rules.calendar import date_text
from escalation.rules.errors import DirectoryError
from escalation.rules.routing import Route, SideCase, first_match
from escalation.store.models import Person


@dataclass(frozen=True)
class Side:
    """One side of a disagreement: the person it started with (the raiser, or the
    decision-maker), who held it before (its latest holder from the side's own agency type,
    casework.assignment; None at the very first stage), and the partnership whose directory is
    searched."""

    start: Person
    previous: Person | None
    partnership: str


@dataclass(frozen=True)
class Holder:
    """Who holds one side of a stage and why; `gap` names what the directory lacks."""

    person: Person | None
    why: str
    gap: str = ""


def route(
    session: Session, routes: tuple[Route, ...], side: Side, *, on: date, owner_side: bool
) -> Holder:
    """The one person holding this side of a stage on local date `on` (see the module's doc)."""
    case = SideCase(
        agency=agency_of(session, side.start.organisation),
        organisation=side.start.organisation,
        group=side.start.professional_group,
        previous_group=side.previous.professional_group if side.previous else None,
    )
    matched = first_match(routes, case)
    if matched is None:
        gap = f"no routing rule matches ({case.agency}, {case.group or 'no professional group'})"
        return _gap(session, side, gap, owner_side)
    _, rule = matched
    person, why = _pick(session, rule, side)
    if person is None:
        return _gap(session, side, why, owner_side)
    if not person.is_absent_on(on):
        return Holder(person, why)
    absence = f"{person.name} is absent on {date_text(on)}"
    try:
        deputy = deputy_of(session, person, side.partnership, on).person
    except DirectoryError:
        gap = f"{person.name} is absent and has no deputy available"
        return _gap(session, side, gap, owner_side, why=f"{why}; {absence} and has no deputy")
    return Holder(deputy, f"{why}; {absence}; their deputy {deputy.name} holds this stage")


def _pick(session: Session, rule: Route, side: Side) -> tuple[Person | None, str]:
    """The rule's one person and why, or (None, the gap in words)."""
    why = rule.describe()
    candidates = _candidates(session, rule, side)
    if len(candidates) == 1:
        return candidates[0], why
    if len(candidates) > 1:
        primary = [person for person in candidates if rule.role in person.primary_roles]
        if len(primary) == 1:
            return primary[0], f"{why}; the primary of {len(candidates)} holders"
        names = ", ".join(person.name for person in candidates)
        marked = "none is" if not primary else f"{len(primary)} are"
        return None, f"{len(candidates)} people match ({names}) and {marked} marked primary"
    manager = _line_manager(side) if rule.or_line_manager else None
    if manager is not None:
        return manager, f"{why}: nobody holds it, so {side.previous.name}'s line manager"
    return None, f"nobody matches {why.removeprefix('rule: ')}{_where(rule, side)}"


def _candidates(session: Session, rule: Route, side: Side) -> list[Person]:
    if rule.role in ("raiser", "decision_maker"):
        return [side.start]
    if rule.role == "line_manager":
        manager = _line_manager(side)
        return [manager] if manager else []
    organisation = side.start.organisation if rule.within == "organisation" else None
    agency = agency_of(session, side.start.organisation) if rule.within == "agency" else None
    return role_holders(
        session, rule.role, side.partnership, organisation, agency=agency, groups=rule.group
    )


def _line_manager(side: Side) -> Person | None:
    manager = side.previous.line_manager if side.previous else None
    return manager if manager is not None and manager.active else None


def _where(rule: Route, side: Side) -> str:
    if rule.role in ROLE_WORDS and rule.within == "organisation":
        return f" ({side.start.organisation})"
    return f" in {side.partnership}"


def _gap(session: Session, side: Side, gap: str, owner_side: bool, why: str = "") -> Holder:
    """The board manager for the raising side, nobody for the receiving side (the board does
    not answer for the agency whose decision is disputed); `why` says more than `gap` if given."""
    why = why or gap
    if not owner_side:
        return Holder(None, f"no counterpart: {why}", gap)
    manager = board_manager(session, side.partnership, "board_manager")
    return Holder(manager, f"{why}; the board manager holds this stage", gap)
