"""The board case page's ending forms: the proposal and a meeting's date and time are read by
web/proposal_form.py (as on the stage owner's emailed link); here are the close form's fields,
where the error summary points for each problem, and whom the forms offer (action owners as
proposal_form.allowed_people; meeting invitees from both sides, each with why).

The casework names its problems by its own fields (learning_themes, actions[2].owner, ...),
which are also the page's names and element ids; a date points at its day box.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from escalation.casework.actions import in_case
from escalation.directory.people import ROLE_WORDS
from escalation.rules.vocabulary import BOARD_ROLES
from escalation.store.models import Disagreement, Person
from escalation.web.board.pages import people
from escalation.web.proposal_form import allowed_people, row_fields

DATES = ("held_on", "convene_on")  # the board's own date inputs


def close_fields() -> tuple[str, ...]:
    """Every text field of the close form, kept as typed when it is shown again."""
    return ("outcome", "summary", "systemic", "lesson", *row_fields())


def anchor(name: str) -> str:
    """The element an error summary entry for the problem `name` points at."""
    if name in DATES or name.endswith(".due_on"):
        return f"{name}-day"
    return name


# --- whom the forms offer -----------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    email: str
    label: str  # "Hana Visitor, Health visitor, Example Trust (raised it)"


def action_owners(session: Session, disagreement: Disagreement) -> list[Choice]:
    """Who may own an agreed action: the partnership's people, and the decision-maker."""
    return [Choice(p.email, _label(p)) for p in allowed_people(session, disagreement)]


def invitees(session: Session, disagreement: Disagreement, titles: dict[str, str]) -> list[Choice]:
    """Whom a meeting may invite, from both sides: the raiser, the decision-maker, each stage's
    owner and counterpart so far, and the partnership's board. `titles`: stage key -> title."""
    why: dict[str, list[str]] = {}
    found: dict[str, Person] = {}

    def add(person: Person | None, words: str) -> None:
        if person is not None and person.active and in_case(disagreement, person):
            found.setdefault(person.email, person)
            reasons = why.setdefault(person.email, [])
            if words not in reasons:
                reasons.append(words)

    add(disagreement.raised_by, "raised it")
    add(disagreement.decision_maker, "made the decision disputed")
    for period in disagreement.stages:
        title = titles.get(period.stage_key, period.stage_key)
        add(period.owner, f"owner at {title}")
        add(period.counterpart, f"counterpart at {title}")
    for person in people(session, disagreement.partnership):
        for role in sorted(person.roles & set(BOARD_ROLES)):
            add(person, ROLE_WORDS.get(role, role))
    return [
        Choice(email, f"{_label(found[email])} ({'; '.join(reasons)})")
        for email, reasons in why.items()
    ]


def _label(person: Person) -> str:
    return ", ".join(part for part in (person.name, person.job_title, person.organisation) if part)
