"""How a disagreement is ending, as the emailed links' pages show it: what happens next, in words
(`what_next`, also the page after an ending's form is sent), and the case page's part on the
ending (`ending_context`): the raiser's awaited say, the holder's own open actions with their
forms, and the choices the owner's resolve and convene forms offer.
"""

from __future__ import annotations

from escalation.casework.endings import open_actions, pending_says
from escalation.casework.lifecycle import state_of
from escalation.directory.people import normalise_email
from escalation.rules import statemachine as sm
from escalation.rules.calendar import date_text, due_text
from escalation.rules.vocabulary import OUTCOMES
from escalation.store.models import Disagreement
from escalation.store.pinned_policies import policy_for
from escalation.web import ending_forms
from escalation.web.proposal_form import ROWS

PARTS = {"raiser": "the professional who raised it", "counterpart": "the decision-maker's side"}


def what_next(session, disagreement: Disagreement) -> str:
    """Where the disagreement's ending stands now, and what happens next."""
    policy = policy_for(session, disagreement)
    tz = policy.timezone
    state = state_of(disagreement)
    if not disagreement.is_open:
        return (
            f"The disagreement is now {disagreement.status} and closed. Everyone involved has "
            "been told; the links about it no longer work."
        )
    if state == sm.PROPOSED:
        says = pending_says(session, disagreement)
        who = " and ".join(PARTS.get(s.part, s.part) for s in says) or "nobody"
        due = due_text(min(s.due_at for s in says), tz) if says else ""
        return (
            f"A resolution has been proposed. Waiting for {who} to accept or contest it, by "
            f"{due}: no answer by then counts as accepting it; contesting it moves the "
            "disagreement to the next stage at once."
        )
    if state == sm.WATCHED:
        items = open_actions(session, disagreement)
        return (
            f"The resolution has been accepted. The disagreement stays open, watched, until each "
            f"agreed action is confirmed done by its owner ({len(items)} still open). One not "
            "confirmed within the grace after its date reopens it a stage higher."
        )
    stage = policy.stage(disagreement.stage_key)
    return (
        f"It is now at {stage.title}: {disagreement.owner.name} "
        f"({disagreement.owner.organisation}) holds it, due "
        f"{due_text(disagreement.due_at, tz)}. Everyone this stage involves has been emailed."
    )


def ending_context(session, holder, file, may: dict, values: dict, now) -> dict:
    """How the case is ending, and the forms of its ending this holder is offered."""
    disagreement, policy = holder.disagreement, file.policy
    state = state_of(disagreement)
    context = {
        "ending": state in sm.ENDING_STATES,
        "what_next": what_next(session, disagreement) if state in sm.ENDING_STATES else "",
        "my_say": _raisers_say(session, holder, policy),
        "may_say": "say" in may,
        "may_note": "add_note" in may,
        "may_confirm": "confirm_action" in may,
        "outcome_words": OUTCOMES.get(disagreement.outcome or "", ""),
        "say_due": due_text(holder.says[0].due_at, policy.timezone) if holder.says else "",
        "my_items": [_item(policy, item, now) for item in holder.items],
    }
    if "resolve" in may or "convene_meeting" in may:
        context.update(_owner_forms(session, disagreement, policy, values))
    return context


def _raisers_say(session, holder, policy) -> str:
    """On the raiser's status page: until when their say on a proposed resolution is awaited."""
    if holder.token.purpose != "status":
        return ""
    email = normalise_email(holder.token.recipient_email)
    says = [s for s in pending_says(session, holder.disagreement) if s.email == email]
    return due_text(says[0].due_at, policy.timezone) if says else ""


def _item(policy, item, now) -> dict:
    """One of the holder's open actions, for its form."""
    when = f"by {date_text(item.due_on)}"
    if item.meeting_at is not None:
        when = due_text(item.meeting_at, policy.timezone)
    return {
        "id": item.id,
        "meeting": item.kind == "meeting",
        "what": item.what,
        "when": when,
        "place": item.place,
        "held": item.meeting_at is None or item.meeting_at <= now,
    }


def _owner_forms(session, disagreement, policy, values: dict) -> dict:
    """The resolve and convene forms' choices: whom an action or an invitation may go to, the
    partnership's learning themes, each as typed."""
    people = ending_forms.people_choices(session, disagreement)
    themes = policy.endings.learning_themes
    return {
        "people": people,
        "rows": range(1, ROWS + 1),
        "theme_items": [
            {"value": key, "text": words, "checked": key in values["learning_themes"]}
            for key, words in themes.items()
        ],
        "systemic_items": [
            {"value": "yes", "text": "Yes", "checked": values["systemic"] == "yes"},
            {"value": "no", "text": "No", "checked": values["systemic"] == "no"},
        ],
        "invitee_items": [
            {
                "value": str(choice.id),
                "text": f"{choice.label} ({organisation})",
                "checked": str(choice.id) in values["invitees"],
            }
            for organisation, group in people
            for choice in group
        ],
    }
