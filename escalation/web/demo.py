"""Demo mode only (ESCALATION_DEMO=true, set by scripts/serve): the emails the local mail
capture received, so a newcomer can follow every link in a browser, and the board's current
authenticator codes. Never in production: it shows whatever the capture directory and the
directory's secrets hold. Besides the start-up rule (escalation.settings.require_safe), every
page here checks again that demo mode is on and safe for this app (loopback, SQLite, local
capture) and that the request comes from loopback; otherwise it is a 404."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException

from escalation.access import second_factor
from escalation.settings import get_settings, is_loopback, unsafe_setting
from escalation.store.db import transaction
from escalation.store.models import Person

router = APIRouter(include_in_schema=False)
NAME = re.compile(r"^[0-9T]+-[0-9]{6}\.eml$")


@router.get("/demo/mail")
def inbox(request: Request) -> Response:
    directory = _directory(request)
    messages = []
    for path in sorted(directory.glob("*.eml"), reverse=True)[:200]:
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        messages.append(
            {
                "name": path.name,
                "to": message["To"],
                "subject": message["Subject"],
                "date": message["Date"],
            }
        )
    return request.app.state.templates.TemplateResponse(
        request, "pages/demo_mail.html", {"title": "Captured emails (demo)", "messages": messages}
    )


@router.get("/demo/mail/{name}")
def read(request: Request, name: str) -> Response:
    path = _directory(request) / name
    if not NAME.match(name) or not path.is_file():
        raise HTTPException(404, "No such email.")
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    body = message.get_body(("plain",)).get_content()
    return request.app.state.templates.TemplateResponse(
        request,
        "pages/demo_mail.html",
        {
            "title": message["Subject"],
            "message": message,
            "body": body,
            "links": re.findall(r"https?://\S+", body),
        },
    )


@router.get("/demo/authenticator")
def authenticator(request: Request) -> Response:
    """Stands in for the board's authenticator app in the demo: today's codes for enrolled people."""
    _directory(request)
    now = request.app.state.clock()
    with transaction(request.app.state.sessions) as session:
        people = (
            session.execute(
                select(Person).where(Person.totp_secret.is_not(None)).order_by(Person.name)
            )
            .scalars()
            .all()
        )
        codes = [
            (person.name, person.email, second_factor.code_at(person.totp_secret, now))
            for person in people
        ]
    return request.app.state.templates.TemplateResponse(
        request,
        "pages/demo_authenticator.html",
        {"title": "Authenticator codes (demo)", "codes": codes},
    )


def _directory(request: Request) -> Path:
    """The capture directory, if demo pages may be shown to this request; else a 404."""
    if not demo_allowed(request):
        raise HTTPException(404, "Not found.")
    return get_settings().mail_dir


def demo_allowed(request: Request) -> bool:
    """Demo mode is on, its set-up is safe for the database this app really uses, and the
    request comes from a loopback address."""
    settings = get_settings()
    if not settings.demo or unsafe_setting(settings, database_of(request.app.state.sessions)):
        return False
    return request.client is not None and is_loopback(request.client.host)


def database_of(sessions: sessionmaker[Session]) -> str | None:
    """The backend ("sqlite", "postgresql") of the engine these sessions are bound to; None when
    that cannot be told (the settings' ESCALATION_DATABASE_URL then decides)."""
    engine = getattr(sessions, "kw", {}).get("bind")
    dialect = getattr(engine, "dialect", None)
    return dialect.name if dialect is not None else None
