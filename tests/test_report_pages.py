"""The board's report pages through HTTP, against the hand-counted fixture of 30 disagreements
(tests/report_fixture.py): the numbers beside each chart, each chart's SVG, each CSV download,
the printable version and the reporting period. Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient

from escalation.casework import disagreements as d
from escalation.rules.vocabulary import CATEGORIES
from escalation.store.db import transaction
from escalation.web.app import create_app
from tests.board_helpers import board_sign_in
from tests.databases import Shared
from tests.factories import CHAIR, MANAGER, ORIGIN, load_directory, raise_one
from tests.report_fixture import HAND_COUNTED, NOW, T0, raise_the_thirty

SVG = "{http://www.w3.org/2000/svg}"
ELSEWHERE = {
    "name": "Eli Else",
    "email": "eli@elsewhere.gov.uk",
    "organisation": "Elsewhere Council",
    "role": "Team manager",
}
# Bars per chart: one per row, except the open figure (the three age bands of the one stage with
# open disagreements), the matrix (one per pair of organisations), learning by stage (one per
# theme, not the systemic and all rows) and over time (one per quarter).
BARS = {name: len(rows) for name, (_, rows) in HAND_COUNTED.items()} | {
    "open-by-stage-and-age": 3,
    "organisations": 3,
    "learning-by-stage": 9,
    "learning-over-time": 1,
}


def _board(sessions) -> dict:
    """The thirty, two disagreements of another partnership, and the board manager signed in."""
    load_directory(sessions)
    raise_the_thirty(sessions)
    for _ in range(2):
        theirs = raise_one(sessions, T0, counterpart=ELSEWHERE, child_reference="ELSEWHERE-1")
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
    """The board on the module's database, once per database (see Shared): built again only
    after a test changed a row or the browser's cookies."""
    boards = Shared(
        module_database,
        _board,
        state=lambda built: sorted(built["client"].cookies.items()),
        close=lambda built: built["client"].__exit__(None, None, None),
    )
    yield boards
    boards.spoil()


@pytest.fixture
def shared_board(boards):
    with boards.use() as built:
        yield built


@pytest.fixture
def board(shared_board):
    """A test client signed in as the board manager, on a database holding the thirty."""
    return shared_board["client"]


def _as_text(rows) -> list[list[str]]:
    return [[str(cell) for cell in row] for row in rows]


def _table(html: str, name: str) -> list[list[str]]:
    """The header row and rows of the numbers table beside figure `name`."""
    markup = re.search(rf'<table [^>]*id="{name}-table">.*?</table>', html, re.S).group(0)
    return [
        ["".join(cell.itertext()).strip() for cell in row]
        for row in ET.fromstring(markup).iter("tr")
    ]


def _chart(html: str, name: str) -> ET.Element:
    return ET.fromstring(re.search(rf'<svg [^>]*id="chart-{name}".*?</svg>', html, re.S).group(0))


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.text.removeprefix("\ufeff"))))


def test_the_page_shows_each_figure_with_the_hand_counted_numbers(board):
    page = board.get("/board/reports")
    assert page.status_code == 200
    for name, (headers, rows) in HAND_COUNTED.items():
        assert _table(page.text, name) == _as_text([headers, *rows]), name
        assert f'href="/board/reports/{name}.csv"' in page.text


def test_each_chart_is_an_accessible_svg_with_a_bar_and_a_number_per_category(board):
    page = board.get("/board/reports").text
    for name, bars in BARS.items():
        chart = _chart(page, name)
        assert chart.get("role") == "img" and chart.get("aria-labelledby") == f"chart-{name}-title"
        assert chart.find(f"{SVG}title").text
        groups = chart.findall(f"{SVG}g")
        assert len(groups) == bars == len(chart.findall(f".//{SVG}rect")), name
        assert all(len(group.findall(f"{SVG}text")) == 2 for group in groups)  # label and number
    categories = _chart(page, "categories")
    assert len(categories.findall(f"{SVG}g")) == len(CATEGORIES)
    numbers = [group.findall(f"{SVG}text")[1].text for group in categories.findall(f"{SVG}g")]
    assert numbers == ["12", "8", "0", "6", "0", "0", "4"]  # in the order of vocabulary.CATEGORIES
    assert "<script" not in page.split('id="main-content"')[1].split("</main>")[0]


def test_each_figure_downloads_as_csv_matching_the_hand_count(board):
    for name, (headers, rows) in HAND_COUNTED.items():
        response = board.get(f"/board/reports/{name}.csv")
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert response.headers["content-disposition"] == (
            f'attachment; filename="example-partnership-{name}.csv"'
        )
        assert _csv(response) == _as_text([headers, *rows]), name


def test_an_unknown_report_is_not_found(board):
    assert board.get("/board/reports/nothing.csv").status_code == 404
    assert board.get("/board/reports/..%2F..%2Fetc.csv").status_code == 404


def test_another_partnerships_disagreements_appear_nowhere(board):
    assert "Elsewhere" not in board.get("/board/reports").text
    assert "Elsewhere" not in board.get("/board/reports/print").text
    for name in HAND_COUNTED:
        text = board.get(f"/board/reports/{name}.csv").text
        assert "Elsewhere" not in text and "ELSEWHERE" not in text


def test_text_a_spreadsheet_would_run_as_a_formula_is_neutralised(board, shared_board):
    sessions = shared_board["sessions"]
    formula = '=HYPERLINK("http://evil.example","<b>click</b>")'
    for _ in range(2):
        raise_one(
            sessions,
            T0,
            counterpart={**ELSEWHERE, "organisation": formula},
            child_reference="@SUM(1+1)",
        )
    matrix = _csv(board.get("/board/reports/organisations.csv"))
    assert matrix[0] == [
        "Raising organisation",
        "'" + formula,
        "Example Council",
        "Example Police",
        "Total",
    ]
    assert ["'@SUM(1+1)", "2"] in _csv(board.get("/board/reports/repeat-children.csv"))
    page = board.get("/board/reports").text
    assert "<b>click</b>" not in page and "&lt;b&gt;click&lt;/b&gt;" in page
    _chart(page, "organisations")  # still well-formed


def test_the_printable_version_has_no_navigation(board):
    page = board.get("/board/reports/print")
    assert page.status_code == 200
    assert "govuk-service-navigation" not in page.text and "Sign out" not in page.text
    assert "Download CSV" not in page.text and 'id="period"' not in page.text
    assert 'id="partnership">Example Borough</span>' in page.text
    assert "Produced at 12:00 Mon 30 Nov 2026 by Bea Manager" in page.text
    for name, (headers, rows) in HAND_COUNTED.items():
        assert _table(page.text, name) == _as_text([headers, *rows]), name
    assert 'href="/board/reports/print"' in board.get("/board/reports").text
    assert 'href="/board/reports/annual"' in board.get("/board/reports").text
    assert 'href="/board/reports/annual"' not in page.text


def test_a_reporting_period_narrows_the_page_the_csv_and_the_printable_version(board):
    # T0's day: groups A and B only, typed in the GOV.UK date inputs
    period = "?from-day=2&from-month=11&from-year=2026&to-day=2&to-month=11&to-year=2026"
    page = board.get(f"/board/reports{period}").text
    assert "Disagreements raised from Mon 2 Nov 2026 to Mon 2 Nov 2026" in page
    assert _table(page, "urgent-track")[1:] == [
        ["Urgent track (child at immediate risk)", "0"],
        ["Standard track", "20"],
    ]
    assert f'href="/board/reports/urgent-track.csv{period.replace("&", "&amp;")}"' in page
    download = board.get(f"/board/reports/repeat-children.csv{period}")
    assert _csv(download)[1:] == [["A-1", "2"], ["A-2", "2"]]
    assert download.headers["content-disposition"] == (
        'attachment; filename="example-partnership-'
        'repeat-children-from-2026-11-02-to-2026-11-02.csv"'
    )
    printable = board.get(f"/board/reports/print{period}").text
    assert _table(printable, "open-by-stage-and-age")[2] == [
        "Named professional or line manager",
        "0",
        "0",
        "0",
        "0",
    ]


def test_dates_that_make_no_sense_are_explained_not_a_server_error(board):
    page = board.get(
        "/board/reports?from-day=45&from-month=13&from-year=2026&to-day=soon&to-month=1&to-year=2026"
    )
    assert page.status_code == 200
    assert "govuk-error-summary" in page.text
    assert page.text.count("The start date must be a real date") == 2  # summary and field
    assert page.text.count("The end date must be a real date") == 2
    assert 'href="#from-day"' in page.text and 'value="soon"' in page.text
    assert _table(page.text, "urgent-track")[1] == ["Urgent track (child at immediate risk)", "6"]
    partial = board.get("/board/reports?from-day=1&from-year=2026&to-day=1&to-month=2").text
    assert "The start date must include a month" in partial and 'href="#from-month"' in partial
    assert "The end date must include a year" in partial and 'href="#to-year"' in partial
    short = board.get("/board/reports?from-day=1&from-month=2&from-year=26").text
    assert "Year must include 4 numbers" in short
    leap = board.get("/board/reports?from-day=29&from-month=2&from-year=2026").text
    assert "The start date must be a real date" in leap
    backwards = board.get(
        "/board/reports?from-day=30&from-month=11&from-year=2026&to-day=1&to-month=11&to-year=2026"
    ).text
    assert "The end date must be the same as or after the start date" in backwards
    old_link = board.get("/board/reports?from=2026-13-45&to=soon").text  # ISO dates, as before
    assert old_link.count("must be a real date") == 4
    refused = board.get("/board/reports/urgent-track.csv?from-day=yesterday")
    assert refused.status_code == 422 and "govuk-error-summary" in refused.text


def test_only_the_board_sees_the_reports(client, sessions, clock):
    raise_the_thirty(sessions)
    clock["now"] = NOW
    assert client.get("/board/reports", follow_redirects=False).status_code == 401
    assert client.get("/board/reports/categories.csv", follow_redirects=False).status_code == 401
    board_sign_in(client, sessions, clock, CHAIR)
    assert client.get("/board/reports/categories.csv").status_code == 200


def test_the_page_opens_with_a_headline_from_the_tables_own_figures(board):
    # 30 raised (urgent-track: 6 + 24), 20 resolved (12 + 8), 10 open (6 + 4), 18 stage periods
    # past their deadline (8 + 10), the most common learning theme recording (12).
    page = board.get("/board/reports").text
    headline = re.search(r'id="headline">([^<]+)<', page).group(1)
    assert headline == (
        "So far, 30 disagreements were raised (6 on the urgent track), 20 were resolved and "
        "10 are open now. 18 stages ran past their deadline. The most common learning theme "
        "was recording of decisions and rationale (12)."
    )
    assert page.index('id="headline"') < page.index('id="open-by-stage-and-age"')
    period = "?from-day=2&from-month=11&from-year=2026&to-day=2&to-month=11&to-year=2026"
    narrowed = board.get(f"/board/reports{period}").text
    assert "From Mon 2 Nov 2026 to Mon 2 Nov 2026, 20 disagreements were raised, " in narrowed
