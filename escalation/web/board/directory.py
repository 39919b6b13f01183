"""The board's directory pages: the partnership's people (100 a page) with the gaps that would
stall escalation (read across the whole partnership), and adding and editing a person. Its CSV
export and import are in directory_csv.py.

The chair may look; only a board manager changes anything. Everything is scoped to the user's
partnership (escalation.directory.admin); another partnership's person is "not found".
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from escalation.directory.admin import (
    PAGE_SIZE,
    deputy_choices,
    is_id,
    page_count,
    page_of_people,
    person_in,
    save_person,
)
from escalation.directory.facts import other_partnerships_text
from escalation.directory.gaps import open_stages_owned, role_gaps, stages_words
from escalation.directory.organisations import agency_type_of, listed
from escalation.directory.people import ROLE_WORDS
from escalation.directory.person_form import (
    PersonForm,
    choices,
    form_from,
    organisation_chosen,
    typed_values,
    values_of,
)
from escalation.rules.calendar import date_text, local_date
from escalation.rules.errors import InvalidInput, NotFound
from escalation.rules.vocabulary import PROFESSIONAL_GROUPS, ROLES
from escalation.store.db import transaction
from escalation.store.models import Person
from escalation.web.board.auth import EITHER, MANAGER, BoardUser, policy_of
from escalation.web.board.pages import page, pagination
from escalation.web.forms import PostedForm

router = APIRouter(include_in_schema=False)
FIELD_ORDER = (
    "name",
    "email",
    "organisation",
    "new_organisation",
    "new_agency_type",
    "agency_type",
    "job_title",
    "professional_group",
    "roles",
    "primary_roles",
    "deputy",
    "line_manager",
    "absent_from",
    "absent_until",
    "active",
)
ANCHORS = {"absent_from": "absent_from-day", "absent_until": "absent_until-day", "form": "name"}


# --- the list ---------------------------------------------------------------------------------


@router.get("/board/directory")
def directory(request: Request, user: BoardUser = Depends(EITHER)) -> Response:
    today = local_date(request.app.state.clock())
    wanted = _page_number(request.query_params.get("page", "1"))
    with transaction(request.app.state.sessions) as session:
        people, total = page_of_people(session, user.partnership, wanted)
        current = min(wanted, page_count(total))
        context = {
            "title": "Directory",
            "user": user,
            "partnership_name": policy_of(request, user).area,
            "rows": [_row_view(person, today) for person in people],
            "total": total,
            "first_row": (current - 1) * PAGE_SIZE + 1,
            "pages": pagination("/board/directory", {}, current, page_count(total)),
            # The gap banner routes every stage for every organisation: on the first page only,
            # where the board starts, not again on each page paged through.
            "warnings": role_gaps(
                session,
                partnership=user.partnership,
                policies=request.app.state.policies.values(),
                on=today,
            )
            if current == 1
            else [],
            "message": _done_message(session, user, request.query_params),
        }
    return page(request, "pages/board_directory.html", context)


def _page_number(text: str) -> int:
    """A page number from the query string; anything that is not one is the first page."""
    return int(text) if text.isdigit() and 0 < len(text) < 7 and int(text) > 0 else 1


def _row_view(person: Person, today: date) -> dict:
    return {
        "person": person,
        "roles": ", ".join(ROLE_WORDS[r] for r in ROLES if r in person.roles).capitalize(),
        "deputy": person.deputy.name if person.deputy else "",
        "line_manager": person.line_manager.name if person.line_manager else "",
        "group": PROFESSIONAL_GROUPS.get(person.professional_group, person.professional_group),
        "primary": ", ".join(ROLE_WORDS[r] for r in ROLES if r in person.primary_roles),
        "absence": _absence_words(person),
        "absent_today": person.is_absent_on(today),
    }


def _absence_words(person: Person) -> str:
    if person.absent_from is None:
        return ""
    if person.absent_until is None:
        return f"From {date_text(person.absent_from)}"
    return f"{date_text(person.absent_from)} to {date_text(person.absent_until)}"


def _done_message(session, user: BoardUser, query) -> str:
    imported = query.get("imported", "")
    if is_id(imported):
        people = "person" if imported == "1" else "people"
        return f"{imported} {people} added or updated from the file."
    saved = query.get("saved", "")
    if not is_id(saved):
        return ""
    try:
        person = person_in(session, user.partnership, int(saved))
    except NotFound:
        return ""
    owned = 0 if person.active else open_stages_owned(session, person.id)
    if owned:
        return (
            f"Saved {person.name}. They are inactive but still own {stages_words(owned)}, "
            "which are not reassigned automatically: reassign them from the dashboard."
        )
    return f"Saved {person.name}."


# --- add and edit -----------------------------------------------------------------------------


@router.get("/board/directory/new")
def new_person_form(request: Request, user: BoardUser = Depends(MANAGER)) -> Response:
    with transaction(request.app.state.sessions) as session:
        return _person_page(request, session, user, None, values_of(PersonForm()))


@router.post("/board/directory/new")
def add_person(request: Request, form: PostedForm, user: BoardUser = Depends(MANAGER)) -> Response:
    return _save(request, form, user, None)


@router.get("/board/directory/{person_id}")
def edit_person_form(
    request: Request, person_id: str, user: BoardUser = Depends(MANAGER)
) -> Response:
    with transaction(request.app.state.sessions) as session:
        person = _person(session, user, person_id)
        form = PersonForm.of(person, agency_type_of(session, person.organisation))
        return _person_page(request, session, user, person, values_of(form))


@router.post("/board/directory/{person_id}")
def edit_person(
    request: Request, person_id: str, form: PostedForm, user: BoardUser = Depends(MANAGER)
) -> Response:
    return _save(request, form, user, person_id)


def _save(request: Request, form: FormData, user: BoardUser, person_id: str | None) -> Response:
    """Save the person, their organisation chosen from the list or added deliberately; every
    problem is named at once."""
    values = typed_values(form)
    try:
        with transaction(request.app.state.sessions) as session:
            person = _person(session, user, person_id) if person_id else None
            chosen, problems = organisation_chosen(values, listed(session, user.partnership))
            try:
                saved = save_person(
                    session,
                    partnership=user.partnership,
                    form=form_from(chosen),
                    person=person,
                    editor_id=user.person_id,
                )
            except InvalidInput as error:  # a name typed wrong: its words; else the list's
                typed = values["organisation"].strip() and "organisation" in error.problems
                problems = {**error.problems, **problems} | (
                    {"organisation": error.problems["organisation"]} if typed else {}
                )
            if problems:  # raised in the transaction: a person saved meanwhile is rolled back
                raise InvalidInput(problems)
    except InvalidInput as error:
        with transaction(request.app.state.sessions) as session:
            person = _person(session, user, person_id) if person_id else None
            return _person_page(request, session, user, person, values, error.problems, 422)
    return RedirectResponse(f"/board/directory?saved={saved.id}", status_code=303)


def _form_order(field: str) -> int:
    return FIELD_ORDER.index(field) if field in FIELD_ORDER else len(FIELD_ORDER)


def _person(session, user: BoardUser, person_id: str) -> Person:
    if not is_id(person_id):
        raise NotFound("no such person")
    return person_in(session, user.partnership, int(person_id))


def _person_page(
    request: Request,
    session,
    user: BoardUser,
    person: Person | None,
    values: dict,
    problems: dict | None = None,
    status: int = 200,
) -> Response:
    problems = problems or {}
    others = deputy_choices(session, user.partnership, person)
    organisations = listed(session, user.partnership)
    typed = values["organisation"].strip().lower()
    if typed in organisations:  # the record's name, whatever case was stored or typed
        values = {**values, "organisation": organisations[typed]}
    return page(
        request,
        "pages/board_person.html",
        {
            "title": f"Edit {person.name}" if person else "Add a person",
            "user": user,
            "csrf": user.csrf,
            "action": f"/board/directory/{person.id}" if person else "/board/directory/new",
            "values": values,
            "errors": problems,
            "err": {field: {"text": text} for field, text in problems.items()},
            "error_list": [
                {"text": problems[field], "href": f"#{ANCHORS.get(field, field)}"}
                for field in sorted(problems, key=_form_order)
            ],
            "other_partnerships": other_partnerships_text(person).replace(";", ", "),
            **choices(
                values, others, agency_types=_agency_types(request, user), listed=organisations
            ),
        },
        status,
    )


def _agency_types(request: Request, user: BoardUser) -> tuple[str, ...]:
    """The agency types the partnership's policies know (they may add to the vocabulary's)."""
    policies = request.app.state.policies.values()
    return tuple(
        word
        for policy in policies
        if policy.partnership == user.partnership
        for word in policy.agency_types
    )
