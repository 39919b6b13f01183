"""Property-based run over the API's own OpenAPI document (Schemathesis): whatever it sends,
with a valid key or without, no 5xx, every status code is documented and every response
matches the documented schema. Paths naming a disagreement are also tried with the one that
exists, so the bodies of the acting endpoints (resolution, say, actions done) get past the 404."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from escalation.access import apikeys
from escalation.store.db import transaction
from escalation.web.app import create_app
from tests.factories import MONDAY, load_directory, raise_one

# The documented checks that hold for any API with rules beyond its schema (a valid-looking
# body can still be refused: the counterpart must not be the raiser, and so on).
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture
def api(sessions):
    load_directory(sessions)
    reference = raise_one(sessions, MONDAY)
    with transaction(sessions) as session:
        key = apikeys.create_key(
            session, organisation="Example Trust", partnership="example-partnership", now=MONDAY
        )
    app = create_app(sessions, clock=lambda: MONDAY)
    app.state.fuzz_key = key
    app.state.fuzz_reference = reference
    return schemathesis.openapi.from_asgi("/api/openapi.json", app)


def test_no_server_errors_and_responses_match_the_schema(api):
    key, reference = api.app.state.fuzz_key, api.app.state.fuzz_reference
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) == 6
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def call(case):
            for headers in ({"X-API-Key": key}, {}):
                response = case.call(headers=headers)
                assert response.status_code < 500, response.text
                case.validate_response(response, checks=CHECKS)
            if "reference" in (case.path_parameters or {}):
                case.path_parameters["reference"] = reference
                response = case.call(headers={"X-API-Key": key})
                assert response.status_code < 500, response.text
                case.validate_response(response, checks=CHECKS)

        call()
