"""Board report figures against values worked out by hand for the fixture of 30 disagreements
described in tests/report_fixture.py."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from escalation.reads import learning, report_tables, reports
from escalation.rules.vocabulary import LEARNING_THEMES
from escalation.store.db import transaction
from escalation.store.models import Disagreement
from tests.databases import Shared
from tests.factories import DEFAULT, load_directory, utc
from tests.report_fixture import (
    ANNUAL_HAND_COUNTED,
    HAND_COUNTED,
    NOW,
    PARTNERSHIP,
    T0,
    raise_the_thirty,
)


def _the_thirty(sessions) -> dict:
    load_directory(sessions)
    raise_the_thirty(sessions)
    return {"sessions": sessions}


@pytest.fixture(scope="module")
def thirty(module_database):
    """The thirty on the module's database, once per database (see Shared)."""
    thirty = Shared(module_database, _the_thirty)
    yield thirty
    thirty.spoil()


@pytest.fixture
def fixture(thirty):
    """Sessions on a database holding the directory and the thirty."""
    with thirty.use() as built:
        yield built["sessions"]


def test_the_board_figures_match_the_hand_count(fixture):
    with transaction(fixture) as session:
        assert reports.open_by_stage_and_age(session, PARTNERSHIP, NOW) == {
            "named_professional": Counter({"0-7 days": 6, "over 30 days": 4})
        }
        assert reports.resolved_by_stage(session, PARTNERSHIP) == {
            "practitioner": (12, 0.6),
            "named_professional": (8, 0.4),
        }
        assert reports.stage_clock(session, PARTNERSHIP, NOW) == {
            "practitioner": {"periods": 24, "breaches": 8, "median_hours": 1.0},
            "named_professional": {"periods": 18, "breaches": 10, "median_hours": 48.0},
        }
        assert reports.outcome_mix(session, PARTNERSHIP) == {
            "decision_changed": 12,
            "decision_upheld": 8,
        }
        assert reports.category_mix(session, PARTNERSHIP) == {
            "referral": 12,
            "icpc_request": 8,
            "plan_implementation": 6,
            "other": 4,
        }
        assert reports.organisation_matrix(session, PARTNERSHIP) == {
            ("Example Trust", "Example Council"): 16,
            ("Example School", "Example Council"): 8,
            ("Example Trust", "Example Police"): 6,
        }
        assert reports.repeat_children(session, PARTNERSHIP) == {"A-1": 3, "A-2": 2}
        assert reports.urgent_count(session, PARTNERSHIP) == 6
        assert reports.never_raised(session, PARTNERSHIP) == [
            "Example Council",
            "Example ICB",
            "Example Partnership",
        ]
        assert reports.urgent_count(session, "another-partnership") == 0


def test_the_board_report_as_text_is_the_pages_tables(fixture):
    """`escalation board-report` prints every table of the web report (report_tables.py), all
    rows, in columns: each hand-counted header and row is one line of it."""
    from escalation.reads.plain_text import board_report

    with transaction(fixture) as session:
        text = board_report(session, PARTNERSHIP, NOW, DEFAULT)
        titles = [table.title for table in report_tables.tables(session, PARTNERSHIP, NOW, DEFAULT)]
    lines = [
        [cell.strip() for cell in line.split("  ") if cell.strip()] for line in text.splitlines()
    ]
    assert all(title in text for title in titles)
    for name, (headers, rows) in HAND_COUNTED.items():
        assert list(headers) in lines, name
        for row in rows:
            assert [str(cell) for cell in row] in lines, (name, row)


def test_learning_themes_are_counted_over_the_disagreements_the_board_closed(fixture):
    with transaction(fixture) as session:
        # Neither an open disagreement nor another partnership's counts, whatever it holds.
        open_one = session.execute(
            select(Disagreement).where(Disagreement.child_reference == "D-1")
        ).scalar_one()
        open_one.learning_themes = ["supervision"]
        theirs = session.execute(
            select(Disagreement).where(Disagreement.child_reference == "B-8")
        ).scalar_one()
        theirs.partnership, theirs.learning_themes = "another-partnership", ["recording"]
    with transaction(fixture) as session:
        # A: twelve "recording"; B: four "thresholds" + "information_sharing", three
        # "thresholds" + "timeliness" (the eighth, B-8, "other", has moved partnership).
        assert learning.learning_theme_mix(session, PARTNERSHIP) == {
            "thresholds": 7,
            "information_sharing": 4,
            "timeliness": 3,
            "recording": 12,
        }
        assert learning.learning_theme_mix(session, "another-partnership") == {"recording": 1}


def test_a_reporting_period_counts_only_what_was_raised_in_it(fixture):
    day_of_t0 = {"since": T0 - timedelta(hours=10), "until": T0 + timedelta(hours=14)}
    with transaction(fixture) as session:
        # Only A and B were raised on T0's day: all resolved, none urgent.
        assert reports.open_by_stage_and_age(session, PARTNERSHIP, NOW, **day_of_t0) == {}
        assert reports.resolved_by_stage(session, PARTNERSHIP, **day_of_t0) == {
            "practitioner": (12, 0.6),
            "named_professional": (8, 0.4),
        }
        # Practitioner: A 12 x 1 h and B 8 x 175 h, median 1 h; named professional: B 8 x 2 h.
        assert reports.stage_clock(session, PARTNERSHIP, NOW, **day_of_t0) == {
            "practitioner": {"periods": 20, "breaches": 8, "median_hours": 1.0},
            "named_professional": {"periods": 8, "breaches": 0, "median_hours": 2.0},
        }
        assert reports.category_mix(session, PARTNERSHIP, **day_of_t0) == {
            "referral": 12,
            "icpc_request": 8,
        }
        assert reports.repeat_children(session, PARTNERSHIP, **day_of_t0) == {"A-1": 2, "A-2": 2}
        assert reports.urgent_count(session, PARTNERSHIP, **day_of_t0) == 0
        assert learning.learning_theme_mix(session, PARTNERSHIP, **day_of_t0) == {
            "thresholds": 7,
            "information_sharing": 4,
            "timeliness": 3,
            "recording": 12,
            "other": 1,
        }
        # Raised before T0: only D, 40 days before NOW.
        before = {"until": T0}
        assert reports.open_by_stage_and_age(session, PARTNERSHIP, NOW, **before) == {
            "named_professional": Counter({"over 30 days": 4})
        }
        assert reports.organisation_matrix(session, PARTNERSHIP, **before) == {
            ("Example Trust", "Example Council"): 4
        }
        # Pat Practitioner joined the directory when raising B, but raised nothing before T0.
        assert reports.never_raised(session, PARTNERSHIP, **before) == [
            "Example Council",
            "Example ICB",
            "Example Partnership",
            "Example School",
        ]
        assert learning.learning_theme_mix(session, PARTNERSHIP, **before) == {}


def test_the_tables_for_the_pages_and_downloads_match_the_hand_count(fixture):
    with transaction(fixture) as session:
        tables = report_tables.tables(session, PARTNERSHIP, NOW, DEFAULT)
    assert [table.name for table in tables] == list(HAND_COUNTED) == list(report_tables.FIGURES)
    with transaction(fixture) as session:
        for name in report_tables.FIGURES:  # one figure alone is the same as in the whole report
            alone = report_tables.tables(session, PARTNERSHIP, NOW, DEFAULT, only=name)
            assert [(t.name, t.rows) for t in alone] == [(name, HAND_COUNTED[name][1])]
    for table in tables:
        assert (table.headers, table.rows) == HAND_COUNTED[table.name], table.name
    bars = {table.name: table.bars for table in tables}
    assert bars["open-by-stage-and-age"] == [
        ("Named professional or line manager, 0-7 days", 6, "6"),
        ("Named professional or line manager, 8-30 days", 0, "0"),
        ("Named professional or line manager, over 30 days", 4, "4"),
    ]
    assert bars["breaches"][1] == ("Named professional or line manager", 10, "10 of 18")
    assert bars["organisations"] == [
        ("Example Trust → Example Council", 16, "16"),
        ("Example School → Example Council", 8, "8"),
        ("Example Trust → Example Police", 6, "6"),
    ]


def test_learning_is_counted_by_stage_agency_pair_and_quarter_of_closing(fixture):
    """The thirty changed by hand: B-3 and B-4 point to a systemic issue; A-12 closed at 23:30
    UTC on 31 March 2027, which is 00:30 on 1 April in London (summer time): April to June;
    D-1 was withdrawn at the named professional stage with "supervision", systemic; C-2 is
    still open (its themes do not count) and B-8 ("other") has moved partnership."""
    changes = {
        "B-3": {"learning_systemic": True},
        "B-4": {"learning_systemic": True},
        "A-12": {"closed_at": utc(2027, 3, 31, 23, 30)},
        "D-1": {
            "status": "withdrawn",
            "outcome": "withdrawn",
            "closed_at": utc(2026, 12, 1, 9),
            "learning_themes": ["supervision"],
            "learning_systemic": True,
        },
        "C-2": {"learning_themes": ["voice_of_child"], "learning_systemic": True},
        "B-8": {"partnership": "another-partnership"},
    }
    with transaction(fixture) as session:
        for child, values in changes.items():
            row = session.execute(
                select(Disagreement).where(Disagreement.child_reference == child)
            ).scalar_one()
            for name, value in values.items():
                setattr(row, name, value)
    with transaction(fixture) as session:
        learnt = learning.closed_with_learning(session, PARTNERSHIP)
        tables = {
            name: report_tables.tables(session, PARTNERSHIP, NOW, DEFAULT, only=name)[0]
            for name in ("learning-by-stage", "learning-by-agency-pair", "learning-over-time")
        }
    assert len(learnt) == 12 + 7 + 1
    assert learnt[-1].stage == "practitioner" and learnt[-1].themes == ("recording",)
    assert [item.stage for item in learnt if item.themes == ("supervision",)] == [
        "named_professional"
    ]
    zeros = (0, 0, 0)  # the three later stages
    by_stage = dict((row[0], row[1:]) for row in tables["learning-by-stage"].rows)
    assert by_stage == {
        LEARNING_THEMES["thresholds"]: (0, 7, *zeros, 7),
        LEARNING_THEMES["information_sharing"]: (0, 4, *zeros, 4),
        LEARNING_THEMES["escalation_procedure"]: (0, 0, *zeros, 0),
        LEARNING_THEMES["voice_of_child"]: (0, 0, *zeros, 0),
        LEARNING_THEMES["timeliness"]: (0, 3, *zeros, 3),
        LEARNING_THEMES["recording"]: (12, 0, *zeros, 12),
        LEARNING_THEMES["meeting_attendance"]: (0, 0, *zeros, 0),
        LEARNING_THEMES["supervision"]: (0, 1, *zeros, 1),
        LEARNING_THEMES["other"]: (0, 0, *zeros, 0),
        "Points to a systemic issue": (0, 3, *zeros, 3),
        "Closed with learning recorded": (12, 8, *zeros, 20),
    }
    # Columns: the nine themes in the policy's order, systemic, total.
    assert tables["learning-by-agency-pair"].rows == [
        ("Health → Children's social care", 0, 0, 0, 0, 0, 12, 0, 1, 0, 1, 13),
        ("Example School → Children's social care", 7, 4, 0, 0, 3, 0, 0, 0, 0, 2, 7),
    ]
    over_time = tables["learning-over-time"]
    assert over_time.headers == (
        "Learning theme",
        "Oct–Dec 2026",
        "Jan–Mar 2027",
        "Apr–Jun 2027",
        "Total",
    )
    rows = {row[0]: row[1:] for row in over_time.rows}
    assert rows[LEARNING_THEMES["recording"]] == (11, 0, 1, 12)
    assert rows[LEARNING_THEMES["supervision"]] == (1, 0, 0, 1)
    assert rows["Points to a systemic issue"] == (3, 0, 0, 3)
    assert rows["Closed with learning recorded"] == (19, 0, 1, 20)
    assert over_time.bars == [
        ("Oct–Dec 2026", 19, "19"),
        ("Jan–Mar 2027", 0, "0"),
        ("Apr–Jun 2027", 1, "1"),
    ]


def test_a_policy_with_its_own_learning_themes_names_them_and_keeps_the_others(fixture):
    """A partnership's own list is used in its order; a theme recorded under an earlier list
    (here "recording", not in the new one) still shows, by its key, after them."""
    policy = DEFAULT.model_copy(
        update={
            "endings": DEFAULT.endings.model_copy(
                update={"learning_themes": {"thresholds": "Thresholds", "other": "Something else"}}
            )
        }
    )
    with transaction(fixture) as session:
        (table,) = report_tables.tables(session, PARTNERSHIP, NOW, policy, only="learning-by-stage")
    assert [row[0] for row in table.rows] == [
        "Thresholds",
        "Something else",
        "information_sharing",
        "recording",
        "timeliness",
        "Points to a systemic issue",
        "Closed with learning recorded",
    ]
    assert table.rows[1][1:3] == (0, 1) and table.rows[3][1:3] == (12, 0)


def test_the_annual_section_of_the_thirty_matches_the_hand_count(fixture):
    """The reporting year 1 April 2026 to 31 March 2027, to date at NOW (30 November 2026)."""
    from escalation.reads.annual import annual_section
    from escalation.rules.calendar import local_midnight

    since, until = local_midnight(date(2026, 4, 1)), local_midnight(date(2027, 4, 1))
    with transaction(fixture) as session:
        section = annual_section(session, PARTNERSHIP, since, until, NOW, policy=DEFAULT)
    assert not section.complete and section.as_at == NOW
    assert {table.name: table.rows for table in section.tables} == ANNUAL_HAND_COUNTED
    assert section.headlines[:3] == [
        "From 1 April 2026 to date (30 November 2026), 30 professional disagreements were "
        "raised; 20 were resolved, 0 withdrawn and 10 still open now.",
        "Of the 30 raised, 12 went no further than the first stage (practitioner to "
        "practitioner) and 0 reached the final stage (independent chair).",
        "Those resolved took a median of 0 working days from being raised; nine in ten were "
        "resolved within 5 working days.",
    ]
