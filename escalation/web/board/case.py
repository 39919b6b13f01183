"""The board's case page: everything on the record about one disagreement, both sides of every
stage (its viewing is itself recorded), and the board's actions on it: a resolution meeting,
reassignment, a deadline extension (the board manager asks, the chair decides), changing the
counterpart, moving onto the urgent track, and closing it."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from escalation.casework import board_actions
from escalation.casework import disagreements as d
from escalation.directory.people import ROLE_WORDS
from escalation.reads.casefile import casefile, counterpart_choices
from escalation.rules.calendar import due_text
from escalation.rules.errors import InvalidInput, NotAllowed
from escalation.rules.vocabulary import CATEGORIES, LEARNING_THEMES, OUTCOMES
from escalation.store.db import transaction
from escalation.web.board.auth import CHAIR, EITHER, MANAGER, BoardUser, case_for
from escalation.web.board.pages import page, people
from escalation.web.forms import PostedForm
from escalation.web.link_views import FORM_FIELDS, change_counterpart

# The change-counterpart form's fields (the urgent track's is protective_action alone).
COUNTERPART_FORM = tuple(name for name in FORM_FIELDS if name != "protective_action")

router = APIRouter(include_in_schema=False)
ANCHORS = {"held_on": "held_on-day", "learning_themes": "theme-thresholds", "decision": "decision"}


@router.get("/board/d/{reference}")
def case_page(request: Request, reference: str, user: BoardUser = Depends(EITHER)) -> Response:
    return _case(request, user, reference)


def _case(
    request: Request,
    user: BoardUser,
    reference: str,
    errors: dict | None = None,
    values: dict | None = None,
    status: int = 200,
    message: str = "",
) -> Response:
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
        unit, limit = board_actions.extension_limit(disagreement, file.policy)
        this_stage = [e for e in file.extensions if e.requested_at >= disagreement.stage_entered_at]
        pending = next((e for e in this_stage if e.decision is None), None)
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
            "themes": LEARNING_THEMES,
            "role_words": ROLE_WORDS,
            "people": [
                p for p in people(session, user.partnership) if p.id != disagreement.owner_id
            ],
            "extension_unit": unit.replace("_", " "),
            "extension_limit": limit,
            "pending": pending,
            "may_extend": not this_stage and disagreement.is_open,
            "choices": counterpart_choices(session, disagreement) if disagreement.is_open else [],
            "secure_domains": ", ".join(file.policy.secure_domains),
            "csrf": user.csrf,
            "values": values or {},
            "errors": errors,
            "err": {name: {"text": text} for name, text in errors.items()},
            "message": message,
            "theme_words": "; ".join(
                LEARNING_THEMES.get(t, t) for t in disagreement.learning_themes or []
            ),
            "error_list": [
                {"text": text, "href": "#" + ANCHORS.get(name, name)}
                for name, text in errors.items()
                if name != "form"
            ],
        }
        return page(request, "pages/board_case.html", context, status)


def _act(
    request: Request,
    form: FormData,
    user: BoardUser,
    reference: str,
    action,
    fields: tuple[str, ...],
    done: str,
) -> Response:
    values = {name: str(form.get(name, "")) for name in fields}
    values["learning_themes"] = [str(v) for v in form.getlist("learning_themes")]
    now = request.app.state.clock()
    try:
        with transaction(request.app.state.sessions) as session:
            disagreement = case_for(session, user, reference)
            action(session, disagreement.reference, values, now)
    except InvalidInput as error:
        return _case(request, user, reference, _form_errors(error.problems), values, 422)
    except NotAllowed as error:
        return _case(request, user, reference, {"form": str(error)}, values, 409)
    return RedirectResponse(f"/board/d/{reference.strip().upper()}?done={done}", status_code=303)


@router.post("/board/d/{reference}/meeting")
def record_meeting(
    request: Request, reference: str, form: PostedForm, user: BoardUser = Depends(EITHER)
) -> Response:
    def action(session, ref, values, now):
        board_actions.record_meeting(
            session,
            reference=ref,
            actor=user.email,
            now=now,
            held_on=_date(values, "held_on"),
            attendees=values["attendees"],
            outcome=values["meeting_outcome"],
        )

    fields = ("held_on-day", "held_on-month", "held_on-year", "attendees", "meeting_outcome")
    return _act(request, form, user, reference, action, fields, "meeting")


@router.post("/board/d/{reference}/reassign")
def reassign(
    request: Request, reference: str, form: PostedForm, user: BoardUser = Depends(MANAGER)
) -> Response:
    def action(session, ref, values, now):
        board_actions.reassign(
            session,
            reference=ref,
            actor=user.email,
            now=now,
            new_owner_email=values["new_owner"],
            reason=values["reason"],
        )

    return _act(request, form, user, reference, action, ("new_owner", "reason"), "reassign")


@router.post("/board/d/{reference}/extension")
def request_extension(
    request: Request, reference: str, form: PostedForm, user: BoardUser = Depends(MANAGER)
) -> Response:
    def action(session, ref, values, now):
        amount = values["amount"].strip()
        board_actions.request_extension(
            session,
            reference=ref,
            actor=user.email,
            now=now,
            amount=int(amount) if amount.isdigit() and len(amount) < 5 else None,
            reason=values["extension_reason"],
        )

    return _act(request, form, user, reference, action, ("amount", "extension_reason"), "extension")


@router.post("/board/d/{reference}/extension/decision")
def decide_extension(
    request: Request, reference: str, form: PostedForm, user: BoardUser = Depends(CHAIR)
) -> Response:
    def action(session, ref, values, now):
        if values["decision"] not in ("approve", "refuse"):
            raise InvalidInput({"decision": "Select approve or refuse"})
        board_actions.decide_extension(
            session,
            reference=ref,
            actor=user.email,
            now=now,
            approve=values["decision"] == "approve",
        )

    return _act(request, form, user, reference, action, ("decision",), "decision")


@router.post("/board/d/{reference}/counterpart")
def new_counterpart(
    request: Request, reference: str, form: PostedForm, user: BoardUser = Depends(EITHER)
) -> Response:
    def action(session, ref, values, now):
        disagreement = d.get(session, ref)
        change_counterpart(session, disagreement, actor=user.email, now=now, values=values)

    return _act(request, form, user, reference, action, COUNTERPART_FORM, "counterpart")


@router.post("/board/d/{reference}/urgent")
def make_urgent(
    request: Request, reference: str, form: PostedForm, user: BoardUser = Depends(EITHER)
) -> Response:
    def action(session, ref, values, now):
        d.make_urgent(
            session,
            reference=ref,
            actor=user.email,
            now=now,
            protective_action=values["protective_action"],
        )

    return _act(request, form, user, reference, action, ("protective_action",), "urgent")


@router.post("/board/d/{reference}/close")
def close(
    request: Request, reference: str, form: PostedForm, user: BoardUser = Depends(EITHER)
) -> Response:
    def action(session, ref, values, now):
        if values["outcome"] not in OUTCOMES:
            raise InvalidInput({"outcome": "Select the outcome"})
        board_actions.close(
            session,
            reference=ref,
            actor=user.email,
            now=now,
            outcome=values["outcome"],
            summary=values["summary"],
            learning_themes=values["learning_themes"],
        )

    return _act(request, form, user, reference, action, ("outcome", "summary"), "close")


def _date(values: dict, name: str) -> date | None:
    try:
        return date(
            int(values[f"{name}-year"]), int(values[f"{name}-month"]), int(values[f"{name}-day"])
        )
    except (ValueError, OverflowError):
        return None


def _form_errors(problems: dict[str, str]) -> dict[str, str]:
    words = {"summary": "Enter how it was resolved", "outcome": "Select the outcome"}
    return {
        field: words.get(field, message[:1].upper() + message[1:])
        for field, message in problems.items()
    }
