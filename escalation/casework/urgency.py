"""Moving an open disagreement onto the urgent track later (Child B1's baby was discharged home
on 2 June): the raiser, the stage owner or the board says the child is now at immediate risk and
what protective action has been taken.

Below the urgent track's first stage, the disagreement moves up to it at once (new owners, as
any escalation). At or above it, the stage stays with its owner and its deadline becomes the
earlier of the one it had and the urgent clock's, counted from now.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from escalation.casework.assignment import assign
from escalation.casework.lifecycle import (
    end_stage_period,
    enter_stage,
    load_for_event,
    record,
    require_raiser_owner_or_board,
)
from escalation.outbox import notifications
from escalation.rules.calendar import due_text
from escalation.rules.errors import InvalidInput, NotAllowed
from escalation.store.models import Disagreement

MAX_ACTION = 10_000


def make_urgent(
    session: Session, *, reference: str, actor: str, now: datetime, protective_action: str
) -> Disagreement:
    action = protective_action.strip()
    if not action:
        raise InvalidInput(
            {
                "protective_action": "Say what protective action has been taken (a referral to "
                "children's social care, police on 999): it must not wait for this process"
            }
        )
    if len(action) > MAX_ACTION or "\x00" in action:
        raise InvalidInput({"protective_action": f"must be at most {MAX_ACTION:,} characters"})
    disagreement, policy = load_for_event(session, reference, "make_urgent")
    require_raiser_owner_or_board(session, disagreement, actor, "move it onto the urgent track")
    if disagreement.urgent:
        raise NotAllowed("the disagreement is already on the urgent track")
    disagreement.urgent = disagreement.immediate_risk = True
    disagreement.protective_action = "\n\n".join(
        part for part in (disagreement.protective_action, action) if part
    )
    start = policy.first_stage(urgent=True)
    from_stage = disagreement.stage_key
    if policy.stage_index(from_stage) < policy.stage_index(start.key):
        holders = assign(session, policy, start, now, disagreement=disagreement)
        end_stage_period(disagreement, now, "make_urgent")
        enter_stage(session, disagreement, policy, start, holders, now)
        note = f"moved to the urgent track: {action}; {holders.note()}"
        record(session, disagreement, now, actor, "make_urgent", from_stage, start.key, note)
        notifications.stage_entered(session, disagreement, policy, now)
        return disagreement
    urgent_due = policy.due_at(from_stage, True, now)
    if urgent_due < disagreement.due_at:
        disagreement.due_at = disagreement.stages[-1].due_at = urgent_due
        disagreement.remind_at = policy.reminder(urgent_due, since=now)
    due = due_text(disagreement.due_at, policy.timezone)
    note = f"moved to the urgent track: {action}; this stage is now due {due}"
    record(session, disagreement, now, actor, "make_urgent", from_stage, from_stage, note)
    notifications.reassigned(session, disagreement, policy, now)
    return disagreement
