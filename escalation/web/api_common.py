"""What the JSON API's endpoints share: the key that authorises a call, whether that key may see
a disagreement, and the record they answer with."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation.access import apikeys
from escalation.casework.chronology import events_of
from escalation.casework.endings import all_actions
from escalation.casework.lifecycle import state_of
from escalation.rules.errors import EscalationError, InvalidInput
from escalation.store.db import transaction
from escalation.store.models import AgreedAction, ApiKey, Disagreement, ResolutionSay
from escalation.store.pinned_policies import policy_for
from escalation.web.api_models import (
    AgreedActionLine,
    ChronologyEntry,
    CurrentStage,
    DisagreementRecord,
    DisagreementSummary,
    Owner,
    Say,
)


class Unauthorised(EscalationError):
    pass


def api_key(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> ApiKey:
    with transaction(request.app.state.sessions) as session:
        key = apikeys.find_key(session, x_api_key, now=request.app.state.clock())
    if key is None:
        raise Unauthorised("a valid X-API-Key header is required")
    return key


Key = Annotated[ApiKey, Depends(api_key)]


def raise_invalid(field: str, message: str):
    raise InvalidInput({field: message})


def visible(disagreement: Disagreement, key: ApiKey) -> bool:
    organisation = key.organisation.lower()
    return disagreement.partnership == key.partnership and organisation in (
        disagreement.raiser_organisation.lower(),
        disagreement.counterpart_organisation.lower(),
    )


def summary_of(disagreement: Disagreement, now: datetime) -> DisagreementSummary:
    return DisagreementSummary(**_summary_fields(disagreement, now))


def _summary_fields(disagreement: Disagreement, now: datetime) -> dict:
    stage = None
    if disagreement.is_open:
        owner = disagreement.owner
        stage = CurrentStage(
            key=disagreement.stage_key,
            title=disagreement.stage_key.replace("_", " "),
            number=disagreement.stage_index + 1,
            owner=Owner(name=owner.name, email=owner.email, organisation=owner.organisation),
            due_at=disagreement.due_at,
            acknowledged_at=disagreement.stage_acknowledged_at,
            overdue=disagreement.is_overdue(now),
        )
    return dict(
        reference=disagreement.reference,
        status=disagreement.status,
        urgent=disagreement.urgent,
        category=disagreement.category,
        raiser_organisation=disagreement.raiser_organisation,
        counterpart_organisation=disagreement.counterpart_organisation,
        raised_at=disagreement.raised_at,
        stage=stage,
    )


def record_of(session: Session, disagreement: Disagreement, now: datetime) -> DisagreementRecord:
    fields = _summary_fields(disagreement, now)
    if fields["stage"] is not None:
        policy = policy_for(session, disagreement)
        fields["stage"].title = policy.stage(disagreement.stage_key).title
    return DisagreementRecord(
        **fields,
        **{
            name: getattr(disagreement, name)
            for name in (
                "child_reference",
                "raiser_name",
                "raiser_email",
                "raiser_role",
                "counterpart_name",
                "counterpart_email",
                "counterpart_role",
                "decision_disputed",
                "decision_date",
                "reason",
                "outcome_sought",
                "immediate_risk",
                "protective_action",
                "outcome",
                "outcome_summary",
            )
        },
        state=state_of(disagreement),
        actions=[_action_line(item) for item in all_actions(session, disagreement)],
        says=[_say(say) for say in _says(session, disagreement)],
        chronology=[
            ChronologyEntry(
                at=e.at,
                actor=e.actor,
                kind=e.kind,
                from_stage=e.from_stage,
                to_stage=e.to_stage,
                note=e.note,
            )
            for e in events_of(session, disagreement)
        ],
    )


def _action_line(item: AgreedAction) -> AgreedActionLine:
    owner = item.owner
    return AgreedActionLine(
        id=item.id,
        kind=item.kind,
        what=item.what,
        owner=Owner(name=owner.name, email=owner.email, organisation=owner.organisation),
        due_on=item.due_on,
        meeting_at=item.meeting_at,
        state=item.ended or "open",
        ended_at=item.ended_at,
    )


def _says(session: Session, disagreement: Disagreement) -> list[ResolutionSay]:
    return list(
        session.execute(
            select(ResolutionSay)
            .where(ResolutionSay.disagreement_id == disagreement.id)
            .order_by(ResolutionSay.id)
        ).scalars()
    )


def _say(say: ResolutionSay) -> Say:
    return Say(
        part=say.part,
        email=say.email,
        asked_at=say.asked_at,
        due_at=say.due_at,
        answer=say.answer or "awaited",
        answered_at=say.answered_at,
        reason=say.reason,
    )
