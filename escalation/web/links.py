"""The pages behind emailed links.

A GET (or HEAD) of a link changes nothing and shows nothing of the case: only whom the link is
for (a first name or a role), the reference and a Continue button, because mail scanners open
links and emails get forwarded or mistyped. Continue (a POST) records that the holder opened it
and starts a short server-side session bound to that link (`links.LinkSession`, cookie
`rpd_link`); within it the same URL shows the case summary, its chronology and due time, and
asks "What do you want to do?" (POST /choose, only what the holder may do now), which leads to
that action's own page, GET /l/{token}/do/{action} (it changes nothing). Its form POSTs back
with the session's CSRF token (spent by each action, so a form acts once); a form that is wrong
comes back on its page with what was typed and an error summary; one that acts shows whom the
case is with now and by when (acknowledging returns to the case with a banner). The link is
not spent by use: the owner can acknowledge today and resolve tomorrow by pressing Continue
again. Unknown, expired and
superseded links (the stage has moved on, the case has closed, the owner or the counterpart has
changed) all get the same neutral page, showing nothing of the case.

The ending's pages (link_views.allowed says who is offered what): the owner resolves with
agreed actions and the learning, or convenes a meeting; a say link ("say") accepts or contests
the proposed resolution; an action link ("action") confirms its holder's own actions done. Each
answers with what happens next (link_endings.what_next). What each action does is in
link_actions.py; the pages themselves are in link_views.py and link_pages.py.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from escalation.casework import disagreements as d
from escalation.outbox import immediate, links, notifications
from escalation.rules.errors import InvalidInput, NotAllowed
from escalation.store.db import transaction
from escalation.store.pinned_policies import policy_for
from escalation.web.forms import PostedForm
from escalation.web.link_actions import apply_action, form_errors
from escalation.web.link_pages import with_now
from escalation.web.link_views import (
    allowed,
    case_page,
    continue_page,
    do_page,
    message,
    neutral,
    typed_values,
)
from escalation.web.raising import cookie_name
from escalation.web.ratelimit import limited
from escalation.web.side_actions import SIDE_ACTIONS

# A person opens a handful of links a day; a guesser needs billions.
router = APIRouter(include_in_schema=False, dependencies=[Depends(limited("link", 60, 60))])
ONE_LINK = [Depends(limited("link", 30, 60, by="token"))]  # a person, not a script


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
        done = request.query_params.get("done", "")
        return case_page(
            request, session, holder, now, token=token, csrf=link_session.csrf_token, done=done
        )


@router.post("/l/{token}/choose", dependencies=ONE_LINK)
def choose(request: Request, token: str, form: PostedForm) -> Response:
    """ "What do you want to do?": to the chosen action's own page (nothing is changed)."""
    action = str(form.get("choice", ""))
    now = request.app.state.clock()
    with transaction(request.app.state.sessions) as session:
        holder, link_session = _in_session(request, session, token, now)
        if holder is None:
            return neutral(request)
        if link_session is None:
            return continue_page(request, session, holder, token)
        if action not in allowed(holder):
            return case_page(
                request,
                session,
                holder,
                now,
                token=token,
                csrf=link_session.csrf_token,
                errors={"choice": "Select what you want to do"},
                status=422,
            )
    return RedirectResponse(f"/l/{token}/do/{action}", status_code=303)


@router.get("/l/{token}/do/{action}", dependencies=ONE_LINK)
def do(request: Request, token: str, action: str) -> Response:
    """One action's short page within the link's session (a GET: it changes nothing)."""
    now = request.app.state.clock()
    with transaction(request.app.state.sessions) as session:
        holder, link_session = _in_session(request, session, token, now)
        if holder is None or action not in allowed(holder):
            return neutral(request)
        if link_session is None:
            return continue_page(request, session, holder, token)
        return do_page(
            request, session, holder, now, token=token, csrf=link_session.csrf_token, action=action
        )


def _in_session(request: Request, session, token: str, now):
    """The link's holder (None for a link that cannot be used) and its live session, if any."""
    holder = links.open_link(session, token, now=now)
    if holder is None:
        return None, None
    return holder, links.session_for(session, holder, request.cookies.get(link_cookie()), now=now)


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
    answer = message(
        request,
        "Check your email",
        "If that address has a part in an open "
        "disagreement, we have sent it a new link for each one.",
    )
    return immediate.send_soon(request, answer, "fresh_links", email)  # the email goes at once


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
            holder = links.open_link(session, token, now=now, lock=True)
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
            errors = form_errors(action, values)
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
            title, done = apply_action(session, action, holder, now, values)
            if action != "acknowledge":
                return done_page(request, session, token, holder, now, action, title, done)
    except InvalidInput as refusal:  # rolled back: the form is not spent either
        if action in FORMS:
            return _again(request, token, now, refusal.problems, values, action)
        return message(request, "This could not be done", str(refusal), status=409)
    except NotAllowed as refusal:
        return message(request, "This could not be done", str(refusal), status=409)
    return RedirectResponse(f"/l/{token}?done=acknowledge", status_code=303)


@router.post("/l/{token}/do/{step}", dependencies=ONE_LINK)
def act_on_its_page(request: Request, token: str, step: str, form: PostedForm) -> Response:
    """An action's page posts to itself: the same as posting to the link (the form names it)."""
    return act(request, token, form)


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
    """The action's page with the form's errors and what was typed, its form still live (422)."""
    return do_page(
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


def done_page(request, session, token, holder, now, action, title, done) -> Response:
    """The confirmation: what was done, whom it is with now and by when, and the way back to the
    case while this link still works."""
    disagreement = holder.disagreement
    tz = policy_for(session, disagreement).timezone
    session.flush()
    context = {
        "title": title,
        "message": done,
        "now_with": with_now(disagreement, tz, emailed=action in EMAILED),
        "back": f"/l/{token}" if links.open_link(session, token, now=now) else "",
    }
    return request.app.state.templates.TemplateResponse(request, "pages/link_done.html", context)


# The actions after which whoever holds the stage has just been emailed about it.
EMAILED = {"escalate", "hand_to_deputy", "make_urgent", "respond"}
