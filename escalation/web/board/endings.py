"""How a disagreement ends, from the board's case page: what each of its ending forms does
(case.py routes them; casework/endings.py does the work). Each function here returns the form's
action, `action(session, reference, values, now)`, for case_page.act.

* Propose a resolution (the "close" form): the outcome, how it was resolved, the learning and
  up to three agreed actions. It is put to the raiser (and, when the decision stands, the
  counterpart) for their say; an outcome that only arranges something stays watched until its
  actions are confirmed done.
* Convene a meeting: its date, time, place and invitees from both sides; invitations go by
  email.
* Record a meeting: the convened one still open (confirmed done with who attended and what it
  decided), or one held outside the service (a free-standing record, as before).
* Confirm an agreed action done on its owner's behalf, saying what happened.
"""

from __future__ import annotations

from escalation.casework import board_actions
from escalation.casework import disagreements as d
from escalation.casework.endings import open_actions
from escalation.rules.errors import InvalidInput
from escalation.store.pinned_policies import policy_for
from escalation.web.board import ending_forms
from escalation.web.board.auth import BoardUser
from escalation.web.proposal_form import meeting_when, read_day, read_proposal

CLOSE_FIELDS = ending_forms.close_fields()
MEETING_FIELDS = (
    *("held_on-day", "held_on-month", "held_on-year"),
    *("attendees", "meeting_outcome", "meeting"),
)
CONVENE_FIELDS = (
    *("convene_on-day", "convene_on-month", "convene_on-year"),
    *("convene_on_time", "convene_place"),
)
CONFIRM_FIELDS = ("action_id", "note", "attendees")


def propose(user: BoardUser):
    """Propose a resolution with the learning and agreed actions."""

    def action(session, ref, values, now):
        calendar = policy_for(session, d.get(session, ref)).calendar
        proposal = read_proposal(values, calendar)  # the owners are offered by their emails
        try:
            board_actions.close(
                session,
                reference=ref,
                actor=user.email,
                now=now,
                outcome=values["outcome"],
                summary=values["summary"],
                learning=proposal.learning,
                actions=proposal.actions,
            )
        except InvalidInput as error:
            raise InvalidInput(proposal.on_the_page(error.problems)) from None
        if proposal.problems:  # a date or time that is not one: nothing proposed (rolled back)
            raise InvalidInput(proposal.problems)

    return action


def record_meeting(user: BoardUser):
    """Record the convened meeting chosen, or one held outside the service."""

    def action(session, ref, values, now):
        which = values["meeting"]
        if which and which != "outside":
            _record_convened(session, ref, values, now, which, user.email)
            return
        held_on, wrong = read_day(
            values, "held_on", "The date of the meeting must be a real date, like 3 12 2026"
        )
        try:
            board_actions.record_meeting(
                session,
                reference=ref,
                actor=user.email,
                now=now,
                held_on=held_on,
                attendees=values["attendees"],
                outcome=values["meeting_outcome"],
            )
        except InvalidInput as error:
            raise InvalidInput(error.problems | wrong) from None

    return action


def _record_convened(session, reference, values, now, which: str, actor: str) -> None:
    """The convened meeting `which` (an open meeting's id) was held: who came, what it decided."""
    disagreement = d.get(session, reference)
    meetings = {
        str(item.id) for item in open_actions(session, disagreement) if item.kind == "meeting"
    }
    if which not in meetings:
        raise InvalidInput({"meeting": "Select the meeting you are recording"})
    try:
        d.confirm_action(
            session,
            reference=reference,
            actor=actor,
            now=now,
            action_id=int(which),
            note=values["meeting_outcome"],
            attendees=values["attendees"],
        )
    except InvalidInput as error:
        names = {"note": "meeting_outcome"}
        raise InvalidInput({names.get(k, k): v for k, v in error.problems.items()}) from None


def convene(user: BoardUser):
    """Convene a meeting: date, time, place and invitees."""

    def action(session, ref, values, now):
        calendar = policy_for(session, d.get(session, ref)).calendar
        when, problems = meeting_when(values, calendar, "convene_on", "convene_on_time")
        try:
            d.convene_meeting(
                session,
                reference=ref,
                actor=user.email,
                now=now,
                meeting_at=when,
                place=values["convene_place"],
                invitees=values["invitees"],
            )
        except InvalidInput as error:
            names = {"place": "convene_place", "meeting_at": "convene_on", "due_on": "convene_on"}
            found = {names.get(k, k): v for k, v in error.problems.items()}
            if problems:  # what could not be read says more than "enter the date and time"
                found.pop("convene_on", None)
            raise InvalidInput({**found, **problems}) from None

    return action


def confirm(user: BoardUser):
    """An agreed action done, confirmed by the board on its owner's behalf."""

    def action(session, ref, values, now):
        which = values["action_id"]
        prefix = f"confirm-{which}-"
        if not (which.isdigit() and len(which) < 12):
            raise InvalidInput({"form": "Confirm an action from its own form on this page"})
        try:
            d.confirm_action(
                session,
                reference=ref,
                actor=user.email,
                now=now,
                action_id=int(which),
                note=values["note"],
                attendees=values["attendees"],
            )
        except InvalidInput as error:
            raise InvalidInput({prefix + k: v for k, v in error.problems.items()}) from None

    return action
