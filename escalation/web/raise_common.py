"""What the raise journey's pages share: the session cookie's name, who is signed in (and
whether a POST carries their CSRF token), the loaded areas and rendering a page."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from escalation.access import signin
from escalation.casework.intake import area_policy, areas
from escalation.rules.policy import Policy
from escalation.settings import get_settings
from escalation.store.db import transaction

SIGN_IN = {"title": "Sign in to raise a disagreement"}
EXPIRED = {
    "title": "Sorry, there is a problem",
    "message": "This form had expired. Nothing was sent. Go back, reload it and try again.",
}


@dataclass(frozen=True)
class SignedIn:
    email: str
    csrf: str


def cookie_name() -> str:
    secure = get_settings().public_base_url.startswith("https://")
    return "__Host-rpd_session" if secure else "rpd_session"


def signed_in(request: Request, session: Session | None = None) -> SignedIn | None:
    """The practitioner this request's session cookie signs in; None if none (or it ended).
    Looked up in `session` when given, so a POST checks and acts in one transaction."""
    if session is None:
        with transaction(request.app.state.sessions) as session:
            return signed_in(request, session)
    web = signin.current(session, request.cookies.get(cookie_name()), now=request.app.state.clock())
    return None if web is None else SignedIn(web.email, web.csrf_token)


def posted_by(
    request: Request, form: FormData, session: Session | None = None
) -> SignedIn | Response:
    """Who posted `form`; or the page to answer with instead: sign in (401) when no session,
    the form had expired (403) when its CSRF token is not the session's."""
    who = signed_in(request, session)
    if who is None:
        return page(request, "pages/signin.html", dict(SIGN_IN), 401)
    if not secrets.compare_digest(str(form.get("csrf", "")), who.csrf):
        return page(request, "pages/message.html", dict(EXPIRED), 403)
    return who


def known_areas(request: Request) -> dict[str, str]:
    return areas(request.app.state.policies, get_settings().default_policy)


def policy_of(request: Request, area: str) -> Policy:
    return area_policy(request.app.state.policies, area, default_id=get_settings().default_policy)


def page(request: Request, name: str, context: dict, status: int = 200) -> Response:
    context.setdefault("errors", {})
    return request.app.state.templates.TemplateResponse(request, name, context, status_code=status)
