"""The yearly report section's tables (annual.py), each built from its query's answer
(annual_counts.py) with the words its rows are labelled with: the counts, how far the
disagreements went, time to resolution (its median and 90th percentile, measured here), the
outcomes, the learning, the agreed actions and the proposed resolutions.
"""

from __future__ import annotations

import math
from collections import Counter

from escalation.casework.endings import ACCEPTED, BY_SILENCE
from escalation.reads.learning_tables import SYSTEMIC
from escalation.reads.reports import OUTCOME_WORDS
from escalation.reads.table import Table, stage_titles
from escalation.rules.policy import Policy


def median(values: list[int]) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    half = (ordered[middle - 1] + ordered[middle]) / 2
    return int(half) if half.is_integer() else half


def percentile_90(values: list[int]) -> int | None:
    """The nearest rank: the smallest value that at least 90% of the values are at or under."""
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1] if ordered else None


COUNT_WORDS = {
    "open_at_start": "Open at the start of the period",
    "raised": "Raised",
    "resolved": "Resolved",
    "withdrawn": "Withdrawn",
    "still_open": "Still open at the end of the period",
}


def counts_table(counts: dict[str, int]) -> Table:
    rows = [(words, counts[key]) for key, words in COUNT_WORDS.items()]
    return Table("counts", "Disagreements", ("Disagreements", "Number"), rows, [])


def stages_table(reached: dict[str, Counter], policy: Policy) -> Table:
    rows = [
        (title, reached["reached"][key], reached["highest"][key])
        for key, title in stage_titles(policy, reached["reached"])
    ]
    return Table(
        "stages",
        "How far the disagreements raised went",
        ("Stage", "Reached this stage", "Went no further"),
        rows,
        [],
        "The disagreements raised in the period, by the stages they had reached by its end.",
    )


def time_table(days: list[int]) -> Table:
    rows = [
        ("Disagreements resolved", len(days)),
        ("Median time to resolution (working days)", median(days)),
        ("90th percentile time to resolution (working days)", percentile_90(days)),
    ]
    return Table(
        "time-to-resolution",
        "Time from raising to resolution",
        ("Measure", "Value"),
        rows,
        [],
        "Working days from the day a disagreement was raised to the day it was resolved "
        "(0: the same working day), for those resolved in the period.",
    )


def outcomes_table(rows: list) -> Table:
    counts = Counter(outcome for (outcome,) in rows)
    keys = list(OUTCOME_WORDS) + sorted(set(counts) - set(OUTCOME_WORDS))
    return Table(
        "outcomes",
        "How the disagreements closed ended",
        ("Outcome", "Disagreements"),
        [(OUTCOME_WORDS.get(key, key), counts[key]) for key in keys],
        [],
    )


def learning_table(themes: dict[str, Counter], policy: Policy) -> Table:
    words = policy.endings.learning_themes
    keys = list(words) + sorted(set(themes["all"]) - set(words))
    rows = [(words.get(key, key), themes["all"][key], themes["systemic"][key]) for key in keys]
    closed = themes["closed"]
    rows += [
        ("Closed with learning recorded", closed["with"], closed["systemic"]),
        ("Closed without learning recorded", closed["without"], None),
    ]
    return Table(
        "learning",
        "What was learnt from the disagreements closed",
        ("Learning theme", "Disagreements", SYSTEMIC),
        rows,
        [],
        "A disagreement may have several themes.",
    )


ACTION_WORDS = {
    "agreed": "Agreed actions and convened meetings",
    "on_time": "Done on time",
    "late": "Done late",
    "missed": "Missed (the disagreement reopened a stage higher)",
    "cancelled": "Cancelled (contested, reopened or withdrawn)",
    "open": "Still open at the end of the period",
}


def actions_table(counts: Counter) -> Table:
    return Table(
        "agreed-actions",
        "Whether what was agreed got done",
        ("Agreed actions", "Number"),
        [(words, counts[key]) for key, words in ACTION_WORDS.items()],
        [],
        "Actions agreed in the period. On time: confirmed done by close of business on "
        "its date (a meeting: recorded by then, or by its start if later).",
    )


PROPOSAL_WORDS = {
    "resolve": "Resolutions proposed",
    ACCEPTED: "Accepted by the person asked",
    BY_SILENCE: "Accepted by silence (no answer in time)",
    "contest": "Contested (moved up a stage)",
    "reopen": "Reopened a stage higher (an action or meeting missed)",
}


def proposals_table(counts: Counter) -> Table:
    return Table(
        "proposals",
        "Proposed resolutions: accepted, contested and reopened",
        ("Proposed resolutions", "Number"),
        [(words, counts[key]) for key, words in PROPOSAL_WORDS.items()],
        [],
        "Each is counted when it happened in the period: the raiser (and the professional "
        "whose decision stands) is asked for their say on each proposal.",
    )
