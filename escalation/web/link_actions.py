"""What each action on an emailed link's page does, once its form is accepted: the checks made
before any change (`form_errors`), then the domain's change (`apply_action`: the stage's own
actions, the raising side's, and the ending's forms through ending_forms.py), and the heading
and words of the page that says it was done (DONE, and what happens next).
"""

from __future__ import annotations

from escalation.casework import disagreements as d
from escalation.rules import statemachine as sm
from escalation.rules.calendar import due_text
from escalation.store.pinned_policies import policy_for
from escalation.web import ending_forms
from escalation.web.link_endings import what_next
from escalation.web.side_actions import change_counterpart

DONE = {
    "respond": "Your response has been recorded and sent to the stage owner",
    "resolve": "You have resolved this disagreement",
    "convene_meeting": "You have convened a meeting",
    "accept": "You have accepted the proposed resolution",
    "contest": "You have contested the proposed resolution",
    "add_note": "Your note has been added",
    "confirm_action": "You have confirmed the action is done",
    "escalate": "You have escalated this disagreement",
    "hand_to_deputy": "You have handed this stage to your deputy",
    "change_counterpart": "You have changed the counterpart",
    "make_urgent": "The disagreement is now on the urgent track",
}


def apply_action(session, action: str, holder, now, values: dict) -> tuple[str, str]:
    """Do `action`; the page's heading and what it then says about it."""
    disagreement, actor = holder.disagreement, holder.token.recipient_email
    if action in ENDINGS:
        return ENDINGS[action](session, holder, actor, now, values)
    return DONE.get(action, ""), _apply_stage(session, action, disagreement, actor, now, values)


def _apply_stage(session, action: str, disagreement, actor: str, now, values: dict) -> str:
    """Do one of the stage's own actions; what the page then says about it."""
    reference = disagreement.reference
    if action == "respond":
        d.record_response(
            session,
            reference=reference,
            actor=actor,
            now=now,
            position=values["position"],
            text=values["response"],
        )
    elif action == "acknowledge":
        d.acknowledge(session, reference=reference, actor=actor, now=now)
    elif action == "escalate":
        d.escalate(session, reference=reference, actor=actor, now=now, reason=values["reason"])
    elif action == "change_counterpart":
        change_counterpart(session, disagreement, actor=actor, now=now, values=values)
        name = disagreement.stages[-1].counterpart.name
        return (
            f"Reference {reference}. {name} now answers for the receiving side and has been "
            "emailed their own link; the previous counterpart's link no longer works."
        )
    elif action == "make_urgent":
        d.make_urgent(
            session,
            reference=reference,
            actor=actor,
            now=now,
            protective_action=values["protective_action"],
        )
        return (
            f"Reference {reference}. {disagreement.owner.name} holds it now, due "
            f"{due_text(disagreement.due_at, policy_for(session, disagreement).timezone)}. "
            "Everyone this stage involves has been emailed."
        )
    else:
        d.hand_to_deputy(session, reference=reference, actor=actor, now=now)
    return f"Reference {reference}."


def _resolve(session, holder, actor: str, now, values: dict) -> tuple[str, str]:
    disagreement = holder.disagreement
    ending_forms.propose(session, disagreement, actor=actor, now=now, values=values)
    title = DONE["resolve"]
    if disagreement.resolution_state == sm.PROPOSED:
        title = "You have proposed a resolution"
    return title, _next(session, disagreement)


def _convene(session, holder, actor: str, now, values: dict) -> tuple[str, str]:
    disagreement = holder.disagreement
    count = ending_forms.convene(session, disagreement, actor=actor, now=now, values=values)
    return DONE["convene_meeting"], (
        f"Reference {disagreement.reference}. {count} people have been emailed an invitation "
        "with a calendar entry. After the meeting, record who attended and what was decided "
        "through the link in your own invitation: a meeting not recorded within the grace "
        "moves the disagreement up a stage."
    )


def _say(session, holder, actor: str, now, values: dict) -> tuple[str, str]:
    disagreement = holder.disagreement
    answer = ending_forms.say(session, disagreement, actor=actor, now=now, values=values)
    return DONE[answer], _next(session, disagreement)


def _note(session, holder, actor: str, now, values: dict) -> tuple[str, str]:
    disagreement = holder.disagreement
    d.add_note(session, reference=disagreement.reference, actor=actor, now=now, note=values["note"])
    return DONE["add_note"], (
        f"Reference {disagreement.reference}. It is in the chronology. You can still accept the "
        "determination; if you do not answer by the date in your email, it counts as accepted."
    )


def _confirm(session, holder, actor: str, now, values: dict) -> tuple[str, str]:
    disagreement = holder.disagreement
    ending_forms.confirm(session, disagreement, holder.items, actor=actor, now=now, values=values)
    return DONE["confirm_action"], _next(session, disagreement)


def _next(session, disagreement) -> str:
    return f"Reference {disagreement.reference}. {what_next(session, disagreement)}"


ENDINGS = {
    "resolve": _resolve,
    "convene_meeting": _convene,
    "say": _say,
    "add_note": _note,
    "confirm_action": _confirm,
}


def form_errors(action: str, values: dict) -> dict[str, str]:
    """The checks made before any change (the ending's forms are checked by the domain)."""
    errors = {}
    if action == "respond":
        if values["position"] not in d.RESPONSES:
            errors["position"] = "Select whether the decision has changed or stands"
        if not values["response"]:
            errors["response"] = (
                "Enter why the decision stands, what changed, or the meeting you propose"
            )
    if action == "escalate" and not values["reason"]:
        errors["reason"] = "Enter why you are escalating now"
    if action == "add_note" and not values["note"]:
        errors["note"] = "Enter your note"
    return errors
