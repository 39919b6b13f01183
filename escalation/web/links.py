"""The pages behind emailed links.

A GET (or HEAD) of a link changes nothing and shows nothing of the case: only whom the link is
for (a first name or a role), the reference and a Continue button, because mail scanners open
links and emails get forwarded or mistyped. Continue (a POST) records that the holder opened it
and starts a short server-side session bound to that link (`links.LinkSession`, cookie
`rpd_link`); within it the same URL shows the case, its chronology and due time, and, to the
stage owner, the buttons Acknowledge, Resolve, Escalate now and Hand to deputy, each a form that
POSTs back to the same link with the session's CSRF token (spent by each action, so a form acts
once). The counterpart's link records their response; the owner's and the raiser's links also
change the counterpart and move the case onto the urgent track (a form that is wrong comes back
with what was typed and an error summary). The link is not spent by use: the owner can
acknowledge today and resolve tomorrow by pressing Continue again. Unknown, expired and
superseded links (the stage has moved on, the case has closed, the owner or the counterpart has
changed) all get the same neutral page, showing nothing of the case.

The ending's pages (link_views.allowed says who is offered what): the owner resolves with
agreed actions and the learning, or convenes a meeting; a say link ("say") accepts or contests
the proposed resolution; an action link ("action") confirms its holder's own actions done. Each
answers with what happens next (ending_forms.what_next).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from escalation.casework import disagreements as d
from escalation.outbox import links, notifications
from escalation.rules import statemachine as sm
from escalation.rules.calendar import due_text
from escalation.rules.errors import InvalidInput, NotAllowed
from escalation.store.db import transaction
from escalation.store.pinned_policies import policy_for
from escalation.web import ending_forms
from escalation.web.forms import PostedForm
from escalation.web.link_views import (
    SIDE_ACTIONS,
    allowed,
    case_page,
    change_counterpart,
    continue_page,
    message,
    neutral,
    typed_values,
)
from escalation.web.raising import cookie_name
from escalation.web.ratelimit import limited

# A person opens a handful of links a day; a guesser needs billions.
router = APIRouter(include_in_schema=False, dependencies=[Depends(limited("link", 60, 60))])
ONE_LINK = [Depends(limited("link", 30, 60, by="token"))]  # a person, not a script
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


def link_cookie() -> str:
    return "__Host-rpd_link" if cookie_name().startswith("__Host-") else "rpd_link"


@router.api_route("/l/{token}", methods=["GET", "HEAD"], dependencies=ONE_LINK)
def show(request: Request, token: str) -> Response:
    """The case within this link's session; otherwise whom the link is for and Continue."""
    now = request.app.state.clock()
    with transaction(request.app.state.sessions) as session:
        holder = links.open_link(session, token, now=now)
        if holder is None:
            return neutral(request)
        link_session = links.session_for(
            session, holder, request.cookies.get(link_cookie()), now=now
        )
        if link_session is None:
            return continue_page(request, session, holder, token)
        return case_page(request, session, holder, now, token=token, csrf=link_session.csrf_token)


@router.post(
    "/l/resend",
    dependencies=[
        Depends(limited("resend", 10, 600)),
        Depends(limited("resend", 3, 600, by="email")),
    ],
)
def resend(request: Request, form: PostedForm) -> Response:
    """New links, only ever to the address on record; the same answer whatever was typed."""
    email = str(form.get("email", "")).strip()[:320]
    if "@" in email and not any(c in email for c in "\r\n\0"):
        with transaction(request.app.state.sessions) as session:
            notifications.fresh_links(session, email, request.app.state.clock())
    return message(
        request,
        "Check your email",
        "If that address has a part in an open "
        "disagreement, we have sent it a new link for each one.",
    )


@router.post("/l/{token}/continue", dependencies=ONE_LINK)
def start(request: Request, token: str) -> Response:
    """Continue: the holder opens the case; recorded as a view, and a session starts."""
    now = request.app.state.clock()
    with transaction(request.app.state.sessions) as session:
        holder = links.open_link(session, token, now=now)
        if holder is None:
            return neutral(request)
        d.record_view(
            session,
            reference=holder.disagreement.reference,
            actor=holder.token.recipient_email,
            now=now,
            how=f"opened the emailed link ({holder.token.purpose})",
        )
        raw = links.start_session(session, holder, now=now)
    response = RedirectResponse(f"/l/{token}", status_code=303)
    response.set_cookie(
        link_cookie(),
        raw,
        max_age=int(links.SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="strict",
        path="/",
        secure=link_cookie().startswith("__Host-"),
    )
    return response


@router.post("/l/{token}", dependencies=ONE_LINK)
def act(request: Request, token: str, form: PostedForm) -> Response:
    action = str(form.get("action", ""))
    values = typed_values(form)
    now = request.app.state.clock()
    try:
        with transaction(request.app.state.sessions) as session:
            holder = links.open_link(session, token, now=now)
            if holder is None or action not in allowed(holder):
                return neutral(request)
            link_session = links.session_for(
                session, holder, request.cookies.get(link_cookie()), now=now
            )
            if link_session is None:
                return continue_page(
                    request,
                    session,
                    holder,
                    token,
                    status=403,
                    notice="Your session on this link has ended. Nothing "
                    "was changed. Continue, then try again.",
                )
            errors = _form_errors(action, values)
            if errors:
                return _with_errors(
                    request, session, holder, token, link_session, now, errors, values, action
                )
            if not links.claim_form(session, link_session, str(form.get("csrf", ""))):
                return message(
                    request,
                    "This form has already been sent",
                    "Nothing more was changed. Open the link again to see where the "
                    "disagreement is now.",
                    status=409,
                )
            title, done = _apply(session, action, holder, now, values)
    except InvalidInput as refusal:  # rolled back: the form is not spent either
        if action in FORMS:
            return _again(request, token, now, refusal.problems, values, action)
        return message(request, "This could not be done", str(refusal), status=409)
    except NotAllowed as refusal:
        return message(request, "This could not be done", str(refusal), status=409)
    if action == "acknowledge":
        return RedirectResponse(f"/l/{token}", status_code=303)
    return message(request, title, done)


# The forms that come back with their errors and what was typed when the domain refuses them.
FORMS = {*SIDE_ACTIONS, "resolve", "convene_meeting", "say", "add_note", "confirm_action"}


def _again(request: Request, token: str, now, errors: dict, values: dict, action: str):
    """The case page again, with the form's errors and what was typed (nothing was changed)."""
    with transaction(request.app.state.sessions) as session:
        holder = links.open_link(session, token, now=now)
        cookie = request.cookies.get(link_cookie())
        link_session = holder and links.session_for(session, holder, cookie, now=now)
        if link_session is None:
            return neutral(request)
        return _with_errors(
            request, session, holder, token, link_session, now, errors, values, action
        )


def _with_errors(request, session, holder, token, link_session, now, errors, values, action):
    """The case page with the form's errors and what was typed, its form still live (422)."""
    return case_page(
        request,
        session,
        holder,
        now,
        token=token,
        csrf=link_session.csrf_token,
        errors=errors,
        values=values,
        action=action,
        status=422,
    )


def _apply(session, action: str, holder, now, values: dict) -> tuple[str, str]:
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
    return f"Reference {disagreement.reference}. {ending_forms.what_next(session, disagreement)}"


ENDINGS = {
    "resolve": _resolve,
    "convene_meeting": _convene,
    "say": _say,
    "add_note": _note,
    "confirm_action": _confirm,
}


def _form_errors(action: str, values: dict) -> dict[str, str]:
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
