"""How a disagreement is ending, as the case pages show it: its agreed actions and meetings
(with what happened), each asked person's say on the current proposal, and each stage's formal
record (for the list of PDFs)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation.rules.calendar import date_text, due_text, time_text
from escalation.rules.policy import Policy
from escalation.store.models import AgreedAction, Disagreement, ResolutionSay, StageRecord


@dataclass(frozen=True)
class ActionLine:
    """An agreed action or convened meeting. `state` is open, done, missed or cancelled."""

    id: int
    kind: str  # action or meeting
    what: str
    owner: str
    owner_email: str
    when: str  # "by Fri 27 Nov 2026", or the meeting's time
    place: str
    state: str
    done: str  # what happened, with when (done), or ""


@dataclass(frozen=True)
class SayLine:
    """One asked person's say on a proposed resolution: `answer` is awaited, accepted,
    contested, accepted_by_silence or lapsed."""

    part: str  # raiser or counterpart
    email: str
    answer: str
    due: str
    reason: str


@dataclass(frozen=True)
class RecordLine:
    """One stage's formal record, for a list of downloads."""

    id: int
    title: str  # "Proposed resolution", "Written determination", "Escalation", ...
    stage: str
    decided: str
    signed_by: str


def action_lines(session: Session, disagreement: Disagreement, policy: Policy) -> list[ActionLine]:
    tz = policy.timezone
    items = session.execute(
        select(AgreedAction)
        .where(AgreedAction.disagreement_id == disagreement.id)
        .order_by(AgreedAction.id)
    ).scalars()
    lines = []
    for item in items:
        when = due_text(item.meeting_at, tz) if item.meeting_at else f"by {date_text(item.due_on)}"
        done = ""
        if item.ended == "done":
            attended = f" Attended: {item.attendees}." if item.attendees else ""
            done = f"{item.done_note}{attended} ({time_text(item.ended_at, tz)})"
        lines.append(
            ActionLine(
                id=item.id,
                kind=item.kind,
                what=item.what,
                owner=item.owner.name,
                owner_email=item.owner.email,
                when=when,
                place=item.place,
                state=item.ended or "open",
                done=done,
            )
        )
    return lines


def say_lines(session: Session, disagreement: Disagreement, policy: Policy) -> list[SayLine]:
    """The says on the current proposal (those asked since the stage began)."""
    says = session.execute(
        select(ResolutionSay)
        .where(
            ResolutionSay.disagreement_id == disagreement.id,
            ResolutionSay.asked_at >= disagreement.stage_entered_at,
        )
        .order_by(ResolutionSay.id)
    ).scalars()
    return [
        SayLine(
            part=say.part,
            email=say.email,
            answer=say.answer or "awaited",
            due=due_text(say.due_at, policy.timezone),
            reason=say.reason,
        )
        for say in says
    ]


def record_lines(session: Session, disagreement: Disagreement, policy: Policy) -> list[RecordLine]:
    rows = session.execute(
        select(StageRecord)
        .where(StageRecord.disagreement_id == disagreement.id)
        .order_by(StageRecord.id)
    ).scalars()
    return [
        RecordLine(
            id=row.id,
            title=row.content.get("title", row.kind),
            stage=row.content.get("stage", row.stage_key),
            decided=time_text(row.decided_at, policy.timezone),
            signed_by=row.signed_by,
        )
        for row in rows
    ]
