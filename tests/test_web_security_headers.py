"""The security middleware (escalation/web/security.py), plain ASGI: every response carries the
security headers, each appearing once, whatever answered (a page, a refusal, an error, a static
file); each page's scripts carry that response's own CSP nonce."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from escalation.web.app import create_app
from tests.factories import MONDAY, ORIGIN, load_directory

HEADERS = {
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
}


def _secured(response, *, cache: str | None = "no-store") -> str:
    """Check the headers (each once); the CSP nonce."""
    for name, value in HEADERS.items():
        assert response.headers.get_list(name) == [value], name
    assert response.headers.get_list("cache-control") == ([cache] if cache else [])
    (csp,) = response.headers.get_list("content-security-policy")
    assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
    return re.search(r"'nonce-([^']+)'", csp).group(1)


def test_a_page_gets_the_headers_and_its_own_nonce(client):
    first, second = client.get("/board/signin"), client.get("/board/signin")
    nonces = [_secured(first), _secured(second)]
    assert nonces[0] != nonces[1]
    for page, nonce in zip((first, second), nonces, strict=True):
        scripts = re.findall(r'<script[^>]*nonce="([^"]+)"', page.text)
        assert scripts and set(scripts) == {nonce}


def test_refusals_and_missing_pages_get_the_headers(client):
    refused = client.post("/l/resend", data={"email": "a@b.example"}, headers={"Origin": "x"})
    assert refused.status_code == 403 and refused.json() == {"error": "cross-site request refused"}
    _secured(refused)
    missing = client.get("/no/such/page")
    assert missing.status_code == 404
    _secured(missing)
    _secured(client.get("/api/v1/disagreements"))  # 401 without a key


def test_an_unexpected_error_is_an_incident_page_with_the_headers(sessions):
    load_directory(sessions)
    app = create_app(sessions, clock=lambda: MONDAY)

    @app.get("/explode")
    def explode():
        raise RuntimeError("secret detail")

    with TestClient(app, headers={"Origin": ORIGIN}, raise_server_exceptions=False) as client:
        response = client.get("/explode")
    assert response.status_code == 500 and "incident" in response.text
    assert "secret detail" not in response.text
    _secured(response)


def test_static_files_keep_their_own_caching(client):
    response = client.get("/static/govuk-frontend.min.css")
    if response.status_code == 404:
        pytest.skip("GOV.UK Frontend is not installed (npm ci)")
    assert response.status_code == 200
    _secured(response, cache=None)
