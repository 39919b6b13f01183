"""Issue 10, points 4 and 7: API keys are scoped to their partnership, revocable and may expire;
the raiser an agency system names is its word only; dates and references out of range are a 4xx
naming the field, never a 500 or a 503 (SQLite and PostgreSQL, through the HTTP interface)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from escalation.access import apikeys
from escalation.directory.admin import PersonForm, save_person
from escalation.directory.csv_rows import export_csv
from escalation.directory.partnership_csv import export_partnership_csv
from escalation.directory.people import find_person
from escalation.store.db import transaction
from escalation.store.models import Disagreement, OutboxMessage
from tests.board_helpers import board_sign_in
from tests.factories import (
    CHAIR,
    DESIGNATED,
    DIRECTORY_CSV,
    MANAGER,
    MONDAY,
    directory_row,
    load_directory,
    raise_data,
    raise_one,
)
from tests.raise_helpers import FORM_IN_AREA, area_form_page
from tests.web_helpers import sign_in

NEWCOMER = "nell.newcomer@trust.example"


def _as_newcomer(**overrides) -> dict:
    """A raise whose raiser (of the key's organisation) is not in the directory."""
    body = raise_data(**overrides)
    body["raiser"] = {
        "name": "Nell Newcomer",
        "email": NEWCOMER,
        "organisation": "Example Trust",
        "role": "School nurse",
    }
    return body


def _post(client, key, body):
    return client.post("/api/v1/disagreements", json=body, headers={"X-API-Key": key})


def _count(sessions, model) -> int:
    with transaction(sessions) as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def _sign_in_emails(sessions, email: str) -> int:
    with transaction(sessions) as session:
        return session.execute(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == "sign_in", OutboxMessage.recipient_email == email)
        ).scalar_one()


# --- point 4: keys are scoped and revocable ------------------------------------------------------


def test_a_key_cannot_raise_under_another_partnerships_policy(client, key, sessions):
    response = _post(client, key, _as_newcomer(policy="four-stage"))  # lakeside-partnership's
    assert response.status_code == 422
    assert "policy" in response.json()["errors"]
    assert "known: default" in response.json()["errors"]["policy"]  # only its own are named
    assert _count(sessions, Disagreement) == 0
    with transaction(sessions) as session:
        assert find_person(session, NEWCOMER) is None
    assert _post(client, key, _as_newcomer(policy="default")).status_code == 201


def test_a_key_that_names_no_policy_raises_under_its_own_partnerships(client, sessions):
    with transaction(sessions) as session:
        lakeside = apikeys.create_key(
            session, organisation="Example Trust", partnership="lakeside-partnership", now=MONDAY
        )
    body = _as_newcomer()
    body["counterpart"] = {  # in the directory: accepted whatever Lakeside's secure domains are
        "name": "Dev Designated",
        "email": DESIGNATED,
        "organisation": "Example ICB",
        "role": "Designated doctor",
    }
    created = _post(client, lakeside, body)
    assert created.status_code == 201, created.text
    with transaction(sessions) as session:
        row = session.execute(select(Disagreement)).scalar_one()
        assert (row.partnership, row.policy_id) == ("lakeside-partnership", "four-stage")
        assert find_person(session, NEWCOMER).partnership == "lakeside-partnership"


def test_a_raiser_named_by_an_agency_system_owns_the_stage_but_cannot_sign_in(
    client, key, sessions
):
    created = _post(client, key, _as_newcomer())
    assert created.status_code == 201, created.text
    assert created.json()["stage"]["owner"]["email"] == NEWCOMER  # stage 1 is the raiser's
    assert client.post("/signin", data={"email": NEWCOMER}).status_code == 200
    assert _sign_in_emails(sessions, NEWCOMER) == 0


def test_an_agency_named_raiser_is_left_out_of_directory_exports(client, key, sessions):
    assert _post(client, key, _as_newcomer()).status_code == 201
    with transaction(sessions) as session:
        exports = (export_csv(session), export_partnership_csv(session, "example-partnership"))
    for text in exports:
        assert NEWCOMER not in text and "hana.visitor@trust.example" in text


def test_a_directory_import_lets_an_agency_named_raiser_sign_in(client, key, sessions):
    assert _post(client, key, _as_newcomer()).status_code == 201
    load_directory(
        sessions,
        DIRECTORY_CSV
        + (
            directory_row(
                "Nell Newcomer",
                NEWCOMER,
                "Example Trust",
                "example-partnership",
                "practitioner",
                "School nurse",
            )
        ),
    )
    client.post("/signin", data={"email": NEWCOMER})
    assert _sign_in_emails(sessions, NEWCOMER) == 1


def test_the_boards_edit_lets_an_agency_named_raiser_sign_in(client, key, sessions):
    assert _post(client, key, _as_newcomer()).status_code == 201
    with transaction(sessions) as session:
        person = find_person(session, NEWCOMER)
        save_person(
            session, partnership="example-partnership", form=PersonForm.of(person), person=person
        )
    client.post("/signin", data={"email": NEWCOMER})
    assert _sign_in_emails(sessions, NEWCOMER) == 1


@pytest.mark.parametrize("board_email", [MANAGER, CHAIR])
def test_an_agency_system_cannot_name_a_board_manager_or_chair_as_the_raiser(
    client, key, sessions, board_email
):
    body = raise_data()
    body["raiser"]["email"] = board_email
    response = _post(client, key, body)
    assert response.status_code == 422
    assert "raiser.email" in response.json()["errors"]
    assert _count(sessions, Disagreement) == 0


def test_a_revoked_key_gets_401_at_once(client, key, sessions):
    headers = {"X-API-Key": key}
    assert client.get("/api/v1/disagreements", headers=headers).status_code == 200
    with transaction(sessions) as session:
        apikeys.revoke(session, key[:12], now=MONDAY)
    assert client.get("/api/v1/disagreements", headers=headers).status_code == 401
    assert _post(client, key, raise_data()).status_code == 401


def test_a_key_past_its_expiry_gets_401(client, sessions, clock):
    with transaction(sessions) as session:
        expiring = apikeys.create_key(
            session,
            organisation="Example Trust",
            partnership="example-partnership",
            now=MONDAY,
            expires_at=MONDAY + timedelta(days=30),
        )
    headers = {"X-API-Key": expiring}
    clock["now"] = MONDAY + timedelta(days=30) - timedelta(seconds=1)
    assert client.get("/api/v1/disagreements", headers=headers).status_code == 200
    clock["now"] = MONDAY + timedelta(days=30)
    response = client.get("/api/v1/disagreements", headers=headers)
    assert response.status_code == 401 and "X-API-Key" in response.json()["error"]


# --- point 7: dates in range -------------------------------------------------------------------


@pytest.mark.parametrize(
    "raised_at",
    [
        "0001-01-01T00:00:00+00:00",  # observed: 500 (OverflowError), then a reset connection
        "0001-01-01T00:00:00+01:00",  # no UTC equivalent at all
        "9999-12-31T23:59:59-01:00",
        "1999-12-31T23:59:59+00:00",  # before 2000: not a disagreement this service could hold
    ],
)
def test_a_raised_at_out_of_range_is_422_naming_it_and_the_next_request_is_served(
    client, key, sessions, raised_at
):
    body = raise_data(raised_at=raised_at, decision_date="1999-12-01")
    response = _post(client, key, body)
    assert response.status_code == 422, response.text
    assert set(response.json()["errors"]) == {"raised_at"}
    assert client.get("/api/v1/disagreements", headers={"X-API-Key": key}).status_code == 200
    assert _count(sessions, Disagreement) == 0


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"decision_date": "2026-11-24"}, "decision_date"),  # tomorrow, by the service's clock
        ({"decision_date": "1899-12-31"}, "decision_date"),
        ({"decision_date": "0001-01-01"}, "decision_date"),
        ({"decision_date": "2026-11-20", "raised_at": "2026-11-19T09:00:00+00:00"}, "raised_at"),
        ({"raised_at": "2026-11-23T10:00:01+00:00"}, "raised_at"),  # a second in the future
    ],
)
def test_dates_the_service_cannot_have_seen_are_refused_by_the_api(
    client, key, sessions, overrides, field
):
    response = _post(client, key, raise_data(**overrides))
    assert response.status_code == 422, response.text
    assert set(response.json()["errors"]) == {field}
    assert _count(sessions, Disagreement) == 0


def test_the_decision_may_be_today_and_today_is_the_callers(client, key, clock):
    assert _post(client, key, raise_data(decision_date="2026-11-23")).status_code == 201
    clock["now"] = MONDAY - timedelta(days=5)
    response = _post(client, key, raise_data(decision_date="2026-11-20", child_reference="TEST-2"))
    assert response.status_code == 422 and "decision_date" in response.json()["errors"]


@pytest.mark.parametrize(
    "year, month, day, words",
    [
        ("99999999999", "11", "20", "The date of the decision must be a real date"),  # was a 500
        ("2026", "2", "30", "The date of the decision must be a real date"),
        ("2026", "11", "24", "The date of the decision must be today or in the past"),
        (
            "1899",
            "12",
            "31",
            "The date of the decision must be the same as or after 1 January 1900",
        ),
    ],
)
def test_the_form_names_a_decision_date_out_of_range_in_govuk_words(
    client, sessions, year, month, day, words
):
    sign_in(client, sessions)
    _, csrf, form_id = area_form_page(client)
    data = {
        **FORM_IN_AREA,
        "csrf": csrf,
        "form_id": form_id,
        "decision_date-year": year,
        "decision_date-month": month,
        "decision_date-day": day,
    }
    response = client.post("/raise", data=data)
    assert response.status_code == 422
    assert "There is a problem" in response.text
    assert f'<a href="#decision_date-day">{words}</a>' in response.text
    assert _count(sessions, Disagreement) == 0


# --- point 7: references are checked before the database sees them ----------------------------

MALFORMED = ["AB%00C", "RPD-ABCD-EFG%00", "RPD-" + "A" * 5000, "%E2%80%AE"]


@pytest.fixture
def statements(engine):
    """The SQL the service sends from now on."""
    sent: list[str] = []

    def listener(conn, cursor, statement, *rest):
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    yield sent
    event.remove(engine, "before_cursor_execute", listener)


@pytest.mark.parametrize("reference", MALFORMED)
def test_a_path_that_is_not_a_reference_is_404_without_asking_the_database(
    client, key, sessions, statements, reference
):
    raise_one(sessions, MONDAY)
    statements.clear()
    response = client.get(f"/api/v1/disagreements/{reference}", headers={"X-API-Key": key})
    assert response.status_code == 404 and response.json() == {"error": "not found"}
    assert not [sql for sql in statements if "FROM disagreements" in sql]


@pytest.mark.parametrize("reference", MALFORMED)
def test_a_board_case_path_that_is_not_a_reference_is_404_without_asking_the_database(
    client, sessions, clock, statements, reference
):
    raise_one(sessions, MONDAY)
    board_sign_in(client, sessions, clock, MANAGER)
    statements.clear()
    assert client.get(f"/board/d/{reference}").status_code == 404
    assert not [sql for sql in statements if "FROM disagreements" in sql]


def test_a_reference_typed_in_lower_case_is_still_found(client, key, sessions):
    reference = raise_one(sessions, MONDAY)
    response = client.get(f"/api/v1/disagreements/{reference.lower()}", headers={"X-API-Key": key})
    assert response.status_code == 200 and response.json()["reference"] == reference
