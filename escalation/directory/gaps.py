"""Gaps that would stall escalation, in words for the directory page's banner, found before
they bite: no board manager; every stage of the partnership's policies routed on both sides for
each organisation and professional group (dry_run.py); organisations without an agency type,
and agency types or professional groups the policy does not know (which no rule names, see
row.py); deputy and line-manager loops; roles whose every holder is absent; inactive people
still owning open stages."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from escalation.directory.dry_run import routing_gaps
from escalation.directory.loops import loops
from escalation.directory.people import ROLE_WORDS, role_holders
from escalation.rules.policy import Policy
from escalation.rules.vocabulary import ROLES
from escalation.store.models import Disagreement, Organisation, Person, PersonPartnership

NO_BOARD_MANAGER = (
    "Nobody is an active board manager: a stage whose owner is missing has nobody to hold it, "
    "and escalation will stall."
)


def open_stages_owned(session: Session, person_id: int) -> int:
    return session.execute(
        select(func.count())
        .select_from(Disagreement)
        .where(Disagreement.owner_id == person_id, Disagreement.status == "open")
    ).scalar_one()


def role_gaps(
    session: Session, *, partnership: str, policies: Iterable[Policy], on: date
) -> list[str]:
    """Warnings, in words, about what would stall or misroute the partnership's disagreements
    on local date `on` (see the module's doc), each once. Empty when all is well. Reads only."""
    policies = [policy for policy in policies if policy.partnership == partnership]
    if not policies:
        return [f"No escalation policy is loaded for {partnership}, so no stage has an owner."]
    warnings = [] if role_holders(session, "board_manager", partnership) else [NO_BOARD_MANAGER]
    warnings += routing_gaps(session, partnership=partnership, policies=policies, on=on)
    warnings += _untyped_organisations(session, partnership)
    warnings += _unknown_words(session, partnership, policies)
    warnings += _loops(session, partnership)
    warnings += _all_absent(session, partnership, policies, on)
    return list(dict.fromkeys(warnings + _inactive_owners(session, partnership)))


def _serves(partnership: str):
    return or_(
        Person.partnership == partnership,
        Person.id.in_(
            select(PersonPartnership.person_id).where(PersonPartnership.partnership == partnership)
        ),
    )


def _untyped_organisations(session: Session, partnership: str) -> list[str]:
    rows = session.execute(
        select(func.min(Person.organisation), func.count())
        .outerjoin(Organisation, Organisation.key == func.lower(Person.organisation))
        .where(_serves(partnership), Person.active, Organisation.id.is_(None))
        .group_by(func.lower(Person.organisation))
        .order_by(func.lower(Person.organisation))
    ).all()
    return [
        f"{name} has no agency type ({_people(count)}): routing treats it as 'other'. "
        "Give it one in the directory."
        for name, count in rows
    ]


def _unknown_words(session: Session, partnership: str, policies: list[Policy]) -> list[str]:
    agency_types = sorted({word for policy in policies for word in policy.agency_types})
    groups = sorted({word for policy in policies for word in policy.professional_groups})
    typed = session.execute(
        select(Organisation.name, Organisation.agency_type)
        .where(
            Organisation.key.in_(
                select(func.lower(Person.organisation)).where(_serves(partnership))
            )
        )
        .where(Organisation.agency_type.not_in(agency_types))
        .order_by(Organisation.key)
    ).all()
    grouped = session.execute(
        select(Person.professional_group, func.count())
        .where(_serves(partnership), Person.active, Person.professional_group != "")
        .where(Person.professional_group.not_in(groups))
        .group_by(Person.professional_group)
        .order_by(Person.professional_group)
    ).all()
    return [
        f"{name}'s agency type {word!r} is not one the policy knows ({', '.join(agency_types)}): "
        "no rule for an agency type matches it."
        for name, word in typed
    ] + [
        f"{_people(count)} {'has' if count == 1 else 'have'} the professional group {word!r}, "
        "which the policy "
        f"does not know ({', '.join(groups)}): no rule for a group matches them."
        for word, count in grouped
    ]


def _loops(session: Session, partnership: str) -> list[str]:
    """Loops the directory holds from before imports and the form refused them."""
    people = session.execute(
        select(Person.id, Person.name, Person.deputy_id, Person.line_manager_id).where(
            Person.partnership == partnership
        )
    ).all()
    names = {row.id: row.name for row in people}
    warnings = []
    for words, links in (
        ("deputy", {row.id: row.deputy_id for row in people}),
        ("line manager", {row.id: row.line_manager_id for row in people}),
    ):
        for loop in loops(sorted(links), links.get):
            path = " → ".join(names[person_id] for person_id in [*loop, loop[0]])
            warnings.append(f"A {words} loop: {path}. Give one of them another {words}.")
    return warnings


def _all_absent(session: Session, partnership: str, policies: list[Policy], on: date) -> list[str]:
    """Roles the rules name whose every holder is absent on `on`: in each organisation for a
    role looked for in the same organisation, else in the whole partnership."""
    scopes: dict[str, bool] = {"board_manager": False}
    for route in _routes(policies):
        if route.role in ROLES:
            scopes[route.role] = scopes.get(route.role, False) or route.within == "organisation"
    warnings = []
    for role in [role for role in ROLES if role in scopes]:
        by_organisation: dict[str, list[Person]] = {}
        for holder in role_holders(session, role, partnership):
            key = holder.organisation.strip().lower() if scopes[role] else ""
            by_organisation.setdefault(key, []).append(holder)
        for holders in by_organisation.values():
            if all(holder.is_absent_on(on) for holder in holders):
                where = f" in {holders[0].organisation}" if scopes[role] else ""
                names = ", ".join(holder.name for holder in holders)
                warnings.append(
                    f"Every {ROLE_WORDS[role]}{where} is absent today ({names}): their stages "
                    "go to a deputy, or the board manager."
                )
    return warnings


def _routes(policies: list[Policy]):
    for policy in policies:
        for stage in (*policy.stages, *policy.route_stages):
            yield from (*stage.owner, *stage.counterpart)
        yield from policy.urgent.out_of_hours_owner or ()


def _inactive_owners(session: Session, partnership: str) -> list[str]:
    rows = session.execute(
        select(Person.name, func.count(Disagreement.id))
        .join(Disagreement, Disagreement.owner_id == Person.id)
        .where(
            Person.partnership == partnership,
            Person.active.is_(False),
            Disagreement.status == "open",
        )
        .group_by(Person.id, Person.name)
        .order_by(Person.name)
    ).all()
    return [
        f"{name} is inactive but still owns {stages_words(count)}: "
        "reassign them from the dashboard."
        for name, count in rows
    ]


def _people(count: int) -> str:
    return f"{count} {'person' if count == 1 else 'people'}"


def stages_words(count: int) -> str:
    return f"{count} open stage{'s' if count != 1 else ''}"
