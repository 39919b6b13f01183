"""The dashboard's watched cases: each open disagreement's open agreed actions (and convened
meetings), how many and the earliest date, as one grouped subquery the dashboard's queries join
(never a query per row); and the panel of watched cases with open actions, earliest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from escalation.rules import statemachine as sm
from escalation.store.models import AgreedAction, Disagreement

WATCHED_SHOWN = 20


@dataclass(frozen=True)
class WatchedCase:
    """A watched disagreement on the dashboard's panel: its open actions and the earliest date."""

    reference: str
    open_actions: int
    next_action_on: date


def open_action_totals():
    """Per disagreement, its open agreed actions (and convened meetings): how many, and the
    earliest one's date. One grouped subquery, joined to the rows that need it."""
    return (
        select(
            AgreedAction.disagreement_id.label("disagreement_id"),
            func.count().label("open_actions"),
            func.min(AgreedAction.due_on).label("next_action_on"),
        )
        .where(AgreedAction.ended.is_(None))
        .group_by(AgreedAction.disagreement_id)
        .subquery("open_action_totals")
    )


def watched_cases(
    session: Session, partnership: str, limit: int = WATCHED_SHOWN
) -> tuple[list[WatchedCase], int]:
    """The watched disagreements with open actions, earliest action first (at most `limit`),
    and how many there are: the sweep reopens any whose action is missed, so these are the
    dates the board keeps an eye on."""
    totals = open_action_totals()
    watched = and_(
        Disagreement.partnership == partnership,
        Disagreement.status == "open",
        Disagreement.resolution_state == sm.WATCHED,
    )
    query = (
        select(
            Disagreement.reference,
            totals.c.open_actions,
            totals.c.next_action_on,
            func.count().over().label("total"),
        )
        .join(totals, totals.c.disagreement_id == Disagreement.id)
        .where(watched)
        .order_by(totals.c.next_action_on, Disagreement.reference)
        .limit(limit)
    )
    rows = session.execute(query).all()
    return [WatchedCase(*row[:3]) for row in rows], rows[0].total if rows else 0
