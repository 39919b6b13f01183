"""The board's page for the section on disagreements in the partnership's yearly report
(escalation/reads/annual.py): headline sentences and tables, printable as it is, and a CSV of
every figure. Its period is a reporting year (`year=2025`: 1 April 2025 to 31 March 2026, the
year partnerships usually report on), by default the last one that is over; or two GOV.UK date
inputs (`from-day`, `from-month`, `from-year` and `to-…`), both days included. A period that
makes no sense is named in an error summary, and a CSV is never served for another period.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from escalation.reads import annual
from escalation.rules.calendar import local_midnight, time_text
from escalation.rules.csv_cells import neutralised
from escalation.store.db import transaction
from escalation.web.board.auth import EITHER, BoardUser, policy_of
from escalation.web.board.pages import page
from escalation.web.board.reports import filename_part

# Included before the reports' router, whose /board/reports/{figure}.csv would take annual.csv.
router = APIRouter(include_in_schema=False)


@router.get("/board/reports/annual")
def annual_page(request: Request, user: BoardUser = Depends(EITHER)) -> Response:
    """The yearly report's section: headline sentences and tables, printable as it is (with
    `print=yes`, without the navigation and the form)."""
    return _annual_response(request, user, dict(request.query_params))


@router.get("/board/reports/annual.csv")
def annual_download(request: Request, user: BoardUser = Depends(EITHER)) -> Response:
    """One row per figure: section, measure, value. For a period that makes no sense, the page
    with its errors (422), never figures for another period."""
    params = dict(request.query_params)
    policy = policy_of(request, user)
    now = request.app.state.clock()
    with transaction(request.app.state.sessions) as session:
        choice = _annual_choice(session, user, policy, params, now)
        section = None if choice.errors else _annual(session, user, policy, choice, now)
    if section is None:
        return _annual_response(request, user, params, status=422)
    days = f"{section.first_day.isoformat()}-to-{section.last_day.isoformat()}"
    filename = f"{filename_part(user.partnership)}-annual-{days}.csv"
    return Response(
        annual_csv(section),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@dataclass
class AnnualChoice:
    """The period asked for: a reporting year, or two dates; `errors` names what made no sense
    (the last reporting year that is over is shown instead)."""

    first_day: date
    last_day: date
    year: int | None  # None: dates chosen
    years: list[int]  # the reporting years to choose from, latest first
    values: dict[str, str]  # the date inputs as typed
    errors: dict[str, str] = field(default_factory=dict)

    def query(self) -> str:
        if self.year is not None:
            return "?" + urlencode({"year": self.year})
        return "?" + urlencode(
            {
                f"{name}-{part}": getattr(day, attribute)
                for name, day in (("from", self.first_day), ("to", self.last_day))
                for part, attribute in (("day", "day"), ("month", "month"), ("year", "year"))
            }
        )


def parse_annual(params: dict[str, str], now: datetime, policy, first: int | None) -> AnnualChoice:
    """The year or dates asked for. Reporting years run from April (`annual.reporting_year`);
    the default is the last one over, and the choice runs from the partnership's first to the
    current one."""
    current = annual.reporting_year(policy.calendar.local_date(now))
    years = list(range(current, min(first or current, current - 1) - 1, -1))
    values = {
        f"{name}-{part}": params.get(f"{name}-{part}", "").strip()
        for name in ("from", "to")
        for part in ("day", "month", "year")
    }
    choice = AnnualChoice(*_year_days(current - 1), current - 1, years, values)
    if any(values.values()):
        return _dates_chosen(choice)
    text = params.get("year", "").strip()
    if text:
        if text.isdigit() and int(text) in years:
            choice.year = int(text)
            choice.first_day, choice.last_day = _year_days(choice.year)
        else:
            choice.errors["year"] = "Select a reporting year from the list"
    return choice


def _dates_chosen(choice: AnnualChoice) -> AnnualChoice:
    days = {name: _typed_date(choice.values, name) for name in ("from", "to")}
    for name, words in (("from", "first"), ("to", "last")):
        if days[name] is None:
            choice.errors[name] = f"Enter the {words} day as a real date, like 1 4 2026"
    if not choice.errors and days["from"] > days["to"]:
        choice.errors["to"] = "The last day must be the same as or after the first day"
    if not choice.errors:
        choice.first_day, choice.last_day, choice.year = days["from"], days["to"], None
    return choice


def _typed_date(values: dict[str, str], name: str) -> date | None:
    try:
        day = date(*(int(values[f"{name}-{part}"]) for part in ("year", "month", "day")))
    except (ValueError, OverflowError):
        return None
    return day if 2000 <= day.year <= 9998 else None


def _year_days(year: int) -> tuple[date, date]:
    return date(year, 4, 1), date(year + 1, 3, 31)


def annual_csv(section: annual.AnnualSection) -> str:
    """The period, then every figure: section, measure, value (blank: none to measure)."""
    period = [
        ("Period", "First day", section.first_day.isoformat()),
        ("Period", "Last day", section.last_day.isoformat()),
        ("Period", "Complete", "yes" if section.complete else "no: figures to date"),
    ]
    rows = period + [
        (figure.section, figure.measure, "" if figure.value is None else figure.value)
        for figure in section.figures()
    ]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Section", "Measure", "Value"])
    writer.writerows([neutralised(cell) for cell in row] for row in rows)
    return "\ufeff" + out.getvalue()


def _annual_response(
    request: Request, user: BoardUser, params: dict[str, str], status: int = 200
) -> Response:
    policy = policy_of(request, user)
    now = request.app.state.clock()
    with transaction(request.app.state.sessions) as session:
        choice = parse_annual(
            params, now, policy, annual.first_year(session, user.partnership, policy.timezone)
        )
        section = _annual(session, user, policy, choice, now)
    return page(
        request,
        "pages/board_annual.html",
        {
            "title": "Annual report section",
            "user": user,
            "partnership_name": policy.area,
            "section": section,
            "choice": choice,
            "query": choice.query(),
            "year_items": _year_items(choice),
            "printable": params.get("print") == "yes",
            "produced": time_text(now, policy.timezone),
            "errors": choice.errors,
            "error_list": [
                {"text": text, "href": f"#{name}" if name == "year" else f"#{name}-day"}
                for name, text in choice.errors.items()
            ],
        },
        status,
    )


def _annual_choice(session, user: BoardUser, policy, params: dict, now: datetime) -> AnnualChoice:
    first = annual.first_year(session, user.partnership, policy.timezone)
    return parse_annual(params, now, policy, first)


def _year_items(choice: AnnualChoice) -> list[dict]:
    """The reporting years, latest first; the first is the current one (to date)."""
    return [
        {
            "value": str(year),
            "text": f"April {year} to March {year + 1}" + (" (to date)" if number == 0 else ""),
            "selected": year == choice.year,
        }
        for number, year in enumerate(choice.years)
    ]


def _annual(session, user: BoardUser, policy, choice: AnnualChoice, now: datetime):
    return annual.annual_section(
        session,
        user.partnership,
        local_midnight(choice.first_day, policy.timezone),
        local_midnight(choice.last_day + timedelta(days=1), policy.timezone),
        now,
        policy=policy,
    )
