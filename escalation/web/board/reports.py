"""The board's report pages: every table of escalation/reads/report_tables.py as a chart with its
numbers, each downloadable as CSV, and a printable version for board papers; and the section for
the partnership's yearly report (escalation/reads/annual.py) as a printable page and a CSV.

Figures cover the user's partnership only, optionally narrowed to disagreements raised between
two dates (`from`, `to`: local dates, both included). A date that makes no sense is named in an
error summary and ignored; a CSV is never served for a period other than the one asked for.

The yearly section's period is a reporting year (`year=2025`: 1 April 2025 to 31 March 2026, the
year partnerships usually report on), by default the last one that is over; or two GOV.UK date
inputs (`from-day`, `from-month`, `from-year` and `to-…`), both days included.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from escalation.reads import annual, report_tables
from escalation.reads.charts import BLUE, bar_chart
from escalation.rules.calendar import date_text, local_midnight, time_text
from escalation.rules.csv_cells import neutralised
from escalation.rules.errors import NotFound
from escalation.store.db import transaction
from escalation.web.board.auth import EITHER, BoardUser, policy_of
from escalation.web.board.pages import page

router = APIRouter(include_in_schema=False)
SHOWN_ROWS = 40
RED = "#d4351c"  # GOV.UK red, for the deadlines missed


@dataclass
class Period:
    first_day: date | None = None
    last_day: date | None = None
    errors: dict[str, str] = field(default_factory=dict)

    def since(self, timezone: str) -> datetime | None:
        """The period's start: midnight at the start of the first day, local time."""
        return local_midnight(self.first_day, timezone) if self.first_day else None

    def until(self, timezone: str) -> datetime | None:
        """The period's end (excluded): midnight at the end of the last day, local time."""
        if self.last_day is None:
            return None
        return local_midnight(self.last_day + timedelta(days=1), timezone)

    def query(self) -> str:
        """'?from=…&to=…' for links that keep the period, or ''."""
        days = (("from", self.first_day), ("to", self.last_day))
        params = {name: day.isoformat() for name, day in days if day}
        return "?" + urlencode(params) if params else ""

    def words(self) -> str:
        if not (self.first_day or self.last_day):
            return "All disagreements raised so far"
        first = f"from {date_text(self.first_day)} " if self.first_day else ""
        last = f"to {date_text(self.last_day)}" if self.last_day else "to date"
        return f"Disagreements raised {first}{last}"


@router.get("/board/reports")
def reports_page(request: Request, user: BoardUser = Depends(EITHER)) -> Response:
    return _render(request, user, parse_period(dict(request.query_params)))


@router.get("/board/reports/print")
def printable_page(request: Request, user: BoardUser = Depends(EITHER)) -> Response:
    return _render(request, user, parse_period(dict(request.query_params)), printable=True)


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
    filename = f"{_safe(user.partnership)}-annual-{days}.csv"
    return Response(
        annual_csv(section),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/board/reports/{figure}.csv")
def download(request: Request, figure: str, user: BoardUser = Depends(EITHER)) -> Response:
    period = parse_period(dict(request.query_params))
    if period.errors:
        return _render(request, user, period, status=422)
    if figure not in report_tables.FIGURES:
        raise NotFound(f"no report called {figure!r}")
    table = _tables(request, user, period, only=figure)[0]
    dates = _safe(period.query())
    filename = f"{_safe(user.partnership)}-{table.name}{'-' + dates if dates else ''}.csv"
    return Response(
        as_csv(table),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def parse_period(params: dict[str, str]) -> Period:
    """The `from` and `to` dates; a value that makes no sense is named in `errors` and ignored."""
    period = Period()
    for name, attribute in (("from", "first_day"), ("to", "last_day")):
        text = params.get(name, "").strip()
        if text:
            try:
                day = date.fromisoformat(text)
                if not 2000 <= day.year <= 9998:  # and date.max + 1 day would overflow
                    raise ValueError(text)
                setattr(period, attribute, day)
            except ValueError:
                period.errors[name] = "Enter a real date, like 2026-04-01"
    if period.first_day and period.last_day and period.first_day > period.last_day:
        period.errors["to"] = "The end date must be the same as or after the start date"
        period.last_day = None
    return period


def as_csv(table: report_tables.Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([neutralised(cell) for cell in table.headers])
    writer.writerows([neutralised(cell) for cell in row] for row in table.rows)
    # The byte-order mark makes Excel read the file as UTF-8 (arrows, accented names) rather
    # than in the Windows code page.
    return "\ufeff" + out.getvalue()


def _render(
    request: Request, user: BoardUser, period: Period, *, printable: bool = False, status: int = 200
) -> Response:
    figures = [
        (
            shown,
            bar_chart(
                f"chart-{shown.name}",
                shown.title,
                shown.bars,
                RED if shown.name == "breaches" else BLUE,
            ),
            len(table.rows),
        )
        for table in _tables(request, user, period)
        for shown in [_first_rows(table)]
    ]
    return page(
        request,
        "pages/board_reports.html",
        {
            "title": "Reports",
            "user": user,
            "printable": printable,
            "figures": figures,
            "produced": time_text(request.app.state.clock()),
            "period": period,
            "query": period.query(),
            "errors": period.errors,
            "error_list": [
                {"text": text, "href": f"#{name}"} for name, text in period.errors.items()
            ],
        },
        status,
    )


def _first_rows(table: report_tables.Table) -> report_tables.Table:
    """A long figure (repeat children over years) is cut on the page; its CSV has every row."""
    return dataclasses.replace(table, rows=table.rows[:SHOWN_ROWS], bars=table.bars[:SHOWN_ROWS])


def _tables(
    request: Request, user: BoardUser, period: Period, only: str | None = None
) -> list[report_tables.Table]:
    policy = policy_of(request, user)
    with transaction(request.app.state.sessions) as session:
        return report_tables.tables(
            session,
            user.partnership,
            request.app.state.clock(),
            policy,
            since=period.since(policy.timezone),
            until=period.until(policy.timezone),
            only=only,
        )


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]+", "-", text).strip("-")


# --- the yearly report's section ----------------------------------------------------------------


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
