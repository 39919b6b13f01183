"""The board's dashboard: counts by stage, alerts, extensions waiting for the chair, the watched
cases with open actions and their dates, and one page of the partnership's disagreements
(urgent first, then the most overdue) with filters. How a case is ending shows as a tag:
"Resolution proposed" while the raiser's say is awaited, "Watched" while agreed actions are
open; so do a missed deadline, an automatic escalation and an unacknowledged stage, each with its
filter. The title follows the status filter ("All disagreements"), and the organisation filters
offer every organisation of the partnership's directory and disagreements."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from escalation.casework import board_actions
from escalation.reads.dashboard import (
    PAGE_SIZE,
    counts_by_stage,
    open_alerts,
    page_of_rows,
    parse_filters,
)
from escalation.reads.dashboard_flags import (
    FLAG_WORDS,
    organisation_options,
    undelivered_count,
)
from escalation.reads.watched import watched_cases
from escalation.rules import statemachine as sm
from escalation.rules.calendar import date_text, due_text
from escalation.rules.vocabulary import CATEGORIES
from escalation.store.db import transaction
from escalation.web.board.auth import EITHER, BoardUser, policy_of
from escalation.web.board.pages import page, pagination, people

router = APIRouter(include_in_schema=False)
TITLES = {
    "open": "Open disagreements",
    "resolved": "Resolved disagreements",
    "withdrawn": "Withdrawn disagreements",
    "all": "All disagreements",
}


@router.get("/board")
def dashboard(request: Request, user: BoardUser = Depends(EITHER)) -> Response:
    policy = policy_of(request, user)
    stages = [stage.key for stage in policy.stages]
    filters = parse_filters(dict(request.query_params), stages=stages, categories=list(CATEGORIES))
    now = request.app.state.clock()
    with transaction(request.app.state.sessions) as session:
        rows, total = page_of_rows(session, user.partnership, filters, timezone=policy.timezone)
        counts = counts_by_stage(session, user.partnership, now)
        people_here = people(session, user.partnership)
        watched, watched_total = watched_cases(session, user.partnership)
        context = {
            "title": TITLES[filters.status],
            "partnership_name": policy.area,
            "flag_words": FLAG_WORDS,
            "user": user,
            "filters": filters,
            "rows": [_row_view(row, policy, now) for row in rows],
            "total": total,
            "counts": [(stage, counts.get(stage.key, {})) for stage in policy.stages],
            "undelivered": undelivered_count(session, user.partnership),
            "alerts": open_alerts(session, user.partnership),
            "pending": board_actions.pending_extensions(session, user.partnership),
            "watched": watched,
            "watched_total": watched_total,
            "organisation_options": organisation_options(session, user.partnership),
            "owner_options": [(str(p.id), f"{p.name}, {p.organisation}") for p in people_here],
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
        "ending": ending_words(row.resolution_state, row.open_actions, row.next_action_on)
        if row.status == "open"
        else "",
    }


def ending_words(state: str | None, open_actions: int, next_on) -> str:
    """The row's tag while it is ending ("" while a stage is active or it is closed)."""
    if state == sm.PROPOSED:
        return "Resolution proposed"
    if state == sm.WATCHED:
        words = f"Watched: {open_actions} open action{'s' if open_actions != 1 else ''}"
        return words + (f", next due {date_text(next_on)}" if next_on else "")
    return ""


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
