"""How a disagreement ends: the stage owner proposes a resolution with its agreed actions and the
learning; the raiser (and, when the decision stands, the counterpart) accepts or contests it; the
sweep watches the actions and convened meetings; the last one confirmed done closes it, a missed
one reopens it a stage higher. See rules/statemachine.py for the states and events.

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
* A meeting convened while a stage is active and then not recorded escalates the stage, like an
  overdue action, after the same grace.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation.casework import health, records
from escalation.casework.assignment import assign
from escalation.casework.lifecycle import (
    SYSTEM,
    close,
    end_stage_period,
    enter_stage,
    join,
    load_for_event,
    locked,
    record,
    require_owner_or_board,
    state_of,
)
from escalation.directory.people import find_person, normalise_email
from escalation.outbox import notifications
from escalation.rules import statemachine as sm
from escalation.rules.calendar import date_text, due_text
from escalation.rules.errors import InvalidInput, NotAllowed
from escalation.rules.policy import Policy
from escalation.rules.vocabulary import (
    ARRANGING_OUTCOMES,
    DECISION_STANDS_OUTCOMES,
    MEETING_OUTCOMES,
    OUTCOMES,
    SETTLING_OUTCOMES,
)
from escalation.store.models import (
    AgreedAction,
    Disagreement,
    Person,
    ResolutionMeeting,
    ResolutionSay,
)

MAX_TEXT = 5000
ACCEPTED, CONTESTED, BY_SILENCE, LAPSED = "accepted", "contested", "accepted_by_silence", "lapsed"


@dataclass(frozen=True)
class Learning:
    """What the partnership learns from a disagreement, recorded by whoever closes it."""

    themes: tuple[str, ...]
    systemic: bool | None
    lesson: str


@dataclass(frozen=True)
class ActionInput:
    """One agreed action as entered: a meeting when `meeting_at` is given (its date is due_on)."""

    what: str
    owner_email: str
    due_on: date | None
    meeting_at: datetime | None = None
    place: str = ""


# --- proposing ----------------------------------------------------------------------------------


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
        _add_action(session, disagreement, policy, action, owner, actor, now)
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
        notifications.action_agreed(session, disagreement, policy, item, now)
    notifications.ending(session, disagreement, policy, "resolve", now)
    if kind == "determination":
        notifications.determination(session, disagreement, policy, now)
    if not says:
        _accepted(session, disagreement, policy, now, actor)
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
        owner, action_problems = _check_action(session, disagreement, policy, now, action)
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


def _check_action(session, disagreement, policy, now, action: ActionInput):
    problems = {}
    what = action.what.strip()
    if not what:
        problems["what"] = "Enter what will be done"
    elif len(what) > MAX_TEXT:
        problems["what"] = f"Use {MAX_TEXT} characters or fewer"
    owner = find_person(session, action.owner_email) if action.owner_email.strip() else None
    if owner is None or not owner.active or not _in_case(disagreement, owner):
        owner = None
        problems["owner"] = "Select who will do it from this partnership's directory"
    today = policy.calendar.local_date(now)
    day = policy.calendar.local_date(action.meeting_at) if action.meeting_at else action.due_on
    if day is None:
        problems["due_on"] = "Enter the date it will be done by, like 3 12 2026"
    elif day < today:
        problems["due_on"] = "The date must be today or in the future"
    if action.meeting_at is not None and action.meeting_at <= now:
        problems["meeting_at"] = "The meeting must be in the future"
    if disagreement.child_reference and disagreement.child_reference in action.place:
        problems["place"] = "Do not put the child's reference in the meeting details"
    return owner, problems


def _in_case(disagreement: Disagreement, person: Person) -> bool:
    """Someone in the partnership's directory, or the decision-maker (who may be unlisted)."""
    return (
        disagreement.partnership in person.partnerships or person.id == disagreement.counterpart_id
    )


def _add_action(
    session, disagreement, policy, action: ActionInput, owner, actor, now
) -> AgreedAction:
    policy_day = action.due_on
    if action.meeting_at is not None:
        policy_day = policy.calendar.local_date(action.meeting_at)
    item = AgreedAction(
        disagreement_id=disagreement.id,
        stage_key=disagreement.stage_key,
        kind="meeting" if action.meeting_at else "action",
        what=action.what.strip(),
        owner=owner,
        due_on=policy_day,
        meeting_at=action.meeting_at,
        place=action.place.strip(),
        invitees=[],
        created_by=normalise_email(actor) if actor != SYSTEM else SYSTEM,
        created_at=now,
        done_note="",
        attendees="",
    )
    session.add(item)
    session.flush()
    return item


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
        notifications.say_asked(session, disagreement, policy, say, now)
    return says


# --- the say ------------------------------------------------------------------------------------


def accept(session: Session, *, reference: str, actor: str, now: datetime) -> Disagreement:
    """The asked person accepts the proposed resolution."""
    disagreement, policy = load_for_event(session, reference, "accept")
    say = _pending_say(session, disagreement, actor)
    say.answer, say.answered_at = ACCEPTED, now
    stage = disagreement.stage_key
    record(session, disagreement, now, actor, "add_note", stage, stage, f"the {say.part} accepted")
    if not pending_says(session, disagreement):
        _accepted(session, disagreement, policy, now, actor)
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
    _lapse_says(session, disagreement, now)
    _end_actions(session, disagreement, now, "cancelled")
    note = f"the {say.part} contested the proposed resolution: {reason}"
    _move_up(session, disagreement, policy, now, actor, "contest", note)
    notifications.ending(session, disagreement, policy, "contest", now)
    return disagreement


def pending_says(session: Session, disagreement: Disagreement) -> list[ResolutionSay]:
    return list(
        session.execute(
            select(ResolutionSay)
            .where(ResolutionSay.disagreement_id == disagreement.id, ResolutionSay.answer.is_(None))
            .order_by(ResolutionSay.id)
        ).scalars()
    )


def _pending_say(session, disagreement, actor) -> ResolutionSay:
    email = normalise_email(actor)
    for say in pending_says(session, disagreement):
        if say.email == email:
            return say
    raise NotAllowed("you are not asked for your say on this proposed resolution")


def _accepted(session, disagreement, policy, now, actor) -> None:
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
        _complete(session, disagreement, policy, now)
    else:
        schedule(session, disagreement, policy)


def _complete(session, disagreement, policy, now) -> None:
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
    notifications.ending(session, disagreement, policy, "complete", now)


# --- actions and meetings -----------------------------------------------------------------------


def confirm_action(
    session: Session,
    *,
    reference: str,
    actor: str,
    now: datetime,
    action_id: int,
    note: str,
    attendees: str = "",
) -> AgreedAction:
    """The action's owner (or the board) confirms it done, saying what happened; a meeting's
    record also names who attended."""
    note, attendees = note.strip(), attendees.strip()
    disagreement, policy = load_for_event(session, reference, "confirm_action")
    item = _open_action(session, disagreement, action_id)
    problems = {}
    if not note:
        problems["note"] = (
            "Enter what the meeting decided" if item.kind == "meeting" else "Enter what was done"
        )
    if item.kind == "meeting" and not attendees:
        problems["attendees"] = "Enter who attended"
    if item.meeting_at is not None and item.meeting_at > now:
        problems["note"] = "The meeting has not happened yet"
    for field, text in (("note", note), ("attendees", attendees)):
        if len(text) > MAX_TEXT:
            problems[field] = f"Use {MAX_TEXT} characters or fewer"
    if problems:
        raise InvalidInput(problems)
    if normalise_email(actor) != item.owner.email:
        require_owner_or_board(session, disagreement, actor)
    item.ended, item.ended_at, item.done_note, item.attendees = "done", now, note, attendees
    stage = disagreement.stage_key
    if item.kind == "meeting":
        session.add(
            ResolutionMeeting(
                disagreement_id=disagreement.id,
                held_on=policy.calendar.local_date(item.meeting_at or now),
                attendees=attendees,
                outcome=note,
                recorded_by=normalise_email(actor),
                recorded_at=now,
            )
        )
        text = f"meeting held {due_text(item.meeting_at, policy.timezone)}; attendees: "
        text += f"{attendees}; decided: {note}"
    else:
        text = f"agreed action done: {item.what}; {note}"
    record(session, disagreement, now, actor, "confirm_action", stage, stage, text)
    if state_of(disagreement) == sm.WATCHED and not open_actions(session, disagreement):
        _complete(session, disagreement, policy, now)
    else:
        schedule(session, disagreement, policy)
    return item


def convene_meeting(
    session: Session,
    *,
    reference: str,
    actor: str,
    now: datetime,
    meeting_at: datetime | None,
    place: str,
    invitees: list[str],
    purpose: str = "Resolution meeting",
) -> AgreedAction:
    """The stage owner (or the board) convenes a meeting: invitations go by email with a
    calendar attachment; its record is due after it, or the stage moves up after the grace."""
    disagreement, policy = load_for_event(session, reference, "convene_meeting")
    require_owner_or_board(session, disagreement, actor)
    convener = find_person(session, actor)
    problems = {}
    if not place.strip():
        problems["place"] = "Enter where the meeting is, or the call details"
    emails = sorted({normalise_email(email) for email in invitees if email.strip()})
    people = [find_person(session, email) for email in emails]
    if not emails:
        problems["invitees"] = "Select who is invited, from both sides"
    elif any(p is None or not p.active or not _in_case(disagreement, p) for p in people):
        problems["invitees"] = "Invite people from this partnership's directory"
    owner_email = convener.email if convener else disagreement.owner.email
    action = ActionInput(purpose, owner_email, None, meeting_at, place)
    _, action_problems = _check_action(session, disagreement, policy, now, action)
    if meeting_at is None:
        action_problems["meeting_at"] = "Enter the date and time of the meeting"
        action_problems.pop("due_on", None)
    problems.update(action_problems)
    if problems:
        raise InvalidInput(problems)
    owner = convener or disagreement.owner
    item = _add_action(session, disagreement, policy, action, owner, actor, now)
    item.invitees = emails
    stage = disagreement.stage_key
    note = f"meeting convened for {due_text(meeting_at, policy.timezone)} at {place.strip()}; "
    note += f"invited: {', '.join(emails)}"
    record(session, disagreement, now, actor, "convene_meeting", stage, stage, note)
    notifications.meeting_invitation(session, disagreement, policy, item, now)
    schedule(session, disagreement, policy)
    return item


def open_actions(session: Session, disagreement: Disagreement) -> list[AgreedAction]:
    return [item for item in all_actions(session, disagreement) if item.is_open]


def all_actions(session: Session, disagreement: Disagreement) -> list[AgreedAction]:
    return list(
        session.execute(
            select(AgreedAction)
            .where(AgreedAction.disagreement_id == disagreement.id)
            .order_by(AgreedAction.id)
        ).scalars()
    )


def _open_action(session, disagreement, action_id) -> AgreedAction:
    for item in open_actions(session, disagreement):
        if item.id == action_id:
            return item
    raise NotAllowed("that action is not open on this disagreement")


def _end_actions(session, disagreement, now, how: str) -> None:
    for item in open_actions(session, disagreement):
        item.ended, item.ended_at = how, now


def end_open(session: Session, disagreement: Disagreement, now: datetime) -> None:
    """It is ending another way (withdrawn): open actions are cancelled, awaited says lapse."""
    _end_actions(session, disagreement, now, "cancelled")
    _lapse_says(session, disagreement, now)


def _lapse_says(session, disagreement, now) -> None:
    for say in pending_says(session, disagreement):
        say.answer, say.answered_at = LAPSED, now


# --- the clock on actions: what the sweep does --------------------------------------------------


@dataclass(frozen=True)
class ActionTimes:
    remind_at: datetime | None  # before its date
    chase_at: datetime  # its date has passed with no confirmation
    reopen_at: datetime  # the grace has run out too


def action_times(policy: Policy, item: AgreedAction) -> ActionTimes:
    calendar = policy.calendar
    due = calendar.close_of_business_at(item.due_on)
    if item.meeting_at is not None:
        due = max(due, item.meeting_at)
    grace_day = item.due_on
    for _ in range(policy.endings.action_grace_working_days):
        grace_day = calendar.next_working_day(grace_day)
    reopen = max(due, calendar.close_of_business_at(grace_day))
    remind_day = _working_days_before(
        policy, item.due_on, policy.endings.action_reminder_working_days
    )
    remind = calendar.instant_at(remind_day, time(9, 0))
    if (
        remind <= item.created_at
        or remind >= due
        or not policy.endings.action_reminder_working_days
    ):
        remind = None
    return ActionTimes(remind, due, reopen)


def _working_days_before(policy: Policy, day: date, count: int) -> date:
    calendar = policy.calendar
    while count > 0:
        day -= timedelta(days=1)
        if calendar.is_working_day(day):
            count -= 1
    return day


def schedule(session: Session, disagreement: Disagreement, policy: Policy) -> None:
    """When the sweep must next look (watch_at); while it is ending, its next date (due_at)."""
    moments, dates = [], []
    for item in open_actions(session, disagreement):
        times = action_times(policy, item)
        if times.remind_at and item.reminded_at is None:
            moments.append(times.remind_at)
        if item.chased_at is None:
            moments.append(times.chase_at)
        moments.append(times.reopen_at)
        dates.append(times.chase_at)
    says = pending_says(session, disagreement) if disagreement.resolution_state else []
    moments += [say.due_at for say in says]
    dates += [say.due_at for say in says]
    disagreement.watch_at = min(moments) if moments else None
    if disagreement.resolution_state and dates:
        disagreement.due_at = min(dates)


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
            _note(
                session,
                disagreement,
                now,
                f"chased {item.owner.email}: {_item_words(policy, item)}",
            )
            notifications.action_chase(session, disagreement, policy, item, now)
            done.append("chase")
        elif item.reminded_at is None and times.remind_at and times.remind_at <= now:
            item.reminded_at = now
            _note(
                session,
                disagreement,
                now,
                f"reminded {item.owner.email}: {_item_words(policy, item)}",
            )
            notifications.action_reminder(session, disagreement, policy, item, now)
            done.append("remind")
    if missed:
        done.append(_missed(session, disagreement, policy, missed, now))
    elif disagreement.resolution_state == sm.PROPOSED:
        lapsed = [say for say in pending_says(session, disagreement) if say.due_at <= now]
        for say in lapsed:
            say.answer, say.answered_at = BY_SILENCE, now
            _note(session, disagreement, now, f"the {say.part} did not answer in time: accepted")
        if lapsed and not pending_says(session, disagreement):
            _accepted(session, disagreement, policy, now, SYSTEM)
            done.append("accept")
    if disagreement.is_open:
        schedule(session, disagreement, policy)
    return done


def _missed(session, disagreement, policy, missed: list[AgreedAction], now) -> str:
    for item in missed:
        item.ended, item.ended_at = "missed", now
    why = "; ".join(f"not confirmed done: {_item_words(policy, item)}" for item in missed)
    if state_of(disagreement) in sm.ENDING_STATES:
        _lapse_says(session, disagreement, now)
        _end_actions(session, disagreement, now, "cancelled")
        _move_up(session, disagreement, policy, now, SYSTEM, "reopen", why)
        notifications.reopened(session, disagreement, policy, now)
        notifications.ending(session, disagreement, policy, "reopen", now)
        return "reopen"
    if policy.is_final(disagreement.stage_key):
        _note(session, disagreement, now, f"{why}; the final stage stays open")
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
    _move_up(session, disagreement, policy, now, SYSTEM, "escalate_automatically", why)
    return "escalate"


def _move_up(session, disagreement, policy, now, actor, kind, why) -> None:
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


def _note(session, disagreement, now, text: str) -> None:
    stage = disagreement.stage_key
    record(session, disagreement, now, SYSTEM, "remind", stage, stage, text)


def _item_words(policy: Policy, item: AgreedAction) -> str:
    if item.kind == "meeting":
        return f"meeting on {due_text(item.meeting_at, policy.timezone)}"
    return f"{item.what} (due {date_text(item.due_on)})"


def _words(disagreement: Disagreement, policy: Policy, items: list[AgreedAction]) -> str:
    outcome = OUTCOMES[disagreement.outcome]
    parts = [f"proposed: {outcome}: {disagreement.outcome_summary}"]
    parts += [f"agreed: {_item_words(policy, item)}, {item.owner.name}" for item in items]
    themes = policy.endings.learning_themes
    words = ", ".join(themes.get(key, key) for key in disagreement.learning_themes or ())
    systemic = "systemic" if disagreement.learning_systemic else "not systemic"
    parts.append(f"learning: {words} ({systemic}): {disagreement.learning_lesson}")
    return "; ".join(parts)
