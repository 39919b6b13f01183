"""Rate limits that hold (issue 10): keyed on the client, the link and the address typed in;
X-Forwarded-For believed only from named proxies; one fresh-link or sign-in email per address
per few minutes, whatever the number of open cases or requests."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

import pytest
from sqlalchemy import select

from escalation.outbox import links, notifications
from escalation.serve import web_command
from escalation.settings import Settings
from escalation.store.db import transaction
from escalation.store.models import OutboxMessage
from tests.factories import MONDAY, RAISER, ROOT, load_directory, raise_one
from tests.smtp_server import free_port


def _emails(sessions, kind: str) -> list[OutboxMessage]:
    with transaction(sessions) as session:
        return (
            session.execute(
                select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
            )
            .scalars()
            .all()
        )


def test_forty_requests_for_fresh_links_send_one_email_carrying_every_link(client, sessions, clock):
    references = sorted(
        raise_one(sessions, MONDAY, child_reference=f"TEST-CHILD-{n}") for n in range(3)
    )
    statuses = [client.post("/l/resend", data={"email": RAISER}).status_code for _ in range(40)]
    assert statuses[:3] == [200] * 3 and set(statuses[3:]) == {429}
    [email] = _emails(sessions, "fresh_links")
    assert email.recipient_email == RAISER
    assert [case["reference"] for case in email.context["cases"]] == references
    with transaction(sessions) as session:
        paths = links.links_for(session, email, base_url="", now=MONDAY)
    for path, reference in zip(paths, references, strict=True):
        case = client.post(f"{path}/continue")
        assert case.status_code == 200 and reference in case.text and "Acknowledge" in case.text
    clock["now"] = MONDAY + timedelta(minutes=11)  # both the window and the interval have passed
    assert client.post("/l/resend", data={"email": RAISER}).status_code == 200
    assert len(_emails(sessions, "fresh_links")) == 2


def test_one_sign_in_email_per_address_per_interval_however_asked(sessions):
    load_directory(sessions)
    for seconds in range(0, 290, 10):  # a request every ten seconds, from anywhere
        with transaction(sessions) as session:
            notifications.sign_in_link(session, RAISER, MONDAY + timedelta(seconds=seconds))
    assert len(_emails(sessions, "sign_in")) == 1
    with transaction(sessions) as session:
        notifications.sign_in_link(session, RAISER, MONDAY + notifications.LINK_EMAIL_INTERVAL)
    assert len(_emails(sessions, "sign_in")) == 2


def test_sign_in_requests_are_limited_per_address_whatever_the_client(client):
    statuses = [client.post("/signin", data={"email": RAISER}).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    assert client.post("/signin", data={"email": "someone.else@trust.example"}).status_code == 200


def test_one_link_is_limited_whatever_the_client(client, sessions):
    raise_one(sessions, MONDAY)
    path = f"/l/{'x' * 43}"
    statuses = [client.get(path).status_code for _ in range(31)]
    assert statuses[:30] == [404] * 30 and statuses[30] == 429


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_forwarded_for_header_does_not_reset_the_limit_unless_its_proxy_is_trusted(
    database_url, tmp_path
):
    port = free_port()
    env = {
        **os.environ,
        "ESCALATION_DATABASE_URL": database_url,
        "ESCALATION_DEMO": "false",
        "ESCALATION_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    }
    env.pop("ESCALATION_TRUSTED_PROXIES", None)
    server = subprocess.Popen(web_command(Settings(web_port=port)), cwd=ROOT, env=env)
    try:
        _wait_until_up(port)
        statuses = [
            _sign_in(port, f"person{n}@trust.example", forwarded_for=f"203.0.113.{n}")
            for n in range(12)
        ]
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert statuses[:10] == [200] * 10 and statuses[10:] == [429, 429]


def test_trusted_proxies_are_named_to_uvicorn():
    command = web_command(Settings(web_port=8000, trusted_proxies=["10.0.0.7"]))
    assert command[-3:] == ["--proxy-headers", "--forwarded-allow-ips", "10.0.0.7"]
    assert web_command(Settings(web_port=8000))[-1] == "--no-proxy-headers"


def _wait_until_up(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/board/signin", timeout=2)
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise AssertionError("the web app did not start")


def _sign_in(port: int, email: str, *, forwarded_for: str) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/signin",
        data=urllib.parse.urlencode({"email": email}).encode(),
        headers={"X-Forwarded-For": forwarded_for, "Origin": f"http://127.0.0.1:{port}"},
    )
    try:
        return urllib.request.urlopen(request, timeout=10).status
    except urllib.error.HTTPError as error:
        return error.code
