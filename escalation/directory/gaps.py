"""Gaps that would stall escalation, in words for the directory page's banner: roles the
partnership's policies need that nobody can take up, and inactive people still owning stages."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from escalation.directory.people import ROLE_WORDS, role_holders
from escalation.rules.policy import Policy
from escalation.store.models import Disagreement, Person, PersonRole

PARTNERSHIP_ROLES = ("designated_professional", "board_manager", "chair")


def open_stages_owned(session: Session, person_id: int) -> int:
    return session.execute(
        select(func.count())
        .select_from(Disagreement)
        .where(Disagreement.owner_id == person_id, Disagreement.status == "open")
    ).scalar_one()


def role_gaps(
    session: Session, *, partnership: str, policies: Iterable[Policy], on: date
) -> list[str]:
    """Warnings, in words, about roles the partnership's policies need but nobody can take up
    on local date `on`: no active holder, or every holder absent. Empty when all is well."""
    policies = [policy for policy in policies if policy.partnership == partnership]
    if not policies:
        return [f"No escalation policy is loaded for {partnership}, so no stage has an owner."]
    # The board manager holds any stage whose role has nobody, so the partnership always needs one.
    needed = {stage.owner for policy in policies for stage in policy.stages} | {"board_manager"}
    warnings = []
    if "named_professional" in needed:
        named = _named_professionals_by_organisation(session, partnership)
        for organisation in _organisations_with_practitioners(session, partnership):
            holders = named.get(organisation.lower(), [])
            warnings += _gap("named_professional", holders, on, f" in {organisation}")
    for role in PARTNERSHIP_ROLES:
        if role in needed:
            warnings += _gap(role, role_holders(session, role, partnership), on, "")
    return warnings + _inactive_owners(session, partnership)


def _gap(role: str, holders: list[Person], on: date, where: str) -> list[str]:
    words = ROLE_WORDS[role]
    if not holders:
        if role == "board_manager":
            return [
                "Nobody is an active board manager: a stage whose owner is missing has "
                "nobody to hold it, and escalation will stall."
            ]
        return [f"Nobody is an active {words}{where}: their stages will go to the board manager."]
    if all(holder.is_absent_on(on) for holder in holders):
        names = ", ".join(holder.name for holder in holders)
        return [
            f"Every {words}{where} is absent today ({names}): their stages go to a "
            "deputy, or the board manager."
        ]
    return []


def _named_professionals_by_organisation(
    session: Session, partnership: str
) -> dict[str, list[Person]]:
    """role_holders("named_professional") of every organisation at once, by lower-case name."""
    by_key: dict[str, list[Person]] = {}
    for person in role_holders(session, "named_professional", partnership):
        by_key.setdefault(person.organisation.strip().lower(), []).append(person)
    return by_key


def _organisations_with_practitioners(session: Session, partnership: str) -> list[str]:
    names = session.execute(
        select(Person.organisation)
        .distinct()
        .join(PersonRole)
        .where(PersonRole.role == "practitioner", Person.partnership == partnership, Person.active)
    ).scalars()
    by_key = {name.strip().lower(): name.strip() for name in names}
    return sorted(by_key.values(), key=str.lower)


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


def stages_words(count: int) -> str:
    return f"{count} open stage{'s' if count != 1 else ''}"
