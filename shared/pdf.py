"""The one PDF document helper (fpdf2, pure Python): a branded header, headings, text, tables, totals, terms,
optional images and a signature/acceptance block. Estimates' proposals and bids' proposals are built with it.

Build a `Document`, add blocks in reading order, then `render()` the bytes. The core PDF fonts cover
Latin-1 only, so text outside it is replaced (`?`) rather than failing a customer's document.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from fpdf import FPDF
from fpdf.enums import XPos, YPos

DEFAULT_BRAND = "#1f6feb"
FONT = "Helvetica"
LINE = 5.5


def latin1(text: str) -> str:
    """Text the core fonts can draw: characters outside Latin-1 become '?'; typographic quotes and dashes stay."""
    table = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"})
    return text.translate(table).encode("latin-1", "replace").decode("latin-1")


def rgb(colour: str | None) -> tuple[int, int, int]:
    """#rrggbb as an (r, g, b) triple; the default brand colour for anything else."""
    value = (colour or DEFAULT_BRAND).lstrip("#")
    if len(value) != 6 or any(c not in "0123456789abcdefABCDEF" for c in value):
        value = DEFAULT_BRAND.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


@dataclass(frozen=True)
class Column:
    """A table column: its title, its share of the page width, and how its cells align."""

    title: str
    weight: float = 1.0
    align: Literal["L", "R", "C"] = "L"


@dataclass(frozen=True)
class Signature:
    """Who accepted the document, when and from where; an empty block (lines to sign on) when name is None."""

    name: str | None = None
    signed_at: datetime | None = None
    detail: str | None = None  # e.g. the option chosen, the address and agent recorded
    statement: str = "By signing, the customer accepts this proposal and its terms."


class Document:
    """A document being built: header first, then blocks in reading order."""

    def __init__(
        self,
        *,
        business_name: str,
        title: str,
        brand_colour: str | None = None,
        created_at: datetime | None = None,
        subtitle: str | None = None,
    ) -> None:
        self.brand = rgb(brand_colour)
        self.pdf = FPDF(orientation="P", unit="mm", format="Letter")
        self.pdf.set_auto_page_break(auto=True, margin=15)
        self.pdf.set_title(latin1(title))
        self.pdf.set_author(latin1(business_name))
        if created_at is not None:
            self.pdf.set_creation_date(created_at)
        self.pdf.add_page()
        self._header(business_name, title, subtitle)

    @property
    def width(self) -> float:
        """The printable width in mm."""
        return self.pdf.w - self.pdf.l_margin - self.pdf.r_margin

    def _header(self, business_name: str, title: str, subtitle: str | None) -> None:
        pdf = self.pdf
        pdf.set_fill_color(*self.brand)
        pdf.rect(0, 0, pdf.w, 26, style="F")
        pdf.set_text_color(255, 255, 255)
        pdf.set_xy(pdf.l_margin, 7)
        pdf.set_font(FONT, "B", 18)
        pdf.cell(self.width, 8, latin1(business_name), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(FONT, "", 11)
        pdf.cell(self.width, 6, latin1(title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(0, 0, 0)
        pdf.set_y(32)
        if subtitle:
            self.paragraph(subtitle, size=9)

    def heading(self, text: str, *, size: int = 13) -> None:
        """A section heading in the brand colour."""
        pdf = self.pdf
        pdf.ln(2)
        pdf.set_font(FONT, "B", size)
        pdf.set_text_color(*self.brand)
        pdf.multi_cell(self.width, 7, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(0, 0, 0)

    def paragraph(self, text: str, *, size: int = 10, bold: bool = False) -> None:
        """Wrapped text."""
        self.pdf.set_font(FONT, "B" if bold else "", size)
        self.pdf.multi_cell(self.width, LINE, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def key_values(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Label: value lines (customer, address, dates)."""
        pdf = self.pdf
        for label, value in pairs:
            pdf.set_font(FONT, "B", 10)
            pdf.cell(40, LINE, latin1(label))
            pdf.set_font(FONT, "", 10)
            pdf.multi_cell(self.width - 40, LINE, latin1(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def table(self, columns: Sequence[Column], rows: Sequence[Sequence[str]], *, size: int = 9) -> None:
        """A table with a shaded header row; cells are cut to fit their column.

        Body cells are placed as plain text with widths from the core font's metrics: a proposal has
        hundreds of rows, and fpdf's general cell() costs ten times as much per cell.
        """
        pdf = self.pdf
        total = sum(c.weight for c in columns) or 1
        widths = [self.width * c.weight / total for c in columns]
        self._table_header(columns, widths, size)
        font = pdf.current_font
        assert font is not None  # set just above
        widths_of = font.cw  # width of each Latin-1 character in 1/1000 of the font size
        scale = pdf.font_size_pt / 1000 / pdf.k
        pad = 1.0
        for row in rows:
            if pdf.will_page_break(LINE):
                pdf.add_page()
                self._table_header(columns, widths, size)  # a table continued on a new page repeats its header
            baseline = pdf.get_y() + LINE * 0.7
            x = pdf.l_margin
            for column, width, value in zip(columns, widths, row, strict=True):
                text, used = self._fit(latin1(value), width - 2 * pad, widths_of, scale)
                left = x + width - pad - used if column.align == "R" else x + pad
                if column.align == "C":
                    left = x + (width - used) / 2
                pdf.text(left, baseline, text)
                x += width
            pdf.ln(LINE)

    def _table_header(self, columns: Sequence[Column], widths: list[float], size: int) -> None:
        pdf = self.pdf
        pdf.set_font(FONT, "B", size)
        pdf.set_fill_color(235, 235, 235)
        for column, width in zip(columns, widths, strict=True):
            pdf.cell(width, LINE + 0.5, latin1(column.title), border="B", align=column.align, fill=True)
        pdf.ln(LINE + 0.5)
        pdf.set_font(FONT, "", size)

    @staticmethod
    def _fit(text: str, room: float, widths_of: Mapping[Any, float], scale: float) -> tuple[str, float]:
        used = sum(widths_of.get(c, 500) for c in text) * scale
        if used <= room:
            return text, used
        ellipsis = sum(widths_of.get(c, 500) for c in "...") * scale
        while text and used + ellipsis > room:
            used -= widths_of.get(text[-1], 500) * scale
            text = text[:-1]
        return text + "...", used + ellipsis

    def totals(self, lines: Sequence[tuple[str, str]], *, emphasise_last: bool = True) -> None:
        """Right-aligned label/amount lines; the last one bold (the total)."""
        pdf = self.pdf
        for index, (label, amount) in enumerate(lines):
            bold = emphasise_last and index == len(lines) - 1
            pdf.set_font(FONT, "B" if bold else "", 11 if bold else 10)
            pdf.cell(self.width - 40, LINE + 0.5, latin1(label), align="R")
            pdf.cell(40, LINE + 0.5, latin1(amount), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def image(self, data: bytes, *, width: float = 60) -> None:
        """A picture (PNG or JPEG bytes), width in mm."""
        self.pdf.image(io.BytesIO(data), w=width)
        self.pdf.ln(2)

    def terms(self, text: str) -> None:
        """The terms, in small print."""
        self.heading("Terms", size=11)
        self.paragraph(text, size=8)

    def signature(self, block: Signature) -> None:
        """The acceptance block: the statement, then the signer's typed name and time, or lines to sign on."""
        pdf = self.pdf
        if pdf.will_page_break(40):
            pdf.add_page()
        self.heading("Acceptance", size=11)
        self.paragraph(block.statement, size=9)
        pdf.ln(2)
        if block.name is None:
            y = pdf.get_y() + 10
            pdf.line(pdf.l_margin, y, pdf.l_margin + 80, y)
            pdf.line(pdf.l_margin + 100, y, pdf.l_margin + 150, y)
            pdf.set_xy(pdf.l_margin, y + 1)
            pdf.set_font(FONT, "", 8)
            pdf.cell(100, 4, "Customer signature")
            pdf.cell(50, 4, "Date", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            return
        pdf.set_font(FONT, "BI", 14)
        pdf.cell(self.width, 8, latin1(f"/s/ {block.name}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        when = block.signed_at.strftime("%Y-%m-%d %H:%M UTC") if block.signed_at else ""
        self.paragraph(f"Signed electronically by {block.name} on {when}", size=9)
        if block.detail:
            self.paragraph(block.detail, size=8)

    def render(self) -> bytes:
        """The PDF's bytes."""
        return bytes(self.pdf.output())
