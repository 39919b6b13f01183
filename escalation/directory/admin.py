"""The board manager's directory admin: add and edit people, and page through them (the form as
typed is person_form.py, one partnership's CSV partnership_csv.py, the gaps that would stall
escalation gaps.py).

The form and the CSV share one set of rules (escalation.directory.row.DirectoryRow), which
refuses control characters (NUL, CR, LF, tab...) in every text field. Everything is scoped to one
partnership: a person of another partnership is "not found", an import that touches another
partnership is refused whole, and an address held in another partnership is refused in words
that do not say so (FOREIGN_ADDRESS). A deputy or line manager who would close a loop is refused
(loops.py); the agency type of an organisation other partnerships name too is the service
administrator's to change (organisations.py); so are the partnerships someone serves besides
theirs, which the form shows but does not change. An import has at most MAX_IMPORT_ROWS (5,000)
rows; the export neutralises cells a spreadsheet would run as a formula (rules.csv_cells).
"""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from escalation.directory import organisations
from escalation.directory.facts import set_roles
from escalation.directory.loops import form_loop
from escalation.directory.people import NO_CONTROL, find_person, normalise_email
from escalation.directory.person_form import PersonForm
from escalation.directory.row import (
    OWN_DEPUTY,
    OWN_LINE_MANAGER,
    PRIMARY_NOT_HELD,
    UNTIL_BEFORE_FROM,
    UNTIL_WITHOUT_FROM,
    DirectoryRow,
    broken_rule,
)
from escalation.rules.errors import InvalidInput, NotFound
from escalation.store.models import Person

PAGE_SIZE = 100  # people on one page of the directory
MAX_LENGTHS = {"name": 200, "email": 320, "organisation": 200, "job_title": 200}  # the columns'
FIELD_WORDS = {
    "name": "Enter their name",
    "email": "Enter an email address in the correct format, like name@example.org.uk",
    "organisation": "Enter their organisation",
    "roles": "Select roles from the list",
    "primary_roles": "Select primary roles from the list",
    "agency_type": "Select an agency type from the list",
    "professional_group": "Select a professional group from the list",
    "absent_from": "The start of the absence must be a real date, like 27 3 2026",
    "absent_until": "The end of the absence must be a real date, like 27 3 2026",
}
FIELD_LABELS = {
    "name": "Name",
    "email": "Email address",
    "organisation": "Organisation",
    "job_title": "Job title",
}
# The form's person lists: the field, the relationship it sets and its words.
LINKS = {"deputy": ("deputy", "deputy"), "line_manager": ("line_manager", "line manager")}
# An address held in ANOTHER partnership: the words say neither that it exists nor where (a
# board manager may not learn another partnership's people); the service administrator, who
# sees every partnership, can move the person.
FOREIGN_ADDRESS = "cannot be added to your directory; check it, or ask the service administrator"
ABSENCE_PROBE = {
    "name": "-",
    "email": "probe@example.org",
    "organisation": "-",
    "roles": [],
    "primary_roles": [],
    "deputy_email": "",
    "line_manager_email": "",
    "agency_type": "",
    "professional_group": "",
}
# DirectoryRow's rules across fields: the form field to show each on, and in what words.
ROW_RULES = {
    UNTIL_BEFORE_FROM: (
        "absent_until",
        "The end of the absence must be the same as or after its start",
    ),
    UNTIL_WITHOUT_FROM: (
        "absent_from",
        "Enter when the absence starts, as well as when it ends",
    ),
    OWN_DEPUTY: ("deputy", "A person cannot be their own deputy"),
    OWN_LINE_MANAGER: ("line_manager", "A person cannot be their own line manager"),
    PRIMARY_NOT_HELD: ("primary_roles", "A primary role must also be one of their roles"),
}


def person_in(session: Session, partnership: str, person_id: int) -> Person:
    """The person, if they are in `partnership`; otherwise NotFound (never "forbidden")."""
    person = session.get(Person, person_id)
    if person is None or person.partnership != partnership:
        raise NotFound("no such person in your partnership")
    return person


def deputy_choices(session: Session, partnership: str, person: Person | None) -> list:
    """Everyone in the partnership but `person`, by name, as rows of (id, name, organisation,
    active): the form's deputy and line manager lists. Columns, not Person objects (a list of
    52,000 people)."""
    query = (
        select(Person.id, Person.name, Person.organisation, Person.active)
        .where(Person.partnership == partnership)
        .order_by(Person.name, Person.id)
    )
    if person is not None:
        query = query.where(Person.id != person.id)
    return list(session.execute(query))


def page_count(total: int) -> int:
    """How many directory pages `total` people fill (at least one, even when there is nobody)."""
    return max(1, -(-total // PAGE_SIZE))


def page_of_people(session: Session, partnership: str, page: int) -> tuple[list[Person], int]:
    """Page `page` (1 is the first; past the last gives the last) of the partnership's people,
    PAGE_SIZE of them by name, with their deputies and line managers loaded; and how many
    people there are."""
    total = session.execute(
        select(func.count()).select_from(Person).where(Person.partnership == partnership)
    ).scalar_one()
    page = min(max(page, 1), page_count(total))
    people = session.execute(
        select(Person)
        .where(Person.partnership == partnership)
        .order_by(Person.name, Person.id)
        .options(selectinload(Person.deputy), selectinload(Person.line_manager))
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).scalars()
    return list(people), total


def save_person(
    session: Session,
    *,
    partnership: str,
    form: PersonForm,
    person: Person | None = None,
    editor_id: int | None = None,
) -> Person:
    """Add a person (`person` None) or update one, in `partnership`; a blank agency type
    leaves their organisation's as it is.

    Raises InvalidInput mapping each form field to what is wrong; nothing is changed then.
    """
    problems = {
        field: f"Must be {most} characters or fewer"
        for field, most in MAX_LENGTHS.items()
        if len(getattr(form, field).strip()) > most
    }
    linked = {
        field: _linked(session, partnership, form, field, person, problems) for field in LINKS
    }
    if not set(form.primary_roles) <= set(form.roles):  # said even when other fields are wrong
        problems.setdefault(*ROW_RULES[PRIMARY_NOT_HELD])
    row = _row(form, partnership, linked, problems)
    if row is not None:
        holder = find_person(session, row.email)
        if holder is not None and holder is not person:
            problems.setdefault("email", _taken_words(holder, partnership))
        given = [organisations.Given(None, row.organisation, row.agency_type)]
        for problem in organisations.changes_not_ours(session, given, partnership):
            problems.setdefault("agency_type", problem.message[:1].upper() + problem.message[1:])
    if person is not None and person.id == editor_id:
        _keep_own_access(person, form, problems)
    if problems:
        raise InvalidInput(problems)
    person = person or Person(partnership=partnership)
    person.name, person.email, person.organisation = row.name, row.email, row.organisation
    person.job_title = row.job_title.strip()
    person.absent_from, person.absent_until = row.absent_from, row.absent_until
    person.deputy, person.line_manager = linked["deputy"], linked["line_manager"]
    person.professional_group, person.active = row.professional_group, form.active
    person.listed = True  # saved by the board: a directory person (may sign in if active)
    set_roles(person, row.roles, row.primary_roles)
    organisations.save(session, given)
    session.add(person)
    session.flush()
    return person


def _row(
    form: PersonForm, partnership: str, linked: dict, problems: dict[str, str]
) -> DirectoryRow | None:
    fields = {
        "name": form.name,
        "email": form.email,
        "organisation": form.organisation,
        "partnership": partnership,
        "roles": list(form.roles),
        "primary_roles": list(form.primary_roles),
        "job_title": form.job_title,
        "deputy_email": linked["deputy"].email if linked["deputy"] else "",
        "line_manager_email": linked["line_manager"].email if linked["line_manager"] else "",
        "absent_from": form.absent_from,
        "absent_until": form.absent_until,
        "agency_type": form.agency_type,
        "professional_group": form.professional_group,
    }
    try:
        return DirectoryRow(**fields)
    except ValidationError as error:
        items = error.errors()
    if not any(item["loc"] and str(item["loc"][0]).startswith("absent") for item in items):
        items += _absence_errors(fields)
    for item in items:
        field, words = _form_problem(item)
        problems.setdefault(field, words)
    return None


def _taken_words(holder: Person, partnership: str) -> str:
    if holder.partnership != partnership:
        return f"This email address {FOREIGN_ADDRESS}"
    return f"{holder.name} already has this email address in your directory"


def _absence_errors(fields: dict) -> list:
    # Pydantic skips the row-wide rules when any field is wrong; check the absence on its own
    # (same rules, other fields set aside) so the form shows every problem at once.
    try:
        DirectoryRow(**{**fields, **ABSENCE_PROBE})
    except ValidationError as error:
        return error.errors()
    return []


def _form_problem(item: dict) -> tuple[str, str]:
    rule = broken_rule(item)
    if rule is not None:
        return ROW_RULES[rule]
    message = item["msg"].removeprefix("Value error, ")
    if not item["loc"]:
        return "form", message
    field = str(item["loc"][0])
    if message == NO_CONTROL:
        return field, f"{FIELD_LABELS.get(field, field)} {NO_CONTROL}"
    return field, FIELD_WORDS.get(field, message[:1].upper() + message[1:])


def _linked(
    session: Session,
    partnership: str,
    form: PersonForm,
    field: str,
    person: Person | None,
    problems: dict[str, str],
) -> Person | None:
    """The deputy or line manager the form chose, or None (a problem noted if it is unusable)."""
    attribute, words = LINKS[field]
    chosen = getattr(form, field).strip()
    if not chosen:
        return None
    linked = session.get(Person, int(chosen)) if is_id(chosen) else None
    if linked is None or linked.partnership != partnership:
        problems[field] = f"Select a {words} from the list"
        return None
    if person is not None and linked.id == person.id:
        problems[field] = f"A person cannot be their own {words}"
        return None
    loop = form_loop(person, linked, attribute)
    if loop:
        names = " → ".join(someone.name for someone in [*loop, loop[0]])
        problems[field] = f"Select another {words}: this one makes a loop ({names})"
        return None
    return linked


def _keep_own_access(person: Person, form: PersonForm, problems: dict[str, str]) -> None:
    # Otherwise a board manager could lock themselves (and perhaps the partnership) out: the
    # sign-in session is held by email, and the board pages need an active board manager.
    if normalise_email(form.email) != person.email:
        problems["email"] = "You cannot change your own email address; ask another board manager"
    if "board_manager" not in form.roles:
        problems["roles"] = (
            "You cannot remove your own board manager role; ask another board manager"
        )
    if not form.active:
        problems["active"] = "You cannot make yourself inactive; ask another board manager"
    if "chair" in form.roles and "chair" not in person.roles:
        # The chair approves what managers ask for (deadline extensions): two people.
        problems.setdefault(
            "roles", "You cannot make yourself the chair; ask another board manager"
        )


def is_id(text: str) -> bool:
    """Digits that fit a database integer (a longer number would be a database error)."""
    return text.isdigit() and len(text) <= 9
