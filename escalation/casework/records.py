"""A stage's formal record: the written confirmation the procedures demand for both agencies'
files, made when the stage's decision is made (a proposed resolution, the chair's
determination, an escalation, a withdrawal). Its text is fixed then, from the record as it stood;
reads/record_pdf.py prints it. Decision: a stage the service moved on at its deadline gets a
record too, signed by the service and naming the owner who made no decision, so no stage is
missing from either agency's file.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from escalation.casework.lifecycle import SYSTEM
from escalation.directory.people import find_person, normalise_email
from escalation.rules.calendar import date_text, due_text
from escalation.rules.policy import Policy
from escalation.rules.vocabulary import CATEGORIES, OUTCOMES, ROLES
from escalation.store.models import AgreedAction, Disagreement, StageRecord

_INSERT = insert(StageRecord.__table__)
KINDS = {
    "resolution": "Proposed resolution",
    "determination": "Written determination",
    "escalation": "Escalation",
    "withdrawal": "Withdrawal",
}
RESPONSES = {
    "stands": "The decision stands",
    "changed": "The decision has been changed",
    "meeting_proposed": "A meeting is proposed",
}


def write(
    session: Session,
    disagreement: Disagreement,
    policy: Policy,
    now: datetime,
    *,
    kind: str,
    actor: str,
    items: list[AgreedAction] = (),
    why: str = "",
    next_holder: str = "",
) -> None:
    """The record of the current stage's decision (`kind`), signed by `actor`."""
    stage = policy.stage(disagreement.stage_key)
    period = disagreement.stages[-1]
    signer = find_person(session, actor) if actor != SYSTEM else None
    if signer is not None:
        signed_by, signed_role = signer.name, _role_words(signer, stage.owner_role, policy)
    elif actor == SYSTEM:
        signed_by = "The escalation service, at the stage's deadline"
        signed_role = f"Stage owner who made no decision: {disagreement.owner.name}"
    else:
        signed_by, signed_role = normalise_email(actor), "Not in the directory"
    content = {
        "title": KINDS[kind],
        "reference": disagreement.reference,
        "child_reference": disagreement.child_reference,
        "area": policy.area,
        "stage": f"Stage {policy.stage_index(stage.key) + 1} of {len(policy.stages)}: "
        f"{stage.title}",
        "decided_at": due_text(now, policy.timezone),
        "raising_agency": disagreement.raiser_organisation,
        "raised_by": f"{disagreement.raiser_name}, {disagreement.raiser_role}",
        "receiving_agency": disagreement.counterpart_organisation,
        "decision_maker": f"{disagreement.counterpart_name}, {disagreement.counterpart_role}",
        "category": CATEGORIES.get(disagreement.category, disagreement.category),
        "decision_disputed": disagreement.decision_disputed,
        "decision_date": date_text(disagreement.decision_date),
        "raiser_position": f"{disagreement.reason}\n\nOutcome sought: {disagreement.outcome_sought}",
        "counterpart_position": _counterpart_position(period),
        "stage_owner": f"{period.owner.name} ({period.owner.organisation})",
        "stage_counterpart": _name(period.counterpart),
        "decision": _decision(disagreement, kind, why),
        "rationale": disagreement.outcome_summary or why or "",
        "actions": [_action(policy, item) for item in items],
        "next": next_holder or _next(disagreement, kind, policy),
        "signed_by": signed_by,
        "signed_role": signed_role,
    }
    row = dict(
        disagreement_id=disagreement.id,
        stage_key=stage.key,
        kind=kind,
        decided_at=now,
        signed_by=signed_by,
        signed_role=signed_role,
        content=content,
    )
    session.connection().execute(_INSERT, row)  # a plain INSERT: nothing reads it back here


def exists(session: Session, disagreement: Disagreement, stage_key: str, *, since) -> bool:
    """Whether the stage `stage_key`, entered at `since`, already has its record."""
    return (
        session.execute(
            select(StageRecord.id).where(
                StageRecord.disagreement_id == disagreement.id,
                StageRecord.stage_key == stage_key,
                StageRecord.decided_at >= since,
            )
        ).first()
        is not None
    )


def records_of(session: Session, disagreement: Disagreement) -> list[StageRecord]:
    return list(
        session.execute(
            select(StageRecord)
            .where(StageRecord.disagreement_id == disagreement.id)
            .order_by(StageRecord.id)
        ).scalars()
    )


def _role_words(person, owner_role: str, policy: Policy) -> str:
    if person.job_title:
        return f"{person.job_title}, {person.organisation}"
    role = owner_role if owner_role in person.roles else next(iter(sorted(person.roles)), "")
    return f"{ROLES.get(role, role).capitalize()}, {person.organisation}".strip(", ")


def _counterpart_position(period) -> str:
    if period.counterpart_response:
        words = RESPONSES.get(period.counterpart_response, period.counterpart_response)
        return f"{words} (answered by {_name(period.counterpart)})"
    return "No response recorded at this stage"


def _decision(disagreement: Disagreement, kind: str, why: str) -> str:
    if kind in ("resolution", "determination"):
        return OUTCOMES.get(disagreement.outcome, disagreement.outcome or "")
    if kind == "withdrawal":
        return "Withdrawn by the practitioner who raised it"
    return f"Not resolved at this stage: {why}" if why else "Not resolved at this stage"


def _next(disagreement: Disagreement, kind: str, policy: Policy) -> str:
    if kind == "withdrawal":
        return "Nobody: the disagreement is closed"
    if kind in ("resolution", "determination"):
        return (
            f"{disagreement.owner.name} keeps the stage until the agreed actions are done and the "
            "practitioner who raised it has had their say"
        )
    following = policy.next_stage(disagreement.stage_key)
    return f"The next stage: {following.title}" if following else "The final stage, again"


def _action(policy: Policy, item: AgreedAction) -> dict:
    when = (
        due_text(item.meeting_at, policy.timezone)
        if item.meeting_at
        else f"by {date_text(item.due_on)}"
    )
    return {
        "what": item.what,
        "owner": f"{item.owner.name} ({item.owner.organisation})",
        "when": when,
        "place": item.place,
    }


def _name(person) -> str:
    return f"{person.name} ({person.organisation})" if person is not None else "None named"
