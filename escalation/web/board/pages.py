"""The board's pages: what they share (the page renderer, GOV.UK pagination, the partnership's
people) and signing in with a second factor. The dashboard, the case page and its actions, the
directory and the reports are in the modules beside this one.

Sign-in: the same one-time emailed link as practitioners (escalation.access.signin), then a
6-digit code from the person's authenticator app (escalation.access.second_factor). Five wrong
codes end the session. After the code the session id is replaced, so a cookie seen before the
second factor is useless.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from escalation.access import second_factor, signin
from escalation.rules.vocabulary import BOARD_ROLES
from escalation.store.db import transaction
from escalation.store.models import Person
from escalation.web.board.auth import BoardSignInRequired, BoardUser, current_user, policy_of
from escalation.web.forms import PostedForm
from escalation.web.raising import cookie_name, send_sign_in_link
from escalation.web.ratelimit import limited

router = APIRouter(include_in_schema=False)
MAX_FAILED_CODES = 5


# --- sign-in ----------------------------------------------------------------------------------


BOARD_SIGN_IN = {
    "title": "Sign in to the board pages",
    "layout": "pages/board_base.html",
    "action": "/board/signin",
    "intro": "For board managers and chairs. We will email you a link to sign in; then you will "
    "need the 6-digit code from your authenticator app.",
}


@router.get("/board/signin")
def signin_form(request: Request) -> Response:
    return page(request, "pages/signin.html", dict(BOARD_SIGN_IN))


@router.post(
    "/board/signin",
    dependencies=[
        Depends(limited("signin", 10, 600)),
        Depends(limited("signin", 3, 600, by="email")),
    ],
)
def ask_for_link(request: Request, form: PostedForm) -> Response:
    return send_sign_in_link(
        request,
        form,
        dict(BOARD_SIGN_IN),
        allowed_domains=[],
        sent="If that address is in the directory, we have sent it a sign-in link. It works "
        "once, for 30 minutes. You will then need your authenticator app.",
    )


@router.get("/board/verify")
def code_form(request: Request) -> Response:
    user = current_user(request, BOARD_ROLES, second_factor=False)
    return _code_page(request, user)


@router.post("/board/verify", dependencies=[Depends(limited("board-code", 20, 600))])
def check_code(request: Request, form: PostedForm) -> Response:
    user = current_user(request, BOARD_ROLES, second_factor=False)
    if not secrets.compare_digest(str(form.get("csrf", "")), user.csrf):
        return page(
            request,
            "pages/message.html",
            {
                "title": "Sorry, there is a problem",
                "message": "This form had expired. Reload it and try again.",
            },
            403,
        )
    code = str(form.get("code", ""))[:20]
    now = request.app.state.clock()
    with transaction(request.app.state.sessions) as session:
        if second_factor.verify(session, user.email, code, now=now):
            raw = signin.confirm_second_factor(session, request.cookies.get(cookie_name()), now=now)
            if raw is None:
                raise BoardSignInRequired()
            response = RedirectResponse("/board", status_code=303)
            response.set_cookie(
                cookie_name(),
                raw,
                httponly=True,
                samesite="lax",
                path="/",
                secure=cookie_name().startswith("__Host-"),
            )
            return response
        failures = signin.count_failed_code(
            session, request.cookies.get(cookie_name()), now=now, limit=MAX_FAILED_CODES
        )
    if failures >= MAX_FAILED_CODES:
        return page(
            request,
            "pages/message.html",
            {
                "title": "You have been signed out",
                "message": "Too many wrong codes. Ask for a new sign-in link to try again.",
            },
            403,
        )
    return _code_page(
        request, user, {"code": "Enter the 6-digit code shown in your authenticator app now"}, 422
    )


def _code_page(
    request: Request, user: BoardUser, errors: dict | None = None, status: int = 200
) -> Response:
    with transaction(request.app.state.sessions) as session:
        enrolled = session.get(Person, user.person_id).totp_secret is not None
    return page(
        request,
        "pages/board_verify.html",
        {
            "title": "Enter your security code",
            "csrf": user.csrf,
            "enrolled": enrolled,
            "errors": errors or {},
        },
        status,
    )


def page(request: Request, name: str, context: dict, status: int = 200) -> Response:
    """A board page: the template `name` with `context` (no errors unless it says so), and the
    signed-in user's partnership by its name, for the header."""
    context.setdefault("errors", {})
    user = context.get("user")
    if isinstance(user, BoardUser) and "partnership_name" not in context:
        context["partnership_name"] = policy_of(request, user).area
    return request.app.state.templates.TemplateResponse(request, name, context, status_code=status)


def pagination(path: str, params: dict, current: int, last: int) -> dict:
    """GOV.UK pagination's items for page `current` of `last` at `path` with the query `params`:
    the first and last pages and two either side of `current`."""

    def href(number: int) -> str:
        return f"{path}?" + urlencode({**params, "page": number})

    numbers = sorted({1, last, *range(max(1, current - 2), min(last, current + 2) + 1)})
    items, previous = [], 0
    for number in numbers:
        if number - previous > 1:
            items.append({"ellipsis": True})
        items.append({"number": number, "href": href(number), "current": number == current})
        previous = number
    return {
        "items": items if last > 1 else [],
        "previous": {"href": href(current - 1)} if current > 1 else None,
        "next": {"href": href(current + 1)} if current < last else None,
        "last": last,
    }


def people(session, partnership: str) -> list[Person]:
    """The partnership's active people, by name (owner filters, reassignment choices)."""
    return list(
        session.execute(
            select(Person)
            .where(Person.partnership == partnership, Person.active)
            .order_by(Person.name)
        ).scalars()
    )
