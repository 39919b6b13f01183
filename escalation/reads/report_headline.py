"""The paragraph that opens the board's report page: how many disagreements were raised in the
period, resolved, open now and past a deadline, and the learning theme recorded most often. Its
numbers are read from the report's own tables (report_tables.py), so the words and the tables
cannot disagree."""

from __future__ import annotations

from escalation.reads.table import Table


def headline(period: str, tables: list[Table]) -> str:
    """One paragraph for the board from every table of report_tables.tables; `period` starts it
    ("In the period from …", "So far")."""
    by_name = {table.name: table for table in tables}
    raised = sum(count for _, count in by_name["urgent-track"].rows)
    urgent = by_name["urgent-track"].rows[0][1]
    resolved = sum(row[1] for row in by_name["resolved-by-stage"].rows)
    open_now = sum(row[-1] for row in by_name["open-by-stage-and-age"].rows)
    past = sum(row[2] for row in by_name["breaches"].rows)
    words = [
        f"{period}, {_many(raised, 'disagreement')} {_were(raised)} raised"
        + (f" ({urgent} on the urgent track)" if urgent else "")
        + f", {resolved} {_were(resolved)} resolved and {open_now} "
        + ("is" if open_now == 1 else "are")
        + " open now."
    ]
    if past:
        words.append(f"{_many(past, 'stage')} ran past {'its' if past == 1 else 'their'} deadline.")
    themes = [(count, label) for label, count in by_name["learning-themes"].rows if count]
    if themes:
        count, label = max(themes, key=lambda item: item[0])
        words.append(f"The most common learning theme was {label.lower()} ({count}).")
    else:
        words.append("No learning theme has been recorded for them yet.")
    return " ".join(words)


def _many(count: int, one: str) -> str:
    return f"{count} {one if count == 1 else one + 's'}"


def _were(count: int) -> str:
    return "was" if count == 1 else "were"
