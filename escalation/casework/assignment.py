"""Who holds each side of a stage when it begins: the routing rules' answer (directory/routing)
for the raising side's owner and the receiving side's counterpart, with an alert for a gap."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from escalation.casework.health import raise_alert
from escalation.directory.people import MEMO, agency_of
from escalation.directory.routing import Holder, Side, route
from escalation.rules.calendar import time_text
from escalation.rules.errors import DirectoryError, NotAllowed
from escalation.rules.policy import Policy, Stage
from escalation.rules.service_hours import is_in_service_hours
from escalation.rules.vocabulary import BOARD_ROLES
from escalation.store.models import Alert, Disagreement, Person


@dataclass(frozen=True)
class Holders:
    """Who holds each side of a stage, and why (see directory/routing.py)."""

    owner: Holder
    counterpart: Holder

    def note(self) -> str:
        """Both sides in words, for the event that starts the stage."""
        sides = [f"owner {self.owner.person.name} ({self.owner.why})"]
        if self.counterpart.person is not None:
            sides.append(f"counterpart {self.counterpart.person.name} ({self.counterpart.why})")
        else:
            sides.append(self.counterpart.why)
        return "; ".join(sides)


def assign(
    session: Session,
    policy: Policy,
    stage: Stage,
    at: datetime,
    *,
    disagreement: Disagreement | None = None,
    raiser: Person | None = None,
    decision_maker: Person | None = None,
    urgent: bool = False,
) -> Holders:
    """Who holds each side of `stage` from `at`: by the stage's routing rules (the urgent
    track's out-of-hours owner for an urgent stage starting out of hours), after the sides'
    previous holders (see _previous; for a new disagreement nobody at the first stage, else the
    raiser and the decision-maker). A gap raises an alert naming it. NotAllowed if nobody at
    all can own the stage."""
    if disagreement is not None:
        raiser, decision_maker = disagreement.raised_by, disagreement.decision_maker
        urgent = disagreement.urgent
        periods = disagreement.stages
        previous_owner = _previous(session, [period.owner for period in periods], raiser)
        previous_counterpart = decision_maker and _previous(
            session, [period.counterpart for period in periods], decision_maker
        )
    else:
        first = policy.stage_index(stage.key) == 0
        previous_owner = None if first else raiser
        previous_counterpart = None if first else decision_maker
    on = policy.calendar.local_date(at)
    out_of_hours = _out_of_hours(policy, at, urgent)
    rules = policy.urgent.out_of_hours_owner if out_of_hours else stage.owner
    try:
        owner = route(
            session,
            rules,
            Side(raiser, previous_owner, policy.partnership),
            on=on,
            owner_side=True,
        )
    except DirectoryError as error:
        raise NotAllowed(str(error)) from None
    if out_of_hours:
        owner = replace(owner, why=f"{out_of_hours}; {owner.why}")
    counterpart = Holder(None, "no counterpart: the decision-maker is not known")
    if decision_maker is not None:
        side = Side(decision_maker, previous_counterpart, policy.partnership)
        counterpart = route(session, stage.counterpart, side, on=on, owner_side=False)
    sides = (("owner", owner, raiser), ("counterpart", counterpart, decision_maker))
    mended = []
    for side_name, holder, start in sides:
        if start is None:
            continue
        prefix = _gap_key(policy, stage, side_name, start)
        if holder.gap:
            _alert_gap(session, prefix, stage, side_name, holder.gap, at)
        else:
            mended.append(prefix)
    _clear_gaps(session, mended, at)
    return Holders(owner, counterpart)


def _previous(session: Session, holders: list[Person | None], start: Person) -> Person:
    """Who held this side before, for `previous_group` and `or_line_manager`: its latest
    holder from the side's own agency type, else `start` (the raiser, or the decision-maker).
    A board manager holding a gap or an emergency duty manager holding an urgent stage at night
    is not the rung the next one follows: a health visitor's case after either still goes to a
    designated nurse, and a line manager is still the practitioner's own."""
    agency = agency_of(session, start.organisation)
    for person in reversed(holders):
        if person is None or person.roles & set(BOARD_ROLES):
            continue
        if agency_of(session, person.organisation) == agency:
            return person
    return start


def _out_of_hours(policy: Policy, at: datetime, urgent: bool) -> str:
    """Why an urgent stage beginning at `at` goes to the out-of-hours owner, in words; "" if
    it does not (not urgent, no out-of-hours owner, or within service hours)."""
    window = policy.urgent.service_hours
    if not urgent or not policy.urgent.out_of_hours_owner or window is None:
        return ""
    if is_in_service_hours(policy.calendar, at, window):
        return ""
    days = "every day" if window.days == "every_day" else "on working days"
    local = time_text(at, policy.timezone)
    return (
        f"urgent and out of service hours ({window.start:%H:%M}–{window.end:%H:%M} {days}) "
        f"at {local}"
    )


def _gap_key(policy: Policy, stage: Stage, side: str, start: Person) -> str:
    """The alert key's prefix for gaps of one stage's side, for one organisation's cases (the
    partnership first: each board sees only its own, see reads/dashboard.open_alerts)."""
    organisation = _digest(start.organisation.strip().lower())
    return f"gap/{policy.partnership}/{stage.key}/{side}/{organisation}/"


def _alert_gap(
    session: Session, prefix: str, stage: Stage, side: str, gap: str, now: datetime
) -> None:
    """One alert per gap (partnership, stage, side, organisation and what is missing), counted
    each time it bites: two different gaps at one stage are two alerts, neither hiding the
    other."""
    who = "the board manager holds it" if side == "owner" else "it has no counterpart"
    _cleared(session).discard(prefix)
    raise_alert(
        session,
        key=prefix + _digest(gap),
        kind="routing_gap",
        message=f"{stage.title}: {gap}; {who}. Fix the directory.",
        now=now,
    )


def _clear_gaps(session: Session, prefixes: list[str], now: datetime) -> None:
    """These stages' sides now route for these organisations' cases: their gap alerts (the
    directory has been mended) are cleared, both sides in one statement. Within memoised reads
    (one transaction) once per prefix, until a gap alert with that prefix is raised again."""
    cleared = _cleared(session)
    prefixes = [prefix for prefix in prefixes if prefix not in cleared]
    if not prefixes:
        return
    cleared.update(prefixes)
    session.execute(
        update(Alert)
        .where(
            or_(*(Alert.key.startswith(prefix, autoescape=True) for prefix in prefixes)),
            Alert.cleared_at.is_(None),
        )
        .values(cleared_at=now)
    )


def _cleared(session: Session) -> set[str]:
    """Gap prefixes cleared in this transaction (memoised reads only; else always empty)."""
    memo = session.info.get(MEMO)
    return set() if memo is None else memo.setdefault("cleared_gaps", set())


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
