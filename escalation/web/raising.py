"""Raising a disagreement in the browser: sign in by emailed link, then a few short pages.

When more than one area is loaded, the child's area is asked first (a page of its own, so that
the directory list, without JavaScript, is that area's). Then the question pages
(raise_pages.py: the immediate risk first, the decision and who made it, why you disagree and
what you want to happen, about you when the directory does not say), check your answers, and
the submit here. The form's fields are a model (raise_form.RaiseForm); what they make is
validated by the same model as the API (escalation.casework.intake), the area picks the policy
and the counterpart is checked as the API's is (casework.counterparts_check). The submit's
problems come back all at once, on one page of every question with everything typed and a
GOV.UK error summary linking to each field. A hidden form id makes a double submit (double
click, browser retry) return the disagreement the first one created. Every POST carries the
session's CSRF token; the Origin check applies as everywhere.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from escalation.access import signin
from escalation.casework import disagreements as d
from escalation.directory.people import find_person
from escalation.outbox import immediate
from escalation.rules.errors import InvalidInput, NotAllowed
from escalation.rules.vocabulary import BOARD_ROLES
from escalation.settings import get_settings
from escalation.store.db import transaction
from escalation.web import raise_pages
from escalation.web.forms import PostedForm
from escalation.web.raise_common import (
    SIGN_IN,
    SignedIn,
    cookie_name,
    known_areas,
    page,
    posted_by,
    signed_in,
)
from escalation.web.raise_form import MESSAGES, RaiseForm, field_errors
from escalation.web.raised import confirmation
from escalation.web.ratelimit import limited

__all__ = ["cookie_name", "router", "send_sign_in_link"]

router = APIRouter(include_in_schema=False)
router.add_api_route("/raise/answer", raise_pages.answer, methods=["POST"])
_page = page


@router.get("/")
def home() -> Response:
    return RedirectResponse("/raise", status_code=303)


@router.get("/raise")
def raise_form(request: Request, child_area: str | None = None, step: str = "") -> Response:
    """The journey's first page for the child's area `child_area` (from the area question, the
    page before it when more than one area is loaded: it narrows the directory list to that
    area's): is the child at immediate risk of significant harm?"""
    who = signed_in(request)
    if who is None:
        return _page(request, "pages/signin.html", dict(SIGN_IN))
    with transaction(request.app.state.sessions) as session:
        values = _prefill(session, who.email)
    known = known_areas(request)
    if child_area is None and len(known) == 1:
        child_area = next(iter(known))
    if child_area not in known:
        asked = child_area is not None or step == "area"
        return _area_question(request, who, known, asked)
    return raise_pages.show(request, who, "risk", {**values, "child_area": child_area})


def _area_question(request: Request, who: SignedIn, known: dict, asked: bool) -> Response:
    """Which area the child lives in; 422 with an error if it was answered with none known."""
    errors = {"child_area": MESSAGES["child_area"]} if asked else {}
    context = {
        "title": "Which local authority area does the child live in?",
        "areas": [{"value": key, "text": name} for key, name in known.items()],
        "errors": errors,
        "error_list": [{"text": text, "href": "#child_area"} for text in errors.values()],
        "email": who.email,
    }
    return _page(request, "pages/raise_area.html", context, 422 if asked else 200)


@router.post(
    "/signin",
    dependencies=[
        Depends(limited("signin", 10, 600)),
        Depends(limited("signin", 3, 600, by="email")),
    ],
)
def ask_for_link(request: Request, form: PostedForm) -> Response:
    return send_sign_in_link(
        request,
        form,
        {"title": "Sign in to raise a disagreement"},
        allowed_domains=get_settings().allowed_email_domains,
        sent="If that address can raise disagreements here, we have sent it a sign-in link. "
        "It works once, for 30 minutes.",
    )


def send_sign_in_link(
    request: Request, form: FormData, page_context: dict, *, allowed_domains: list[str], sent: str
) -> Response:
    """The sign-in form's POST (practitioners' and the board's): the same answer for any address."""
    email = str(form.get("email", "")).strip()
    if not signin.looks_like_email(email):
        return _page(
            request,
            "pages/signin.html",
            {
                **page_context,
                "email": email,
                "errors": {"email": "Enter your work email address, like name@example.nhs.uk"},
            },
            422,
        )
    with transaction(request.app.state.sessions) as session:
        signin.request_link(
            session, email, allowed_domains=allowed_domains, now=request.app.state.clock()
        )
    answer = _page(request, "pages/message.html", {"title": "Check your email", "message": sent})
    return immediate.send_soon(request, answer, "sign_in", email)  # the email goes at once


@router.api_route("/signin/{token}", methods=["GET", "HEAD"])  # scanners send HEAD
def confirm_sign_in(request: Request, token: str) -> Response:
    """Shows a button only: a mail scanner opening the link signs nobody in."""
    return _page(request, "pages/signin_confirm.html", {"title": "Sign in"})


@router.post("/signin/{token}", dependencies=[Depends(limited("signin-link", 30, 60))])
def sign_in(request: Request, token: str) -> Response:
    with transaction(request.app.state.sessions) as session:
        started = signin.start_session(session, token, now=request.app.state.clock())
    if started is None:
        return _page(request, "pages/link_neutral.html", {"title": "This link cannot be used"}, 404)
    response = RedirectResponse(_landing(request, started[1].email), status_code=303)
    response.set_cookie(
        cookie_name(),
        started[0],
        httponly=True,
        samesite="lax",
        path="/",
        secure=cookie_name().startswith("__Host-"),
    )
    return response


def _landing(request: Request, email: str) -> str:
    """Board managers and chairs go on to their second factor; everyone else to the form."""
    with transaction(request.app.state.sessions) as session:
        person = find_person(session, email)
        board = person is not None and person.active and person.roles & set(BOARD_ROLES)
    return "/board/verify" if board else "/raise"


@router.post("/signout")
def sign_out(request: Request) -> Response:
    with transaction(request.app.state.sessions) as session:
        signin.end(session, request.cookies.get(cookie_name()), now=request.app.state.clock())
    response = _page(
        request,
        "pages/message.html",
        {"title": "You have signed out", "message": "Close this window."},
    )
    response.delete_cookie(cookie_name(), path="/")
    return response


@router.post("/raise")
def submit(request: Request, form: PostedForm) -> Response:
    """Check your answers' submit: the disagreement raised and its confirmation; or every
    question on one page with every problem named at once (422), or the casework's refusal."""
    typed = RaiseForm.posted(form)
    now = request.app.state.clock()
    try:
        with transaction(request.app.state.sessions) as session:
            who = posted_by(request, form, session)  # one transaction: no commit just for this
            if isinstance(who, Response):
                return who
            request_model, policy = typed.checked(
                session,
                email=who.email,
                policies=request.app.state.policies,
                default_id=get_settings().default_policy,
                now=now,
            )
            disagreement = d.raise_disagreement(
                session, request=request_model, policy=policy, now=now
            )
            context = confirmation(disagreement, policy, email=who.email)
            return _page(request, "pages/raised.html", context)
    except InvalidInput as error:
        errors = field_errors(error.problems)
        return raise_pages.show(request, who, "", typed.model_dump(), errors, status=422)
    except NotAllowed as error:
        values = typed.model_dump()
        return raise_pages.show(request, who, "", values, {"form": str(error)}, status=409)


def _prefill(session, email: str) -> dict:
    person = find_person(session, email)
    if person is None:
        return RaiseForm().model_dump()
    return RaiseForm(
        raiser_name=person.name,
        raiser_organisation=person.organisation,
        raiser_role=person.job_title,
    ).model_dump()
