"""The raise form for a child's area (the area question comes first when more than one area is
loaded, as in the tests: default and four-stage)."""

from __future__ import annotations

import re

from tests.web_helpers import FORM

AREA = "example-partnership"  # the default policy's: Example Borough
OTHER_AREA = "lakeside-partnership"  # the four-stage policy's
FORM_IN_AREA = {**FORM, "child_area": AREA}


def area_form_page(client, area: str = AREA) -> tuple[str, str, str]:
    """The raise form for a child in `area`: its HTML, its CSRF token and its form id."""
    page = client.get("/raise", params={"child_area": area, "step": "area"}).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    form_id = re.search(r'name="form_id" value="([^"]+)"', page).group(1)
    return page, csrf, form_id


def option_value(page: str, text: str) -> str:
    """The value of the directory list's option showing `text` (a name and job title)."""
    return re.search(rf'<option value="(\d+)"[^>]*>{re.escape(text)}</option>', page).group(1)
