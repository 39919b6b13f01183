"""The raising side's actions on either side of the case, which the emailed links' pages (for the
raiser and the stage owner) share with the board's case page: change the stage's counterpart
(someone from the directory's list or someone typed in, `change_counterpart`, refusing with the
form's own field names) and move the case onto the urgent track; `side_actions` says which of
the two are open now, and FORM_FIELDS are the fields their forms send.
"""

from __future__ import annotations

from escalation.casework import disagreements as d
from escalation.directory.people import CONTROL
from escalation.reads.casefile import counterpart_choices
from escalation.rules.errors import InvalidInput
from escalation.store.models import Disagreement

# The raising side's (the raiser's and the stage owner's) actions on either side of the case.
SIDE_ACTIONS = {
    "change_counterpart": "Change the counterpart",
    "make_urgent": "Move onto the urgent track",
}
# The forms' own fields for the domain's (escalation.casework.counterparts.change_counterpart).
COUNTERPART_FIELDS = {
    "email": "counterpart_email",
    "name": "counterpart_name",
    "role": "counterpart_role",
    "organisation": "counterpart_organisation",
    "reason": "change_reason",
}
FORM_FIELDS = ("counterpart_person", *COUNTERPART_FIELDS.values(), "protective_action")
LONGEST = {"email": 320, "name": 200, "role": 200, "organisation": 200, "reason": 10_000}


def side_actions(disagreement: Disagreement) -> dict[str, str]:
    """The raising side's actions open now (a case already urgent cannot be made urgent)."""
    if disagreement.urgent:
        return {"change_counterpart": SIDE_ACTIONS["change_counterpart"]}
    return dict(SIDE_ACTIONS)


def change_counterpart(session, disagreement: Disagreement, *, actor: str, now, values: dict):
    """Change the stage's counterpart as the form says: someone chosen from the directory's list
    (`counterpart_person`, an id that counterpart_choices offers) or someone typed in (name,
    role, organisation, secure email). InvalidInput names the form's own fields."""
    typed = {field: values[COUNTERPART_FIELDS[field]] for field in LONGEST}
    problems = {
        COUNTERPART_FIELDS[field]: f"Must be {LONGEST[field]:,} characters or fewer"
        for field, value in typed.items()
        if len(value) > LONGEST[field]
    }
    for field in ("email", "name", "role", "organisation"):
        if CONTROL.search(typed[field]):
            problems[COUNTERPART_FIELDS[field]] = "Must not contain line breaks or tabs"
    email_field = "counterpart_email"
    if values["counterpart_person"]:
        email_field = "counterpart_person"
        offered = {
            str(choice.id): choice.email
            for _, group in counterpart_choices(session, disagreement)
            for choice in group
        }
        typed["email"] = offered.get(values["counterpart_person"], "")
        if not typed["email"]:
            problems[email_field] = "Select a person from the list"
        elif (
            any(typed[field] for field in ("name", "role", "organisation"))
            or values["counterpart_email"]
        ):
            problems[email_field] = (
                "Choose them from the directory or enter their details, not both"
            )
    if problems:
        raise InvalidInput(problems)
    try:
        d.change_counterpart(
            session, reference=disagreement.reference, actor=actor, now=now, **typed
        )
    except InvalidInput as error:
        fields = {**COUNTERPART_FIELDS, "email": email_field}
        raise InvalidInput(
            {fields.get(field, field): words for field, words in error.problems.items()}
        ) from None
