"""The board's case page as it is drawn, and how each of its forms acts: in one transaction,
then back to the page (a redirect saying what was done), or the page again with the form's
problems and what was typed. The routes are in case.py (the stage's actions) and endings.py
(how it ends: proposing a resolution, meetings, agreed actions)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from escalation.casework import board_actions
from escalation.casework import disagreements as d
from escalation.directory.people import ROLE_WORDS
from escalation.reads.casefile import Casefile, casefile, counterpart_choices
from escalation.rules import statemachine as sm
from escalation.rules.calendar import due_text
from escalation.rules.errors import InvalidInput, NotAllowed
from escalation.rules.vocabulary import CATEGORIES, OUTCOMES
from escalation.store.db import transaction
from escalation.web.board import ending_forms
from escalation.web.board.auth import BoardUser, case_for
from escalation.web.board.pages import page, people
from escalation.web.proposal_form import ROWS, row_field

# Values a form sends more than once (checkboxes).
LISTS = ("learning_themes", "invitees")


def show(
    request: Request,
    user: BoardUser,
    reference: str,
    errors: dict | None = None,
    values: dict | None = None,
    status: int = 200,
) -> Response:
    """The case page; opening it (a plain GET) is itself recorded in the chronology."""
    now = request.app.state.clock()
    with transaction(request.app.state.sessions) as session:
        disagreement = case_for(session, user, reference)
        if status == 200 and request.method == "GET":
            d.record_view(
                session,
                reference=disagreement.reference,
                actor=user.email,
                now=now,
                how="opened the board case page",
            )
        file = casefile(session, disagreement)
        errors = errors or {}
        context = {
            "title": f"Disagreement {disagreement.reference}",
            "user": user,
            "file": file,
            "d": disagreement,
            "due": due_text(disagreement.due_at, file.policy.timezone),
            "overdue": disagreement.is_overdue(now),
            "stage_title": file.policy.stage(disagreement.stage_key).title,
            "category": CATEGORIES.get(disagreement.category, disagreement.category),
            "outcomes": OUTCOMES,
            "role_words": ROLE_WORDS,
            "people": [
                p for p in people(session, user.partnership) if p.id != disagreement.owner_id
            ],
            "choices": counterpart_choices(session, disagreement) if disagreement.is_open else [],
            "secure_domains": ", ".join(file.policy.secure_domains),
            "csrf": user.csrf,
            "values": values or {},
            "errors": errors,
            "err": {name: {"text": text} for name, text in errors.items()},
            "error_list": [
                {"text": text, "href": "#" + ending_forms.anchor(name)}
                for name, text in errors.items()
                if name != "form"
            ],
            **_extensions(disagreement, file),
            **_endings(session, disagreement, file),
        }
        return page(request, "pages/board_case.html", context, status)


def _extensions(disagreement, file: Casefile) -> dict:
    unit, limit = board_actions.extension_limit(disagreement, file.policy)
    this_stage = [e for e in file.extensions if e.requested_at >= disagreement.stage_entered_at]
    return {
        "extension_unit": unit.replace("_", " "),
        "extension_limit": limit,
        "pending": next((e for e in this_stage if e.decision is None), None),
        "may_extend": not this_stage and disagreement.is_open,
    }


def _endings(session, disagreement, file: Casefile) -> dict:
    """How it is ending, and what the ending forms offer."""
    themes = file.policy.endings.learning_themes
    open_items = [a for a in file.actions if a.state == "open"]
    titles = {stage.key: stage.title for stage in file.policy.stages}
    return {
        # Only while a stage is active may the board propose, convene, reassign or extend.
        "active": disagreement.is_open and disagreement.resolution_state is None,
        "ending_state": disagreement.resolution_state,
        "proposed": disagreement.resolution_state == sm.PROPOSED,
        "watched": disagreement.resolution_state == sm.WATCHED,
        "themes": themes,
        "theme_words": "; ".join(themes.get(t, t) for t in disagreement.learning_themes or []),
        "awaited": [say for say in file.says if say.answer == "awaited"],
        "open_items": open_items,
        "open_meetings": [a for a in open_items if a.kind == "meeting"],
        "open_actions": [a for a in open_items if a.kind != "meeting"],
        "action_rows": range(1, ROWS + 1),
        "row_field": row_field,
        "owners": ending_forms.action_owners(session, disagreement) if disagreement.is_open else [],
        "invitees": ending_forms.invitees(session, disagreement, titles)
        if disagreement.is_open
        else [],
    }


def act(
    request: Request,
    form: FormData,
    user: BoardUser,
    reference: str,
    action: Callable,
    fields: tuple[str, ...],
    done: str,
) -> Response:
    """Do `action(session, reference, values, now)`; its problems show on the page again."""
    values = {name: str(form.get(name, "")) for name in fields}
    for name in LISTS:
        values[name] = [str(v) for v in form.getlist(name)]
    now = request.app.state.clock()
    try:
        with transaction(request.app.state.sessions) as session:
            disagreement = case_for(session, user, reference)
            action(session, disagreement.reference, values, now)
    except InvalidInput as error:
        return show(request, user, reference, form_errors(error.problems), values, 422)
    except NotAllowed as error:
        return show(request, user, reference, {"form": str(error)}, values, 409)
    return RedirectResponse(f"/board/d/{reference.strip().upper()}?done={done}", status_code=303)


def form_errors(problems: dict[str, str]) -> dict[str, str]:
    words = {"summary": "Enter how it was resolved", "outcome": "Select the outcome"}
    return {
        field: words.get(field, message[:1].upper() + message[1:])
        for field, message in problems.items()
    }
