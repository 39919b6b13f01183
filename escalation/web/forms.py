"""Posted forms, read once by one dependency and checked before any route sees them.

Every page route is a plain `def` (FastAPI runs it in the thread pool, so its synchronous
database work never blocks the event loop) and takes the posted form as `form: PostedForm`.
Reading the body is the only async step, done here. Every text field of every form is refused
with a 422 naming the field when it holds a NUL (PostgreSQL cannot store one; it is never meant)
or more than `MAX_TEXT` characters (the API's longest field); a body over `MAX_BODY` bytes is
refused (413) before it is read. Each form's own validation (required fields, shorter limits)
comes after, and re-renders that form with what was typed.
"""

from __future__ import annotations

import re
from datetime import date, time
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

MAX_TEXT = 20_000
MAX_BODY = 2 * 1024 * 1024  # the directory import (1 MB at most) with room for its envelope
MAX_FIELDS = 200


class FormRefused(Exception):
    """A posted field that no form accepts; `field` is the form's own field name."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


async def posted_form(request: Request) -> FormData:
    """The request's form fields (and files), each text field checked; empty for GET and HEAD."""
    if request.method in ("GET", "HEAD"):
        return FormData()
    length = request.headers.get("content-length", "")
    if not length.isdigit():
        raise HTTPException(411, "Send the form from its page. Nothing was changed.")
    if int(length) > MAX_BODY:
        raise HTTPException(413, "That was too large to send. Nothing was changed.")
    form = await request.form(max_files=1, max_fields=MAX_FIELDS)
    for name, value in form.multi_items():
        if isinstance(value, str):
            check_text(name, value)
    return form


def check_text(field: str, value: str) -> None:
    """Raise FormRefused if `value` could not be stored or is longer than any field allows."""
    if "\x00" in value:
        raise FormRefused(field, "must not contain a NUL character")
    if len(value) > MAX_TEXT:
        raise FormRefused(field, f"must be {MAX_TEXT:,} characters or fewer")


PostedForm = Annotated[FormData, Depends(posted_form)]


def typed_date(day: str, month: str, year: str) -> date | None:
    """The date GOV.UK's three boxes make: None if all are blank; ValueError unless it is a real
    date with a four-digit year (31 2 2026 and 1 1 26 are refused, never guessed at)."""
    parts = [part.strip() for part in (year, month, day)]
    if not any(parts):
        return None
    if not all(part.isascii() and part.isdigit() for part in parts) or len(parts[0]) != 4:
        raise ValueError("not a real date")
    return date(*(int(part) for part in parts))


def typed_time(text: str) -> time | None:
    """A 24-hour time as typed ("14:30", "9.05"): None if blank; ValueError unless it is one."""
    text = text.strip()
    if not text:
        return None
    found = re.fullmatch(r"([0-9]{1,2})[:.]([0-9]{2})", text)
    if found is None:
        raise ValueError("not a real time")
    return time(int(found.group(1)), int(found.group(2)))
