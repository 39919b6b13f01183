"""The board's report pages: every table of escalation/reads/report_tables.py as a chart with its
numbers, each downloadable as CSV, and a printable version for board papers. The section for the
partnership's yearly report has its own page (annual.py).

Figures cover the user's partnership only, optionally narrowed to disagreements raised between
two dates (`from`, `to`: local dates, both included). A date that makes no sense is named in an
error summary and ignored; a CSV is never served for a period other than the one asked for.
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

from escalation.reads import report_tables
from escalation.reads.charts import BLUE, bar_chart
from escalation.reads.report_headline import headline
from escalation.reads.table import Table
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
    error_parts: dict[str, str] = field(default_factory=dict)  # the first box to correct
    values: dict[str, str] = field(default_factory=dict)  # each box as typed

    def since(self, timezone: str) -> datetime | None:
        """The period's start: midnight at the start of the first day, local time."""
        return local_midnight(self.first_day, timezone) if self.first_day else None

    def until(self, timezone: str) -> datetime | None:
        """The period's end (excluded): midnight at the end of the last day, local time."""
        if self.last_day is None:
            return None
        return local_midnight(self.last_day + timedelta(days=1), timezone)

    def query(self) -> str:
        """'?from-day=…&from-month=…' for links that keep the period, or ''."""
        days = (("from", self.first_day), ("to", self.last_day))
        params = {
            f"{name}-{part}": getattr(day, part) for name, day in days if day for part in PARTS
        }
        return "?" + urlencode(params) if params else ""

    def file_part(self) -> str:
        """The period in a download's file name ('from-2026-11-02-to-2026-11-30'), or ''."""
        days = (("from", self.first_day), ("to", self.last_day))
        return "-".join(f"{name}-{day.isoformat()}" for name, day in days if day)

    def lead(self) -> str:
        """The headline's first words: "From 2 Nov 2026 to 30 Nov 2026", "So far"."""
        first, last = self.first_day, self.last_day
        if first:
            return f"From {date_text(first)} to {date_text(last) if last else 'date'}"
        return f"Up to {date_text(last)}" if last else "So far"

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


@router.get("/board/reports/{figure}.csv")
def download(request: Request, figure: str, user: BoardUser = Depends(EITHER)) -> Response:
    period = parse_period(dict(request.query_params))
    if period.errors:
        return _render(request, user, period, status=422)
    if figure not in report_tables.FIGURES:
        raise NotFound(f"no report called {figure!r}")
    table = _tables(request, user, period, only=figure)[0]
    dates = period.file_part()
    filename = f"{filename_part(user.partnership)}-{table.name}{'-' + dates if dates else ''}.csv"
    return Response(
        as_csv(table),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


PARTS = ("day", "month", "year")
NAMES = {"from": "The start date", "to": "The end date"}


def parse_period(params: dict[str, str]) -> Period:
    """The period from two GOV.UK date inputs (`from-day`, `from-month`, `from-year`, `to-…`;
    an older link's ISO `from` and `to` too), both optional. A date that makes no sense is named
    in `errors` in the Design System's words ("must include a month", "must be a real date")
    with the first box to correct, and ignored."""
    period = Period()
    for name, attribute in (("from", "first_day"), ("to", "last_day")):
        typed = {part: params.get(f"{name}-{part}", "").strip() for part in PARTS}
        if not any(typed.values()) and params.get(name, "").strip():
            typed = _iso_parts(params[name].strip())
        period.values.update({f"{name}-{part}": typed[part] for part in PARTS})
        try:
            setattr(period, attribute, read_date(NAMES[name], typed))
        except ValueError as problem:
            message, part = problem.args
            period.errors[name] = message
            period.error_parts[name] = part
    if period.first_day and period.last_day and period.first_day > period.last_day:
        period.errors["to"] = "The end date must be the same as or after the start date"
        period.error_parts["to"] = "day"
        period.last_day = None
    return period


def read_date(words: str, typed: dict[str, str]) -> date | None:
    """The date typed in one GOV.UK date input (None if blank); ValueError(message, the first
    box to correct) in the Design System's words otherwise."""
    if typed.get("not_iso"):
        raise ValueError(f"{words} must be a real date", "all")
    missing = [part for part in PARTS if not typed[part]]
    if len(missing) == len(PARTS):
        return None
    if missing:
        named = " and ".join(missing) if len(missing) == 2 else missing[0]
        raise ValueError(f"{words} must include a {named}", missing[0])
    for part in PARTS:
        if not (typed[part].isascii() and typed[part].isdigit()):
            raise ValueError(f"{words} must be a real date", "all")
    if len(typed["year"]) != 4:
        raise ValueError("Year must include 4 numbers", "year")
    try:
        day = date(*(int(typed[part]) for part in reversed(PARTS)))
    except ValueError:
        raise ValueError(f"{words} must be a real date", "all") from None
    if not 2000 <= day.year <= 9998:  # and date.max + 1 day would overflow
        raise ValueError(f"{words} must be in 2000 or later", "year")
    return day


def _iso_parts(text: str) -> dict[str, str]:
    """An ISO date's parts as if typed (a text that is not one is not a real date)."""
    found = re.fullmatch(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})", text)
    return (
        dict(zip(PARTS, reversed(found.groups()), strict=True))
        if found
        else {"day": text, "month": "", "year": "", "not_iso": "yes"}
    )


def as_csv(table: Table) -> str:
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
    tables = _tables(request, user, period)
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
        for table in tables
        for shown in [_first_rows(table)]
    ]
    return page(
        request,
        "pages/board_reports.html",
        {
            "title": "Reports",
            "user": user,
            "partnership_name": policy_of(request, user).area,
            "printable": printable,
            "figures": figures,
            "headline": headline(period.lead(), tables),
            "produced": time_text(request.app.state.clock()),
            "period": period,
            "query": period.query(),
            "errors": period.errors,
            "error_list": [
                {"text": text, "href": f"#{name}-{period.error_parts[name].replace('all', 'day')}"}
                for name, text in period.errors.items()
            ],
        },
        status,
    )


def _first_rows(table: Table) -> Table:
    """A long figure (repeat children over years) is cut on the page; its CSV has every row."""
    return dataclasses.replace(table, rows=table.rows[:SHOWN_ROWS], bars=table.bars[:SHOWN_ROWS])


def _tables(
    request: Request, user: BoardUser, period: Period, only: str | None = None
) -> list[Table]:
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


def filename_part(text: str) -> str:
    """`text` made safe for a download's file name: letters, digits and hyphens only."""
    return re.sub(r"[^A-Za-z0-9-]+", "-", text).strip("-")
