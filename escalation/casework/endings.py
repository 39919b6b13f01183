"""How a disagreement ends: the stage owner proposes a resolution with its agreed actions and the
learning; the raiser (and, when the decision stands, the counterpart) accepts or contests it; the
last agreed action confirmed done closes it (casework/action_events.py), a missed one reopens it
a stage higher (casework/watching.py). See rules/statemachine.py for the states and events.

Decisions:
* The stage's owner stays accountable while it is proposed and watched (the stage period stays
  open): they are the one chased, and the one the board asks.
* Whoever proposes has had their say: the raiser resolving their own first stage accepts it by
  proposing it. The counterpart is asked too when the decision stands.
* A contest at the final stage is refused: the chair's determination is the procedure's last
  word, and goes to the policy's last step. The raiser can still add a note.
* Reopening (a missed action, a meeting never recorded) goes a stage higher; at the final stage
  it opens the final stage again with the chair. The missed action is marked missed, the others
  cancelled: the new owner agrees their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from escalation.casework import records
from escalation.casework.actions import (
    MAX_TEXT,
    ActionInput,
    add_action,
    all_actions,
    check_action,
    end_actions,
    item_words,
    lapse_says,
    open_actions,
    pending_says,
    schedule,
)
from escalation.casework.lifecycle import (
    SYSTEM,
    close,
    load_for_event,
    locked,
    record,
    require_owner_or_board,
    state_of,
)
from escalation.casework.moving_up import move_up
from escalation.directory.people import normalise_email
from escalation.outbox import ending_notices, notifications
from escalation.rules import statemachine as sm
from escalation.rules.errors import InvalidInput, NotAllowed
from escalation.rules.policy import Policy
from escalation.rules.vocabulary import (
    ARRANGING_OUTCOMES,
    DECISION_STANDS_OUTCOMES,
    MEETING_OUTCOMES,
    OUTCOMES,
    SETTLING_OUTCOMES,
)
from escalation.store.models import AgreedAction, Disagreement, ResolutionSay

ACCEPTED, CONTESTED, BY_SILENCE = "accepted", "contested", "accepted_by_silence"
# For the callers that take these from here.
__all__ = ["ActionInput", "Learning", "open_actions", "all_actions", "pending_says"]


@dataclass(frozen=True)
class Learning:
    """What the partnership learns from a disagreement, recorded by whoever closes it."""

    themes: tuple[str, ...]
    systemic: bool | None
    lesson: str


def propose(
    session: Session,
    *,
    reference: str,
    actor: str,
    now: datetime,
    outcome: str,
    summary: str,
    learning: Learning | None,
    actions: tuple[ActionInput, ...] = (),
) -> Disagreement:
    """The stage owner (or the board) proposes how it ends. Writes the stage's formal record."""
    disagreement, policy = load_for_event(session, reference, "resolve")
    require_owner_or_board(session, disagreement, actor)
    owners = _check_proposal(
        session, disagreement, policy, now, outcome, summary, learning, actions
    )
    disagreement.resolution_state = sm.PROPOSED
    disagreement.outcome, disagreement.outcome_summary = outcome, summary.strip()
    disagreement.resolved_stage = disagreement.stage_key
    record_learning(disagreement, learning, actor)
    disagreement.remind_at = None
    items = [
        add_action(session, disagreement, policy, action, owner, actor, now)
        for action, owner in zip(actions, owners, strict=True)
    ]
    record(
        session,
        disagreement,
        now,
        actor,
        "resolve",
        disagreement.stage_key,
        None,
        _words(disagreement, policy, items),
    )
    kind = "determination" if policy.is_final(disagreement.stage_key) else "resolution"
    records.write(session, disagreement, policy, now, kind=kind, actor=actor, items=items)
    says = _ask_for_say(session, disagreement, policy, actor, now)
    for item in items:
        ending_notices.action_agreed(session, disagreement, policy, item, now)
    ending_notices.ending(session, disagreement, policy, "resolve", now)
    if kind == "determination":
        ending_notices.determination(session, disagreement, policy, now)
    if not says:
        accepted(session, disagreement, policy, now, actor)
    else:
        schedule(session, disagreement, policy)
    return disagreement


def _check_proposal(session, disagreement, policy, now, outcome, summary, learning, actions):
    problems: dict[str, str] = {}
    if outcome not in OUTCOMES:
        problems["outcome"] = "Select the outcome"
    if not summary.strip():
        problems["summary"] = "Enter how it was resolved and why"
    elif len(summary) > MAX_TEXT:
        problems["summary"] = f"Use {MAX_TEXT} characters or fewer"
    problems.update(learning_problems(policy, learning))
    if outcome in SETTLING_OUTCOMES and actions:
        problems["actions"] = f"“{OUTCOMES[outcome]}” settles it: it has no agreed actions"
    elif outcome in ARRANGING_OUTCOMES and not actions:
        problems["actions"] = "Add the agreed actions: who does what, by when"
    elif outcome in MEETING_OUTCOMES and not any(a.meeting_at for a in actions):
        problems["actions"] = "Add the meeting or conference: its date, time and who convenes it"
    owners = []
    for number, action in enumerate(actions, start=1):
        owner, action_problems = check_action(session, disagreement, policy, now, action)
        owners.append(owner)
        for field, message in action_problems.items():
            problems.setdefault(f"actions[{number}].{field}", message)
    if problems:
        raise InvalidInput(problems)
    return owners


def learning_problems(policy: Policy, learning: Learning | None) -> dict[str, str]:
    if learning is None or not learning.themes:
        return {"learning_themes": "Select at least one learning theme"}
    problems = {}
    if any(theme not in policy.endings.learning_themes for theme in learning.themes):
        problems["learning_themes"] = "Select learning themes from the list"
    if learning.systemic is None:
        problems["systemic"] = "Select whether it points to a systemic issue"
    if not learning.lesson.strip():
        problems["lesson"] = "Enter the lesson, in a sentence or two"
    elif len(learning.lesson) > MAX_TEXT:
        problems["lesson"] = f"Use {MAX_TEXT} characters or fewer"
    return problems


def record_learning(disagreement: Disagreement, learning: Learning | None, actor: str) -> None:
    if learning is None:
        return
    disagreement.learning_themes = sorted(set(learning.themes))
    disagreement.learning_systemic = learning.systemic
    disagreement.learning_lesson = learning.lesson.strip()
    disagreement.learning_recorded_by = actor if actor == SYSTEM else normalise_email(actor)


def _ask_for_say(session, disagreement, policy, actor, now) -> list[ResolutionSay]:
    """Ask the raiser (and the counterpart, when the decision stands) unless they proposed it."""
    actor = normalise_email(actor) if actor != SYSTEM else SYSTEM
    due = policy.calendar.add_working_days(now, policy.endings.say_working_days)
    asked = [("raiser", disagreement.raiser_email)]
    counterpart = disagreement.stages[-1].counterpart
    if disagreement.outcome in DECISION_STANDS_OUTCOMES and counterpart is not None:
        asked.append(("counterpart", counterpart.email))
    says = []
    for part, email in asked:
        if email == actor or any(say.email == email for say in says):
            continue
        say = ResolutionSay(
            disagreement_id=disagreement.id,
            stage_key=disagreement.stage_key,
            email=email,
            part=part,
            asked_at=now,
            due_at=due,
            reason="",
        )
        session.add(say)
        session.flush()
        says.append(say)
        ending_notices.say_asked(session, disagreement, policy, say, now)
    return says


def accept(session: Session, *, reference: str, actor: str, now: datetime) -> Disagreement:
    """The asked person accepts the proposed resolution."""
    disagreement, policy = load_for_event(session, reference, "accept")
    say = _pending_say(session, disagreement, actor)
    say.answer, say.answered_at = ACCEPTED, now
    stage = disagreement.stage_key
    record(session, disagreement, now, actor, "add_note", stage, stage, f"the {say.part} accepted")
    if not pending_says(session, disagreement):
        accepted(session, disagreement, policy, now, actor)
    return disagreement


def contest(
    session: Session, *, reference: str, actor: str, now: datetime, reason: str
) -> Disagreement:
    """The asked person contests the proposed resolution: it moves up a stage at once."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput({"reason": "Enter why you do not accept the proposed resolution"})
    if len(reason) > MAX_TEXT:
        raise InvalidInput({"reason": f"Use {MAX_TEXT} characters or fewer"})
    disagreement, policy = locked(session, reference)
    final = disagreement.is_open and policy.is_final(disagreement.stage_key)
    if state_of(disagreement) == sm.PROPOSED and final:
        raise NotAllowed(
            "the chair's determination is final and cannot be contested here; add a note to "
            "record your view"
        )
    sm.next_state(state_of(disagreement), "contest", at_final_stage=final)
    say = _pending_say(session, disagreement, actor)
    say.answer, say.answered_at, say.reason = CONTESTED, now, reason
    lapse_says(session, disagreement, now)
    end_actions(session, disagreement, now, "cancelled")
    note = f"the {say.part} contested the proposed resolution: {reason}"
    move_up(session, disagreement, policy, now, actor, "contest", note)
    ending_notices.ending(session, disagreement, policy, "contest", now)
    return disagreement


def _pending_say(session, disagreement, actor) -> ResolutionSay:
    email = normalise_email(actor)
    for say in pending_says(session, disagreement):
        if say.email == email:
            return say
    raise NotAllowed("you are not asked for your say on this proposed resolution")


def accepted(session, disagreement, policy, now, actor) -> None:
    """Everyone asked has accepted (or was silent): watched, or resolved if nothing is open."""
    sm.next_state(state_of(disagreement), "accept")
    disagreement.resolution_state = sm.WATCHED
    stage = disagreement.stage_key
    open_items = open_actions(session, disagreement)
    note = (
        f"{len(open_items)} agreed action(s) outstanding" if open_items else "nothing outstanding"
    )
    record(session, disagreement, now, actor, "accept", stage, stage, note)
    if not open_items:
        complete(session, disagreement, policy, now)
    else:
        schedule(session, disagreement, policy)


def complete(session, disagreement, policy, now) -> None:
    sm.next_state(state_of(disagreement), "complete")
    stage = disagreement.stage_key
    close(disagreement, now, "resolve", "resolved")
    disagreement.resolution_state = None
    disagreement.watch_at = None
    done = [item for item in all_actions(session, disagreement) if item.ended == "done"]
    note = f"resolved: {OUTCOMES.get(disagreement.outcome, disagreement.outcome)}"
    if done:
        note += f"; {len(done)} agreed action(s) done"
    record(session, disagreement, now, SYSTEM, "complete", stage, None, note)
    notifications.closed(session, disagreement, policy, now)
    ending_notices.ending(session, disagreement, policy, "complete", now)


def end_open(session: Session, disagreement: Disagreement, now: datetime) -> None:
    """It is ending another way (withdrawn): open actions are cancelled, awaited says lapse."""
    end_actions(session, disagreement, now, "cancelled")
    lapse_says(session, disagreement, now)


def _words(disagreement: Disagreement, policy: Policy, items: list[AgreedAction]) -> str:
    outcome = OUTCOMES[disagreement.outcome]
    parts = [f"proposed: {outcome}: {disagreement.outcome_summary}"]
    parts += [f"agreed: {item_words(policy, item)}, {item.owner.name}" for item in items]
    themes = policy.endings.learning_themes
    words = ", ".join(themes.get(key, key) for key in disagreement.learning_themes or ())
    systemic = "systemic" if disagreement.learning_systemic else "not systemic"
    parts.append(f"learning: {words} ({systemic}): {disagreement.learning_lesson}")
    return "; ".join(parts)
