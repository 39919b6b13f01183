"""Demo mode only (ESCALATION_DEMO=true, set by scripts/serve): the emails the local mail
capture received, so a newcomer can follow every link in a browser. Never in production: it
shows whatever the capture directory holds, to anyone who can reach the app."""

from __future__ import annotations

import re
from email import message_from_bytes, policy

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from sqlalchemy import select

from escalation import second_factor
from escalation.db import transaction
from escalation.models import Person
from escalation.settings import get_settings

router = APIRouter(include_in_schema=False)
NAME = re.compile(r"^[0-9T]+-[0-9]{6}\.eml$")


@router.get("/demo/mail")
def inbox(request: Request) -> Response:
    directory = _directory()
    messages = []
    for path in sorted(directory.glob("*.eml"), reverse=True)[:200]:
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        messages.append({"name": path.name, "to": message["To"], "subject": message["Subject"],
                         "date": message["Date"]})
    return request.app.state.templates.TemplateResponse(
        request, "pages/demo_mail.html", {"title": "Captured emails (demo)", "messages": messages})


@router.get("/demo/mail/{name}")
def read(request: Request, name: str) -> Response:
    path = _directory() / name
    if not NAME.match(name) or not path.is_file():
        raise HTTPException(404, "No such email.")
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    body = message.get_body(("plain",)).get_content()
    return request.app.state.templates.TemplateResponse(request, "pages/demo_mail.html", {
        "title": message["Subject"], "message": message, "body": body,
        "links": re.findall(r"https?://\S+", body)})


@router.get("/demo/authenticator")
def authenticator(request: Request) -> Response:
    """Stands in for the board's authenticator app in the demo: today's codes for enrolled people."""
    _directory()
    now = request.app.state.clock()
    with transaction(request.app.state.sessions) as session:
        people = session.execute(select(Person).where(Person.totp_secret.is_not(None))
                                 .order_by(Person.name)).scalars().all()
        codes = [(person.name, person.email, second_factor.code_at(person.totp_secret, now))
                 for person in people]
    return request.app.state.templates.TemplateResponse(request, "pages/demo_authenticator.html", {
        "title": "Authenticator codes (demo)", "codes": codes})


def _directory():
    settings = get_settings()
    if not settings.demo:
        raise HTTPException(404, "Not found.")
    return settings.mail_dir
