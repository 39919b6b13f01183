"""A policy file's validation errors as lines naming the field: `stages[2].timescale: ...`."""

from __future__ import annotations

import re

from pydantic import ValidationError


def field_messages(error: ValidationError) -> list[str]:
    messages = []
    for item in error.errors(include_url=False):
        field = _dotted(item["loc"])
        for message in _plain(item).split("\n"):
            messages.append(_with_field(field, message))
    return messages


def _with_field(field: str, message: str) -> str:
    nested = re.match(r"^([a-z_\[\]0-9.]+): (.*)$", message)
    if nested and not field:
        field, message = nested.groups()
    elif nested:
        field, message = f"{field}.{nested.group(1)}", nested.group(2)
    return f"{field}: {message}" if field else message


def _dotted(loc: tuple) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _plain(item: dict) -> str:
    kind, message = item["type"], item["msg"]
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field (check the spelling)"
    if kind == "value_error":
        return message.removeprefix("Value error, ")
    if kind == "literal_error":
        return f"must be {message.removeprefix('Input should be ')}, not {item['input']!r}"
    if kind == "too_short" and item["loc"] and item["loc"][-1] == "stages":
        return "a policy needs at least two stages"
    return message
