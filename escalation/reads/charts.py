"""Server-rendered SVG bar charts for the board's report pages: no JavaScript, no styles.

Each bar has its label above it (so long labels need no legend) and its number printed at its
end. The chart is one image to assistive technology: its `<title>` names it and its `<desc>`
reads out every label and number. Colours and sizes are presentation attributes, because the
service's Content-Security-Policy allows no inline styles. Every piece of text is escaped
(`Markup.format`): labels include organisation names, which come from users.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup

WIDTH = 480
ROW_HEIGHT = 52
BAR_HEIGHT = 18
FONT_SIZE = 18  # drawn at about 17px in a half-width column on a desktop screen
ROOM_FOR_NUMBER = 100
LABEL_CHARS = 46  # about what fits across WIDTH at FONT_SIZE
FONT = "GDS Transport, arial, sans-serif"  # SVG text does not inherit GOV.UK's classes
TEXT = "#0b0c0c"  # GOV.UK text colour
BLUE = "#1d70b8"  # GOV.UK brand blue: 5:1 against white


def bar_chart(
    chart_id: str, title: str, bars: Sequence[tuple[str, float, str]], colour: str = BLUE
) -> Markup:
    """A horizontal bar chart of (label, value, text) bars, scaled to the largest value."""
    largest = max((value for _, value, _ in bars), default=0)
    rows = Markup("").join(
        _bar(index, label, _length(value, largest), text, colour)
        for index, (label, value, text) in enumerate(bars)
    )
    summary = "; ".join(f"{label}: {text}" for label, _, text in bars) or "No data"
    return Markup(
        '<svg xmlns="http://www.w3.org/2000/svg" role="img" id="{id}" class="rpd-chart" '
        'aria-labelledby="{id}-title" aria-describedby="{id}-desc" width="100%" '
        'viewBox="0 0 {width} {height}" font-family="{font}" font-size="{size}" fill="{text}">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{summary}</desc>{rows}</svg>'
    ).format(
        id=chart_id,
        width=WIDTH,
        height=max(len(bars), 1) * ROW_HEIGHT,
        text=TEXT,
        font=FONT,
        size=FONT_SIZE,
        title=title,
        summary=summary,
        rows=rows,
    )


def _bar(index: int, label: str, length: float, text: str, colour: str) -> Markup:
    top = index * ROW_HEIGHT
    return Markup(
        '<g class="rpd-chart__bar"><title>{label}: {text}</title>'
        '<text x="0" y="{label_y}">{short}</text>'
        '<rect x="0" y="{bar_y}" width="{length:.1f}" height="{bar_height}" fill="{colour}"/>'
        '<text x="{number_x:.1f}" y="{number_y}" font-weight="bold">{text}</text></g>'
    ).format(
        label=label,
        text=text,
        short=_fit(label),
        label_y=top + 18,
        bar_y=top + 25,
        length=length,
        bar_height=BAR_HEIGHT,
        colour=colour,
        number_x=length + 6,
        number_y=top + 40,
    )


def _length(value: float, largest: float) -> float:
    if largest <= 0 or value <= 0:
        return 0.0
    return max(2.0, value / largest * (WIDTH - ROOM_FOR_NUMBER))  # a small count stays visible


def _fit(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1].rstrip() + "…"
