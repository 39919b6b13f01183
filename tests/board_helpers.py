"""Signing a board manager or chair in through the real journey: emailed link, then a TOTP code."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from escalation.access import second_factor
from escalation.directory.people import find_person
from escalation.outbox import links
from escalation.store.db import transaction
from escalation.store.models import OutboxMessage


def enrol(sessions, email: str) -> str:
    """The person's new TOTP secret."""
    with transaction(sessions) as session:
        second_factor.enrol(session, email)
        return find_person(session, email).totp_secret


def board_sign_in(
    client, sessions, clock, email: str, *, code_offset: timedelta = timedelta(0)
) -> None:
    secret = enrol(sessions, email)
    assert client.post("/board/signin", data={"email": email}).status_code == 200
    path = link_path(sessions, email, "sign_in", clock["now"])
    landed = client.post(path, follow_redirects=False)
    assert landed.status_code == 303 and landed.headers["location"] == "/board/verify"
    page = client.get("/board/verify")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    code = second_factor.code_at(secret, clock["now"] + code_offset)
    done = client.post("/board/verify", data={"csrf": csrf, "code": code}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/board", done.text


def csrf_of(page_text: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page_text).group(1)


def link_path(sessions, recipient: str, kind: str, now) -> str:
    """The path of the link the recipient's latest email of `kind` would carry, minted at `now`."""
    with transaction(sessions) as session:
        row = (
            session.execute(
                select(OutboxMessage)
                .where(OutboxMessage.recipient_email == recipient, OutboxMessage.kind == kind)
                .order_by(OutboxMessage.id.desc())
            )
            .scalars()
            .first()
        )
        return links.link_for(session, row, base_url="", now=now)


def open_case(client, path: str):
    """Press Continue on an emailed link's page: the case page, within the link's session."""
    started = client.post(f"{path}/continue", follow_redirects=False)
    assert started.status_code == 303, started.text
    return client.get(path)


def act_on_link(client, path: str, action: str, **fields):
    """Continue on the link, then send the case page's form for `action`."""
    page = open_case(client, path)
    assert page.status_code == 200, page.text
    return client.post(path, data={"action": action, "csrf": csrf_of(page.text), **fields})
