"""Deputy and line-manager loops, refused wherever the directory is changed.

A loop (A's deputy is B and B's deputy is A, or longer) leaves nobody to cover an absence and
no line manager above a stage: every way in refuses one. An import is checked as the directory
would be after it (the file's rows over what the directory holds), so a loop of two new rows, a
row closing a loop through people already in the directory, and longer loops are all found;
one problem is reported per loop, on its first row in the file, naming every row and person in it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

from escalation.directory.row import DirectoryRow
from escalation.rules.errors import RowProblem
from escalation.store.models import Person

Key = TypeVar("Key", bound=Hashable)
# What each field links, in words, and the Person relationship it is stored as.
LINKS = {
    "deputy_email": ("deputy", "deputy"),
    "line_manager_email": ("line manager", "line_manager"),
}


def loops(starts: Iterable[Key], next_of: Callable[[Key], Key | None]) -> list[list[Key]]:
    """Every loop reached by following `next_of` from `starts`, each once, in the order it is
    met from its first key met. Each key is visited once (linear in what is reached)."""
    done: set[Key] = set()
    found = []
    for start in starts:
        path: list[Key] = []
        on_path: set[Key] = set()
        key = start
        while key is not None and key not in done and key not in on_path:
            path.append(key)
            on_path.add(key)
            key = next_of(key)
        if key is not None and key in on_path:
            found.append(path[path.index(key) :])
        done.update(path)
    return found


def import_loop_problems(
    rows: list[tuple[int, DirectoryRow]],
    known: dict[str, Person],
    field: str,
    within: str | None = None,
) -> list[RowProblem]:
    """The loops the file's `field` (deputy_email or line_manager_email) would make: each a
    RowProblem on its first row, naming the rows and the people already in the directory.
    With `within` (a board's import) the walk stops at anyone of another partnership, so a
    problem never names them."""
    words, attribute = LINKS[field]
    given = {row.email: (number, row) for number, row in rows if row.gives(field)}

    def next_of(email: str) -> str | None:
        if email in given:
            return getattr(given[email][1], field) or None
        person = known.get(email)
        linked = getattr(person, attribute) if person is not None else None
        if linked is None or (within is not None and linked.partnership != within):
            return None
        known.setdefault(linked.email, linked)
        return linked.email

    problems = []
    for loop in loops(given, next_of):
        numbers = [given[email][0] for email in loop if email in given]
        steps = [_step(email, given) for email in loop]
        path = " → ".join([*steps, loop[0]])
        message = f"a {words} loop: {path}; give one of them another {words}, or none"
        problems.append(RowProblem(min(numbers), field, message))
    return problems


def _step(email: str, given: dict[str, tuple[int, DirectoryRow]]) -> str:
    if email in given:
        return f"{email} (row {given[email][0]})"
    return f"{email} (in the directory)"


def form_loop(person: Person | None, linked: Person | None, attribute: str) -> list[Person]:
    """The loop that giving `person` the `attribute` (deputy or line_manager) `linked` would
    close, from `person` round to them again; [] when there is none (a new person has none:
    nobody names them yet)."""
    if person is None or person.id is None or linked is None:
        return []

    def next_of(someone: Person) -> Person | None:
        return linked if someone.id == person.id else getattr(someone, attribute)

    found = loops([person], next_of)
    return found[0] if found and found[0][0].id == person.id else []
