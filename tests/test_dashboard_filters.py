"""The dashboard's filters as a model: each value that makes no sense is named and left out,
and the others still apply."""

from __future__ import annotations

from datetime import date

from escalation.reads.dashboard import parse_filters

STAGES, CATEGORIES = ["practitioner", "chair"], ["referral", "other"]


def _parse(**params):
    return parse_filters(params, stages=STAGES, categories=CATEGORIES)


def test_sensible_filters_are_read():
    filters = _parse(
        status="all",
        stage="chair",
        category="other",
        owner="7",
        raised_from="2026-11-01",
        raised_to="2026-11-30",
        page="3",
        raising="Trust",
    )
    assert (filters.status, filters.stage, filters.category, filters.owner) == (
        "all",
        "chair",
        "other",
        7,
    )
    assert (filters.raised_from, filters.raised_to) == (date(2026, 11, 1), date(2026, 11, 30))
    assert (filters.page, filters.raising, filters.errors) == (3, "Trust", {})


def test_each_bad_value_is_named_and_left_out():
    filters = _parse(
        status="closed",
        stage="nowhere",
        category="other",
        owner="7x",
        raised_from="2026-13-01",
        raised_to="2026-11-30",
        page="-1",
    )
    assert filters.errors == {
        "status": "Select a status from the list",
        "stage": "Select a stage from the list",
        "owner": "Select an owner from the list",
        "raised_from": "Enter a real date, like 2026-11-24",
    }
    assert (filters.status, filters.stage, filters.owner, filters.raised_from) == (
        "open",
        "",
        None,
        None,
    )
    assert (filters.category, filters.raised_to, filters.page) == ("other", date(2026, 11, 30), 1)


def test_a_backwards_range_drops_its_end_and_extremes_are_refused():
    backwards = _parse(raised_from="2026-11-30", raised_to="2026-11-01")
    assert backwards.raised_to is None and backwards.raised_from == date(2026, 11, 30)
    assert backwards.errors == {
        "raised_to": "The end date must be the same as or after the start date"
    }
    assert _parse(raised_to="9999-12-31").errors == {
        "raised_to": "Enter a real date, like 2026-11-24"
    }
    assert len(_parse(receiving="x" * 500).receiving) == 200


def test_how_it_is_ending_is_one_of_three():
    for value in ("proposed", "watched", "either"):
        assert _parse(ending=value).ending == value
    refused = _parse(ending="closed", stage="chair")
    assert refused.ending is None and refused.stage == "chair"
    assert refused.errors == {"ending": "Select how it is ending from the list"}
