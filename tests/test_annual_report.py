"""The annual-report section (reads/annual.py) and its page and CSV (/board/reports/annual, .csv)
against the figures counted by hand for the ten disagreements of tests/annual_fixture.py (their
story is its docstring). Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from datetime import date

import pytest
from fastapi.testclient import TestClient

from escalation.casework import disagreements as d
from escalation.reads import annual, annual_tables
from escalation.rules.calendar import local_midnight
from escalation.store.db import transaction
from escalation.web.app import create_app
from tests.annual_fixture import (
    NOW,
    SINCE,
    TO_DATE,
    UNTIL,
    YEAR,
    YEAR_BEFORE,
    YEAR_HEADLINES,
    raise_the_ten,
)
from tests.board_helpers import board_sign_in
from tests.databases import Shared
from tests.factories import CHAIR, DEFAULT, MANAGER, ORIGIN, load_directory, raise_one, utc

PARTNERSHIP = "example-partnership"
ELSEWHERE = {
    "name": "Eli Else",
    "email": "eli@elsewhere.gov.uk",
    "organisation": "Elsewhere Council",
    "role": "Team manager",
}


def _board(sessions) -> dict:
    """The ten, one disagreement of another partnership raised in the year, and the board
    manager signed in at NOW."""
    load_directory(sessions)
    raise_the_ten(sessions)
    theirs = raise_one(sessions, utc(2026, 6, 1, 9), counterpart=ELSEWHERE, child_reference="X-1")
    with transaction(sessions) as session:
        d.get(session, theirs).partnership = "another-partnership"
    clock = {"now": NOW}
    client = TestClient(
        create_app(sessions, clock=lambda: clock["now"]), headers={"Origin": ORIGIN}
    ).__enter__()
    board_sign_in(client, sessions, clock, MANAGER)
    return {"client": client, "sessions": sessions}


@pytest.fixture(scope="module")
def boards(module_database):
    boards = Shared(
        module_database,
        _board,
        state=lambda built: sorted(built["client"].cookies.items()),
        close=lambda built: built["client"].__exit__(None, None, None),
    )
    yield boards
    boards.spoil()


@pytest.fixture
def built(boards):
    with boards.use() as built:
        yield built


@pytest.fixture
def board(built):
    """A test client signed in as the board manager, on a database holding the ten."""
    return built["client"]


def _section(sessions, since=SINCE, until=UNTIL, now=NOW) -> annual.AnnualSection:
    with transaction(sessions) as session:
        return annual.annual_section(session, PARTNERSHIP, since, until, now, policy=DEFAULT)


def _rows(section: annual.AnnualSection) -> dict[str, list[tuple]]:
    return {table.name: table.rows for table in section.tables}


def test_every_figure_of_the_year_matches_the_hand_count(built):
    section = _section(built["sessions"])
    assert (section.first_day, section.last_day) == (date(2026, 4, 1), date(2027, 3, 31))
    assert section.complete and section.as_at == UNTIL
    assert _rows(section) == YEAR
    assert section.headlines == YEAR_HEADLINES


def test_the_year_before_and_this_year_to_date_count_what_fell_in_them(built):
    before = _section(built["sessions"], local_midnight(date(2025, 4, 1)), SINCE)
    rows = _rows(before)
    assert {name: rows[name] for name in YEAR_BEFORE} == YEAR_BEFORE
    assert rows["learning"][-2:] == [
        ("Closed with learning recorded", 0, 0),
        ("Closed without learning recorded", 0, None),
    ]
    assert before.headlines[2:4] == [
        "None was resolved in the period.",
        "No disagreement was closed in the period.",
    ]
    to_date = _section(built["sessions"], UNTIL, local_midnight(date(2028, 4, 1)))
    assert not to_date.complete and to_date.as_at == NOW
    rows = _rows(to_date)
    assert {name: rows[name] for name in TO_DATE} == TO_DATE
    assert to_date.headlines[0] == (
        "From 1 April 2027 to date (4 May 2027), 0 professional disagreements were raised "
        "(4 were already open at the start); 1 was resolved, 0 withdrawn and 3 still open now."
    )


def test_the_csv_rows_are_the_tables_numbers_one_a_row(built):
    section = _section(built["sessions"])
    figures = section.figures()
    assert len(figures) == sum(
        len(table.rows) * (len(table.headers) - 1) for table in section.tables
    )
    assert figures[0] == annual.Figure("Disagreements", "Open at the start of the period", 2)
    assert (
        annual.Figure(
            "How far the disagreements raised went",
            "Designated professional or senior manager: Reached this stage",
            3,
        )
        in figures
    )


def test_the_median_and_the_90th_percentile_are_the_usual_ones():
    assert annual_tables.median([]) is None and annual_tables.percentile_90([]) is None
    assert annual_tables.median([5, 1, 3]) == 3
    assert annual_tables.median([2, 2, 5, 24]) == 3.5
    assert annual_tables.median([0, 0, 5, 5]) == 2.5 and annual_tables.median([1, 3]) == 2
    assert annual_tables.percentile_90(list(range(1, 11))) == 9  # the 9th of 10
    assert annual_tables.percentile_90(list(range(1, 12))) == 10  # 9.9: the 10th of 11
    assert annual.reporting_year(date(2026, 3, 31)) == 2025
    assert annual.reporting_year(date(2026, 4, 1)) == 2026


# --- the page and the CSV -------------------------------------------------------------------


def _table(html: str, name: str) -> list[list[str]]:
    markup = re.search(rf'<table [^>]*id="annual-{name}-table">.*?</table>', html, re.S).group(0)
    return [
        ["".join(cell.itertext()).strip() for cell in row]
        for row in ET.fromstring(markup).iter("tr")
    ]


def _as_text(rows: list[tuple]) -> list[list[str]]:
    return [["–" if cell is None else str(cell) for cell in row] for row in rows]


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.text.removeprefix("\ufeff"))))


def test_the_page_shows_last_april_to_march_by_default_with_the_hand_counted_tables(board):
    """At NOW (4 May 2027) the last reporting year that is over is April 2026 to March 2027."""
    page = board.get("/board/reports/annual")
    assert page.status_code == 200
    assert "1 April 2026 to 31 March 2027." in page.text
    assert "figures to date" not in page.text
    for sentence in YEAR_HEADLINES:
        assert sentence.replace("'", "&#39;") in page.text
    for name, rows in YEAR.items():
        assert _table(page.text, name)[1:] == _as_text(rows), name
    assert _table(page.text, "stages")[0] == ["Stage", "Reached this stage", "Went no further"]
    assert '<option value="2026" selected>April 2026 to March 2027</option>' in page.text
    assert '<option value="2027">April 2027 to March 2028 (to date)</option>' in page.text
    assert '<option value="2025">April 2025 to March 2026</option>' in page.text  # E1, E7
    assert '<option value="2024"' not in page.text
    assert 'href="/board/reports/annual.csv?year=2026"' in page.text
    assert "Elsewhere" not in page.text


def test_a_year_or_two_dates_choose_the_period(board):
    to_date = board.get("/board/reports/annual?year=2027").text
    assert "1 April 2027 to 31 March 2028 (figures to date: the period is not over)." in to_date
    assert _table(to_date, "counts")[1:] == _as_text(TO_DATE["counts"])
    dates = "from-day=1&from-month=4&from-year=2025&to-day=31&to-month=3&to-year=2026"
    before = board.get(f"/board/reports/annual?{dates}").text
    assert "1 April 2025 to 31 March 2026." in before
    assert _table(before, "counts")[1:] == _as_text(YEAR_BEFORE["counts"])
    assert f'href="/board/reports/annual.csv?{dates.replace("&", "&amp;")}"' in before
    typed = {
        name: re.search(rf'<input\s[^>]*name="{name}"[^>]*>', before).group(0)
        for name in ("from-day", "from-year", "to-day")
    }
    assert 'value="1"' in typed["from-day"] and 'value="2025"' in typed["from-year"]
    assert 'value="31"' in typed["to-day"]
    assert '<option value="2026">' in before  # no year selected: dates were


def test_a_period_that_makes_no_sense_is_explained_and_never_downloaded(board):
    page = board.get("/board/reports/annual?year=1999")
    assert page.status_code == 200 and "govuk-error-summary" in page.text
    assert "Select a reporting year from the list" in page.text
    assert "1 April 2026 to 31 March 2027." in page.text  # the default instead
    backwards = "from-day=1&from-month=4&from-year=2026&to-day=1&to-month=3&to-year=2026"
    page = board.get(f"/board/reports/annual?{backwards}").text
    assert "The last day must be the same as or after the first day" in page
    page = board.get("/board/reports/annual?from-day=31&from-month=2&from-year=2026").text
    assert "Enter the first day as a real date, like 1 4 2026" in page
    assert "Enter the last day as a real date, like 1 4 2026" in page
    refused = board.get(f"/board/reports/annual.csv?{backwards}")
    assert refused.status_code == 422 and "govuk-error-summary" in refused.text
    assert board.get("/board/reports/annual.csv?year=soon").status_code == 422


def test_the_csv_has_one_row_per_figure_matching_the_hand_count(board, built):
    response = board.get("/board/reports/annual.csv?year=2026")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="example-partnership-annual-2026-04-01-to-2027-03-31.csv"'
    )
    rows = _csv(response)
    assert rows[:4] == [
        ["Section", "Measure", "Value"],
        ["Period", "First day", "2026-04-01"],
        ["Period", "Last day", "2027-03-31"],
        ["Period", "Complete", "yes"],
    ]
    expected = [
        [figure.section, figure.measure, "" if figure.value is None else str(figure.value)]
        for figure in _section(built["sessions"]).figures()
    ]
    assert rows[4:] == expected
    values = {(section, measure): value for section, measure, value in rows[1:]}
    assert values["Disagreements", "Raised"] == "8"
    assert values[
        "Time from raising to resolution", "Median time to resolution (working days)"
    ] == ("3.5")
    assert values["Whether what was agreed got done", "Done on time"] == "1"
    assert values["Whether what was agreed got done", "Done late"] == "1"
    proposals = "Proposed resolutions: accepted, contested and reopened"
    assert values[proposals, "Contested (moved up a stage)"] == "2"
    learning = "What was learnt from the disagreements closed"
    assert values[learning, "Closed without learning recorded: Points to a systemic issue"] == ""
    assert "Elsewhere" not in response.text and "X-1" not in response.text
    assert _csv(board.get("/board/reports/annual.csv")) == rows  # the default year


def test_the_printable_version_has_no_navigation_or_form(board):
    page = board.get("/board/reports/annual").text
    assert 'href="/board/reports/annual?year=2026&amp;print=yes"' in page
    printable = board.get("/board/reports/annual?year=2026&print=yes")
    assert printable.status_code == 200
    text = printable.text
    assert "govuk-service-navigation" not in text and "Sign out" not in text
    assert 'id="year-form"' not in text and "Download CSV" not in text
    assert "Produced at 13:00 Tue 4 May 2027 by Bea Manager." in text
    for name, rows in YEAR.items():
        assert _table(text, name)[1:] == _as_text(rows), name


def test_only_the_board_sees_the_annual_section(client, sessions, clock):
    clock["now"] = NOW
    for path in ("/board/reports/annual", "/board/reports/annual.csv"):
        assert client.get(path, follow_redirects=False).status_code == 401
    board_sign_in(client, sessions, clock, CHAIR)
    assert client.get("/board/reports/annual").status_code == 200
    assert client.get("/board/reports/annual.csv").status_code == 200
