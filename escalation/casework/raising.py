"""Raising a disagreement: the record at its first stage (a later one on the urgent track), its
owner and clock, the raiser in the directory, and the first emails. The events of its life
after that are in disagreements.py and board_actions.py."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation.casework.assignment import Holders, assign
from escalation.casework.counterparts_check import check_counterpart
from escalation.casework.intake import RaiseRequest
from escalation.casework.lifecycle import hold, is_board, join, open_stage_period, record
from escalation.directory.people import find_person
from escalation.outbox import notifications
from escalation.rules.calendar import time_text
from escalation.rules.errors import InvalidInput
from escalation.rules.policy import Policy, Stage
from escalation.store.models import Disagreement, Person, PersonRole
from escalation.store.pinned_policies import pin_policy

REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read over the phone


def raise_disagreement(
    session: Session,
    *,
    request: RaiseRequest,
    policy: Policy,
    now: datetime,
    from_agency: bool = False,
) -> Disagreement:
    """Record a new disagreement at its first stage (a later one on the urgent track).

    A repeated `idempotency_key` returns the disagreement it first created, unchanged. Dates
    later than `now` are refused (InvalidInput, see RaiseRequest.check_against), and so is a
    counterpart neither listed in the directory nor at one of the policy's secure domains
    (counterparts_check, whichever way it is raised).

    `from_agency`: an agency system sent it (the JSON API), so the raiser is only that system's
    word: a board manager or chair cannot be named as the raiser (InvalidInput on raiser.email),
    and a raiser not yet in the directory is recorded unlisted (they own their first stage but
    this does not let them sign in; see signin.may_sign_in).
    """
    if request.idempotency_key:
        existing = session.execute(
            select(Disagreement).where(Disagreement.idempotency_key == request.idempotency_key)
        ).scalar_one_or_none()
        if existing is not None:
            return existing
    request.check_against(now)
    check_counterpart(session, email=request.counterpart.email, policy=policy)
    raised_at = request.raised_at or now
    pin_policy(session, policy, now=now)
    raiser = _raiser_person(session, request, policy, from_agency=from_agency)
    decision_maker = _decision_maker(session, request, policy)
    policy = policy.for_category(request.category)
    stage = policy.first_stage(request.immediate_risk)
    holders = assign(
        session,
        policy,
        stage,
        raised_at,
        raiser=raiser,
        decision_maker=decision_maker,
        urgent=request.immediate_risk,
    )
    disagreement = _new_disagreement(request, policy, raiser, stage, holders, raised_at, now)
    disagreement.decision_maker = decision_maker
    session.add(disagreement)
    session.flush()
    hold(session, disagreement)  # inserted in this transaction: ours alone, as if locked
    open_stage_period(session, disagreement, holders.owner.person, raised_at, holders=holders)
    note = join(
        "urgent track: the child is at immediate risk" if request.immediate_risk else "",
        f"first raised at {time_text(raised_at, policy.timezone)}" if raised_at != now else "",
        f"cross-border: the child lives in {policy.area}; also involves {request.other_area}"
        if request.other_area
        else "",
        holders.note(),
    )
    record(session, disagreement, now, raiser.email, "raise", None, stage.key, note)
    notifications.stage_entered(session, disagreement, policy, now)
    return disagreement


def _raiser_person(
    session: Session, request: RaiseRequest, policy: Policy, *, from_agency: bool
) -> Person:
    """The raiser as a directory entry; a practitioner not yet in it is added as one (unlisted,
    when an agency system named them). An agency system may not name the board as the raiser."""
    person = find_person(session, request.raiser.email)
    if person is not None:
        if from_agency and is_board(person):
            problem = "must be a practitioner's address, not a board manager's or chair's"
            raise InvalidInput({"raiser.email": problem})
        return person
    person = Person(
        name=request.raiser.name,
        email=request.raiser.email,
        organisation=request.raiser.organisation,
        partnership=policy.partnership,
        job_title=request.raiser.role,
        role_rows=[PersonRole(role="practitioner")],
        listed=not from_agency,
    )
    session.add(person)
    session.flush()
    return person


def _decision_maker(session: Session, request: RaiseRequest, policy: Policy) -> Person:
    """The professional whose decision is disputed, as a directory entry: the one listed under
    that address, else a new unlisted entry (they hold the first stage's receiving side, but
    this does not let them sign in)."""
    person = find_person(session, request.counterpart.email)
    if person is not None:
        return person
    person = Person(
        name=request.counterpart.name,
        email=request.counterpart.email,
        organisation=request.counterpart.organisation,
        partnership=policy.partnership,
        job_title=request.counterpart.role,
        role_rows=[PersonRole(role="practitioner")],
        listed=False,
    )
    session.add(person)
    session.flush()
    return person


def _new_disagreement(
    request: RaiseRequest,
    policy: Policy,
    raiser: Person,
    stage: Stage,
    holders: Holders,
    raised_at: datetime,
    now: datetime,
) -> Disagreement:
    return Disagreement(
        reference=_new_reference(),
        idempotency_key=request.idempotency_key,
        partnership=policy.partnership,
        policy_id=policy.id,
        policy_version=policy.version,
        status="open",
        stage_key=stage.key,
        stage_index=policy.stage_index(stage.key),
        stage_entered_at=raised_at,
        due_at=policy.due_at(stage.key, request.immediate_risk, raised_at),
        remind_at=policy.reminder_at(stage.key, request.immediate_risk, raised_at),
        owner=holders.owner.person,
        other_area=request.other_area,
        urgent=request.immediate_risk,
        raised_at=raised_at,
        recorded_at=now,
        raised_by=raiser,
        raiser_name=request.raiser.name,
        raiser_email=request.raiser.email,
        raiser_role=request.raiser.role,
        raiser_organisation=request.raiser.organisation,
        counterpart_name=request.counterpart.name,
        counterpart_email=request.counterpart.email,
        counterpart_role=request.counterpart.role,
        counterpart_organisation=request.counterpart.organisation,
        child_reference=request.child_reference,
        category=request.category,
        decision_disputed=request.decision_disputed,
        decision_date=request.decision_date,
        reason=request.reason,
        outcome_sought=request.outcome_sought,
        immediate_risk=request.immediate_risk,
        protective_action=request.protective_action,
        level_of_need=request.level_of_need,
        stages=[],  # known empty: its first period is appended without reading the collection
    )


def _new_reference() -> str:
    code = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"RPD-{code[:4]}-{code[4:]}"
