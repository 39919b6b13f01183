"""What action owners and stage owners do with agreed actions and meetings: confirm one done
(the last one done closes a watched disagreement), convene a meeting with invitations.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from escalation.casework.actions import (
    MAX_TEXT,
    ActionInput,
    add_action,
    check_action,
    in_case,
    open_action,
    open_actions,
    schedule,
)
from escalation.casework.endings import complete
from escalation.casework.lifecycle import load_for_event, record, require_owner_or_board, state_of
from escalation.directory.people import find_person, normalise_email
from escalation.outbox import ending_notices
from escalation.rules import statemachine as sm
from escalation.rules.calendar import due_text
from escalation.rules.errors import InvalidInput
from escalation.store.models import AgreedAction, ResolutionMeeting


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
    item = open_action(session, disagreement, action_id)
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
        complete(session, disagreement, policy, now)
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
    elif any(p is None or not p.active or not in_case(disagreement, p) for p in people):
        problems["invitees"] = "Invite people from this partnership's directory"
    owner_email = convener.email if convener else disagreement.owner.email
    action = ActionInput(purpose, owner_email, None, meeting_at, place)
    _, action_problems = check_action(session, disagreement, policy, now, action)
    if meeting_at is None:
        action_problems["meeting_at"] = "Enter the date and time of the meeting"
        action_problems.pop("due_on", None)
    problems.update(action_problems)
    if problems:
        raise InvalidInput(problems)
    owner = convener or disagreement.owner
    item = add_action(session, disagreement, policy, action, owner, actor, now)
    item.invitees = emails
    stage = disagreement.stage_key
    note = f"meeting convened for {due_text(meeting_at, policy.timezone)} at {place.strip()}; "
    note += f"invited: {', '.join(emails)}"
    record(session, disagreement, now, actor, "convene_meeting", stage, stage, note)
    ending_notices.meeting_invitation(session, disagreement, policy, item, now)
    schedule(session, disagreement, policy)
    return item
