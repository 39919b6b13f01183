"""A stage's formal record printed as a PDF: the letter each procedure demands for both
agencies' files, made from the record's frozen `content` (casework/records.py), never
recomputed, so it says what was decided at the time. It is downloaded from the board's and the
link holders' pages, never attached to an email.

The text is set in DejaVu Sans (Debian's fonts-dejavu-core), so accented names and curly quotes
print as typed. Without that font it falls back to the PDF's core Helvetica, whose encoding is
Latin-1: typographic punctuation becomes its plain equivalent and anything else outside Latin-1
a question mark, rather than failing to print the record at all.

The same record gives the same bytes: the creation date is the decision's moment, and the
file's identifier is derived from the content.
"""

from __future__ import annotations

import re
from pathlib import Path

from fpdf import FPDF, FontFace

from escalation.store.models import StageRecord

FONTS = Path("/usr/share/fonts/truetype/dejavu")
PLAIN = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2026": "...",
    "\u00a0": " ",
    "\u2022": "-",
}
BLACK, GREY = (11, 12, 12), (80, 90, 95)
LINE = 5.5  # mm: the body text's line height


def record_pdf(record: StageRecord, *, fonts: Path = FONTS) -> bytes:
    """The record as a letter-style PDF (A4), signed by its owner by name and role."""
    content = record.content
    pdf = _Letter(content.get("reference", ""), fonts)
    pdf.set_creation_date(record.decided_at)
    pdf.set_title(pdf.printable(f"{content.get('title', 'Formal record')} {content['reference']}"))
    pdf.set_author(pdf.printable(content.get("signed_by", "")))
    pdf.set_creator("Resolving professional disagreements")
    pdf.set_lang("en-GB")
    pdf.add_page()
    _heading(pdf, content)
    _facts(pdf, content)
    _positions(pdf, content)
    _decision(pdf, content)
    _actions(pdf, content.get("actions") or [])
    _section(pdf, "Who holds it next", content.get("next", ""))
    _signature(pdf, content)
    return bytes(pdf.output())


def filename(record: StageRecord) -> str:
    """`RPD-XXXX-XXXX-stage-2-escalation.pdf`: the reference, the stage's number and the kind,
    nothing of the child (a downloaded file's name shows in folders and email clients)."""
    number = re.match(r"Stage (\d+)", record.content.get("stage", ""))
    stage = number.group(1) if number else re.sub(r"[^a-z0-9]+", "-", record.stage_key.lower())
    kind = re.sub(r"[^a-z0-9]+", "-", record.kind.lower())
    return f"{record.content['reference']}-stage-{stage}-{kind}.pdf"


class _Letter(FPDF):
    """An A4 page with the reference and page number in every footer."""

    def __init__(self, reference: str, fonts: Path) -> None:
        super().__init__(format="A4")
        self.reference = reference
        self.has_unicode = (fonts / "DejaVuSans.ttf").exists() and (
            fonts / "DejaVuSans-Bold.ttf"
        ).exists()
        if self.has_unicode:
            self.add_font("DejaVu", "", str(fonts / "DejaVuSans.ttf"))
            self.add_font("DejaVu", "B", str(fonts / "DejaVuSans-Bold.ttf"))
        self.face = "DejaVu" if self.has_unicode else "Helvetica"
        self.set_margins(20, 20, 20)
        self.set_auto_page_break(True, margin=20)
        self.set_text_color(*BLACK)

    def printable(self, words: str) -> str:
        """`words` as this document's font can print them."""
        if self.has_unicode:
            return words
        plain = "".join(PLAIN.get(c, c) for c in words)
        return plain.encode("latin-1", "replace").decode("latin-1")

    def use_font(self, size: float, bold: bool = False) -> None:
        self.set_font(self.face, "B" if bold else "", size)

    def footer(self) -> None:
        self.set_y(-14)
        self.use_font(8)
        self.set_text_color(*GREY)
        words = f"Formal record, disagreement {self.reference}. Page {self.page_no()} of {{nb}}"
        self.cell(0, 5, self.printable(words), align="C")
        self.set_text_color(*BLACK)


def _paragraph(pdf: _Letter, words: str, *, size: float = 10, bold: bool = False) -> None:
    pdf.use_font(size, bold)
    height = max(LINE, size * 0.45)  # mm: a heading's lines need more room than the body's
    words = pdf.printable(words or "Not recorded")
    pdf.multi_cell(0, height, words, align="L", new_x="LMARGIN", new_y="NEXT")


def _keep(pdf: _Letter, height: float) -> None:
    """A new page unless `height` mm fit on this one: no heading alone at a page's foot, no
    signature split from its name."""
    if pdf.get_y() + height > pdf.h - pdf.b_margin:
        pdf.add_page()


def _section(pdf: _Letter, title: str, words: str) -> None:
    _keep(pdf, 20)
    pdf.ln(3)
    _paragraph(pdf, title, size=12, bold=True)
    pdf.ln(1)
    _paragraph(pdf, words)


def _heading(pdf: _Letter, content: dict) -> None:
    _paragraph(pdf, content.get("title", "Formal record"), size=18, bold=True)
    _paragraph(pdf, f"Professional disagreement {content['reference']}", size=13, bold=True)
    _paragraph(pdf, content.get("area", ""), size=11)
    pdf.ln(2)
    pdf.set_draw_color(*GREY)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(4)


def _facts(pdf: _Letter, content: dict) -> None:
    """Who disagrees with which decision, as a two-column table of labels and values."""
    rows = (
        ("Reference", content.get("reference")),
        ("Child reference", content.get("child_reference")),
        ("Stage", content.get("stage")),
        ("Raising agency", content.get("raising_agency")),
        ("Raised by", content.get("raised_by")),
        ("Receiving agency", content.get("receiving_agency")),
        ("Decision made by", content.get("decision_maker")),
        ("Category", content.get("category")),
        ("Decision disputed", content.get("decision_disputed")),
        ("Date of that decision", content.get("decision_date")),
        ("Stage owner", content.get("stage_owner")),
        ("Answering for the receiving agency", content.get("stage_counterpart")),
    )
    _table(pdf, [(label, value or "Not recorded") for label, value in rows], (35, 65), heads=False)


def _positions(pdf: _Letter, content: dict) -> None:
    _section(pdf, "The raising practitioner's position", content.get("raiser_position", ""))
    _section(pdf, "The receiving agency's position", content.get("counterpart_position", ""))


def _decision(pdf: _Letter, content: dict) -> None:
    _section(pdf, "The decision at this stage", content.get("decision", ""))
    _section(pdf, "Rationale", content.get("rationale", ""))


def _actions(pdf: _Letter, actions: list[dict]) -> None:
    if not actions:
        _section(pdf, "Agreed actions", "No actions were agreed at this stage.")
        return
    _keep(pdf, 30)
    pdf.ln(3)
    _paragraph(pdf, "Agreed actions", size=12, bold=True)
    pdf.ln(1)
    rows = [("What", "Owner", "When", "Where")]
    rows += [
        (a.get("what", ""), a.get("owner", ""), a.get("when", ""), a.get("place") or "-")
        for a in actions
    ]
    _table(pdf, rows, (34, 26, 22, 18), heads=True)


def _table(pdf: _Letter, rows, widths: tuple[int, ...], *, heads: bool) -> None:
    pdf.use_font(10)
    bold = FontFace(emphasis="BOLD")
    with pdf.table(
        col_widths=widths,
        text_align="LEFT",
        align="LEFT",
        width=pdf.epw,
        first_row_as_headings=heads,
        headings_style=bold,
        line_height=LINE,
        padding=1.5,
        borders_layout="HORIZONTAL_LINES",
    ) as table:
        for cells in rows:
            row = table.row()
            for index, value in enumerate(cells):
                face = bold if index == 0 and not heads else None
                row.cell(pdf.printable(str(value)), style=face)


def _signature(pdf: _Letter, content: dict) -> None:
    _keep(pdf, 40)
    pdf.ln(8)
    _paragraph(pdf, "Signed", size=12, bold=True)
    pdf.ln(1)
    _paragraph(pdf, content.get("signed_by", ""), bold=True)
    _paragraph(pdf, content.get("signed_role", ""))
    _paragraph(pdf, f"Decided at {content.get('decided_at', '')}")
