"""The errors the service reports to people. Each carries a message fit to show as it is."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple


class EscalationError(Exception):
    """Base for every error that is the user's or the data's fault, never the code's."""


class PolicyError(EscalationError):
    """A policy file is unreadable or invalid; the message names the file and the field."""


class RowProblem(NamedTuple):
    """One thing wrong with a file of rows (a directory import): the row as a spreadsheet numbers
    it (None: the file as a whole), the column (None: the row as a whole) and what is wrong."""

    row: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        """'row 3: email: 'x' is not an email address'."""
        where = [f"row {self.row}"] if self.row is not None else []
        return ": ".join([*where, *([self.field] if self.field else []), self.message])


class DirectoryError(EscalationError):
    """The directory cannot supply what is needed (e.g. nobody holds a role), or a bad import:
    then `problems` holds each row's problem, and the message has one per line."""

    def __init__(self, message: str = "", problems: Iterable[RowProblem] = ()):
        self.problems = list(problems)
        super().__init__(message or "\n".join(str(problem) for problem in self.problems))


class NotAllowed(EscalationError):
    """An event is not allowed in the disagreement's current state; nothing was changed."""


class NotFound(EscalationError):
    """No such disagreement, person or policy."""


class InvalidInput(EscalationError):
    """Input failed validation; `problems` maps each field to what is wrong with it."""

    def __init__(self, problems: dict[str, str]):
        self.problems = problems
        super().__init__("; ".join(f"{field}: {message}" for field, message in problems.items()))
