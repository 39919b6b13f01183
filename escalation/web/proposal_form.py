"""The "propose a resolution" form and a meeting's date and time, read one way for both pages
that show them: the stage owner's emailed link (web/ending_forms.py) and the board's case page
(web/board/endings.py). One reader, so the two pages cannot drift apart: the same field names,
the same date and time parsing, the same messages, and the same people allowed.

The form: outcome, summary, the learning (learning_themes, systemic, lesson) and up to ROWS
agreed-action rows, each named as the casework names its problems: `actions[2].what`,
`.owner`, `.due_on-day|month|year`, `.meeting_at` (the time, for a meeting) and `.place`. A row
left wholly blank is skipped, and the casework numbers only the rows it was given, so its
`actions[1]` is put back on the page's row it came from. A date or time that is not a real one
is the form's own problem; it is reported with the casework's, and wins over them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from escalation.casework.endings import ActionInput, Learning
from escalation.rules.calendar import WorkingCalendar
from escalation.store.models import Disagreement, Person, PersonPartnership
from escalation.web.forms import typed_date, typed_time

ROWS = 3
DATE_PARTS = ("day", "month", "year")
ROW_FIELDS = ("what", "owner", *(f"due_on-{part}" for part in DATE_PARTS), "meeting_at", "place")
NUMBERED = re.compile(r"actions\[(\d+)\]\.(\w+)")
SYSTEMIC = {"yes": True, "no": False}


def row_field(number: int, name: str) -> str:
    """The posted name (and element id) of one field of the page's action row `number`."""
    return f"actions[{number}].{name}"


def row_fields() -> tuple[str, ...]:
    """Every field of every action row, as posted."""
    return tuple(row_field(n, name) for n in range(1, ROWS + 1) for name in ROW_FIELDS)


def read_day(values: dict, name: str, wrong: str) -> tuple[date | None, dict[str, str]]:
    """The date GOV.UK's boxes `name`-day/-month/-year make (None if blank); if it is not a
    real date, None and the problem `wrong` by `name`."""
    try:
        return typed_date(*(str(values.get(f"{name}-{part}", "")) for part in DATE_PARTS)), {}
    except ValueError:
        return None, {name: wrong}


def read_clock(values: dict, name: str, wrong: str) -> tuple[time | None, dict[str, str]]:
    """The 24-hour time typed in `name` (None if blank); if it is not one, None and `wrong`."""
    try:
        return typed_time(str(values.get(name, ""))), {}
    except ValueError:
        return None, {name: wrong}


def learning_from(values: dict) -> Learning:
    """The learning as typed; the casework says what is missing."""
    systemic = SYSTEMIC.get(values.get("systemic", ""))
    return Learning(tuple(values.get("learning_themes", [])), systemic, values.get("lesson", ""))


@dataclass(frozen=True)
class Proposal:
    """The learning and filled-in rows as the casework takes them, each row's number on the
    page, and what the page itself could not read (a date or time that is not one)."""

    learning: Learning
    actions: tuple[ActionInput, ...]
    rows: tuple[int, ...]
    problems: dict[str, str]

    def on_the_page(self, found: dict[str, str]) -> dict[str, str]:
        """The casework's problems `found`, each action's on its page row, and the page's own;
        with every learning field that is blank (the casework stops at missing themes)."""
        placed = {}
        for name, words in found.items():
            match = NUMBERED.fullmatch(name)
            if match and 0 < int(match.group(1)) <= len(self.rows):
                name = row_field(self.rows[int(match.group(1)) - 1], match.group(2))
            placed[name] = words
        for field, words in _learning_gaps(self.learning).items():
            placed.setdefault(field, words)
        return placed | self.problems


def _learning_gaps(learning: Learning) -> dict[str, str]:
    gaps = {}
    if learning.systemic is None:
        gaps["systemic"] = "Select whether it points to a systemic issue"
    if not learning.lesson.strip():
        gaps["lesson"] = "Enter the lesson, in a sentence or two"
    return gaps


def read_proposal(
    values: dict, calendar: WorkingCalendar, owner_email: Callable[[str], str] = str
) -> Proposal:
    """The proposal form's rows and learning; `owner_email` turns an owner choice's value into
    the email the casework takes (the board offers emails; the link page, people's ids)."""
    actions, rows, problems = [], [], {}
    for number in range(1, ROWS + 1):
        typed = {name: str(values.get(row_field(number, name), "")).strip() for name in ROW_FIELDS}
        if any(typed.values()):
            action, wrong = _action(values, number, typed, calendar, owner_email)
            actions.append(action)
            rows.append(number)
            problems.update(wrong)
    return Proposal(learning_from(values), tuple(actions), tuple(rows), problems)


def _action(values, number: int, typed: dict, calendar, owner_email) -> tuple[ActionInput, dict]:
    """One row as the casework's ActionInput: a meeting when it has a time (held on its date)."""
    day, problems = read_day(
        values, row_field(number, "due_on"), "The date must be a real date, like 3 12 2026"
    )
    time_field = row_field(number, "meeting_at")
    clock, wrong = read_clock(
        values, time_field, "The meeting time must be a real time, like 14:30"
    )
    problems |= wrong
    if typed["place"] and clock is None and not wrong:
        problems[time_field] = (
            "Enter the meeting's time, or leave the place blank if it is not a meeting"
        )
    meeting_at = calendar.instant_at(day, clock) if day and clock else None
    owner = owner_email(typed["owner"])
    return ActionInput(typed["what"], owner, day, meeting_at, typed["place"]), problems


def meeting_when(
    values: dict, calendar: WorkingCalendar, date_field: str, time_field: str
) -> tuple[datetime | None, dict[str, str]]:
    """The instant a convened meeting's date (`date_field`-day/month/year) and time name, local
    to the policy; or None and the problems with them, by field (these say more than the
    casework's "enter the date and time", so the page drops that one when there are any)."""
    day, problems = read_day(
        values, date_field, "The date of the meeting must be a real date, like 3 12 2026"
    )
    if day is None and not problems:
        problems[date_field] = "Enter the date of the meeting, like 3 12 2026"
    clock, wrong = read_clock(
        values, time_field, "The time of the meeting must be a real time, like 14:30"
    )
    if clock is None and not wrong:
        wrong = {time_field: "Enter the time of the meeting, like 14:30"}
    problems |= wrong
    if problems:
        return None, problems
    return calendar.instant_at(day, clock), {}


def in_order(problems: dict[str, str], order: tuple[str, ...]) -> dict[str, str]:
    """The problems in the order of the page's fields (any other field last)."""

    def place(field: str) -> int:
        return order.index(field) if field in order else len(order)

    return dict(sorted(problems.items(), key=lambda item: place(item[0])))


def allowed_people(session: Session, disagreement: Disagreement) -> list[Person]:
    """Whom the forms offer as an action's owner (as casework/actions.py accepts them): the
    partnership's listed, active people on either side, the board included, and the
    decision-maker (who may be unlisted); by organisation, then name."""
    serves = or_(
        Person.partnership == disagreement.partnership,
        Person.id.in_(
            select(PersonPartnership.person_id).where(
                PersonPartnership.partnership == disagreement.partnership
            )
        ),
    )
    decision_maker = Person.id == disagreement.counterpart_id
    return list(
        session.execute(
            select(Person)
            .where(Person.active, or_(serves & Person.listed, decision_maker))
            .order_by(Person.organisation, Person.name, Person.id)
        ).scalars()
    )
