"""A figure as a table, the shape every report shares: `Table` (a header row, rows of a label
then numbers, the bars of its chart and a note on how to read it), its chart's `Bar`s, and
`stage_titles`, which lists stages in the policy's order for any table with a row per stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from escalation.rules.policy import Policy


class Bar(NamedTuple):
    label: str
    value: float
    text: str  # the number as printed beside the bar


@dataclass(frozen=True)
class Table:
    """One figure: `name` (its CSV file's), a header row, rows (a label, then numbers), the bars
    of its chart, and a note on how to read it."""

    name: str
    title: str
    headers: tuple[str, ...]
    rows: list[tuple]
    bars: list[Bar]
    note: str = ""


def stage_titles(policy: Policy, seen) -> list[tuple[str, str]]:
    """(key, title) for the policy's stages in order, then its category routes' own stages that
    `seen` holds, then any other stage key in `seen` (a stage of an earlier policy version)."""
    known = [(stage.key, stage.title) for stage in policy.stages]
    known += [(stage.key, stage.title) for stage in policy.route_stages if stage.key in seen]
    others = sorted(set(seen) - {key for key, _ in known})
    return known + [(key, key) for key in others]
