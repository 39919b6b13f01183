"""The board's pages: sign-in with a second factor, the dashboard, the case page and its actions.

Sign-in: the same one-time emailed link as practitioners (escalation.access.signin), then a 6-digit code
from the person's authenticator app (escalation.access.second_factor). Five wrong codes end the session.
After the code the session id is replaced, so a cookie seen before the second factor is useless.
Viewing a case page is recorded in its chronology, like every other view of the record.
"""

from __future__ import annotations

import secrets
from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from escalation.access import second_factor, signin
from escalation.casework import board_actions
from escalation.casework import disagreements as d
from escalation.directory.people import ROLE_WORDS
from escalation.reads.casefile import casefile
from escalation.reads.dashboard import (
    PAGE_SIZE,
    counts_by_stage,
    open_alerts,
    page_of_rows,
    parse_filters,
    undelivered_count,
)
from escalation.rules.calendar import due_text
from escalation.rules.errors import InvalidInput, NotAllowed
from escalation.rules.vocabulary import BOARD_ROLES, CATEGORIES, LEARNING_THEMES, OUTCOMES
from escalation.store.db import transaction
from escalation.store.models import Person
from escalation.web.board.auth import (
    CHAIR,
    EITHER,
    MANAGER,
    BoardSignInRequired,
    BoardUser,
    case_for,
    current_user,
    policy_of,
)
from escalation.web.forms import PostedForm
from escalation.web.raising import cookie_name, send_sign_in_link
from escalation.web.ratelimit import limited

router = APIRouter(include_in_schema=False)
MAX_FAILED_CODES = 5
ANCHORS = {"held_on": "held_on-day", "learning_themes": "theme-thresholds", "decision": "decision"}


# --- sign-in ----------------------------------------------------------------------------------


BOARD_SIGN_IN = {
    "title": "Sign in to the board pages",
    "layout": "pages/board_base.html",
    "action": "/board/signin",
    "intro": "For board managers and chairs. We will email you a link to sign in; then you will "
    "need the 6-digit code from your authenticator app.",
}


@router.get("/board/signin")
def signin_form(request: Request) -> Response:
    return page(request, "pages/signin.html", dict(BOARD_SIGN_IN))


@router.post("/board/signin", dependencies=[Depends(limited("signin", 10, 600)),
                                             Depends(limited("signin", 3, 600, by="email"))])
def ask_for_link(request: Request, form: PostedForm) -> Response:
    return send_sign_in_link(
        request,
        form,
        dict(BOARD_SIGN_IN),
        allowed_domains=[],
        sent="If that address is in the directory, we have sent it a sign-in link. It works "
        "once, for 30 minutes. You will then need your authenticator app.",
    )


@router.get("/board/verify")
def code_form(request: Request) -> Response:
    user = current_user(request, BOARD_ROLES, second_factor=False)
    return _code_page(request, user)


@router.post("/board/verify", dependencies=[Depends(limited("board-code", 20, 600))])
def check_code(request: Request, form: PostedForm) -> Response:
    user = current_user(request, BOARD_ROLES, second_factor=False)
    if not secrets.compare_digest(str(form.get("csrf", "")), user.csrf):
        return page(
            request,
            "pages/message.html",
            {
                "title": "Sorry, there is a problem",
                "message": "This form had expired. Reload it and try again.",
            },
            403,
        )
    code = str(form.get("code", ""))[:20]
    now = request.app.state.clock()
    with transaction(request.app.state.sessions) as session:
        if second_factor.verify(session, user.email, code, now=now):
            raw = signin.confirm_second_factor(session, request.cookies.get(cookie_name()), now=now)
            if raw is None:
                raise BoardSignInRequired()
            response = RedirectResponse("/board", status_code=303)
            response.set_cookie(
                cookie_name(),
                raw,
                httponly=True,
                samesite="lax",
                path="/",
                secure=cookie_name().startswith("__Host-"),
            )
            return response
        failures = signin.count_failed_code(
            session, request.cookies.get(cookie_name()), now=now, limit=MAX_FAILED_CODES
        )
    if failures >= MAX_FAILED_CODES:
        return page(
            request,
            "pages/message.html",
            {
                "title": "You have been signed out",
                "message": "Too many wrong codes. Ask for a new sign-in link to try again.",
            },
            403,
        )
    return _code_page(
        request, user, {"code": "Enter the 6-digit code shown in your authenticator app now"}, 422
    )


def _code_page(
    request: Request, user: BoardUser, errors: dict | None = None, status: int = 200
) -> Response:
    with transaction(request.app.state.sessions) as session:
        enrolled = session.get(Person, user.person_id).totp_secret is not None
    return page(
        request,
        "pages/board_verify.html",
        {
            "title": "Enter your security code",
            "csrf": user.csrf,
            "enrolled": enrolled,
            "errors": errors or {},
        },
        status,
    )


# --- dashboard --------------------------------------------------------------------------------


@router.get("/board")
def dashboard(request: Request, user: BoardUser = Depends(EITHER)) -> Response:
    policy = policy_of(request, user)
    stages = [stage.key for stage in policy.stages]
    filters = parse_filters(dict(request.query_params), stages=stages, categories=list(CATEGORIES))
    now = request.app.state.clock()
    with transaction(request.app.state.sessions) as session:
        rows, total = page_of_rows(session, user.partnership, filters, timezone=policy.timezone)
        counts = counts_by_stage(session, user.partnership, now)
        people = _people(session, user.partnership)
        context = {
            "title": "Open disagreements",
            "user": user,
            "filters": filters,
            "rows": [_row_view(row, policy, now) for row in rows],
            "total": total,
            "counts": [(stage, counts.get(stage.key, {})) for stage in policy.stages],
            "undelivered": undelivered_count(session, user.partnership),
            "alerts": open_alerts(session, user.partnership),
            "pending": board_actions.pending_extensions(session, user.partnership),
            "organisation_options": [(o, o) for o in sorted({p.organisation for p in people})],
            "owner_options": [(str(p.id), f"{p.name}, {p.organisation}") for p in people],
            "stage_titles": {stage.key: stage.title for stage in policy.stages},
            "categories": CATEGORIES,
            "pages": _pagination(request, filters.page, total),
            "errors": filters.errors,
            "error_list": [
                {"text": text, "href": f"#{name}"} for name, text in filters.errors.items()
            ],
        }
    return page(request, "pages/board_dashboard.html", context)


def _row_view(row, policy, now) -> dict:
    overdue = row.status == "open" and row.due_at <= now
    days = policy.calendar.working_days_overdue(row.due_at, now) if overdue else 0
    return {
        "row": row,
        "due": due_text(row.due_at, policy.timezone),
        "overdue": overdue,
        "overdue_words": _overdue_words(days) if overdue else "",
    }


def _overdue_words(days: int) -> str:
    if days == 0:
        return "overdue today"
    return f"overdue {days} working day{'s' if days != 1 else ''}"


def _pagination(request: Request, current: int, total: int) -> dict:
    params = {k: v for k, v in request.query_params.items() if k != "page"}
    return {
        **pagination("/board", params, current, max(1, -(-total // PAGE_SIZE))),
        "first_row": (current - 1) * PAGE_SIZE + 1,
    }


def pagination(path: str, params: dict, current: int, last: int) -> dict:
    """GOV.UK pagination's items for page `current` of `last` at `path` with the query `params`:
    the first and last pages and two either side of `current`."""

    def href(number: int) -> str:
        return f"{path}?" + urlencode({**params, "page": number})

    numbers = sorted({1, last, *range(max(1, current - 2), min(last, current + 2) + 1)})
    items, previous = [], 0
    for number in numbers:
        if number - previous > 1:
            items.append({"ellipsis": True})
        items.append({"number": number, "href": href(number), "current": number == current})
        previous = number
    return {
        "items": items if last > 1 else [],
        "previous": {"href": href(current - 1)} if current > 1 else None,
        "next": {"href": href(current + 1)} if current < last else None,
        "last": last,
    }


def _people(session, partnership: str) -> list[Person]:
    from sqlalchemy import select

    return list(
        session.execute(
            select(Person)
            .where(Person.partnership == partnership, Person.active)
            .order_by(Person.name)
        ).scalars()
    )


# --- the case page and its actions ------------------------------------------------------------


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
                p for p in _people(session, user.partnership) if p.id != disagreement.owner_id
            ],
            "extension_unit": unit.replace("_", " "),
            "extension_limit": limit,
            "pending": pending,
            "may_extend": not this_stage and disagreement.is_open,
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


@router.post("/board/d/{reference}/close")
def close(request: Request, reference: str, form: PostedForm, user: BoardUser = Depends(EITHER)) -> Response:
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


def page(request: Request, name: str, context: dict, status: int = 200) -> Response:
    context.setdefault("errors", {})
    return request.app.state.templates.TemplateResponse(request, name, context, status_code=status)
