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


@router.get("/board/reports/{figure}.csv")
def download(request: Request, figure: str, user: BoardUser = Depends(EITHER)) -> Response:
    period = parse_period(dict(request.query_params))
    if period.errors:
        return _render(request, user, period, status=422)
    if figure not in report_tables.FIGURES:
        raise NotFound(f"no report called {figure!r}")
    table = _tables(request, user, period, only=figure)[0]
    dates = filename_part(period.query())
    filename = f"{filename_part(user.partnership)}-{table.name}{'-' + dates if dates else ''}.csv"
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
