"""Everything on the record about one disagreement, as the case pages (the board's and the
emailed links') and the plain-text record show it: each stage's two sides (the raising side's
owner and the receiving side's counterpart, each with why they hold it, and the counterpart's
response or silence), its deadline with the working-day arithmetic in words, the chronology
(every event and every view), meetings and extension requests; and whom the directory offers as
a new counterpart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from escalation.casework.chronology import events_of
from escalation.casework.counterparts import RESPONSES
from escalation.reads.ending_lines import (
    ActionLine,
    RecordLine,
    SayLine,
    action_lines,
    record_lines,
    say_lines,
)
from escalation.rules.calendar import date_text, due_text, time_text
from escalation.rules.policy import Policy
from escalation.rules.vocabulary import BOARD_ROLES
from escalation.store.models import (
    DeadlineExtension,
    Disagreement,
    Event,
    Person,
    PersonPartnership,
    PersonRole,
    ResolutionMeeting,
    StagePeriod,
)
from escalation.store.pinned_policies import policy_for


@dataclass(frozen=True)
class StageLine:
    """One stage period, both sides: `owner` and `counterpart` are names ("" for no
    counterpart), `*_detail` their job title and organisation, `*_reason` why they hold it.
    `response_state` is responded, waiting (the stage is current), no_response (it ended
    before they answered, on time), silent (past the stage's deadline) or nobody."""

    title: str
    owner: str
    owner_detail: str
    owner_reason: str
    counterpart: str
    counterpart_detail: str
    counterpart_reason: str
    response: str  # in words, with when
    response_state: str
    entered: str
    deadline: str  # the arithmetic in words
    ended: str


@dataclass(frozen=True)
class Casefile:
    disagreement: Disagreement
    policy: Policy
    stages: list[StageLine]
    events: list[Event]
    meetings: list[ResolutionMeeting]
    extensions: list[DeadlineExtension]
    actions: list[ActionLine] = ()
    says: list[SayLine] = ()
    records: list[RecordLine] = ()


def casefile(session: Session, disagreement: Disagreement) -> Casefile:
    policy = policy_for(session, disagreement)
    periods = (
        session.execute(
            select(StagePeriod)
            .where(StagePeriod.disagreement_id == disagreement.id)
            .order_by(StagePeriod.id)
        )
        .scalars()
        .all()
    )
    extensions = (
        session.execute(
            select(DeadlineExtension)
            .where(DeadlineExtension.disagreement_id == disagreement.id)
            .order_by(DeadlineExtension.id)
        )
        .scalars()
        .all()
    )
    approved = {e.stage_period_id: e for e in extensions if e.decision == "approved"}
    events = events_of(session, disagreement)
    stages = [
        _stage_line(policy, disagreement, period, approved.get(period.id), events)
        for period in periods
    ]
    meetings = (
        session.execute(
            select(ResolutionMeeting)
            .where(ResolutionMeeting.disagreement_id == disagreement.id)
            .order_by(ResolutionMeeting.held_on, ResolutionMeeting.id)
        )
        .scalars()
        .all()
    )
    return Casefile(
        disagreement,
        policy,
        stages,
        events,
        list(meetings),
        list(extensions),
        actions=action_lines(session, disagreement, policy),
        says=say_lines(session, disagreement, policy),
        records=record_lines(session, disagreement, policy),
    )


def _stage_line(
    policy: Policy,
    disagreement: Disagreement,
    period: StagePeriod,
    extension: DeadlineExtension | None,
    events: list[Event],
) -> StageLine:
    tz = policy.timezone
    counterpart = period.counterpart
    response, state = _response(period, events, tz)
    ended = ""
    if period.ended_at:
        ended = f"{_ending(period.ended_by)} {time_text(period.ended_at, tz)}"
    return StageLine(
        title=policy.stage(period.stage_key).title,
        owner=period.owner.name,
        owner_detail=_detail(period.owner),
        owner_reason=period.owner_reason,
        counterpart=counterpart.name if counterpart else "",
        counterpart_detail=_detail(counterpart) if counterpart else "",
        counterpart_reason=period.counterpart_reason,
        response=response,
        response_state=state,
        entered=time_text(period.entered_at, tz),
        deadline=explain_deadline(policy, disagreement.urgent, period, extension),
        ended=ended,
    )


def _response(period: StagePeriod, events: list[Event], tz: str) -> tuple[str, str]:
    """The counterpart's answer at this stage in words (their own, from the chronology's
    `respond` event), or why there is none; and its state (see StageLine)."""
    if period.counterpart is None:
        return "Nobody answers for the receiving side at this stage", "nobody"
    if period.counterpart_responded_at is not None:
        said = next(
            (
                event.note
                for event in reversed(events)
                if event.kind == "respond"
                and event.at == period.counterpart_responded_at
                and event.actor == period.counterpart.email
            ),
            RESPONSES.get(period.counterpart_response or "", "Responded").removesuffix(
                "; the rationale is"
            ),
        )
        return f"{said} ({time_text(period.counterpart_responded_at, tz)})", "responded"
    if period.counterpart_silent_at is not None:
        when = time_text(period.counterpart_silent_at, tz)
        return f"Silent past the deadline: no response by {when}", "silent"
    if period.ended_at is None:
        return "No response yet", "waiting"
    return "No response", "no_response"


def _detail(person: Person) -> str:
    return ", ".join(part for part in (person.job_title, person.organisation) if part)


@dataclass(frozen=True)
class Choice:
    id: int
    email: str
    label: str  # "Sam Social, Duty social worker"


def counterpart_choices(
    session: Session, disagreement: Disagreement
) -> list[tuple[str, list[Choice]]]:
    """Whom the directory offers as this stage's new counterpart: the partnership's listed,
    active people (those it serves from another partnership too), by organisation then name;
    not the board (the raising side's last rungs), and never the raiser, the stage owner or the
    current counterpart (who cannot be chosen)."""
    serves = or_(
        Person.partnership == disagreement.partnership,
        Person.id.in_(
            select(PersonPartnership.person_id).where(
                PersonPartnership.partnership == disagreement.partnership
            )
        ),
    )
    current = disagreement.stages[-1].counterpart if disagreement.stages else None
    excluded = {disagreement.raiser_email, disagreement.owner.email}
    if current is not None:
        excluded.add(current.email)
    board = select(PersonRole.person_id).where(PersonRole.role.in_(BOARD_ROLES))
    people = session.execute(
        select(Person)
        .where(serves, Person.listed, Person.active, Person.email.not_in(excluded))
        .where(Person.id.not_in(board))
        .order_by(Person.organisation, Person.name, Person.id)
    ).scalars()
    groups: dict[str, list[Choice]] = {}
    for person in people:
        label = ", ".join(part for part in (person.name, person.job_title) if part)
        groups.setdefault(person.organisation, []).append(Choice(person.id, person.email, label))
    return list(groups.items())


def explain_deadline(
    policy: Policy, urgent: bool, period: StagePeriod, extension: DeadlineExtension | None = None
) -> str:
    """'due 17:00 Tue 29 Dec 2026: 2 working days after Wed 23 Dec; not counted: Fri 25 Dec
    (Christmas Day), Mon 28 Dec (Boxing Day (substitute day))'."""
    timescale = policy.timescale(period.stage_key, urgent)
    start = period.clock_start
    original = policy.due_at(period.stage_key, urgent, start)
    tz = policy.timezone
    if timescale.hours is not None:
        words = f"due {due_text(original, tz)}: {timescale.describe()} after {time_text(start, tz)}"
    else:
        counted_from = _counted_from(policy, start)
        words = f"due {due_text(original, tz)}: {timescale.describe()} after {counted_from}"
        skipped = policy.calendar.skipped_days(start, timescale.working_days)
        if skipped:
            days = ", ".join(f"{date_text(day)} ({why})" for day, why in skipped)
            words += f"; not counted: {days}"
    if period.clock_started_at and period.clock_started_at != period.entered_at:
        words += " (the stage's clock, kept when it changed hands)"
    if extension is not None and extension.new_due_at is not None:
        words += (
            f"; extended by {extension.amount} {extension.unit.replace('_', ' ')} to "
            f"{due_text(extension.new_due_at, tz)}, approved by the chair"
        )
    elif period.due_at != original:
        words += f"; now due {due_text(period.due_at, tz)}"
    return words


def _counted_from(policy: Policy, start: datetime) -> str:
    calendar = policy.calendar
    began = calendar.local_date(start)
    counted = calendar.counting_day(start)
    if counted == began:
        return date_text(began)
    why = calendar.non_working_reason(began) or f"after {calendar.close_of_business:%H:%M}"
    return (
        f"{date_text(counted)} (it began {date_text(began)}, {why}, "
        "so counts from the next working day)"
    )


def _ending(how: str | None) -> str:
    return {
        "escalate": "escalated",
        "resolve": "resolved",
        "withdraw": "withdrawn",
        "hand_to_deputy": "handed to deputy",
        "reassign": "reassigned",
    }.get(how or "", how or "ended")
