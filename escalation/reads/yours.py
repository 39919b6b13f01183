"""Your disagreements: those a signed-in person raised, owns now (the current stage's owner), is
asked for a say on, or owns an open agreed action of; each with its stage, owner, deadline and
what it is waiting on, in words. Three queries for the whole list (the disagreements, their
awaited says, their open actions), never one per row.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from escalation.casework.lifecycle import reference_key, state_of
from escalation.directory.people import normalise_email
from escalation.rules import statemachine as sm
from escalation.rules.calendar import date_text, due_text
from escalation.store.models import AgreedAction, Disagreement, Person, ResolutionSay
from escalation.store.pinned_policies import policy_for

CLOSED_SHOWN = 20


@dataclass(frozen=True)
class Say:
    email: str
    name: str
    due_at: datetime


@dataclass(frozen=True)
class Item:
    """An open agreed action (or convened meeting) of one of the disagreements."""

    owner_email: str
    what: str
    due_on_text: str


@dataclass
class Yours:
    """One disagreement as its involved person sees it: `parts` says how they are involved
    ("raised", "owner", "say", "action")."""

    disagreement: Disagreement
    parts: set[str]
    stage_number: int
    stage_count: int
    stage_title: str
    due: str
    overdue: bool
    waiting: str
    my_say_due: str = ""
    says: list[Say] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)

    @property
    def reference(self) -> str:
        return self.disagreement.reference


def yours(session: Session, email: str, now: datetime) -> list[Yours]:
    """Every disagreement the person is involved in: open ones (urgent first, earliest due),
    then the closed ones they raised (the latest `CLOSED_SHOWN`)."""
    email = normalise_email(email)
    open_rows = list(
        session.execute(
            select(Disagreement)
            .where(Disagreement.status == "open", _involved(email))
            .order_by(Disagreement.urgent.desc(), Disagreement.due_at, Disagreement.id)
        ).scalars()
    )
    closed_rows = list(
        session.execute(
            select(Disagreement)
            .where(Disagreement.status != "open", Disagreement.raiser_email == email)
            .order_by(Disagreement.closed_at.desc(), Disagreement.id.desc())
            .limit(CLOSED_SHOWN)
        ).scalars()
    )
    return _described(session, email, open_rows + closed_rows, now)


def one_of_yours(session: Session, email: str, reference: str, now: datetime) -> Yours | None:
    """The disagreement if the person is involved in it now (or raised it); else None."""
    email = normalise_email(email)
    row = session.execute(
        select(Disagreement).where(
            Disagreement.reference == reference_key(reference),
            or_(Disagreement.raiser_email == email, Disagreement.status == "open"),
            _involved(email),
        )
    ).scalar_one_or_none()
    return _described(session, email, [row], now)[0] if row is not None else None


def _involved(email: str):
    """Raised it, owns the current stage, is asked for a say, or owns an open agreed action."""
    person_ids = select(Person.id).where(Person.email == email).scalar_subquery()
    asked = select(ResolutionSay.disagreement_id).where(
        ResolutionSay.email == email, ResolutionSay.answer.is_(None)
    )
    acting = select(AgreedAction.disagreement_id).where(
        AgreedAction.owner_id == person_ids, AgreedAction.ended.is_(None)
    )
    return or_(
        Disagreement.raiser_email == email,
        Disagreement.owner_id == person_ids,
        Disagreement.id.in_(asked),
        Disagreement.id.in_(acting),
    )


def _described(session: Session, email: str, rows: list[Disagreement], now) -> list[Yours]:
    ids = [row.id for row in rows]
    says, items = defaultdict(list), defaultdict(list)
    if ids:
        for say, name in session.execute(
            select(ResolutionSay, Person.name)
            .outerjoin(Person, Person.email == ResolutionSay.email)
            .where(ResolutionSay.disagreement_id.in_(ids), ResolutionSay.answer.is_(None))
            .order_by(ResolutionSay.id)
        ):
            says[say.disagreement_id].append(Say(say.email, name or say.email, say.due_at))
        for item, owner_email in session.execute(
            select(AgreedAction, Person.email)
            .join(Person, Person.id == AgreedAction.owner_id)
            .where(AgreedAction.disagreement_id.in_(ids), AgreedAction.ended.is_(None))
            .order_by(AgreedAction.due_on, AgreedAction.id)
        ):
            items[item.disagreement_id].append(Item(owner_email, item.what, date_text(item.due_on)))
    return [_one(session, email, row, says[row.id], items[row.id], now) for row in rows]


def _one(session, email, row: Disagreement, says, items, now) -> Yours:
    policy = policy_for(session, row)
    parts = set()
    if row.raiser_email == email:
        parts.add("raised")
    if row.is_open and row.owner.email == email:
        parts.add("owner")
    if any(say.email == email for say in says):
        parts.add("say")
    if any(item.owner_email == email for item in items):
        parts.add("action")
    mine = [say for say in says if say.email == email]
    return Yours(
        disagreement=row,
        parts=parts,
        stage_number=row.stage_index + 1,
        stage_count=len(policy.stages),
        stage_title=policy.stage(row.stage_key).title,
        due=due_text(row.due_at, policy.timezone),
        overdue=row.is_overdue(now),
        waiting=waiting(row, email, says, items, policy.timezone),
        my_say_due=due_text(mine[0].due_at, policy.timezone) if mine else "",
        says=says,
        items=items,
    )


def waiting(row: Disagreement, email: str, says: list[Say], items: list[Item], tz: str) -> str:
    """What the disagreement is waiting on, and from whom, in plain words."""
    state = state_of(row)
    if not row.is_open:
        closed = date_text(row.closed_at.date()) if row.closed_at else ""
        return f"{row.status.capitalize()} on {closed}: closed." if closed else "Closed."
    if state == sm.PROPOSED:
        due = due_text(min(say.due_at for say in says), tz) if says else ""
        who = " and ".join("you" if say.email == email else say.name for say in says)
        return (
            f"A resolution is proposed: waiting for {who or 'nobody'} to accept or contest it"
            + (f" by {due}." if due else ".")
        )
    if state == sm.WATCHED:
        count = len(items)
        words = f"Watched: {count} agreed action{'s' if count != 1 else ''} open"
        own = [item for item in items if item.owner_email == email]
        if own:
            return f"{words}, {len(own)} of them yours (the first by {own[0].due_on_text})."
        return f"{words}" + (f", the next by {items[0].due_on_text}." if items else ".")
    who = "you" if row.owner.email == email else f"{row.owner.name} ({row.owner.organisation})"
    doing = "acknowledge and act" if state == sm.AWAITING else "act"
    return f"Waiting for {who} to {doing}, due {due_text(row.due_at, tz)}."
