"""The pages an emailed link shows: whom it is for with a Continue button (all a GET shows), the
case within the link's session, the neutral page for a link that cannot be used, a message."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from escalation.casework import disagreements as d
from escalation.casework.chronology import events_of
from escalation.directory.people import find_person
from escalation.outbox import links
from escalation.rules.calendar import due_text, time_text
from escalation.rules.vocabulary import CATEGORIES, OUTCOMES
from escalation.store.pinned_policies import policy_for

ACTIONS = {
    "acknowledge": "Acknowledge",
    "resolve": "Resolve",
    "escalate": "Escalate now",
    "hand_to_deputy": "Hand to deputy",
}
ADDRESSEES = {  # whom a link is for, when the directory does not give a first name
    "act": "the owner of this stage",
    "respond": "the professional whose decision is disputed",
    "status": "the professional who raised this disagreement",
    "view": "a professional kept informed of this disagreement",
}
ROLES = {
    "act": "the owner of this stage",
    "respond": "whose decision is disputed",
    "status": "who raised it",
    "view": "kept informed",
}


def allowed(holder: links.LinkHolder) -> dict[str, str]:
    if holder.may_act:
        return ACTIONS
    if holder.token.purpose == "respond" and holder.disagreement.is_open:
        return {"respond": "Record your response"}
    return {}


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
    policy = policy_for(session, disagreement)
    events = events_of(session, disagreement)
    context = {
        "title": f"Disagreement {disagreement.reference}",
        "d": disagreement,
        "stage": policy.stage(disagreement.stage_key),
        "category": CATEGORIES.get(disagreement.category, disagreement.category),
        "stage_number": disagreement.stage_index + 1,
        "stage_count": len(policy.stages),
        "due": due_text(disagreement.due_at, policy.timezone),
        "overdue": disagreement.is_overdue(now),
        "events": [(time_text(e.at, policy.timezone), e) for e in events],
        "holder": holder,
        "actions": ACTIONS if holder.may_act else {},
        "may_respond": "respond" in allowed(holder),
        "position_items": [
            {
                "value": key,
                "text": words.removesuffix("; the rationale is"),
                "checked": (values or {}).get("position") == key,
            }
            for key, words in d.RESPONSES.items()
        ],
        "outcomes": OUTCOMES,
        "errors": errors or {},
        "error_list": [
            {"text": text, "href": f"#{field}"} for field, text in (errors or {}).items()
        ],
        "outcome_items": [
            {"value": key, "text": words, "checked": (values or {}).get("outcome") == key}
            for key, words in OUTCOMES.items()
        ],
        "values": values
        or {"outcome": "", "summary": "", "reason": "", "position": "", "response": ""},
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
