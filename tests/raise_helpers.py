"""The raise form for a child's area (the area question comes first when more than one area is
loaded, as in the tests: default and four-stage)."""

from __future__ import annotations

import html
import re

from tests.web_helpers import FORM

AREA = "example-partnership"  # the default policy's: Example Borough
OTHER_AREA = "lakeside-partnership"  # the four-stage policy's
FORM_IN_AREA = {**FORM, "child_area": AREA}


def area_form_page(client, area: str = AREA) -> tuple[str, str, str]:
    """The raise journey for a child in `area` as far as the decision page (answering "No" to
    the immediate risk question): its HTML, its CSRF token and its form id."""
    first = client.get("/raise", params={"child_area": area, "step": "area"}).text
    page = client.post("/raise/answer", data={**hidden_fields(first), "immediate_risk": "no"}).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    form_id = re.search(r'name="form_id" value="([^"]+)"', page).group(1)
    return page, csrf, form_id


def hidden_fields(page: str) -> dict[str, str]:
    """The hidden fields of the page's forms (the raise journey carries its answers in them)."""
    return {
        name: html.unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page)
    }


def option_value(page: str, text: str) -> str:
    """The value of the directory list's option showing `text` (a name and job title)."""
    return re.search(rf'<option value="(\d+)"[^>]*>{re.escape(text)}</option>', page).group(1)
