"""The forms of a disagreement's ending on the emailed links' pages, read as a browser posts them
and handed to casework/endings.py: the stage owner's proposed resolution (outcome, summary, up
to three agreed actions, the learning) and a convened meeting; the asked person's say; an
action owner's confirmation that it is done.

The proposal and the meeting's date and time are read by proposal_form.py, as on the board's
page. Each refusal names the form's own fields, so the page can show it beside the field with
what was typed. A date or time that is not a real one is the form's own error; everything else
is the domain's. Both are reported at once: when a date is wrong, the rest is still checked by
the domain inside the request's transaction, and the whole is refused (and so rolled back) with
every problem named.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from escalation.casework import disagreements as d
from escalation.reads.casefile import Choice
from escalation.rules.errors import InvalidInput, NotAllowed
from escalation.store.models import Disagreement
from escalation.store.pinned_policies import policy_for
from escalation.web.proposal_form import (
    DATE_PARTS,
    ROWS,
    allowed_people,
    in_order,
    meeting_when,
    read_proposal,
    row_field,
    row_fields,
)

# Every field these forms send that is kept as typed (one value each), and the lists.
FIELDS = (
    "systemic",
    "lesson",
    *(f"meeting_at-{part}" for part in DATE_PARTS),
    "meeting_time",
    "place",
    "answer",
    "note",
    "attendees",
    "action_id",
    *row_fields(),
)
LIST_FIELDS = ("learning_themes", "invitees")
# The order of the resolve and convene forms' fields on the page (the error summary's order).
RESOLVE_ORDER = (
    "outcome",
    "summary",
    "actions",
    *(
        row_field(n, field)
        for n in range(1, ROWS + 1)
        for field in ("what", "owner", "due_on", "meeting_at", "place")
    ),
    "learning_themes",
    "systemic",
    "lesson",
)
CONVENE_ORDER = ("meeting_at", "meeting_time", "place", "invitees")


def people_choices(session: Session, disagreement: Disagreement) -> list[tuple[str, list[Choice]]]:
    """Who may own an agreed action or be invited to a meeting (proposal_form.allowed_people),
    by organisation, then name."""
    groups: dict[str, list[Choice]] = {}
    for person in allowed_people(session, disagreement):
        label = ", ".join(part for part in (person.name, person.job_title) if part)
        groups.setdefault(person.organisation, []).append(Choice(person.id, person.email, label))
    return list(groups.items())


def _emails(choices) -> dict[str, str]:
    return {str(choice.id): choice.email for _, group in choices for choice in group}


# --- the stage owner: propose a resolution, convene a meeting ----------------------------------


def propose(session, disagreement: Disagreement, *, actor: str, now, values: dict) -> None:
    """The resolve form: d.resolve with its actions and learning, or InvalidInput naming the
    form's fields."""
    emails = _emails(people_choices(session, disagreement))
    calendar = policy_for(session, disagreement).calendar
    proposal = read_proposal(values, calendar, lambda key: emails.get(key, ""))
    try:
        d.resolve(
            session,
            reference=disagreement.reference,
            actor=actor,
            now=now,
            outcome=values["outcome"],
            summary=values["summary"],
            learning=proposal.learning,
            actions=proposal.actions,
        )
        found = {}
    except InvalidInput as refusal:
        found = refusal.problems
    problems = proposal.on_the_page(found)
    if problems:
        raise InvalidInput(in_order(problems, RESOLVE_ORDER))


def convene(session, disagreement: Disagreement, *, actor: str, now, values: dict) -> int:
    """The convene form: d.convene_meeting; how many were invited. InvalidInput names the
    form's fields."""
    calendar = policy_for(session, disagreement).calendar
    when, typed = meeting_when(values, calendar, "meeting_at", "meeting_time")
    emails = _emails(people_choices(session, disagreement))
    invitees = [emails[key] for key in values["invitees"] if key in emails]
    try:
        d.convene_meeting(
            session,
            reference=disagreement.reference,
            actor=actor,
            now=now,
            meeting_at=when,
            place=values["place"],
            invitees=invitees,
        )
        found = {}
    except InvalidInput as refusal:
        found = dict(refusal.problems)
    if typed:
        found.pop("meeting_at", None)  # the date's or the time's own error says which is wrong
    problems = found | typed
    if problems:
        raise InvalidInput(in_order(problems, CONVENE_ORDER))
    return len(invitees)


# --- the asked person's say; an action owner's confirmation -------------------------------------


def say(session, disagreement: Disagreement, *, actor: str, now, values: dict) -> str:
    """Accept or contest the proposed resolution; which one was done."""
    reference = disagreement.reference
    if values["answer"] == "accept":
        d.accept(session, reference=reference, actor=actor, now=now)
    elif values["answer"] == "contest":
        d.contest(session, reference=reference, actor=actor, now=now, reason=values["reason"])
    else:
        raise InvalidInput(
            {"answer": "Select whether you accept or contest the proposed resolution"}
        )
    return values["answer"]


def confirm(session, disagreement: Disagreement, items, *, actor: str, now, values: dict) -> None:
    """Confirm one of the holder's own open actions (`items`) done. InvalidInput names the
    fields of that action's form (note-7, attendees-7)."""
    item = next((i for i in items if str(i.id) == values["action_id"]), None)
    if item is None:
        raise NotAllowed("that action is not yours, or it is no longer open")
    try:
        d.confirm_action(
            session,
            reference=disagreement.reference,
            actor=actor,
            now=now,
            action_id=item.id,
            note=values["note"],
            attendees=values["attendees"] if item.kind == "meeting" else "",
        )
    except InvalidInput as refusal:
        raise InvalidInput(
            {f"{field}-{item.id}": words for field, words in refusal.problems.items()}
        ) from None
