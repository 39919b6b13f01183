"""The queries behind the yearly report's section (annual.py), for one partnership and period,
each counted as annual.py's docstring says: the disagreements open, raised and closed
(period_counts), the working days each resolved one took (resolution_days), how far those
raised went (stages_reached), the learning recorded on those closed (themes), how the agreed
actions ended (actions), and the proposals accepted, contested and reopened (proposals).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from escalation.casework.actions import action_times
from escalation.casework.endings import ACCEPTED, BY_SILENCE
from escalation.rules.policy import Policy
from escalation.store.models import AgreedAction, Disagreement, Event, ResolutionSay, StagePeriod


def period_counts(session: Session, partnership: str, since: datetime, as_at: datetime) -> dict:
    ours = Disagreement.partnership == partnership

    def count(*where) -> int:
        return session.execute(
            select(func.count()).select_from(Disagreement).where(ours, *where)
        ).scalar_one()

    def open_at(moment: datetime) -> int:
        still = Disagreement.closed_at.is_(None) | (Disagreement.closed_at >= moment)
        return count(Disagreement.raised_at < moment, still)

    def closed(status: str) -> int:
        return count(
            Disagreement.status == status,
            Disagreement.closed_at >= since,
            Disagreement.closed_at < as_at,
        )

    return {
        "open_at_start": open_at(since),
        "raised": count(Disagreement.raised_at >= since, Disagreement.raised_at < as_at),
        "resolved": closed("resolved"),
        "withdrawn": closed("withdrawn"),
        "still_open": open_at(as_at),
    }


def closed_in(session, partnership, since, as_at, *columns) -> list:
    """`columns` of the disagreements closed in the period."""
    return session.execute(
        select(*columns).where(
            Disagreement.partnership == partnership,
            Disagreement.status != "open",
            Disagreement.closed_at >= since,
            Disagreement.closed_at < as_at,
        )
    ).all()


def resolution_days(session, partnership, policy: Policy, since, as_at) -> list[int]:
    """Working days from raised to resolved (working_days_overdue counts the working days
    after the first day up to the second, the same way)."""
    rows = closed_in(
        session,
        partnership,
        since,
        as_at,
        Disagreement.status,
        Disagreement.raised_at,
        Disagreement.closed_at,
    )
    calendar = policy.calendar
    return sorted(
        calendar.working_days_overdue(raised, closed)
        for status, raised, closed in rows
        if status == "resolved"
    )


def stages_reached(session, partnership, since, as_at) -> dict[str, Counter]:
    """'highest': stage key -> how many had it as their highest by the end; 'reached': stage
    key -> how many had been at it."""
    rows = session.execute(
        select(StagePeriod.disagreement_id, StagePeriod.stage_key, StagePeriod.stage_index)
        .join(Disagreement, StagePeriod.disagreement_id == Disagreement.id)
        .where(
            Disagreement.partnership == partnership,
            Disagreement.raised_at >= since,
            Disagreement.raised_at < as_at,
            StagePeriod.entered_at < as_at,
        )
        .order_by(StagePeriod.disagreement_id, StagePeriod.entered_at, StagePeriod.id)
    ).all()
    highest: dict[int, tuple[int, str]] = {}
    reached: dict[int, set[str]] = {}
    for disagreement_id, key, index in rows:
        if index >= highest.get(disagreement_id, (-1, ""))[0]:
            highest[disagreement_id] = (index, key)
        reached.setdefault(disagreement_id, set()).add(key)
    return {
        "highest": Counter(key for _, key in highest.values()),
        "reached": Counter(key for keys in reached.values() for key in keys),
    }


def themes(session, partnership, since, as_at) -> dict[str, Counter]:
    """'all' and 'systemic': theme -> disagreements closed in the period; 'closed': with and
    without learning recorded, and how many of those with it point to a systemic issue."""
    rows = closed_in(
        session,
        partnership,
        since,
        as_at,
        Disagreement.learning_themes,
        Disagreement.learning_systemic,
    )
    counts = {"all": Counter(), "systemic": Counter(), "closed": Counter()}
    for themes, systemic in rows:
        counts["closed"]["with" if themes else "without"] += 1
        counts["closed"]["systemic"] += bool(themes and systemic)
        for theme in themes or []:
            counts["all"][theme] += 1
            counts["systemic"][theme] += bool(systemic)
    return counts


def actions(session, partnership, policy: Policy, since, as_at) -> Counter:
    """Agreed actions (and convened meetings) agreed in the period, by how they ended."""
    items = session.execute(
        select(AgreedAction)
        .join(Disagreement, AgreedAction.disagreement_id == Disagreement.id)
        .where(
            Disagreement.partnership == partnership,
            AgreedAction.created_at >= since,
            AgreedAction.created_at < as_at,
        )
    ).scalars()
    counts = Counter()
    for item in items:
        counts["agreed"] += 1
        counts[_how_it_ended(policy, item, as_at)] += 1
    return counts


def _how_it_ended(policy: Policy, item: AgreedAction, as_at: datetime) -> str:
    """As at the end of the period: an action ended after it is still open then."""
    if item.ended is None or item.ended_at >= as_at:
        return "open"
    if item.ended != "done":
        return item.ended
    return "on_time" if item.ended_at <= action_times(policy, item).chase_at else "late"


def proposals(session, partnership, since, as_at) -> Counter:
    events = session.execute(
        select(Event.kind, func.count())
        .join(Disagreement, Event.disagreement_id == Disagreement.id)
        .where(
            Disagreement.partnership == partnership,
            Event.kind.in_(("resolve", "contest", "reopen")),
            Event.at >= since,
            Event.at < as_at,
        )
        .group_by(Event.kind)
    ).all()
    says = session.execute(
        select(ResolutionSay.answer, func.count())
        .join(Disagreement, ResolutionSay.disagreement_id == Disagreement.id)
        .where(
            Disagreement.partnership == partnership,
            ResolutionSay.answer.in_((ACCEPTED, BY_SILENCE)),
            ResolutionSay.answered_at >= since,
            ResolutionSay.answered_at < as_at,
        )
        .group_by(ResolutionSay.answer)
    ).all()
    return Counter(dict(events)) + Counter(dict(says))
