"""Writing a person's routing facts, the same for the board's form and an import: their roles
and which of them they are the primary holder of, and the partnerships they serve besides their
home one. Rows a person keeps are kept (not deleted and inserted again)."""

from __future__ import annotations

from collections.abc import Iterable

from escalation.store.models import Person, PersonPartnership, PersonRole


def set_roles(person: Person, roles: Iterable[str], primary: Iterable[str] | None) -> None:
    """Give `person` exactly `roles`; `primary` the ones they are the primary holder of (None:
    a kept role keeps its mark, a new one is not primary)."""
    wanted = list(dict.fromkeys(roles))
    kept = [row for row in person.role_rows if row.role in wanted]
    held = {row.role for row in kept}
    person.role_rows = kept + [PersonRole(role=role) for role in wanted if role not in held]
    if primary is not None:
        marked = set(primary)
        for row in person.role_rows:
            row.is_primary = row.role in marked
    for row in person.role_rows:
        row.is_primary = bool(row.is_primary)


def set_other_partnerships(person: Person, partnerships: Iterable[str]) -> None:
    """The partnerships `person` serves besides their home one (it is never listed again)."""
    wanted = [name for name in dict.fromkeys(partnerships) if name != person.partnership]
    kept = [row for row in person.other_partnership_rows if row.partnership in wanted]
    held = {row.partnership for row in kept}
    person.other_partnership_rows = kept + [
        PersonPartnership(partnership=name) for name in wanted if name not in held
    ]


def other_partnerships_text(person: Person | None) -> str:
    """Their other partnerships as a CSV cell would give them (`;`-separated, sorted)."""
    if person is None:
        return ""
    return ";".join(sorted(row.partnership for row in person.other_partnership_rows))
