"""CSV cells a spreadsheet will not run: the one rule for every CSV the service writes (the
board's report figures, the directory export on the web and the command line), and its inverse
for the directory import, so an export imports back unchanged.

A cell that starts with `=`, `+`, `-` or `@` is a formula to Excel, LibreOffice and Google
Sheets; one that starts with a tab or a carriage return can hide such a start (OWASP, "CSV
Injection"). Such a text cell is written with a leading `'`, which makes it plain text.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(cell: object) -> object:
    """`cell` as a CSV writer should write it: a text cell starting with a formula character
    gets a leading `'`; anything else (numbers, other text) is returned unchanged."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def unneutralised(text: str) -> str:
    """A text cell as read back from a CSV: the `'` that neutralised() put before a formula
    character is taken off; any other text is returned unchanged."""
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text
