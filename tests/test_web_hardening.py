"""The web tier's own safeguards (issue 10): no route blocks the event loop, every form field is
checked before any route sees it, logs hold no tokens or case text, cross-site posts refused."""

from __future__ import annotations

import inspect
import logging

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import func, select, text

from escalation.casework import disagreements as d
from escalation.store.db import transaction
from escalation.store.models import Event
from escalation.web.app import create_app
from escalation.web.forms import MAX_TEXT, posted_form
from tests.board_helpers import act_on_link, link_path
from tests.factories import COUNTERPART, MONDAY, raise_one

SENTINEL = "Qwertyuiop family"


def _api_routes(app):
    for route in app.routes:
        for inner in getattr(getattr(route, "original_router", None), "routes", [route]):
            if isinstance(inner, APIRoute):
                yield inner


def _dependencies(dependant):
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _dependencies(dependency)


def test_no_route_or_dependency_runs_on_the_event_loop_but_reading_the_form(sessions):
    app = create_app(sessions)
    coroutines = []
    for route in _api_routes(app):
        calls = [route.endpoint, *_dependencies(route.dependant)]
        coroutines += [
            f"{route.path}: {call.__qualname__}"
            for call in calls
            if inspect.iscoroutinefunction(call) and call is not posted_form
        ]
    assert len(list(_api_routes(app))) > 30
    assert coroutines == []


def _form_routes(app):
    for route in _api_routes(app):
        if "POST" in route.methods and not route.path.startswith(("/api", "/ops/")):
            yield (
                route.path.replace("{token}", "x" * 43)
                .replace("{reference}", "RPD-AAAA-AAAA")
                .replace("{person_id}", "1")
            )


def test_every_form_refuses_a_nul_or_overlong_field_naming_it(client):
    paths = list(_form_routes(client.app))
    assert (
        "/raise" in paths and "/raise/answer" in paths and "/board/d/RPD-AAAA-AAAA/close" in paths
    )
    for path in paths:
        for value, words in (("a\x00b", "NUL"), ("x" * (MAX_TEXT + 1), f"{MAX_TEXT:,} characters")):
            response = client.post(path, data={"summary_of_it": value})
            assert response.status_code == 422, (path, response.status_code)
            assert "summary_of_it" in response.text and words in response.text, path
            assert "govuk-error-summary" in response.text


def test_a_nul_in_a_link_page_text_is_refused_and_nothing_is_stored(client, sessions):
    reference = raise_one(sessions, now=MONDAY)
    path = link_path(sessions, COUNTERPART, "stage_update", MONDAY)
    before = _chronology_length(sessions, reference)
    response = act_on_link(
        client, path, "respond", position="decision_stands", response="because\x00"
    )
    assert response.status_code == 422 and "response" in response.text
    assert _chronology_length(sessions, reference) == before


def _chronology_length(sessions, reference: str) -> int:
    with transaction(sessions) as session:
        row = d.get(session, reference)
        return session.execute(
            select(func.count())
            .select_from(Event)
            .where(Event.disagreement_id == row.id, Event.kind != "view")
        ).scalar_one()


def _fail_with(monkeypatch, error_factory):
    """Make recording a counterpart's response fail the way `error_factory` says."""

    def failing(session, *, reference, actor, now, position, text):
        error_factory(session, text)

    monkeypatch.setattr(d, "record_response", failing)


def _database_error(session, text_value):
    # A real database error whose message carries the statement's parameters.
    session.execute(text("SELECT * FROM no_such_table WHERE note = :note"), {"note": text_value})


def _unexpected_error(session, text_value):
    raise RuntimeError(f"could not store {text_value}")


@pytest.mark.parametrize(
    "error_factory, status", [(_database_error, 503), (_unexpected_error, 500)]
)
def test_an_error_logs_no_token_and_no_case_text(
    client, sessions, monkeypatch, caplog, error_factory, status
):
    raise_one(sessions, now=MONDAY)
    path = link_path(sessions, COUNTERPART, "stage_update", MONDAY)
    token = path.rsplit("/", 1)[1]
    _fail_with(monkeypatch, error_factory)
    with caplog.at_level(logging.DEBUG):
        response = act_on_link(
            client, path, "respond", position="decision_stands", response=f"{SENTINEL} {token}"
        )
    assert response.status_code == status
    logged = "\n".join(  # the service's records (httpx, the test's client, logs its URLs)
        record.getMessage() + (record.exc_text or "") + str(record.exc_info or "")
        for record in caplog.records
        if not record.name.startswith(("httpx", "httpcore"))
    )
    assert "incident" in logged and "/l/{token}" in logged
    assert token not in logged and SENTINEL not in logged and "Qwertyuiop" not in logged


def test_origin_null_without_fetch_metadata_is_refused(client):
    refused = client.post("/l/resend", data={"email": "a@b.example"}, headers={"Origin": "null"})
    assert refused.status_code == 403
    allowed = client.post(
        "/l/resend",
        data={"email": "a@b.example"},
        headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"},
    )
    assert allowed.status_code == 200
    cross = client.post(
        "/l/resend",
        data={"email": "a@b.example"},
        headers={"Origin": "null", "Sec-Fetch-Site": "cross-site"},
    )
    assert cross.status_code == 403
