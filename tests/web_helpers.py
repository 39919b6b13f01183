"""A practitioner's journey through the web pages: the emailed sign-in link and the raise form."""

from __future__ import annotations

import re

from tests.board_helpers import link_path
from tests.factories import MONDAY, RAISER

FORM = {
    "raiser_name": "Hana Visitor",
    "raiser_role": "Health visitor",
    "raiser_organisation": "Example Trust",
    "counterpart_name": "Sam Social",
    "counterpart_email": "sam.social@council.example",
    "counterpart_role": "Duty social worker",
    "counterpart_organisation": "Example Council",
    "child_reference": "TEST-CHILD-9",
    "category": "referral",
    "decision_disputed": "No further action",
    "decision_date-day": "20",
    "decision_date-month": "11",
    "decision_date-year": "2026",
    "reason": "Weight static (invented)",
    "outcome_sought": "Strategy discussion",
    "immediate_risk": "no",
    "protective_action": "",
}


def emailed_link(sessions, recipient: str, kind: str = "stage_assigned") -> str:
    """The path of the link in the recipient's latest email of `kind` (minted on MONDAY)."""
    return link_path(sessions, recipient, kind, MONDAY)


def sign_in(client, sessions, email: str = RAISER) -> str:
    """Sign in by the emailed one-time link (checking it works once); the session cookie."""
    page = client.post("/signin", data={"email": email})
    assert page.status_code == 200 and "Check your email" in page.text
    path = emailed_link(sessions, email, kind="sign_in")
    confirm = client.get(path)
    assert confirm.status_code == 200 and "rpd_session" not in confirm.headers.get("set-cookie", "")
    signed_in = client.post(path, follow_redirects=False)
    assert signed_in.status_code == 303
    assert client.post(path).status_code == 404  # a sign-in link works once
    return signed_in.headers["set-cookie"]


def form_page(client) -> tuple[str, str, str]:
    """The raise form: its HTML, its CSRF token and its form id."""
    page = client.get("/raise").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    form_id = re.search(r'name="form_id" value="([^"]+)"', page).group(1)
    return page, csrf, form_id
