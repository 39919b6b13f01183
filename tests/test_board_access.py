"""The authorisation matrix: every route of the app × (anonymous, practitioner, link holder,
board manager of another partnership, board manager, chair). Only the cells listed succeed.

"Succeeds" means the request got past authorisation: any status below 500 except 401, 403, 404
and a redirect to the second-factor page. POSTs carry no valid form data, so an allowed POST
gets a validation error (422) and changes nothing. A route missing from EXPECTED fails the test:
a new route must say who may use it.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from escalation.directory.csv_rows import import_csv
from escalation.store.db import transaction
from escalation.store.models import Person, StageRecord, WebSession
from escalation.web.app import create_app
from tests.board_helpers import board_sign_in, csrf_of, link_path, open_case
from tests.databases import Shared
from tests.factories import CHAIR, MANAGER, MONDAY, NAMED, ORIGIN, RAISER, load_directory, raise_one

PERSONAS = ("anonymous", "practitioner", "link_holder", "other_manager", "manager", "chair")
EVERYONE = set(PERSONAS)
SIGNED_IN = {"practitioner", "other_manager", "manager", "chair"}
BOARD_PEOPLE = {"other_manager", "manager", "chair"}
OURS = {"manager", "chair"}
OTHER_MANAGER = "olga.other@other-partnership.example"

EXPECTED: dict[tuple[str, str], set[str]] = {
    ("GET", "/api/openapi.json"): EVERYONE,
    # The JSON API takes an organisation's API key; none of these people hold one.
    ("POST", "/api/v1/disagreements"): set(),
    ("GET", "/api/v1/disagreements/{reference}"): set(),
    ("GET", "/api/v1/disagreements"): set(),
    ("POST", "/api/v1/disagreements/{reference}/resolution"): set(),
    ("POST", "/api/v1/disagreements/{reference}/say"): set(),
    ("POST", "/api/v1/disagreements/{reference}/actions/{action_id}/done"): set(),
    # The Prefect server's webhook takes ESCALATION_OPS_TOKEN; none of these people hold it.
    ("POST", "/ops/sweep-stalled"): set(),
    # An emailed link works for whoever holds it; the others do not have it.
    ("GET", "/l/{token}"): {"link_holder"},
    ("POST", "/l/{token}"): {"link_holder"},
    ("POST", "/l/{token}/continue"): {"link_holder"},
    ("GET", "/l/{token}/records/{record_id}.pdf"): {"link_holder"},  # within the link's session
    ("POST", "/l/{token}/choose"): {"link_holder"},
    ("GET", "/l/{token}/do/{action}"): {"link_holder"},
    ("POST", "/l/{token}/do/{step}"): {"link_holder"},
    ("POST", "/l/resend"): EVERYONE,  # "email me fresh links": same answer for every address
    ("GET", "/"): EVERYONE,
    ("GET", "/raise"): EVERYONE,  # the sign-in page, or the form once signed in
    ("POST", "/raise"): SIGNED_IN,
    ("POST", "/raise/answer"): SIGNED_IN,  # a question page's answers, carried to the next
    ("POST", "/signin"): EVERYONE,
    ("GET", "/signin/{token}"): EVERYONE,  # a button only, whatever the token
    ("POST", "/signin/{token}"): set(),  # nobody here holds an unspent sign-in link
    ("POST", "/signout"): EVERYONE,
    ("GET", "/yours"): SIGNED_IN,  # each sees their own (the raiser's: the disagreement)
    ("GET", "/yours/{reference}"): {"practitioner"},
    ("POST", "/yours/{reference}"): {"practitioner"},
    ("GET", "/demo/mail"): set(),  # demo mode only
    ("GET", "/demo/mail/{name}"): set(),
    ("GET", "/demo/authenticator"): set(),
    ("GET", "/board/signin"): EVERYONE,
    ("POST", "/board/signin"): EVERYONE,
    ("GET", "/board/verify"): BOARD_PEOPLE,
    ("POST", "/board/verify"): BOARD_PEOPLE,
    ("GET", "/board"): BOARD_PEOPLE,  # each sees their own partnership's dashboard
    ("GET", "/board/d/{reference}"): OURS,
    ("POST", "/board/d/{reference}/meeting"): OURS,
    ("POST", "/board/d/{reference}/reassign"): {"manager"},
    ("POST", "/board/d/{reference}/extension"): {"manager"},
    ("POST", "/board/d/{reference}/extension/decision"): {"chair"},
    ("POST", "/board/d/{reference}/close"): OURS,
    ("POST", "/board/d/{reference}/convene"): OURS,
    ("POST", "/board/d/{reference}/confirm"): OURS,
    ("GET", "/board/d/{reference}/records/{record_id}.pdf"): OURS,
    ("POST", "/board/d/{reference}/counterpart"): OURS,
    ("POST", "/board/d/{reference}/urgent"): OURS,
    # Each manager keeps their own partnership's directory; the chair may look and export.
    ("GET", "/board/directory"): BOARD_PEOPLE,
    ("GET", "/board/directory.csv"): BOARD_PEOPLE,
    ("GET", "/board/directory/new"): {"manager", "other_manager"},
    ("POST", "/board/directory/new"): {"manager", "other_manager"},
    ("GET", "/board/directory/import"): {"manager", "other_manager"},
    ("POST", "/board/directory/import"): {"manager", "other_manager"},
    ("GET", "/board/directory/{person_id}"): {"manager"},  # one of ours: 404 for the other
    ("POST", "/board/directory/{person_id}"): {"manager"},
    # Reports: each board sees its own partnership's figures.
    ("GET", "/board/reports"): BOARD_PEOPLE,
    ("GET", "/board/reports/print"): BOARD_PEOPLE,
    ("GET", "/board/reports/{figure}.csv"): BOARD_PEOPLE,
    ("GET", "/board/reports/annual"): BOARD_PEOPLE,
    ("GET", "/board/reports/annual.csv"): BOARD_PEOPLE,
}


def app_routes(app) -> list[tuple[str, str, object]]:
    """(method, path, route) for every route, looking inside included routers."""
    found = []
    for route in app.routes:
        for inner in getattr(getattr(route, "original_router", None), "routes", [route]):
            for method in sorted(getattr(inner, "methods", None) or []):
                if method != "HEAD":
                    found.append((method, inner.path, inner))
    return found


def _build_world(sessions) -> dict:
    """Six browsers, one per persona, on one app; our partnership's disagreement at stage two."""
    load_directory(sessions)
    with transaction(sessions) as session:
        import_csv(
            session,
            "name,email,organisation,partnership,roles,job_title,deputy_email,absent_from,absent_until\n"
            f"Olga Other,{OTHER_MANAGER},Other Partnership,other-partnership,board_manager,"
            "Business manager,,,\n",
        )
    reference = raise_one(sessions, MONDAY)
    from escalation.casework import disagreements as d

    with transaction(sessions) as session:
        d.escalate(session, reference=reference, actor=RAISER, now=MONDAY)
    clock = {"now": MONDAY}
    app = create_app(sessions, clock=lambda: clock["now"])
    clients = {persona: TestClient(app, headers={"Origin": ORIGIN}) for persona in PERSONAS}
    for persona, email in (
        ("manager", MANAGER),
        ("chair", CHAIR),
        ("other_manager", OTHER_MANAGER),
    ):
        board_sign_in(clients[persona], sessions, clock, email)
    clients["practitioner"].post("/signin", data={"email": RAISER})
    clients["practitioner"].post(link_path(sessions, RAISER, "sign_in", MONDAY))
    token = link_path(sessions, NAMED, "stage_assigned", MONDAY).rsplit("/", 1)[1]
    csrf = {"link_holder": csrf_of(open_case(clients["link_holder"], f"/l/{token}").text)}
    with transaction(sessions) as session:
        for persona, email in (
            ("manager", MANAGER),
            ("chair", CHAIR),
            ("other_manager", OTHER_MANAGER),
            ("practitioner", RAISER),
        ):
            csrf[persona] = (
                session.execute(
                    select(WebSession.csrf_token)
                    .where(WebSession.email == email)
                    .order_by(WebSession.id.desc())
                )
                .scalars()
                .first()
            )
        person_id = session.execute(select(Person.id).where(Person.email == NAMED)).scalar_one()
        record_id = session.execute(select(StageRecord.id)).scalars().first()  # the escalation's
    return {
        "app": app,
        "clients": clients,
        "reference": reference,
        "token": token,
        "csrf": csrf,
        "person_id": person_id,
        "record_id": record_id,
    }


@pytest.fixture(scope="module")
def worlds(module_database):
    """The world on the module's database, once per database (see Shared): rebuilt only after a
    test changed a row or a browser's cookies."""

    def cookies(world):
        return sorted(
            (persona, sorted(client.cookies.items()))
            for persona, client in world["clients"].items()
        )

    def close(world):
        for client in world["clients"].values():
            client.close()

    worlds = Shared(module_database, _build_world, state=cookies, close=close)
    yield worlds
    worlds.spoil()


@pytest.fixture
def world(worlds):
    with worlds.use() as world:
        yield world


def _path(template: str, persona: str, world: dict) -> str:
    token = world["token"] if persona == "link_holder" else "not-a-real-token-" + "x" * 30
    return (
        template.replace("{reference}", world["reference"])
        .replace("{token}", token)
        .replace("{name}", "nothing.eml")
        .replace("{figure}", "categories")
        .replace("{person_id}", str(world["person_id"]))
        .replace("{record_id}", str(world["record_id"]))
        .replace("{action_id}", "1")
        .replace("{action}", "acknowledge")
        .replace("{step}", "acknowledge")
    )


def _succeeded(response) -> bool:
    if response.status_code >= 500:
        raise AssertionError(f"server error: {response.status_code} {response.text[:300]}")
    if response.status_code in (401, 403, 404):
        return False
    return not (
        response.status_code in (302, 303, 307)
        and response.headers.get("location") in ("/board/verify", "/board/signin")
    )


def test_every_route_is_in_the_matrix(world):
    routes = {(method, path) for method, path, _ in app_routes(world["app"])}
    assert routes == set(EXPECTED), "routes and the matrix differ: say who may use each new route"


def test_every_board_route_declares_its_roles(world):
    public = {"/board/signin", "/board/verify"}
    for method, path, route in app_routes(world["app"]):
        if not path.startswith("/board") or path in public:
            continue
        declared = [
            dep.call for dep in route.dependant.dependencies if hasattr(dep.call, "allowed_roles")
        ]
        assert len(declared) == 1, f"{method} {path} does not declare the roles it allows"


@pytest.mark.parametrize("method,path", sorted(EXPECTED))
def test_the_matrix(world, method, path):
    outcomes = {}
    for persona in PERSONAS:
        client = world["clients"][persona]
        url = _path(path, persona, world)
        if method == "GET":
            response = client.get(url, follow_redirects=False)
        else:
            data = {"csrf": world["csrf"].get(persona, ""), "action": "resolve"}
            headers = {"Content-Type": "application/json"} if path.startswith("/api/") else {}
            response = (
                client.post(url, content=b"{}", headers=headers, follow_redirects=False)
                if path.startswith("/api/")
                else client.post(url, data=data, follow_redirects=False)
            )
        outcomes[persona] = _succeeded(response)
    allowed = {persona for persona, ok in outcomes.items() if ok}
    assert allowed == EXPECTED[(method, path)], outcomes


def test_another_partnership_sees_none_of_ours(world):
    other = world["clients"]["other_manager"]
    assert world["reference"] not in other.get("/board?status=all").text
    assert other.get(f"/board/d/{world['reference']}").status_code == 404
