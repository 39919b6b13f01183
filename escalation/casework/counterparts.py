"""The receiving side of a stage: the counterpart answers for the agency whose decision is
disputed (decision stands, decision changed, meeting proposed), can be replaced (reallocation is
common: Child B1 had three social workers), and their silence past the stage clock is flagged.

The stage's accountable owner stays the raising side's owner; only the owner (or the board)
resolves or escalates.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from escalation.casework.lifecycle import (
    current_period,
    join,
    load_for_event,
    record,
    require_raiser_owner_or_board,
)
from escalation.directory.people import EMAIL, find_person, normalise_email
from escalation.outbox import notifications
from escalation.rules.errors import InvalidInput, NotAllowed
from escalation.rules.policy import Policy
from escalation.store.models import Disagreement, Person, PersonRole

RESPONSES = {
    "decision_stands": "The decision stands; the rationale is",
    "decision_changed": "The decision has been changed",
    "meeting_proposed": "A meeting is proposed",
}


def record_response(
    session: Session, *, reference: str, actor: str, now: datetime, position: str, text: str
) -> Disagreement:
    """The stage's counterpart answers: on the stage's record and in the chronology, and the
    stage owner is emailed."""
    if position not in RESPONSES:
        raise InvalidInput({"position": f"must be one of {', '.join(RESPONSES)}"})
    if not text.strip():
        raise InvalidInput({"response": "say what changed, or why the decision stands"})
    disagreement, policy = load_for_event(session, reference, "respond")
    period = current_period(disagreement)
    if period.counterpart is None or normalise_email(actor) != period.counterpart.email:
        raise NotAllowed(
            "only this stage's counterpart, for the agency whose decision is disputed, can respond"
        )
    period.counterpart_response, period.counterpart_responded_at = position, now
    stage = disagreement.stage_key
    note = f"{RESPONSES[position]}: {text.strip()}"
    record(session, disagreement, now, actor, "respond", stage, stage, note)
    notifications.counterpart_responded(session, disagreement, policy, now)
    return disagreement


def change_counterpart(
    session: Session,
    *,
    reference: str,
    actor: str,
    now: datetime,
    email: str,
    reason: str,
    name: str = "",
    role: str = "",
    organisation: str = "",
) -> Disagreement:
    """Someone else answers for the receiving side from now: a directory person (by `email`),
    or a new one (`name`, `role`, `organisation`) at one of the policy's secure domains. The
    raiser, the stage owner or the board may do it, with a reason. At a stage whose counterpart
    was the decision-maker, the new person becomes the decision-maker. The old counterpart's
    links stop working; the new one is emailed their own."""
    problems = {} if reason.strip() else {"reason": "Enter why the counterpart is changing"}
    disagreement, policy = load_for_event(session, reference, "change_counterpart")
    require_raiser_owner_or_board(session, disagreement, actor, "change the counterpart")
    new = _new_counterpart(session, disagreement, policy, email, name, role, organisation, problems)
    period = current_period(disagreement)
    if period.counterpart is not None and new is not None and new.id == period.counterpart.id:
        problems["email"] = "Choose someone other than the current counterpart"
    if problems:
        raise InvalidInput(problems)
    old = period.counterpart
    if old is None or (disagreement.decision_maker and old.id == disagreement.decision_maker.id):
        _make_decision_maker(disagreement, new)
    period.counterpart = new
    period.counterpart_reason = f"changed by {actor}: {reason.strip()}"
    period.counterpart_response = period.counterpart_responded_at = None
    stage = disagreement.stage_key
    before = f"from {old.name} to {new.name}" if old else f"to {new.name}"
    note = join(f"counterpart {before}: {reason.strip()}")
    record(session, disagreement, now, actor, "change_counterpart", stage, stage, note)
    notifications.counterpart_changed(session, disagreement, policy, now)
    return disagreement


def counterpart_silent(disagreement: Disagreement, now: datetime) -> str:
    """The stage's clock ran out: flag the counterpart's silence (on the stage and the case) and
    say it in words, or "" if they responded or there was nobody to respond."""
    period = current_period(disagreement)
    if period.counterpart is None or period.counterpart_responded_at is not None:
        return ""
    period.counterpart_silent_at = now
    disagreement.counterpart_silent_at = disagreement.counterpart_silent_at or now
    return f"the counterpart {period.counterpart.name} did not respond at this stage"


def secure_address_problem(policy: Policy, email: str) -> str | None:
    """Why a counterpart outside the directory may not be written to at `email`, or None."""
    domain = normalise_email(email).rpartition("@")[2]
    if any(
        domain == allowed or domain.endswith("." + allowed) for allowed in policy.secure_domains
    ):
        return None
    allowed = ", ".join(policy.secure_domains) or "none listed"
    return (
        f"{domain} is not one of {policy.area}'s secure domains ({allowed}): choose them from "
        "the directory or use their secure work address"
    )


def _new_counterpart(
    session: Session,
    disagreement: Disagreement,
    policy: Policy,
    email: str,
    name: str,
    role: str,
    organisation: str,
    problems: dict,
) -> Person | None:
    email = normalise_email(email)
    if not EMAIL.match(email):
        problems["email"] = "Enter their work email address, like name@example.nhs.uk"
        return None
    if email in (disagreement.raiser_email, disagreement.owner.email):
        problems["email"] = "The counterpart answers for the other agency: choose someone else"
        return None
    person = find_person(session, email)
    if person is not None and not person.active:
        problems["email"] = (
            f"{person.name} is no longer active in the directory: choose someone else"
        )
        return None
    if person is not None and person.listed:
        return person
    # Someone recorded unlisted (typed in by an earlier raiser) is not thereby verified.
    if (problem := secure_address_problem(policy, email)) is not None:
        problems["email"] = problem
        return None
    if person is not None:
        return person
    for field, value in (("name", name), ("role", role), ("organisation", organisation)):
        if not value.strip():
            problems[field] = f"Enter their {field} (they are not in the directory)"
    if problems:
        return None
    person = Person(
        name=name.strip(),
        email=email,
        organisation=organisation.strip(),
        partnership=disagreement.partnership,
        job_title=role.strip(),
        role_rows=[PersonRole(role="practitioner")],
        listed=False,
    )
    session.add(person)
    session.flush()
    return person


def _make_decision_maker(disagreement: Disagreement, person: Person) -> None:
    disagreement.decision_maker = person
    disagreement.counterpart_name = person.name
    disagreement.counterpart_email = person.email
    disagreement.counterpart_role = person.job_title or disagreement.counterpart_role
    disagreement.counterpart_organisation = person.organisation
