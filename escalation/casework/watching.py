"""What the sweep does at a disagreement's watch time (casework/actions.py says when): remind and
chase action owners, take silence past the say window as acceptance, and for an action or
meeting missed past the grace reopen it a stage higher (a watched or proposed case) or move the
stage up (a meeting convened while the stage was active). At the final stage an active case
stays open, flagged, and the board is alerted.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from escalation.casework import health
from escalation.casework.actions import (
    AgreedAction,
    action_times,
    end_actions,
    item_words,
    lapse_says,
    open_actions,
    pending_says,
    schedule,
)
from escalation.casework.endings import BY_SILENCE, accepted
from escalation.casework.lifecycle import SYSTEM, locked, record, state_of
from escalation.casework.moving_up import move_up
from escalation.outbox import ending_notices, notifications
from escalation.rules import statemachine as sm


def watch(session: Session, *, reference: str, now: datetime) -> list[str]:
    """What the sweep does at a disagreement's watch time: remind and chase action owners,
    reopen (or move up) for a missed action or meeting, take silence as acceptance. Returns
    what it did, one word each (remind, chase, reopen, escalate, accept)."""
    disagreement, policy = locked(session, reference)
    if not disagreement.is_open or disagreement.watch_at is None or disagreement.watch_at > now:
        return []
    done: list[str] = []
    missed = []
    for item in open_actions(session, disagreement):
        times = action_times(policy, item)
        if times.reopen_at <= now:
            missed.append(item)
        elif item.chased_at is None and times.chase_at <= now:
            item.chased_at = item.reminded_at = now
            note_for_all(
                session,
                disagreement,
                now,
                f"chased {item.owner.email}: {item_words(policy, item)}",
            )
            ending_notices.action_chase(session, disagreement, policy, item, now)
            done.append("chase")
        elif item.reminded_at is None and times.remind_at and times.remind_at <= now:
            item.reminded_at = now
            note_for_all(
                session,
                disagreement,
                now,
                f"reminded {item.owner.email}: {item_words(policy, item)}",
            )
            ending_notices.action_reminder(session, disagreement, policy, item, now)
            done.append("remind")
    if missed:
        done.append(_missed(session, disagreement, policy, missed, now))
    elif disagreement.resolution_state == sm.PROPOSED:
        lapsed = [say for say in pending_says(session, disagreement) if say.due_at <= now]
        for say in lapsed:
            say.answer, say.answered_at = BY_SILENCE, now
            note_for_all(
                session, disagreement, now, f"the {say.part} did not answer in time: accepted"
            )
        if lapsed and not pending_says(session, disagreement):
            accepted(session, disagreement, policy, now, SYSTEM)
            done.append("accept")
    if disagreement.is_open:
        schedule(session, disagreement, policy)
    return done


def _missed(session, disagreement, policy, missed: list[AgreedAction], now) -> str:
    for item in missed:
        item.ended, item.ended_at = "missed", now
    why = "; ".join(f"not confirmed done: {item_words(policy, item)}" for item in missed)
    if state_of(disagreement) in sm.ENDING_STATES:
        lapse_says(session, disagreement, now)
        end_actions(session, disagreement, now, "cancelled")
        move_up(session, disagreement, policy, now, SYSTEM, "reopen", why)
        ending_notices.reopened(session, disagreement, policy, now)
        ending_notices.ending(session, disagreement, policy, "reopen", now)
        return "reopen"
    if policy.is_final(disagreement.stage_key):
        note_for_all(session, disagreement, now, f"{why}; the final stage stays open")
        notifications.final_stage_overdue(session, disagreement, policy, now, again=True)
        alert = f"{disagreement.reference}: {why} at the final stage"
        health.raise_alert(
            session,
            key=f"missed/{disagreement.reference}",
            kind="action_missed",
            message=alert,
            now=now,
        )
        return "flag"
    move_up(session, disagreement, policy, now, SYSTEM, "escalate_automatically", why)
    return "escalate"


def note_for_all(session, disagreement, now, text: str) -> None:
    stage = disagreement.stage_key
    record(session, disagreement, now, SYSTEM, "remind", stage, stage, text)
