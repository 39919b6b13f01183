"""The forms of a disagreement's ending on the emailed links' pages, read as a browser posts them
and handed to casework/endings.py: the stage owner's proposed resolution (outcome, summary, up
to three agreed actions, the learning) and a convened meeting; the asked person's say; an
action owner's confirmation that it is done.

Each refusal names the form's own fields, so the page can show it beside the field with what
was typed: `actions[2].due_on` is the second row on the page, whichever rows were left blank
(the domain numbers only the rows it was given). A date or time that is not a real one is the
form's own error; everything else is the domain's. Both are reported at once: when a date is
wrong, the rest is still checked by the domain inside the request's transaction, and the whole
is refused (and so rolled back) with every problem named.
"""

from __future__ import annotations

import re

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from escalation.casework import disagreements as d
from escalation.casework.endings import ActionInput, Learning
from escalation.reads.casefile import Choice
from escalation.rules.errors import InvalidInput, NotAllowed
from escalation.rules.policy import Policy
from escalation.store.models import Disagreement, Person, PersonPartnership
from escalation.store.pinned_policies import policy_for
from escalation.web.forms import typed_date, typed_time

ROWS = 3  # agreed-action rows on the resolve form
ROW_FIELDS = ("what", "owner", "due_on-day", "due_on-month", "due_on-year", "meeting_at", "place")
DATE_PARTS = ("day", "month", "year")
# Every field these forms send that is kept as typed (one value each), and the lists.
FIELDS = (
    "systemic",
    "lesson",
    *(f"meeting_at-{part}" for part in DATE_PARTS),
    "meeting_time",
    "place",
    "answer",
    "note",
    "attendees",
    "action_id",
    *(f"actions[{n}].{field}" for n in range(1, ROWS + 1) for field in ROW_FIELDS),
)
LIST_FIELDS = ("learning_themes", "invitees")
SYSTEMIC = {"yes": True, "no": False}
# The order of the resolve and convene forms' fields on the page (the error summary's order).
RESOLVE_ORDER = (
    "outcome",
    "summary",
    "actions",
    *(
        f"actions[{n}].{field}"
        for n in range(1, ROWS + 1)
        for field in ("what", "owner", "due_on", "meeting_at", "place")
    ),
    "learning_themes",
    "systemic",
    "lesson",
)
CONVENE_ORDER = ("meeting_at", "meeting_time", "place", "invitees")
NUMBERED = re.compile(r"actions\[(\d+)\]\.(\w+)")


def people_choices(session: Session, disagreement: Disagreement) -> list[tuple[str, list[Choice]]]:
    """Who may own an agreed action or be invited to a meeting (as casework/endings.py accepts
    them): the partnership's listed, active people on either side, the board included, and the
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
    people = session.execute(
        select(Person)
        .where(Person.active, or_(serves & Person.listed, decision_maker))
        .order_by(Person.organisation, Person.name, Person.id)
    ).scalars()
    groups: dict[str, list[Choice]] = {}
    for person in people:
        label = ", ".join(part for part in (person.name, person.job_title) if part)
        groups.setdefault(person.organisation, []).append(Choice(person.id, person.email, label))
    return list(groups.items())


def _emails(choices) -> dict[str, str]:
    return {str(choice.id): choice.email for _, group in choices for choice in group}


# --- the stage owner: propose a resolution, convene a meeting ----------------------------------


def propose(session, disagreement: Disagreement, *, actor: str, now, values: dict) -> None:
    """The resolve form: d.resolve with its actions and learning, or InvalidInput naming the
    form's fields."""
    policy = policy_for(session, disagreement)
    emails = _emails(people_choices(session, disagreement))
    typed: dict[str, str] = {}
    rows: list[tuple[int, ActionInput]] = []
    for number in range(1, ROWS + 1):
        row = {field: values[f"actions[{number}].{field}"] for field in ROW_FIELDS}
        if any(row.values()):
            action, problems = _action(policy, number, row, emails)
            rows.append((number, action))
            typed.update(problems)
    learning = Learning(
        tuple(values["learning_themes"]), SYSTEMIC.get(values["systemic"]), values["lesson"]
    )
    gaps = {}
    if learning.systemic is None:
        gaps["systemic"] = "Select whether it points to a systemic issue"
    if not learning.lesson:
        gaps["lesson"] = "Enter the lesson, in a sentence or two"
    try:
        d.resolve(
            session,
            reference=disagreement.reference,
            actor=actor,
            now=now,
            outcome=values["outcome"],
            summary=values["summary"],
            learning=learning,
            actions=tuple(action for _, action in rows),
        )
        found = {}
    except InvalidInput as refusal:
        found = _renumbered(refusal.problems, [number for number, _ in rows])
    problems = gaps | found | typed
    if problems:
        raise InvalidInput(in_order(problems, RESOLVE_ORDER))


def _action(policy: Policy, number: int, row: dict, emails: dict) -> tuple[ActionInput, dict]:
    """One row as the domain's ActionInput: a meeting when it has a time (held on its date)."""
    problems = {}
    name = f"actions[{number}]"
    try:
        day = typed_date(row["due_on-day"], row["due_on-month"], row["due_on-year"])
    except ValueError:
        day = None
        problems[f"{name}.due_on"] = "The date must be a real date, like 3 12 2026"
    try:
        clock = typed_time(row["meeting_at"])
    except ValueError:
        clock = None
        problems[f"{name}.meeting_at"] = "The meeting time must be a real time, like 14:30"
    if row["place"] and clock is None and f"{name}.meeting_at" not in problems:
        problems[f"{name}.meeting_at"] = (
            "Enter the meeting's time, or leave the place blank if it is not a meeting"
        )
    meeting_at = policy.calendar.instant_at(day, clock) if day and clock else None
    owner = emails.get(row["owner"], "")
    return ActionInput(row["what"], owner, day, meeting_at, row["place"]), problems


def _renumbered(problems: dict[str, str], numbers: list[int]) -> dict[str, str]:
    """The domain's `actions[N].field` (N counts the rows it was given) as the page's row."""
    found = {}
    for field, words in problems.items():
        match = NUMBERED.fullmatch(field)
        if match and 0 < int(match.group(1)) <= len(numbers):
            field = f"actions[{numbers[int(match.group(1)) - 1]}].{match.group(2)}"
        found[field] = words
    return found


def in_order(problems: dict[str, str], order: tuple[str, ...]) -> dict[str, str]:
    """The problems in the order of the page's fields (any other field last)."""

    def place(field: str) -> int:
        return order.index(field) if field in order else len(order)

    return dict(sorted(problems.items(), key=lambda item: place(item[0])))


def convene(session, disagreement: Disagreement, *, actor: str, now, values: dict) -> int:
    """The convene form: d.convene_meeting; how many were invited. InvalidInput names the
    form's fields."""
    policy = policy_for(session, disagreement)
    typed = {}
    try:
        day = typed_date(*(values[f"meeting_at-{part}"] for part in DATE_PARTS))
        if day is None:
            typed["meeting_at"] = "Enter the date of the meeting, like 3 12 2026"
    except ValueError:
        day = None
        typed["meeting_at"] = "The date of the meeting must be a real date, like 3 12 2026"
    try:
        clock = typed_time(values["meeting_time"])
        if clock is None:
            typed["meeting_time"] = "Enter the time of the meeting, like 14:30"
    except ValueError:
        clock = None
        typed["meeting_time"] = "The time of the meeting must be a real time, like 14:30"
    emails = _emails(people_choices(session, disagreement))
    invitees = [emails[key] for key in values["invitees"] if key in emails]
    try:
        d.convene_meeting(
            session,
            reference=disagreement.reference,
            actor=actor,
            now=now,
            meeting_at=policy.calendar.instant_at(day, clock) if day and clock else None,
            place=values["place"],
            invitees=invitees,
        )
        found = {}
    except InvalidInput as refusal:
        found = dict(refusal.problems)
    if day is None or clock is None:
        found.pop("meeting_at", None)  # the date's or the time's own error says which is wrong
    problems = found | typed
    if problems:
        raise InvalidInput(in_order(problems, CONVENE_ORDER))
    return len(invitees)


# --- the asked person's say; an action owner's confirmation -------------------------------------


def say(session, disagreement: Disagreement, *, actor: str, now, values: dict) -> str:
    """Accept or contest the proposed resolution; which one was done."""
    reference = disagreement.reference
    if values["answer"] == "accept":
        d.accept(session, reference=reference, actor=actor, now=now)
    elif values["answer"] == "contest":
        d.contest(session, reference=reference, actor=actor, now=now, reason=values["reason"])
    else:
        raise InvalidInput(
            {"answer": "Select whether you accept or contest the proposed resolution"}
        )
    return values["answer"]


def confirm(session, disagreement: Disagreement, items, *, actor: str, now, values: dict) -> None:
    """Confirm one of the holder's own open actions (`items`) done. InvalidInput names the
    fields of that action's form (note-7, attendees-7)."""
    item = next((i for i in items if str(i.id) == values["action_id"]), None)
    if item is None:
        raise NotAllowed("that action is not yours, or it is no longer open")
    try:
        d.confirm_action(
            session,
            reference=disagreement.reference,
            actor=actor,
            now=now,
            action_id=item.id,
            note=values["note"],
            attendees=values["attendees"] if item.kind == "meeting" else "",
        )
    except InvalidInput as refusal:
        raise InvalidInput(
            {f"{field}-{item.id}": words for field, words in refusal.problems.items()}
        ) from None
