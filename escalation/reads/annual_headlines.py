"""The sentences that open the yearly report's section (annual.py), one for each of its tables
in turn: what was raised and closed, how far it went, how long it took, what was learnt,
whether what was agreed got done, and how proposed resolutions were answered; the numbers are
the tables' own (annual_tables.py), so the words and the figures cannot disagree.
"""

from __future__ import annotations

from collections import Counter

from escalation.reads.annual_tables import ACTION_WORDS, PROPOSAL_WORDS, median, percentile_90
from escalation.reads.table import Table
from escalation.rules.policy import Policy


def headlines(period, complete, counts, tables, days, themes, policy: Policy) -> list[str]:
    return [
        _raised_sentence(period, counts, complete),
        _stages_sentence(counts, tables["stages"], policy),
        _time_sentence(days),
        _learning_sentence(themes, policy),
        _actions_sentence(dict(tables["agreed-actions"].rows)),
        _proposals_sentence(dict(tables["proposals"].rows)),
    ]


def _raised_sentence(period: str, counts: dict[str, int], complete: bool) -> str:
    already = counts["open_at_start"]
    return (
        f"{period}, {_many(counts['raised'], 'professional disagreement')} "
        f"{_were(counts['raised'])} raised"
        + (f" ({already} {_were(already)} already open at the start)" if already else "")
        + f"; {counts['resolved']} {_were(counts['resolved'])} resolved, "
        f"{counts['withdrawn']} withdrawn and {counts['still_open']} "
        + ("still open at the end." if complete else "still open now.")
    )


def _stages_sentence(counts: dict[str, int], stages: Table, policy: Policy) -> str:
    first, final = policy.stages[0], policy.stages[-1]
    rows = {title: (reached, highest) for title, reached, highest in stages.rows}
    settled, final_reached = rows[first.title][1], rows[final.title][0]
    return (
        f"Of the {counts['raised']} raised, {settled} went no further than the first stage "
        f"({first.title.lower()}) and {final_reached} reached the final stage "
        f"({final.title.lower()})."
    )


def _time_sentence(days: list[int]) -> str:
    if not days:
        return "None was resolved in the period."
    return (
        f"Those resolved took a median of {_days(median(days))} from being raised; nine in "
        f"ten were resolved within {_days(percentile_90(days))}."
    )


def _learning_sentence(themes: dict[str, Counter], policy: Policy) -> str:
    closed = themes["closed"]
    total = closed["with"] + closed["without"]
    if not total:
        return "No disagreement was closed in the period."
    if not closed["with"]:
        return f"No learning was recorded for the {_many(total, 'disagreement')} closed."
    words = policy.endings.learning_themes
    top = sorted(themes["all"].items(), key=lambda item: (-item[1], item[0]))[:3]
    listed = [f"{words.get(key, key).lower()} ({count})" for key, count in top]
    named = listed[0] if len(listed) == 1 else f"{', '.join(listed[:-1])} and {listed[-1]}"
    return (
        f"Learning was recorded for {closed['with']} of the {total} disagreements closed; "
        f"the themes recorded most often were {named}. Of these, {closed['systemic']} pointed "
        "to a systemic issue."
    )


def _actions_sentence(rows: dict[str, int]) -> str:
    values = [rows[words] for words in ACTION_WORDS.values()]
    agreed, on_time, late, missed, cancelled, still = values
    if not agreed:
        return "No actions were agreed in the period."
    return (
        f"{_many(agreed, 'action or meeting', 'actions and meetings')} {_were(agreed)} agreed: "
        f"{on_time} done on time, {late} done late, {missed} missed, {cancelled} cancelled "
        f"and {still} still open."
    )


def _proposals_sentence(rows: dict[str, int]) -> str:
    proposed, accepted, silent, contested, reopened = (
        rows[words] for words in PROPOSAL_WORDS.values()
    )
    if not proposed:
        return "No resolution was proposed in the period."
    silence = f" and stayed silent {_times(silent)} (taken as acceptance)" if silent else ""
    return (
        f"{_many(proposed, 'resolution')} {_were(proposed)} proposed; those asked for their "
        f"say accepted {_times(accepted)}{silence}; {contested} {_were(contested)} contested, "
        f"moving the disagreement up a stage, and {_many(reopened, 'disagreement')} reopened "
        "a stage higher because an agreed action or meeting was missed."
    )


def _times(count: int) -> str:
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


def _many(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else many or one + 's'}"


def _were(count: int) -> str:
    return "was" if count == 1 else "were"


def _days(value: float | None) -> str:
    text = f"{value:g}"
    return f"{text} working day" + ("" if value == 1 else "s")
