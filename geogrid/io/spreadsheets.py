"""Text for spreadsheets: CSV cells that Excel, WPS and LibreOffice show, never run.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula to a
spreadsheet (``=cmd|' /C calc'!A0``), even inside CSV quotes. OWASP's advice ("CSV
Injection"): quote every cell as CSV requires and put an apostrophe before such text, which
the spreadsheet shows as text. Only text is guarded: a number such as ``-3.5`` stays a number.

Reading such a file back, :func:`cell_text` takes off exactly the apostrophe :func:`text_cell`
added: text that already started with apostrophes before a formula character gets one more, so
the two are inverse and a typed ``'=x`` survives a round trip.
"""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

#: How a cell starts when a spreadsheet would run it as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def text_cell(value: str) -> str:
    """``value`` as a spreadsheet cell that is never a formula.

    Examples
    --------
    >>> text_cell("=cmd|' /C calc'!A0")
    "'=cmd|' /C calc'!A0"
    >>> text_cell("-1")
    "'-1"
    >>> text_cell("a,1")
    'a,1'
    """
    return "'" + value if value.lstrip("'").startswith(FORMULA_START) else value


def cell_text(value: str) -> str:
    """The text a :func:`text_cell` cell holds: the guarding apostrophe, and only it, removed.

    Examples
    --------
    >>> cell_text("'=1+1"), cell_text("''=x"), cell_text("'tis"), cell_text("-1")
    ('=1+1', "'=x", "'tis", '-1')
    """
    guarded = value.startswith("'") and value.lstrip("'").startswith(FORMULA_START)
    return value[1:] if guarded else value


def csv_cell(value: object) -> object:
    """A value for ``csv.writer``: text guarded by :func:`text_cell`, anything else as it is.

    Examples
    --------
    >>> csv_cell("+86 138"), csv_cell(-117.3)
    ("'+86 138", -117.3)
    """
    return text_cell(value) if isinstance(value, str) else value


def xlsx_table(headers: list[str], rows: list[list[object]], title: str) -> bytes:
    """One worksheet: a bold, frozen header row, then ``rows``; text is stored as text (never a
    formula, however it starts), numbers as numbers."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)
    sheet.freeze_panes = "A2"
    for index, header in enumerate(headers, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(10, 2 * len(header) + 4)
    bold = Font(bold=True)
    head = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = bold
        head.append(cell)
    sheet.append(head)
    for row in rows:
        cells: list[object] = []
        for value in row:
            if isinstance(value, str):
                cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
                cell.data_type = "s"
                cells.append(cell)
            else:
                cells.append(value)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
