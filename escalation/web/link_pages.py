"""The pages behind emailed links.

A GET (or HEAD) never changes anything: mail filters and link scanners open links. It shows
the case, its chronology and due time, and, to the stage owner, the buttons Acknowledge,
Resolve, Escalate now and Hand to deputy; each is a form that POSTs back to the same link. The
link's token is the proof of who is acting (and so also the form's CSRF token); the Origin
check refuses cross-site posts. A POST spends the token in the same transaction as the action,
so it acts once however many times it is sent. Unknown, used, expired, superseded and tampered
links all get the same neutral page, showing nothing of the case.
Each view by a link holder is written to the chronology (GET only; HEAD is not a view).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from escalation import disagreements as d
from escalation import links, notifications
from escalation.calendar import local_text
from escalation.db import transaction
from escalation.errors import InvalidInput, NotAllowed
from escalation.models import Event
from escalation.vocabulary import CATEGORIES, OUTCOMES
from escalation.web.ratelimit import limited

# A person opens a handful of links a day; a guesser needs billions.
router = APIRouter(include_in_schema=False, dependencies=[Depends(limited("link", 60, 60))])
ACTIONS = {
    "acknowledge": "Acknowledge",
    "resolve": "Resolve",
    "escalate": "Escalate now",
    "hand_to_deputy": "Hand to deputy",
}
DONE = {
    "respond": "Your response has been recorded and sent to the stage owner",
    "resolve": "You have resolved this disagreement",
    "escalate": "You have escalated this disagreement",
    "hand_to_deputy": "You have handed this stage to your deputy",
}


@router.api_route("/l/{token}", methods=["GET", "HEAD"])
def show(request: Request, token: str) -> Response:
    now = request.app.state.clock()
    with transaction(request.app.state.sessions) as session:
        holder = links.open_link(session, token, now=now)
        if holder is None:
            return _neutral(request)
        if request.method == "GET":
            d.record_view(session, reference=holder.disagreement.reference,
                          actor=holder.token.recipient_email, now=now,
                          how=f"opened the emailed link ({holder.token.purpose})")
        return _case_page(request, session, holder, now)


@router.post("/l/resend", dependencies=[Depends(limited("resend", 10, 600))])
async def resend(request: Request) -> Response:
    """New links, only ever to the address on record; the same answer whatever was typed."""
    form = await request.form()
    email = str(form.get("email", "")).strip()[:320]
    if "@" in email and not any(c in email for c in "\r\n\0"):
        with transaction(request.app.state.sessions) as session:
            notifications.fresh_links(session, email, request.app.state.clock())
    return _message(request, "Check your email", "If that address has a part in an open "
                    "disagreement, we have sent it a new link for each one.")


@router.post("/l/{token}")
async def act(request: Request, token: str) -> Response:
    form = await request.form()
    action = str(form.get("action", ""))
    values = {name: str(form.get(name, "")).strip()
              for name in ("outcome", "summary", "reason", "position", "response")}
    now = request.app.state.clock()
    try:
        with transaction(request.app.state.sessions) as session:
            holder = links.open_link(session, token, now=now)
            if holder is None or action not in _allowed(holder):
                return _neutral(request)
            errors = _form_errors(action, values)
            if errors:
                return _case_page(request, session, holder, now, errors=errors, values=values,
                                  action=action, status=422)
            if not links.use_link(session, holder, now=now):
                return _neutral(request)
            reference = holder.disagreement.reference
            _apply(session, action, reference, holder.token.recipient_email, now, values)
            next_page = links.renew_link(session, holder, now=now) if action == "acknowledge" else ""
    except (NotAllowed, InvalidInput) as refusal:  # rolled back: the link is not spent either
        return _message(request, "This could not be done", str(refusal), status=409)
    if next_page:
        return RedirectResponse(next_page, status_code=303)
    return _message(request, DONE[action], f"Reference {reference}. This link has now been used.")


def _allowed(holder: links.LinkHolder) -> dict[str, str]:
    if holder.may_act:
        return ACTIONS
    if holder.token.purpose == "respond" and holder.disagreement.is_open:
        return {"respond": "Record your response"}
    return {}


def _apply(session, action: str, reference: str, actor: str, now, values: dict) -> None:
    if action == "respond":
        d.record_response(session, reference=reference, actor=actor, now=now,
                          position=values["position"], text=values["response"])
    elif action == "acknowledge":
        d.acknowledge(session, reference=reference, actor=actor, now=now)
    elif action == "resolve":
        d.resolve(session, reference=reference, actor=actor, now=now,
                  outcome=values["outcome"], summary=values["summary"])
    elif action == "escalate":
        d.escalate(session, reference=reference, actor=actor, now=now, reason=values["reason"])
    else:
        d.hand_to_deputy(session, reference=reference, actor=actor, now=now)


def _form_errors(action: str, values: dict) -> dict[str, str]:
    errors = {}
    if action == "resolve":
        if values["outcome"] not in OUTCOMES:
            errors["outcome"] = "Select the outcome"
        if not values["summary"]:
            errors["summary"] = "Enter a summary of how it was resolved"
        elif len(values["summary"]) > 10_000:
            errors["summary"] = "Summary must be 10,000 characters or fewer"
    if action == "respond":
        if values["position"] not in d.RESPONSES:
            errors["position"] = "Select whether the decision has changed or stands"
        if not values["response"]:
            errors["response"] = "Enter what changed, or why the decision stands"
    if action == "escalate" and not values["reason"]:
        errors["reason"] = "Enter why you are escalating now"
    return errors


def _case_page(request, session, holder, now, *, errors=None, values=None, action="", status=200):
    disagreement = holder.disagreement
    policy = d.policy_for(session, disagreement)
    events = session.execute(
        select(Event).where(Event.disagreement_id == disagreement.id).order_by(Event.id)
    ).scalars().all()
    context = {
        "title": f"Disagreement {disagreement.reference}",
        "d": disagreement,
        "stage": policy.stage(disagreement.stage_key),
        "category": CATEGORIES.get(disagreement.category, disagreement.category),
        "stage_number": disagreement.stage_index + 1,
        "stage_count": len(policy.stages),
        "due": local_text(disagreement.due_at),
        "overdue": disagreement.is_overdue(now),
        "events": [(local_text(e.at), e) for e in events],
        "holder": holder,
        "actions": ACTIONS if holder.may_act else {},
        "may_respond": "respond" in _allowed(holder),
        "position_items": [
            {"value": key, "text": words.removesuffix("; the rationale is"),
             "checked": (values or {}).get("position") == key}
            for key, words in d.RESPONSES.items()
        ],
        "outcomes": OUTCOMES,
        "errors": errors or {},
        "error_list": [{"text": text, "href": f"#{field}"} for field, text in (errors or {}).items()],
        "outcome_items": [
            {"value": key, "text": words, "checked": (values or {}).get("outcome") == key}
            for key, words in OUTCOMES.items()
        ],
        "values": values or {"outcome": "", "summary": "", "reason": "", "position": "", "response": ""},
        "open_action": action,
    }
    return request.app.state.templates.TemplateResponse(
        request, "pages/link_case.html", context, status_code=status)


def _neutral(request: Request) -> Response:
    return request.app.state.templates.TemplateResponse(
        request, "pages/link_neutral.html", {"title": "This link cannot be used"}, status_code=404)


def _message(request: Request, title: str, message: str, status: int = 200) -> Response:
    return request.app.state.templates.TemplateResponse(
        request, "pages/message.html", {"title": title, "message": message}, status_code=status)
