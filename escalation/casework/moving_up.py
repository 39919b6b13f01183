"""Moving a disagreement up because it is not ending as proposed: a contested proposal, or an
agreed action missed past its grace. The next stage (the same one, at the final stage) gets new
holders and a new clock; the stage left gets its formal record if it had none.
"""

from __future__ import annotations

from escalation.casework import records
from escalation.casework.actions import schedule
from escalation.casework.assignment import assign
from escalation.casework.lifecycle import (
    end_stage_period,
    enter_stage,
    join,
    record,
    state_of,
)
from escalation.outbox import notifications
from escalation.rules import statemachine as sm


def move_up(session, disagreement, policy, now, actor, kind, why) -> None:
    """Into the next stage (the same one, at the final stage) with new holders and clock; the
    stage left gets its formal record if it had none."""
    final = policy.is_final(disagreement.stage_key)
    event = "escalate" if kind == "escalate_automatically" else kind
    sm.next_state(state_of(disagreement), event, at_final_stage=final)
    stage = (
        policy.stage(disagreement.stage_key) if final else policy.next_stage(disagreement.stage_key)
    )
    holders = assign(session, policy, stage, now, disagreement=disagreement)
    from_stage = disagreement.stage_key
    if not records.exists(session, disagreement, from_stage, since=disagreement.stage_entered_at):
        holder = f"{holders.owner.person.name} ({holders.owner.person.organisation}): {stage.title}"
        records.write(
            session,
            disagreement,
            policy,
            now,
            kind="escalation",
            actor=actor,
            why=why,
            next_holder=holder,
        )
    end_stage_period(disagreement, now, event)
    disagreement.resolution_state = None
    disagreement.outcome = disagreement.outcome_summary = disagreement.resolved_stage = None
    disagreement.final_stage_overdue_at = None
    enter_stage(session, disagreement, policy, stage, holders, now)
    record(
        session, disagreement, now, actor, kind, from_stage, stage.key, join(why, holders.note())
    )
    notifications.stage_entered(session, disagreement, policy, now)
    schedule(session, disagreement, policy)
