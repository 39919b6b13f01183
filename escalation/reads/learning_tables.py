"""The board's learning figures (learning.py) as tables: the learning themes (and the systemic
ones) by the stage each disagreement was closed at, by the agencies that disagreed, and by the
quarter it was closed in. report_tables.py puts them in the board's report with the rest.
"""

from __future__ import annotations

from escalation.reads.learning import Learnt, quarter_of
from escalation.reads.table import Bar, Table, stage_titles
from escalation.rules.policy import Policy
from escalation.rules.vocabulary import AGENCY_TYPES

SYSTEMIC = "Points to a systemic issue"
WITH_LEARNING = "Closed with learning recorded"
LEARNING_NOTE = (
    "Closed (resolved or withdrawn) disagreements whose learning was recorded; one may have "
    "several themes, so the themes add up to more than the disagreements."
)


def learning_by_stage(learnt: list[Learnt], policy: Policy) -> Table:
    """Rows: the policy's learning themes (then any other recorded), the systemic ones and all;
    columns: the stage each was closed at."""
    stages = stage_titles(policy, {item.stage for item in learnt})
    rows = [
        (label, *(sum(1 for item in chosen if item.stage == key) for key, _ in stages), len(chosen))
        for label, chosen in _learning_rows(learnt, policy)
    ]
    return Table(
        "learning-by-stage",
        "Learning themes, by the stage the disagreement was closed at",
        ("Learning theme", *(title for _, title in stages), "Total"),
        rows,
        [Bar(row[0], row[-1], str(row[-1])) for row in rows[:-2]],
        LEARNING_NOTE,
    )


def learning_by_pair(learnt: list[Learnt], policy: Policy) -> Table:
    """Rows: who raised it with whom; columns: the themes, the systemic ones and all."""
    pairs: dict[str, list[Learnt]] = {}
    for item in learnt:
        pairs.setdefault(f"{_side(*item.raiser)} → {_side(*item.receiver)}", []).append(item)
    keys = _theme_keys(policy, learnt)
    rows = [
        (
            pair,
            *(sum(key in item.themes for item in items) for key in keys),
            sum(item.systemic for item in items),
            len(items),
        )
        for pair, items in sorted(pairs.items(), key=lambda entry: (-len(entry[1]), entry[0]))
    ]
    words = policy.endings.learning_themes
    return Table(
        "learning-by-agency-pair",
        "Learning themes, by the agencies that disagreed",
        ("Raising → receiving agency", *(words.get(key, key) for key in keys), SYSTEMIC, "Total"),
        rows,
        [Bar(row[0], row[-1], str(row[-1])) for row in rows],
        "Each side is named by its agency type where the directory gives its organisation one, "
        "else by the organisation. " + LEARNING_NOTE,
    )


def learning_over_time(learnt: list[Learnt], policy: Policy) -> Table:
    """Rows: the themes, the systemic ones and all; columns: each quarter (calendar, local time)
    from the first closing to the last, those with none included."""
    quarters = _quarters([quarter_of(item.closed_at, policy.timezone) for item in learnt])
    rows = [
        (
            label,
            *(
                sum(1 for item in chosen if quarter_of(item.closed_at, policy.timezone) == q)
                for q in quarters
            ),
            len(chosen),
        )
        for label, chosen in _learning_rows(learnt, policy)
    ]
    labels = [_quarter_words(q) for q in quarters]
    return Table(
        "learning-over-time",
        "Learning themes, by the quarter the disagreement was closed in",
        ("Learning theme", *labels, "Total"),
        rows,
        [
            Bar(label, count, str(count))
            for label, count in zip(labels, rows[-1][1:-1], strict=True)
        ],
        LEARNING_NOTE,
    )


def _learning_rows(learnt: list[Learnt], policy: Policy) -> list[tuple[str, list[Learnt]]]:
    """(label, the disagreements it counts) for each theme, then the systemic ones, then all."""
    words = policy.endings.learning_themes
    rows = [
        (words.get(key, key), [item for item in learnt if key in item.themes])
        for key in _theme_keys(policy, learnt)
    ]
    return rows + [
        (SYSTEMIC, [item for item in learnt if item.systemic]),
        (WITH_LEARNING, learnt),
    ]


def _theme_keys(policy: Policy, learnt: list[Learnt]) -> list[str]:
    """The policy's themes in its order, then any other recorded (an earlier list's)."""
    known = list(policy.endings.learning_themes)
    return known + sorted({key for item in learnt for key in item.themes} - set(known))


def _side(agency_type: str, organisation: str) -> str:
    return AGENCY_TYPES.get(agency_type, agency_type) if agency_type else organisation


def _quarters(seen: list[tuple[int, int]]) -> list[tuple[int, int]]:
    if not seen:
        return []
    (year, quarter), last = min(seen), max(seen)
    quarters = []
    while (year, quarter) <= last:
        quarters.append((year, quarter))
        year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
    return quarters


def _quarter_words(quarter: tuple[int, int]) -> str:
    year, number = quarter
    return f"{('Jan–Mar', 'Apr–Jun', 'Jul–Sep', 'Oct–Dec')[number - 1]} {year}"
