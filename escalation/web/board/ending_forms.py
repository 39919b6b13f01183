"""The board case page's ending forms, read from their posted fields: the learning, up to three
agreed-action rows, a meeting's date and time; and whom the forms offer (action owners from the
partnership's directory and the decision-maker; meeting invitees from both sides).

The casework names its problems by its own fields (learning_themes, actions[2].owner, ...); the
page keeps those names in its error summary and maps each to the element it points at. An
action row left wholly blank is skipped, so a problem with the casework's second action is put
back on the page's row it came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy.orm import Session

from escalation.casework.endings import ActionInput, Learning
from escalation.directory.people import ROLE_WORDS
from escalation.rules.calendar import WorkingCalendar
from escalation.rules.vocabulary import BOARD_ROLES
from escalation.store.models import Disagreement, Person
from escalation.web.board.pages import people

ACTION_ROWS = 3
ROW_FIELDS = ("what", "owner", "due_on-day", "due_on-month", "due_on-year", "time", "place")
CLOCK = re.compile(r"([01]?\d|2[0-3])[:.]([0-5]\d)")
PROBLEM = re.compile(r"actions\[(\d+)\]\.(\w+)")
# Where each casework field of an action row is on the page.
ROW_ELEMENTS = {"due_on": "due_on-day", "meeting_at": "time"}


def row_field(number: int, name: str) -> str:
    """The posted name (and element id) of one field of the page's action row `number`."""
    return f"actions-{number}-{name}"


def close_fields() -> tuple[str, ...]:
    """Every text field of the close form, kept as typed when it is shown again."""
    rows = tuple(
        row_field(number, name) for number in range(1, ACTION_ROWS + 1) for name in ROW_FIELDS
    )
    return ("outcome", "summary", "systemic", "lesson", *rows)


def learning_from(values: dict) -> Learning:
    systemic = {"yes": True, "no": False}.get(values.get("systemic", ""))
    return Learning(tuple(values.get("learning_themes", [])), systemic, values.get("lesson", ""))


@dataclass(frozen=True)
class ActionRows:
    """The filled-in rows as the casework takes them, each one's page row, and what the page
    itself could not read (a time that is not one)."""

    actions: tuple[ActionInput, ...]
    rows: tuple[int, ...]
    problems: dict[str, str]

    def on_the_page(self, problems: dict[str, str]) -> dict[str, str]:
        """The casework's problems, each action's put back on the page row it came from."""
        placed = {}
        for name, message in problems.items():
            found = PROBLEM.fullmatch(name)
            if found and int(found.group(1)) <= len(self.rows):
                name = f"actions[{self.rows[int(found.group(1)) - 1]}].{found.group(2)}"
            placed[name] = message
        return {**placed, **self.problems}


def actions_from(values: dict, calendar: WorkingCalendar) -> ActionRows:
    actions, rows, problems = [], [], {}
    for number in range(1, ACTION_ROWS + 1):
        typed = {name: values.get(row_field(number, name), "").strip() for name in ROW_FIELDS}
        if not any(typed.values()):
            continue
        day = read_date(values, row_field(number, "due_on"))
        meeting_at = None
        if typed["time"]:
            clock = read_time(typed["time"])
            if clock is None:
                problems[f"actions[{number}].meeting_at"] = "Enter the time like 14:30"
            elif day is not None:
                meeting_at = calendar.instant_at(day, clock)
        actions.append(ActionInput(typed["what"], typed["owner"], day, meeting_at, typed["place"]))
        rows.append(number)
    return ActionRows(tuple(actions), tuple(rows), problems)


def read_date(values: dict, name: str) -> date | None:
    """A GOV.UK date input's three fields as a date, or None if they are not one."""
    try:
        return date(
            int(values.get(f"{name}-year", "")),
            int(values.get(f"{name}-month", "")),
            int(values.get(f"{name}-day", "")),
        )
    except (ValueError, OverflowError):
        return None


def read_time(text: str) -> time | None:
    found = CLOCK.fullmatch(text.strip())
    return time(int(found.group(1)), int(found.group(2))) if found else None


def meeting_at(
    values: dict, calendar: WorkingCalendar, prefix: str
) -> tuple[datetime | None, dict]:
    """The instant a meeting's date (`prefix`-day/month/year) and time (`prefix`_time) name,
    local to the policy; and the problems with them, by field."""
    day, clock = read_date(values, prefix), read_time(values.get(f"{prefix}_time", ""))
    problems = {}
    if day is None:
        problems[prefix] = "Enter the date of the meeting, like 3 12 2026"
    if clock is None:
        problems[f"{prefix}_time"] = "Enter the time of the meeting, like 14:30"
    if problems:
        return None, problems
    return calendar.instant_at(day, clock), {}


def anchor(name: str) -> str:
    """The element an error summary entry for the problem `name` points at."""
    found = PROBLEM.fullmatch(name)
    if found:
        number, field = found.groups()
        return row_field(int(number), ROW_ELEMENTS.get(field, field))
    return {
        "actions": "actions",
        "held_on": "held_on-day",
        "convene_on": "convene_on-day",
        "decision": "decision",
    }.get(name, name)


# --- whom the forms offer -----------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    email: str
    label: str  # "Hana Visitor, Health visitor, Example Trust (raised it)"


def in_case(disagreement: Disagreement, person: Person | None) -> bool:
    """Someone the casework accepts: active, and in the partnership's directory or the
    decision-maker (who may be unlisted)."""
    return (
        person is not None
        and person.active
        and (
            disagreement.partnership in person.partnerships
            or person.id == disagreement.counterpart_id
        )
    )


def action_owners(session: Session, disagreement: Disagreement) -> list[Choice]:
    """Who may own an agreed action: the partnership's people, and the decision-maker."""
    here = people(session, disagreement.partnership)
    maker = disagreement.decision_maker
    if in_case(disagreement, maker) and all(p.id != maker.id for p in here):
        here.append(maker)
    return [Choice(p.email, _label(p)) for p in here]


def invitees(session: Session, disagreement: Disagreement, titles: dict[str, str]) -> list[Choice]:
    """Whom a meeting may invite, from both sides: the raiser, the decision-maker, each stage's
    owner and counterpart so far, and the partnership's board. `titles`: stage key -> title."""
    why: dict[str, list[str]] = {}
    found: dict[str, Person] = {}

    def add(person: Person | None, words: str) -> None:
        if in_case(disagreement, person):
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
