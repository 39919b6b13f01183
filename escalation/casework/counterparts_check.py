"""Who a new disagreement may name as the decision-maker (its counterpart): someone listed in the
directory, or an address at one of the child's area's secure domains (issue 12, point 5). The
form, the API and the command line all ask here.

Why: the counterpart is sent the child's case. An address typed by hand at any other domain may
be mistyped or personal, so it is refused saying why, never silently accepted.
"""

from __future__ import annotations

from itertools import groupby

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from escalation.casework.counterparts import secure_address_problem
from escalation.directory.people import find_person, normalise_email
from escalation.rules.errors import InvalidInput
from escalation.rules.policy import Policy
from escalation.rules.vocabulary import BOARD_ROLES, ROLES
from escalation.store.models import Person, PersonPartnership

CHOOSE_FROM_THE_LIST = "choose them from the list, or enter their details if they are not in it"


def counterpart_problem(session: Session, *, email: str, policy: Policy) -> str | None:
    """Why the counterpart at `email` may not be named under `policy` (the child's area's), or
    None if they may: a listed, active directory person's address is always accepted (whatever
    their area: a cross-border decision-maker may be in another's directory); any other must be
    at one of the policy's `secure_domains`, or a subdomain of one (the rule a change of
    counterpart follows too: counterparts.secure_address_problem). Someone recorded unlisted
    (typed in by an earlier raiser) is not thereby verified: their address must pass too."""
    person = find_person(session, email)
    if person is not None and person.listed and person.active:
        return None
    return secure_address_problem(policy, email)


def check_counterpart(session: Session, *, email: str, policy: Policy) -> None:
    """InvalidInput on `counterpart.email` if the counterpart may not be named (see above)."""
    problem = counterpart_problem(session, email=email, policy=policy)
    if problem:
        raise InvalidInput({"counterpart.email": problem})


def directory_choices(
    session: Session, *, partnerships: list[str], leave_out: str = ""
) -> list[tuple[str, list[Person]]]:
    """The people a raiser may choose as the counterpart in these partnerships' directories
    (their own people and those who serve them too), listed and active, by organisation:
    [(organisation, people)], both in order of name (for reading, never a choice). The board
    manager and chair are left out (they decide no agency's case), and so is `leave_out`."""
    serves = or_(
        Person.partnership.in_(partnerships),
        Person.id.in_(
            select(PersonPartnership.person_id).where(
                PersonPartnership.partnership.in_(partnerships)
            )
        ),
    )
    people = session.execute(
        select(Person)
        .where(serves, Person.listed, Person.active, Person.email != normalise_email(leave_out))
        .order_by(func.lower(Person.organisation), func.lower(Person.name), Person.id)
    ).scalars()
    choosable = [person for person in people if not person.roles & set(BOARD_ROLES)]
    return [
        (group[0].organisation, group)
        for group in (
            list(rows) for _, rows in groupby(choosable, key=lambda p: p.organisation.lower())
        )
    ]


def chosen_counterpart(session: Session, person_id: str) -> dict[str, str]:
    """The counterpart fields (name, email, organisation, role) of the directory person whose id
    the form sent; InvalidInput on `counterpart_person` if that is no listed, active person."""
    number = person_id.isascii() and person_id.isdigit() and len(person_id) <= 9
    person = session.get(Person, int(person_id)) if number else None
    if person is None or not person.listed or not person.active:
        raise InvalidInput({"counterpart_person": CHOOSE_FROM_THE_LIST})
    roles = ", ".join(sorted(ROLES.get(role, role) for role in person.roles))
    return {
        "name": person.name,
        "email": person.email,
        "organisation": person.organisation,
        "role": person.job_title or roles or "practitioner",
    }
