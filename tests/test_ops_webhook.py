"""POST /ops/sweep-stalled (escalation/web/ops.py), as the Prefect server's "sweep expected"
automation calls it: the token checked, the app's database deciding, the board managers' alarm
sent at once to a real SMTP server on loopback, once per stall."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from escalation.casework import health
from escalation.casework.sweep import SWEEP
from escalation.settings import get_settings
from escalation.store.db import transaction
from escalation.store.models import Alert
from tests.factories import MANAGER, MONDAY
from tests.smtp_server import Server

TOKEN = "a-long-random-token-" + "7" * 40
PATH = "/ops/sweep-stalled"


@pytest.fixture
def relay(monkeypatch):
    with Server() as server:
        monkeypatch.setenv("ESCALATION_SMTP_URL", server.url())
        monkeypatch.setenv("ESCALATION_OPS_TOKEN", TOKEN)
        get_settings.cache_clear()
        yield server
    get_settings.cache_clear()


def _call(client, token: str | None = TOKEN):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    client.headers.pop("Origin", None)  # as Prefect's webhook block posts: no Origin
    return client.post(PATH, json={"subject": "s", "body": "b"}, headers=headers)


def _start_clock(sessions, at) -> None:
    with transaction(sessions) as session:
        health.expect_sweeps(session, SWEEP, at)


def test_a_stalled_sweep_sends_the_alarm_at_once_and_only_once(client, sessions, clock, relay):
    _start_clock(sessions, MONDAY - timedelta(minutes=4))
    answer = _call(client)
    assert answer.status_code == 200
    assert answer.json() == {
        "expected": True,
        "stalled": True,
        "message": "no sweep has completed since 2026-11-23 09:56:00 UTC (240 s; limit 180 s): "
        "deadlines are not being enforced",
        "alarm_emails_sent": 1,
        "alarm_emails_waiting": 0,
    }
    [alarm] = relay.messages
    assert alarm["To"] == MANAGER and "ALARM" in alarm["Subject"]
    clock["now"] = MONDAY + timedelta(minutes=3)  # the automation calls again: the same stall
    assert _call(client).json()["alarm_emails_sent"] == 0
    assert len(relay.messages) == 1
    with transaction(sessions) as session:
        assert session.execute(select(Alert.kind, Alert.count)).one() == ("sweep_stalled", 2)


def test_a_running_sweep_sends_nothing(client, sessions, relay):
    _start_clock(sessions, MONDAY - timedelta(minutes=1))
    answer = _call(client).json()
    assert (answer["stalled"], answer["alarm_emails_sent"]) == (False, 0)
    assert relay.messages == []


def test_a_wrong_or_missing_token_is_401_and_changes_nothing(client, sessions, relay):
    _start_clock(sessions, MONDAY - timedelta(minutes=4))
    for token in ("wrong", TOKEN + "x", None):
        answer = _call(client, token)
        assert answer.status_code == 401 and answer.json() == {"error": "unauthorised"}
    with transaction(sessions) as session:
        assert session.execute(select(Alert)).first() is None
    assert relay.messages == []


def test_without_a_configured_token_the_route_is_not_there(client, monkeypatch):
    monkeypatch.delenv("ESCALATION_OPS_TOKEN", raising=False)
    get_settings.cache_clear()
    assert _call(client).status_code == 404
    assert _call(client, token="None").status_code == 404
