"""The routing's gaps before they bite: every stage of every ladder of a partnership's policies
is routed, on both sides, for a real person of each organisation and professional group that
could raise a disagreement or have their decision disputed, and every gap the routing reports
(directory/routing.py: nobody matches, several match and no primary holder, no rule matches) is
a warning naming the stage, the side, the organisation and the gap.

Nothing is written: the routing only reads. Each ladder is climbed as a case climbs it: nobody
before the first stage, then on each side whoever the dry run gave the stage before (on the
receiving side, the representative again after a stage with no counterpart, as
casework.assignment does); the representative starts both sides (raiser and decision-maker).
The urgent track's out-of-hours owner is tried once per representative, after them.

A routing's answer depends only on the rule that matches and what that rule looks at (the
organisation or agency type it searches, the raiser, the previous holder's line manager), so
each such question is routed once per call (`Router`): a partnership of a hundred organisations
is checked in about as many routings as it has organisations and stages, not combinations.

Representatives: the active people serving the partnership who hold the practitioner role or no
role at all (raisers and decision-makers an agency system named), the earliest added of each
organisation and professional group. People who hold only managers' and board roles are the
ladder's rungs, not its starting points, so their organisations are not climbed from.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from itertools import product

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from escalation.directory.people import agency_of, memoised_reads
from escalation.directory.routing import Holder, Side, route
from escalation.rules.errors import DirectoryError
from escalation.rules.policy import Policy, Stage
from escalation.rules.routing import Route, SideCase, first_match
from escalation.rules.vocabulary import ROLES
from escalation.store.models import Person, PersonPartnership, PersonRole

OUT_OF_HOURS = "Urgent stages out of hours"
STALLS = "no board manager"  # a Holder's `why` when nobody at all would hold the stage
MAX_NAMED = 10  # organisations a warning names; it counts the others
SIDES = {
    True: ("raising side", "the board manager would hold it"),
    False: ("receiving side", "it would have no counterpart"),
}


def routing_gaps(
    session: Session, *, partnership: str, policies: Iterable[Policy], on: date
) -> list[str]:
    """The warnings (see the module's doc) in the order found, one for each stage, side and gap
    naming every organisation it is found for (MAX_NAMED of them, and how many more)."""
    with memoised_reads(session):
        return _routing_gaps(session, partnership, policies, on)


def _routing_gaps(
    session: Session, partnership: str, policies: Iterable[Policy], on: date
) -> list[str]:
    found: dict[tuple[str, bool, str, str], dict[str, str]] = {}
    router = Router(session, on)
    people = representatives(session, partnership)
    for policy in policies:
        for ladder in ladders(policy):
            for person, owner_side in product(people, (True, False)):
                side = Side(person, None, partnership)
                for title, holder in _climb(router, ladder, side, owner_side):
                    question = (title, owner_side, holder.gap, _then(holder, owner_side))
                    organisations = found.setdefault(question, {})
                    organisations.setdefault(person.organisation.lower(), person.organisation)
        for person in people if policy.urgent.out_of_hours_owner else ():
            side = Side(person, person, partnership)
            holder = router.route(policy.urgent.out_of_hours_owner, side, True)
            if holder.gap:
                question = (OUT_OF_HOURS, True, holder.gap, _then(holder, True))
                organisations = found.setdefault(question, {})
                organisations.setdefault(person.organisation.lower(), person.organisation)
    return [_words(*question, list(names.values())) for question, names in found.items()]


class Router:
    """directory.routing.route on local date `on`, asked each question once (see the doc)."""

    def __init__(self, session: Session, on: date):
        self.session, self.on = session, on
        self.agencies: dict[str, str] = {}
        self.answers: dict[tuple, Holder] = {}

    def route(self, routes: tuple[Route, ...], side: Side, owner_side: bool) -> Holder:
        key, themselves = self._question(routes, side, owner_side)
        if themselves and not side.start.is_absent_on(self.on):
            return Holder(side.start, "")  # the raiser or the decision-maker: nobody to look for
        if key not in self.answers:
            try:
                holder = route(self.session, routes, side, on=self.on, owner_side=owner_side)
            except DirectoryError:  # no board manager to take the gap: the gap, from the other side
                gap = route(self.session, routes, side, on=self.on, owner_side=False).gap
                holder = Holder(None, STALLS, gap)
            self.answers[key] = holder
        return self.answers[key]

    def _question(
        self, routes: tuple[Route, ...], side: Side, owner_side: bool
    ) -> tuple[tuple, bool]:
        """What the routing's answer depends on, and whether the matching rule names the side's
        own starting person (the raiser, the decision-maker). `routes` is known by its id: the
        policies, and so their rules, outlive the call."""
        start, previous = side.start, side.previous
        organisation = start.organisation.strip().lower()
        agency = self.agencies.get(organisation)
        if agency is None:
            agency = self.agencies[organisation] = agency_of(self.session, organisation)
        case = SideCase(
            agency=agency,
            organisation=start.organisation,
            group=start.professional_group,
            previous_group=previous.professional_group if previous else None,
        )
        matched = first_match(routes, case)
        if matched is None:
            return (id(routes), owner_side, None, agency, start.professional_group), False
        index, rule = matched
        searched = rule.role in ROLES
        themselves = rule.role in ("raiser", "decision_maker")
        key = (
            id(routes),
            owner_side,
            index,
            start.id if themselves else None,
            organisation if searched and rule.within == "organisation" else None,
            agency if searched and rule.within == "agency" else None,
            previous.line_manager_id
            if previous and (rule.or_line_manager or not searched)
            else None,
        )
        return key, themselves


def ladders(policy: Policy) -> list[tuple[Stage, ...]]:
    """The policy's ladder, then each category's route (policy.for_category)."""
    return [policy.stages] + [
        policy.for_category(category).stages for category in policy.category_routes
    ]


def representatives(session: Session, partnership: str) -> list[Person]:
    """One person of each organisation (in any case) and professional group (see the doc)."""
    serves = or_(
        Person.partnership == partnership,
        Person.id.in_(
            select(PersonPartnership.person_id).where(PersonPartnership.partnership == partnership)
        ),
    )
    practitioners = select(PersonRole.person_id).where(PersonRole.role == "practitioner")
    roleless = ~Person.id.in_(select(PersonRole.person_id))
    rows = session.execute(
        select(func.min(Person.id))
        .where(serves, Person.active, or_(Person.id.in_(practitioners), roleless))
        .group_by(func.lower(Person.organisation), Person.professional_group)
    ).scalars()
    ids = sorted(rows)
    found = session.execute(select(Person).where(Person.id.in_(ids))).scalars()
    by_id = {person.id: person for person in found}
    return [by_id[person_id] for person_id in ids]


def _climb(
    router: Router, ladder: tuple[Stage, ...], side: Side, owner_side: bool
) -> list[tuple[str, Holder]]:
    """The gaps of one side of `ladder` as (stage title, holder), climbed from `side` (nobody
    before its first stage)."""
    warnings = []
    for stage in ladder:
        routes = stage.owner if owner_side else stage.counterpart
        holder = router.route(routes, side, owner_side)
        if holder.gap:
            warnings.append((stage.title, holder))
        previous = holder.person or (None if owner_side else side.start)
        side = Side(side.start, previous, side.partnership)
    return warnings


def _then(holder: Holder, owner_side: bool) -> str:
    """What a gap does: the board manager holds the stage, unless there is none."""
    return (
        "nobody would hold it, and escalation would stall"
        if holder.why == STALLS
        else (SIDES[owner_side][1])
    )


def _words(title: str, owner_side: bool, gap: str, then: str, organisations: list[str]) -> str:
    side = SIDES[owner_side][0]
    named = ", ".join(organisations[:MAX_NAMED])
    if len(organisations) > MAX_NAMED:
        named += f" and {len(organisations) - MAX_NAMED} other organisations"
    return f"{title} ({side}) for {named}: {gap}; {then}."
