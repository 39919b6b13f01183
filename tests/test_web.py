"""The web service through its HTTP interface (FastAPI's test client, a real database):
the JSON API and the pages behind emailed links."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from escalation.access import apikeys
from escalation.casework import disagreements as d
from escalation.casework.sweep import run_sweep
from escalation.outbox import links
from escalation.store.db import transaction
from escalation.store.models import Event, LinkToken, OutboxMessage
from tests.board_helpers import act_on_link, csrf_of, open_case
from tests.factories import (
    COUNTERPART,
    MONDAY,
    NAMED,
    ORIGIN,
    RAISER,
    due_at,
    raise_data,
    raise_one,
)
from tests.web_helpers import emailed_link

# The resolve form's learning, as a browser posts it (a list for the checkboxes).
LEARNING_FIELDS = {
    "learning_themes": ["thresholds"],
    "systemic": "no",
    "lesson": "Thresholds were read differently by the two teams",
}


def _snapshot(sessions, reference: str) -> tuple:
    with transaction(sessions) as session:
        row = d.get(session, reference)
        changes = session.execute(
            select(func.count()).select_from(Event).where(Event.kind != "view")
        ).scalar_one()
        spent = session.execute(
            select(func.count()).select_from(LinkToken).where(LinkToken.used_at.is_not(None))
        ).scalar_one()
        return (
            row.status,
            row.stage_key,
            row.stage_acknowledged_at,
            row.row_version,
            changes,
            spent,
        )


def choices_of(page: str) -> list[str]:
    """The values of the case page's "What do you want to do?" radios."""
    return re.findall(r'name="choice" type="radio" value="([^"]+)"', page)


def buttons_of(page: str) -> list[str]:
    return [b.strip() for b in re.findall(r"<button[^>]*>(.*?)</button>", page, re.S)]


# --- the JSON API -------------------------------------------------------------------------------


def test_the_api_needs_a_key(client):
    response = client.get("/api/v1/disagreements")
    assert response.status_code == 401 and "X-API-Key" in response.json()["error"]
    assert (
        client.get("/api/v1/disagreements", headers={"X-API-Key": "rpd_wrong"}).status_code == 401
    )


def test_raise_read_and_list_through_the_api(client, key, clock):
    headers = {"X-API-Key": key, "Idempotency-Key": "case-system-123"}
    body = raise_data(raised_at="2026-11-20T09:00:00+00:00")
    created = client.post("/api/v1/disagreements", json=body, headers=headers)
    assert created.status_code == 201, created.text
    record = created.json()
    reference = record["reference"]
    assert record["stage"]["owner"]["email"] == RAISER
    assert record["stage"]["due_at"].startswith("2026-11-27T17:00")  # from raised_at, by phone
    again = client.post("/api/v1/disagreements", json=body, headers=headers)
    assert again.status_code == 200 and again.json()["reference"] == reference
    got = client.get(f"/api/v1/disagreements/{reference}", headers={"X-API-Key": key}).json()
    assert [e["kind"] for e in got["chronology"]] == ["raise", "view"]  # the read is on record
    assert got["chronology"][1]["actor"] == "api:example trust"
    clock["now"] = MONDAY + timedelta(days=10)
    overdue = client.get(
        "/api/v1/disagreements?status=open&overdue=true", headers={"X-API-Key": key}
    )
    assert [row["reference"] for row in overdue.json()] == [reference]
    assert overdue.json()[0]["stage"]["overdue"] is True


def test_bad_input_names_each_field(client, key):
    body = raise_data(category="gossip", child_reference="")
    body["raiser"]["email"] = "not an email"
    del body["reason"]
    response = client.post("/api/v1/disagreements", json=body, headers={"X-API-Key": key})
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {
        "category",
        "child_reference",
        "raiser.email",
        "reason",
    }
    wrong_org = raise_data()
    wrong_org["raiser"]["organisation"] = "Another Trust"
    response = client.post("/api/v1/disagreements", json=wrong_org, headers={"X-API-Key": key})
    assert response.status_code == 422 and "raiser.organisation" in response.json()["errors"]
    response = client.post(
        "/api/v1/disagreements",
        content=b"{not json",
        headers={"X-API-Key": key, "Content-Type": "application/json"},
    )
    assert response.status_code == 422


def test_a_key_sees_only_its_organisations_disagreements(client, key, sessions):
    reference = raise_one(sessions, MONDAY)
    with transaction(sessions) as session:
        other = apikeys.create_key(
            session, organisation="Elsewhere Trust", partnership="example-partnership", now=MONDAY
        )
        counterpart = apikeys.create_key(
            session, organisation="Example Council", partnership="example-partnership", now=MONDAY
        )
    assert (
        client.get(f"/api/v1/disagreements/{reference}", headers={"X-API-Key": other}).status_code
        == 404
    )
    assert (
        client.get(
            f"/api/v1/disagreements/{reference}", headers={"X-API-Key": counterpart}
        ).status_code
        == 200
    )
    assert (
        client.get("/api/v1/disagreements/RPD-NONE-XIST", headers={"X-API-Key": key}).status_code
        == 404
    )


# --- emailed links -------------------------------------------------------------------------------


def test_a_get_shows_only_whom_the_link_is_for_and_changes_nothing(client, sessions):
    reference = raise_one(sessions, MONDAY)
    path = emailed_link(sessions, RAISER)
    before = _snapshot(sessions, reference)
    scanner = {"User-Agent": "Mozilla/5.0 (compatible; SafeLinks scanner) HeadlessChrome"}
    for headers in ({}, scanner, scanner):
        page = client.get(path, headers=headers)
        assert page.status_code == 200
    assert client.head(path).status_code == 200
    assert _snapshot(sessions, reference) == before
    html = page.text
    assert reference in html and "Hana (the owner of this stage)" in html
    for case_text in ("TEST-CHILD-1", "Weight static", "Sam Social", "sam.social", RAISER):
        assert case_text not in html
    buttons = [b.strip() for b in re.findall(r"<button[^>]*>(.*?)</button>", html, re.S)]
    assert buttons == ["Continue"]
    with transaction(sessions) as session:
        assert session.execute(select(Event).where(Event.kind == "view")).scalars().all() == []
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "object-src 'none'" in page.headers["Content-Security-Policy"]


def test_continue_opens_the_case_in_a_session_and_records_one_view(client, sessions):
    reference = raise_one(sessions, MONDAY)
    path = emailed_link(sessions, RAISER)
    case = open_case(client, path)
    assert case.status_code == 200 and "TEST-CHILD-1" in case.text and reference in case.text
    assert "What do you want to do?" in case.text
    assert choices_of(case.text) == [
        "acknowledge",
        "resolve",
        "convene_meeting",
        "hand_to_deputy",
        "escalate",
        "change_counterpart",
        "make_urgent",
    ]
    assert buttons_of(case.text) == ["Continue"]  # one question, not every form at once
    assert "TEST-CHILD-1" in client.get(path).text  # reloading within the session
    with transaction(sessions) as session:
        views = session.execute(select(Event).where(Event.kind == "view")).scalars().all()
    assert [v.actor for v in views] == [RAISER]  # Continue is the view; reloading is not
    stranger = TestClient(client.app, headers={"Origin": ORIGIN})
    assert "TEST-CHILD-1" not in stranger.get(path).text  # no session there
    client.cookies.set("rpd_link", "forged-session-id")
    assert "TEST-CHILD-1" not in client.get(path).text


def test_resolve_once_then_every_link_of_the_case_ends(client, sessions):
    reference = raise_one(sessions, MONDAY)
    path = emailed_link(sessions, RAISER)
    counterpart = emailed_link(sessions, COUNTERPART, kind="stage_update")
    csrf = csrf_of(open_case(client, path).text)
    missing = client.post(
        path, data={"action": "resolve", "csrf": csrf, "summary": "We agreed (typed text kept)"}
    )
    assert missing.status_code == 422
    assert "There is a problem" in missing.text and 'href="#outcome"' in missing.text
    assert "We agreed (typed text kept)" in missing.text
    done = client.post(
        path,
        data={
            "action": "resolve",
            "outcome": "decision_changed",
            "csrf": csrf_of(missing.text),
            "summary": "Strategy discussion agreed",
            **LEARNING_FIELDS,
        },
    )
    assert done.status_code == 200 and "You have resolved" in done.text
    with transaction(sessions) as session:
        assert d.get(session, reference).status == "resolved"
    for second in (
        client.get(path),
        client.post(path, data={"action": "acknowledge"}),
        client.get(counterpart),
        client.post(f"{counterpart}/continue"),
    ):
        assert second.status_code == 404 and "This link cannot be used" in second.text
        assert "TEST-CHILD-1" not in second.text and reference not in second.text


def test_the_owner_acknowledges_today_and_resolves_tomorrow_from_the_same_link(
    client, sessions, clock
):
    reference = raise_one(sessions, MONDAY)
    path = emailed_link(sessions, RAISER)
    response = act_on_link(client, path, "acknowledge")
    assert response.status_code == 200 and response.url.path == path
    assert "You have acknowledged this stage" in response.text  # the success banner
    assert choices_of(response.text)[:4] == [
        "resolve",
        "convene_meeting",
        "hand_to_deputy",
        "escalate",
    ]
    # Still within the same session and link: the resolve page opens, and a reload still works.
    assert client.get(f"{path}/do/resolve").status_code == 200
    assert "TEST-CHILD-1" in client.get(path).text
    with transaction(sessions) as session:
        assert d.get(session, reference).stage_acknowledged_at == MONDAY
    clock["now"] = MONDAY + timedelta(days=1)  # the session has ended; the link has not
    assert "Continue" in client.get(path).text and "TEST-CHILD-1" not in client.get(path).text
    done = act_on_link(
        client, path, "resolve", outcome="decision_changed", summary="Agreed", **LEARNING_FIELDS
    )
    assert done.status_code == 200 and "You have resolved" in done.text


def test_a_form_sent_twice_acts_once(client, sessions):
    raise_one(sessions, MONDAY)
    path = emailed_link(sessions, COUNTERPART, kind="stage_update")
    csrf = csrf_of(open_case(client, path).text)
    form = {"action": "respond", "csrf": csrf, "position": "decision_stands", "response": "Once"}
    assert client.post(path, data=form).status_code == 200
    again = client.post(path, data=form)
    assert again.status_code == 409 and "already been sent" in again.text
    no_csrf = client.post(path, data={**form, "csrf": ""})
    assert no_csrf.status_code == 409
    with transaction(sessions) as session:
        assert (
            session.execute(
                select(func.count()).select_from(Event).where(Event.kind == "respond")
            ).scalar_one()
            == 1
        )
    # The counterpart may still update their response, from a freshly shown page.
    assert (
        act_on_link(
            client, path, "respond", position="decision_changed", response="Now changed"
        ).status_code
        == 200
    )


def test_two_concurrent_posts_of_one_form_act_once(client, sessions):
    reference = raise_one(sessions, MONDAY)
    path = emailed_link(sessions, RAISER)
    csrf = csrf_of(open_case(client, path).text)
    barrier, statuses = threading.Barrier(2), []

    def post():
        barrier.wait()
        statuses.append(
            client.post(
                path, data={"action": "escalate", "reason": "No reply", "csrf": csrf}
            ).status_code
        )

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses.count(200) == 1 and set(statuses) - {200} <= {404, 409}
    with transaction(sessions) as session:
        assert d.get(session, reference).stage_key == "named_professional"
        assert (
            session.execute(
                select(func.count()).select_from(Event).where(Event.kind == "escalate")
            ).scalar_one()
            == 1
        )


def test_links_are_bound_to_their_stage_and_holder(client, sessions):
    reference = raise_one(sessions, MONDAY)
    owner_link = emailed_link(sessions, RAISER)
    counterpart_link = emailed_link(sessions, COUNTERPART, kind="stage_update")
    before = _snapshot(sessions, reference)
    refused = client.post(
        counterpart_link, data={"action": "resolve", "outcome": "decision_changed", "summary": "x"}
    )
    assert refused.status_code == 404 and _snapshot(sessions, reference) == before
    assert client.get(counterpart_link).status_code == 200  # the counterpart may read it
    tampered = owner_link[:-1] + ("A" if owner_link[-1] != "A" else "B")
    for bad in (tampered, owner_link[:-5], "/l/" + "x" * 5000, "/l/%00"):
        assert client.get(bad).status_code == 404
    run_sweep(sessions, now=due_at(sessions, reference))  # escalated: the old stage's links end
    assert client.get(owner_link).status_code == 404
    assert client.post(owner_link, data={"action": "acknowledge"}).status_code == 404
    assert client.get(emailed_link(sessions, NAMED)).status_code == 200


def test_a_cross_site_post_is_refused(client, sessions):
    reference = raise_one(sessions, MONDAY)
    path = emailed_link(sessions, RAISER)
    before = _snapshot(sessions, reference)
    evil = client.post(
        path, data={"action": "acknowledge"}, headers={"Origin": "https://evil.example"}
    )
    assert evil.status_code == 403
    assert _snapshot(sessions, reference) == before


def test_nul_characters_are_refused_and_markup_is_shown_as_text(client, key, sessions):
    with_nul = client.post(
        "/api/v1/disagreements", json=raise_data(reason="a\u0000b"), headers={"X-API-Key": key}
    )
    assert with_nul.status_code == 422 and "reason" in with_nul.json()["errors"]
    payload = '<script>alert(1)</script>"><img src=x onerror=alert(1)> {{7*7}}'
    created = client.post(
        "/api/v1/disagreements", json=raise_data(reason=payload), headers={"X-API-Key": key}
    )
    assert created.status_code == 201 and created.json()["reason"] == payload
    page = open_case(client, emailed_link(sessions, RAISER)).text
    assert "<script>alert(1)</script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "{{7*7}}" in page


def test_the_counterpart_records_a_response_that_reaches_the_owner(client, sessions):
    reference = raise_one(sessions, MONDAY)
    path = emailed_link(sessions, COUNTERPART, kind="stage_update")
    page = open_case(client, path).text
    buttons = [b.strip() for b in re.findall(r"<button[^>]*>(.*?)</button>", page, re.S)]
    assert buttons == ["Record your response"]
    empty = client.post(
        path, data={"action": "respond", "response": "kept text", "csrf": csrf_of(page)}
    )
    assert (
        empty.status_code == 422 and 'href="#position"' in empty.text and "kept text" in empty.text
    )
    done = client.post(
        path,
        data={
            "action": "respond",
            "position": "decision_stands",
            "csrf": csrf_of(empty.text),
            "response": "Threshold not met; reviewed by the team manager",
        },
    )
    assert done.status_code == 200 and "recorded" in done.text
    with transaction(sessions) as session:
        event = session.execute(select(Event).where(Event.kind == "respond")).scalar_one()
        assert event.actor == COUNTERPART and "Threshold not met" in event.note
        sent = session.execute(
            select(OutboxMessage).where(OutboxMessage.kind == "counterpart_response")
        ).scalar_one()
        assert sent.recipient_email == RAISER and d.get(session, reference).status == "open"


def test_guessing_links_is_rate_limited(client, clock):
    statuses = [client.get(f"/l/guess{number}").status_code for number in range(61)]
    assert statuses[:60] == [404] * 60 and statuses[60] == 429
    limited = client.get("/l/guess-again")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "60"
    clock["now"] = MONDAY + timedelta(minutes=1, seconds=1)
    assert client.get("/l/guess-later").status_code == 404


def test_a_null_origin_is_judged_by_fetch_metadata(client, sessions):
    reference = raise_one(sessions, MONDAY)
    path = emailed_link(sessions, RAISER)
    csrf = csrf_of(open_case(client, path).text)
    before = _snapshot(sessions, reference)
    form = {"action": "acknowledge", "csrf": csrf}
    for refused in ({"Origin": "null", "Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}):
        cross = client.post(path, data=form, headers=refused)
        assert cross.status_code == 403 and _snapshot(sessions, reference) == before
    same = client.post(
        path,
        data=form,
        follow_redirects=False,
        headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"},
    )
    assert same.status_code == 303


# Demo mode runs only on SQLite (tests/test_settings.py shows PostgreSQL refused).
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_captured_email_viewer_exists_only_in_demo_mode(
    client, sessions, tmp_path, monkeypatch
):
    from escalation.settings import get_settings

    client = TestClient(client.app, headers={"Origin": ORIGIN}, client=("127.0.0.1", 50000))
    assert client.get("/demo/mail").status_code == 404
    (tmp_path / "20261123T100000000000-000001.eml").write_bytes(
        b"To: hana.visitor@trust.example\r\nSubject: RPD-TEST-0001: you now own stage 1\r\n"
        b"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\nOpen it here:\r\nhttp://127.0.0.1:8000/l/abc\r\n"
    )
    monkeypatch.setenv("ESCALATION_DEMO", "true")
    monkeypatch.setenv("ESCALATION_MAIL_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        inbox = client.get("/demo/mail")
        assert inbox.status_code == 200 and "RPD-TEST-0001: you now own stage 1" in inbox.text
        one = client.get("/demo/mail/20261123T100000000000-000001.eml")
        assert 'href="http://127.0.0.1:8000/l/abc"' in one.text
        assert client.get("/demo/mail/..%2Fescalation.db").status_code == 404
    finally:
        get_settings.cache_clear()


def test_a_fresh_link_goes_only_to_the_address_on_record(client, sessions):
    reference = raise_one(sessions, MONDAY)
    neutral = client.get("/l/expired-or-unknown")
    assert "Send me a new link" in neutral.text
    for email in (RAISER, "stranger@elsewhere.example"):
        answer = client.post("/l/resend", data={"email": email})
        assert answer.status_code == 200 and "If that address has a part" in answer.text
    with transaction(sessions) as session:
        fresh = (
            session.execute(select(OutboxMessage).where(OutboxMessage.kind == "fresh_links"))
            .scalars()
            .all()
        )
        assert [row.recipient_email for row in fresh] == [RAISER]
        [path] = links.links_for(session, fresh[0], base_url="", now=MONDAY)
    page = open_case(client, path)
    assert page.status_code == 200 and reference in page.text and "Acknowledge" in page.text


def test_no_raw_token_reaches_the_database_or_the_logs(client, sessions, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    raise_one(sessions, MONDAY)
    path = emailed_link(sessions, RAISER)
    token = path.rsplit("/", 1)[1]
    client.get(path)
    act_on_link(client, path, "resolve", summary="missing outcome")
    act_on_link(
        client, path, "resolve", outcome="decision_changed", summary="Done", **LEARNING_FIELDS
    )
    client.get(path)
    # Every log record the service wrote (the test client's own httpx log names its URLs).
    service_logs = "\n".join(
        r.getMessage() for r in caplog.records if not r.name.startswith("httpx")
    )
    assert caplog.records and token not in service_logs
    with transaction(sessions) as session:
        connection = session.connection()
        for table in (
            "link_tokens",
            "link_sessions",
            "outbox",
            "events",
            "disagreements",
            "web_sessions",
        ):
            for row in connection.exec_driver_sql(f"SELECT * FROM {table}"):
                assert token not in " ".join(str(value) for value in row), table


def test_a_link_ends_when_its_holder_no_longer_owns_the_stage(client, sessions):
    reference = raise_one(sessions, MONDAY)
    run_sweep(sessions, now=due_at(sessions, reference))  # to the named professional
    named_link = emailed_link(sessions, NAMED)
    assert client.get(named_link).status_code == 200
    with transaction(sessions) as session:
        d.hand_to_deputy(session, reference=reference, actor=NAMED, now=MONDAY + timedelta(days=8))
    assert client.get(named_link).status_code == 404
    assert client.post(named_link, data={"action": "acknowledge"}).status_code == 404
    assert client.get(emailed_link(sessions, "nathan.nurse@trust.example")).status_code == 200
