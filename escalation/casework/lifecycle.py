"""What every event on a disagreement shares: finding and locking it, checking the event is
allowed in its state (rules/statemachine.py), its stage periods (open, end, and "change the
owner, keep the clock"), who may act, and writing the chronology event.

The event modules (disagreements, raising, board_actions) use these; nothing here commits.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import literal_column, select
from sqlalchemy.orm import Session, lazyload

from escalation.casework.assignment import Holders
from escalation.casework.chronology import append_event
from escalation.directory.people import find_person, normalise_email
from escalation.rules import statemachine as sm
from escalation.rules.errors import NotAllowed, NotFound
from escalation.rules.policy import Policy, Stage
from escalation.rules.vocabulary import BOARD_ROLES
from escalation.store.models import Disagreement, Person, StagePeriod
from escalation.store.pinned_policies import policy_for

SYSTEM = "system"
# A literal, not a bound parameter, so the planners can use the partial indexes on open rows.
IS_OPEN = Disagreement.status == literal_column("'open'")
HELD = "locked_rows"  # session.info key: see _held
REFERENCE_SHAPE = re.compile(r"RPD-[0-9A-Z]{4}-[0-9A-Z]{4}")


def reference_key(reference: str) -> str:
    """The reference as stored (trimmed, upper case). Text not shaped like one (RPD-XXXX-XXXX)
    is NotFound here, before any query: a NUL or a megabyte never reaches the database."""
    key = reference.strip().upper()
    if not REFERENCE_SHAPE.fullmatch(key):
        raise NotFound(f"no disagreement with reference {reference[:40]!r}")
    return key


def get(session: Session, reference: str) -> Disagreement:
    disagreement = session.execute(
        select(Disagreement).where(Disagreement.reference == reference_key(reference))
    ).scalar_one_or_none()
    if disagreement is None:
        raise NotFound(f"no disagreement with reference {reference!r}")
    return disagreement


def state_of(disagreement: Disagreement) -> str:
    if disagreement.status != "open":
        return disagreement.status
    if disagreement.resolution_state:
        return disagreement.resolution_state
    return sm.ACKNOWLEDGED if disagreement.stage_acknowledged_at else sm.AWAITING


def locked(session: Session, reference: str) -> tuple[Disagreement, Policy]:
    """The disagreement, its row locked for this transaction, whatever its state, and the policy
    version it is pinned to. For the sweep and delivery, which decide what to do once they hold
    the lock; an event checks its state with `load_for_event` instead."""
    key = reference_key(reference)
    held = _held(session)
    if key in held:  # locked already in this transaction (the sweep's check, then the event)
        return held[key]
    # No eager join to the owner here: on PostgreSQL a row locked after a concurrent change of
    # owner would be re-checked against the old owner's row and silently dropped.
    # FOR NO KEY UPDATE (key_share): writers to this row still queue, but a row that only refers
    # to it (a view's event: its foreign-key check takes KEY SHARE) is not held up.
    disagreement = session.execute(
        select(Disagreement)
        .options(
            lazyload(Disagreement.owner).lazyload(Person.role_rows),
            lazyload(Disagreement.owner).lazyload(Person.other_partnership_rows),
        )
        .where(Disagreement.reference == key)
        .with_for_update(of=Disagreement, key_share=True)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if disagreement is None:
        raise NotFound(f"no disagreement with reference {reference!r}")
    held[key] = disagreement, policy_for(session, disagreement)
    return held[key]


def hold(session: Session, disagreement: Disagreement) -> None:
    """`disagreement` was just read whole and locked by the caller's own query (the sweep's
    claim, FOR UPDATE in this transaction): `locked` answers with it without reading it again."""
    _held(session)[disagreement.reference] = disagreement, policy_for(session, disagreement)


def _held(session: Session) -> dict[str, tuple[Disagreement, Policy]]:
    """The rows this session has locked in its current transaction or savepoint (a lock taken
    in a savepoint ends with it); a new one starts afresh."""
    current = session.get_nested_transaction() or session.get_transaction()
    held = session.info.get(HELD)
    if held is None or held[0] is not current:
        held = session.info[HELD] = (current, {})
    return held[1]


def load_for_event(session: Session, reference: str, event: str) -> tuple[Disagreement, Policy]:
    """Lock the row and check `event` is allowed now (state and stage, from the state machine's
    table); NotAllowed leaves everything unchanged."""
    disagreement, policy = locked(session, reference)
    at_final = disagreement.is_open and policy.is_final(disagreement.stage_key)
    sm.next_state(state_of(disagreement), event, at_final_stage=at_final)
    return disagreement, policy


def require_owner_or_board(session: Session, disagreement: Disagreement, actor: str) -> None:
    email = normalise_email(actor)
    if email == disagreement.owner.email:
        return
    person = find_person(session, email)
    if person and person.partnership == disagreement.partnership and is_board(person):
        return
    raise NotAllowed(
        f"only the stage owner ({disagreement.owner.name}) or the partnership's board manager "
        "or chair can do this"
    )


def require_raiser_owner_or_board(
    session: Session, disagreement: Disagreement, actor: str, doing: str
) -> None:
    """The practitioner who raised it, the stage owner, or the partnership's board; else
    NotAllowed saying who can do `doing`."""
    email = normalise_email(actor)
    if email in (disagreement.raiser_email, disagreement.owner.email):
        return
    person = find_person(session, email)
    if person and disagreement.partnership in person.partnerships and is_board(person):
        return
    raise NotAllowed(
        f"only the practitioner who raised it, the stage owner or the partnership's board can "
        f"{doing}"
    )


def require_board(
    session: Session, disagreement: Disagreement, actor: str, roles: tuple[str, ...] = BOARD_ROLES
) -> Person:
    """The acting person, if they are an active holder of one of `roles` in the disagreement's
    partnership; else NotAllowed naming the roles."""
    person = find_person(session, actor)
    if (
        person is None
        or not person.active
        or person.partnership != disagreement.partnership
        or not person.roles & set(roles)
    ):
        words = " or ".join(role.replace("_", " ") for role in roles)
        raise NotAllowed(f"only the partnership's {words} can do this")
    return person


def is_board(person: Person) -> bool:
    """A board manager or chair (of whichever partnership)."""
    return bool(person.roles & set(BOARD_ROLES))


def enter_stage(
    session: Session,
    disagreement: Disagreement,
    policy: Policy,
    stage: Stage,
    holders: Holders,
    now: datetime,
) -> None:
    """Move to `stage` at `now`: its owner and counterpart, a new clock, deadline and reminder."""
    disagreement.stage_key = stage.key
    disagreement.stage_index = policy.stage_index(stage.key)
    disagreement.stage_entered_at = now
    disagreement.stage_acknowledged_at = None
    disagreement.due_at = policy.due_at(stage.key, disagreement.urgent, now)
    disagreement.remind_at = policy.reminder_at(stage.key, disagreement.urgent, now)
    disagreement.owner = holders.owner.person
    open_stage_period(session, disagreement, holders.owner.person, now, holders=holders)


def change_owner(
    session: Session,
    disagreement: Disagreement,
    new_owner: Person,
    now: datetime,
    event: str,
    why: str = "",
) -> StagePeriod:
    """Change the owner, keep the clock: the current stage passes to `new_owner` at `now` (by
    `event`: a hand to the deputy, a reassignment) with its deadline and the clock it started
    with; whether the new owner must acknowledge it again is the state machine's answer."""
    clock_start = current_period(disagreement).clock_start
    end_stage_period(disagreement, now, event)
    if sm.next_state(state_of(disagreement), event) == sm.AWAITING:
        disagreement.stage_acknowledged_at = None
    disagreement.owner = new_owner
    period = open_stage_period(session, disagreement, new_owner, now, owner_reason=why)
    period.clock_started_at = clock_start
    return period


def open_stage_period(
    session: Session,
    disagreement: Disagreement,
    owner: Person,
    now: datetime,
    *,
    holders: Holders | None = None,
    owner_reason: str = "",
) -> StagePeriod:
    """A new period of the current stage: a new stage's (both sides from `holders`), or the
    same stage in new hands (owner `owner` for `owner_reason`; the counterpart carries on)."""
    before = disagreement.stages[-1] if disagreement.stages and holders is None else None
    period = StagePeriod(
        disagreement_id=disagreement.id,
        stage_key=disagreement.stage_key,
        stage_index=disagreement.stage_index,
        owner=owner,
        entered_at=now,
        due_at=disagreement.due_at,
        owner_reason=holders.owner.why if holders else owner_reason,
        counterpart=holders.counterpart.person if holders else before and before.counterpart,
        counterpart_reason=holders.counterpart.why
        if holders
        else before and before.counterpart_reason or "",
    )
    if before is not None:
        period.counterpart_response = before.counterpart_response
        period.counterpart_responded_at = before.counterpart_responded_at
    session.add(period)
    disagreement.stages.append(period)
    return period


def current_period(disagreement: Disagreement) -> StagePeriod:
    return disagreement.stages[-1]


def end_stage_period(disagreement: Disagreement, now: datetime, how: str) -> None:
    period = current_period(disagreement)
    period.ended_at, period.ended_by = now, how


def move_deadline(
    disagreement: Disagreement, policy: Policy, new_due: datetime, now: datetime
) -> None:
    """The current stage is now due `new_due` (an approved extension): the owner is reminded
    as on any stage, never in the first half of the time they have from `now`."""
    current_period(disagreement).due_at = new_due
    disagreement.due_at = new_due
    disagreement.remind_at = policy.reminder(new_due, since=now)
    if new_due > now:
        disagreement.final_stage_overdue_at = None


def close(disagreement: Disagreement, now: datetime, how: str, status: str) -> None:
    end_stage_period(disagreement, now, how)
    disagreement.status = status
    disagreement.closed_at = now
    disagreement.remind_at = None
    disagreement.watch_at = None
    disagreement.resolution_state = None


def record(
    session: Session,
    disagreement: Disagreement,
    now: datetime,
    actor: str,
    kind: str,
    from_stage: str | None,
    to_stage: str | None = None,
    note: str = "",
) -> None:
    """Write the chronology event for what was just done, in the same transaction."""
    actor = actor if actor == SYSTEM else normalise_email(actor)
    held = _held(session).get(disagreement.reference)
    append_event(
        session,
        disagreement=disagreement,
        at=now,
        actor=actor,
        kind=kind,
        from_stage=from_stage,
        to_stage=to_stage,
        note=note,
        locked=held is not None and held[0] is disagreement,
    )


def join(*parts: str) -> str:
    """Note parts that say something, joined with '; '."""
    return "; ".join(part for part in parts if part)
