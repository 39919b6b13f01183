"""The pages an emailed link shows: whom it is for with a Continue button (all a GET shows), the
case within the link's session (each stage's two sides from reads/casefile), the neutral page for
a link that cannot be used, a message; and the two forms the raising side shares with the board's
case page: change the counterpart, and move onto the urgent track."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from escalation.casework import disagreements as d
from escalation.directory.people import CONTROL, find_person
from escalation.outbox import links
from escalation.reads.casefile import casefile, counterpart_choices
from escalation.rules.calendar import due_text, time_text
from escalation.rules.errors import InvalidInput
from escalation.rules.vocabulary import CATEGORIES, OUTCOMES
from escalation.store.models import Disagreement

ACTIONS = {
    "acknowledge": "Acknowledge",
    "resolve": "Resolve",
    "escalate": "Escalate now",
    "hand_to_deputy": "Hand to deputy",
}
# The raising side's (the raiser's and the stage owner's) actions on either side of the case.
SIDE_ACTIONS = {
    "change_counterpart": "Change the counterpart",
    "make_urgent": "Move onto the urgent track",
}
ADDRESSEES = {  # whom a link is for, when the directory does not give a first name
    "act": "the owner of this stage",
    "respond": "the professional answering for the agency whose decision is disputed",
    "status": "the professional who raised this disagreement",
    "view": "a professional kept informed of this disagreement",
}
ROLES = {
    "act": "the owner of this stage",
    "respond": "answering for the agency whose decision is disputed",
    "status": "who raised it",
    "view": "kept informed",
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
VALUE_FIELDS = ("outcome", "summary", "reason", "position", "response", *FORM_FIELDS)
LONGEST = {"email": 320, "name": 200, "role": 200, "organisation": 200, "reason": 10_000}


def allowed(holder: links.LinkHolder) -> dict[str, str]:
    """What this link's holder may do now: the owner acts on the stage; the counterpart
    responds; the owner and the raiser may change the counterpart or make the case urgent."""
    disagreement, purpose = holder.disagreement, holder.token.purpose
    if not disagreement.is_open:
        return {}
    found = dict(ACTIONS) if holder.may_act else {}
    if purpose == "respond" and holder.is_counterpart:
        found["respond"] = "Record your response"
    raiser = purpose == "status" and holder.token.recipient_email == disagreement.raiser_email
    if holder.may_act or raiser:
        found.update(side_actions(disagreement))
    return found


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


def continue_page(request, session, holder, token: str, *, status: int = 200, notice: str = ""):
    person = find_person(session, holder.token.recipient_email)
    purpose = holder.token.purpose
    addressee = ADDRESSEES[purpose]
    if person is not None and person.name.split():
        addressee = f"{person.name.split()[0]} ({ROLES[purpose]})"
    return request.app.state.templates.TemplateResponse(
        request,
        "pages/link_continue.html",
        {
            "title": "Open this disagreement",
            "reference": holder.disagreement.reference,
            "addressee": addressee,
            "may_act": holder.may_act,
            "notice": notice,
            "continue_action": f"/l/{token}/continue",
        },
        status_code=status,
    )


def case_page(
    request, session, holder, now, *, csrf: str, errors=None, values=None, action="", status=200
):
    disagreement = holder.disagreement
    file = casefile(session, disagreement)
    policy, may = file.policy, allowed(holder)
    values = {name: "" for name in VALUE_FIELDS} | (values or {})
    context = {
        "title": f"Disagreement {disagreement.reference}",
        "d": disagreement,
        "stage": policy.stage(disagreement.stage_key),
        "category": CATEGORIES.get(disagreement.category, disagreement.category),
        "stage_number": disagreement.stage_index + 1,
        "stage_count": len(policy.stages),
        "due": due_text(disagreement.due_at, policy.timezone),
        "overdue": disagreement.is_overdue(now),
        "stages": file.stages,
        "events": [(time_text(e.at, policy.timezone), e) for e in file.events],
        "holder": holder,
        "actions": ACTIONS if holder.may_act else {},
        "may_respond": "respond" in may,
        "may_change": "change_counterpart" in may,
        "may_make_urgent": "make_urgent" in may,
        "choices": counterpart_choices(session, disagreement)
        if "change_counterpart" in may
        else [],
        "secure_domains": ", ".join(policy.secure_domains),
        "position_items": [
            {
                "value": key,
                "text": words.removesuffix("; the rationale is"),
                "checked": values["position"] == key,
            }
            for key, words in d.RESPONSES.items()
        ],
        "outcomes": OUTCOMES,
        "errors": errors or {},
        "error_list": [
            {"text": text, "href": f"#{field}"} for field, text in (errors or {}).items()
        ],
        "outcome_items": [
            {"value": key, "text": words, "checked": values["outcome"] == key}
            for key, words in OUTCOMES.items()
        ],
        "values": values,
        "open_action": action,
        "csrf": csrf,
    }
    return request.app.state.templates.TemplateResponse(
        request, "pages/link_case.html", context, status_code=status
    )


def neutral(request: Request) -> Response:
    return request.app.state.templates.TemplateResponse(
        request, "pages/link_neutral.html", {"title": "This link cannot be used"}, status_code=404
    )


def message(request: Request, title: str, message: str, status: int = 200) -> Response:
    return request.app.state.templates.TemplateResponse(
        request, "pages/message.html", {"title": title, "message": message}, status_code=status
    )
