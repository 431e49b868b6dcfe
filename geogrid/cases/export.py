"""The filtered case list as a table with Chinese headers, as CSV or XLSX for reporting upward.

CSV is UTF-8 with a byte-order mark, so Excel opens the Chinese text correctly; XLSX stores
codes and phone numbers as text (Excel would show 15-digit grid codes as 3.40102E+14) and
times as Excel dates. Times are Beijing time (Asia/Shanghai) without an offset, as Excel has
none. Text a citizen typed is never run as a formula: CSV text cells starting like one get a
leading apostrophe (geogrid.io.spreadsheets), XLSX cells are typed as text.

An export is also an import file (geogrid.cases.importing): the coordinate headers name their
CRS (经度(CGCS2000) is the stored point, exact; 经度(GCJ-02) is what AMap and WeChat show), and
照片 and 外部编号 carry what a case was reported with, so a re-import yields the same cases.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import Connection

from geogrid.access.roles import Principal
from geogrid.cases.categories import TYPE_ZH
from geogrid.cases.lifecycle import STATUS_ZH
from geogrid.cases.queries import CaseFilter, case_rows
from geogrid.cases.records import Case, case_from_row
from geogrid.cases.report import CHANNELS
from geogrid.cases.routing import FLAG_ZH
from geogrid.errors import InvalidInputError, TooLargeError
from geogrid.geo.datum import point_from_storage
from geogrid.i18n import tr
from geogrid.io.spreadsheets import text_cell
from geogrid.moments import LOCAL

#: More rows than this are refused (413): narrow the filter, e.g. by month or street.
MAX_EXPORT_ROWS = 100_000
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
Value = str | int | float | datetime | None


def _local(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(LOCAL).replace(tzinfo=None)


def _yes(value: bool | None) -> str | None:
    return None if value is None else ("是" if value else "否")


def _gcj02(case: Case) -> tuple[float, float]:
    lon, lat = point_from_storage(case.lon, case.lat, "gcj02")
    return round(lon, 7), round(lat, 7)


#: The prefix of the idempotency key an imported row's external id becomes (see importing).
EXTERNAL_KEY = "import:"


def external_id(key: str | None) -> str | None:
    """The external id a case was imported with, from its idempotency key (else None)."""
    return key[len(EXTERNAL_KEY) :] if key and key.startswith(EXTERNAL_KEY) else None


def _hours(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)


#: (header, value of a case and its case_view row), in the order the office reports them.
COLUMNS: tuple[tuple[str, Callable[[Case, Any], Value]], ...] = (
    ("案件编号", lambda c, r: c.id),
    ("状态", lambda c, r: STATUS_ZH[c.status]),
    ("类别编码", lambda c, r: c.category.code),
    ("类别", lambda c, r: c.category.name),
    ("大类", lambda c, r: c.category.major_name),
    ("事件/部件", lambda c, r: TYPE_ZH.get(c.category.type, c.category.type)),
    ("描述", lambda c, r: c.description),
    ("来源渠道", lambda c, r: CHANNELS.get(c.channel, c.channel)),
    ("上报时间", lambda c, r: _local(c.created_at)),
    ("立案时间", lambda c, r: _local(c.accepted_at)),
    ("结案时间", lambda c, r: _local(c.closed_at)),
    ("处置时限(小时)", lambda c, r: _hours(c.category.handling_hours)),
    ("是否超期", lambda c, r: _yes(c.overdue)),
    ("网格编码", lambda c, r: c.grid.code),
    ("网格名称", lambda c, r: c.grid.name),
    ("社区", lambda c, r: c.grid.community.name),
    ("街道", lambda c, r: c.grid.street.name),
    ("网格长", lambda c, r: c.grid.leader.name),
    ("联系电话", lambda c, r: c.grid.leader.phone),
    ("报告人", lambda c, r: c.reporter.name),
    ("报告人电话", lambda c, r: c.reporter.phone),
    ("地址", lambda c, r: c.address),
    ("经度(CGCS2000)", lambda c, r: round(c.lon, 7)),
    ("纬度(CGCS2000)", lambda c, r: round(c.lat, 7)),
    ("经度(GCJ-02)", lambda c, r: _gcj02(c)[0]),
    ("纬度(GCJ-02)", lambda c, r: _gcj02(c)[1]),
    ("照片", lambda c, r: " ".join(c.photos) or None),
    ("标记", lambda c, r: "；".join(FLAG_ZH.get(f, f) for f in c.flags) or None),
    ("派遣时间", lambda c, r: _local(c.dispatched_at)),
    ("截止时间", lambda c, r: _local(c.due_at)),
    ("按期结案", lambda c, r: _yes(r.closed_on_time)),
    ("处置用时(小时)", lambda c, r: _hours(r.handling_hours_taken)),
    ("挂账时长(小时)", lambda c, r: c.held_hours),
    ("社区编码", lambda c, r: c.grid.community.code),
    ("街道编码", lambda c, r: c.grid.street.code),
    ("边界版本", lambda c, r: c.release),
    ("责任部门编码", lambda c, r: c.department.code if c.department else None),
    ("责任部门", lambda c, r: c.department.name if c.department else None),
    ("吹哨报到", lambda c, r: {"street": "街道", "district": "区级"}.get(c.escalation or "")),
    ("流动网格", lambda c, r: c.mobile_grid),
    ("外部编号", lambda c, r: external_id(r.idempotency_key)),
)
HEADERS = tuple(header for header, _ in COLUMNS)


@dataclass(frozen=True)
class CaseTable:
    """Headers and rows of an export; ``masked`` says whether personal data is starred."""

    headers: tuple[str, ...]
    rows: list[tuple[Value, ...]]
    masked: bool


def case_table(
    conn: Connection, found: CaseFilter, principal: Principal, max_rows: int = MAX_EXPORT_ROWS
) -> CaseTable:
    """The cases ``found`` selects, by id, one row each, as ``principal`` may see them.

    Raises
    ------
    TooLargeError
        More than ``max_rows`` cases match (413); nothing is built.
    """
    rows = case_rows(conn, found, max_rows + 1)
    if len(rows) > max_rows:
        raise TooLargeError(
            tr(
                "more than {max_rows} cases match; an export holds at most {max_rows}: "
                "narrow the filter (e.g. from/to, street)",
                max_rows=max_rows,
            ),
        )
    table: list[tuple[Value, ...]] = []
    for row in rows:
        case = principal.visible(case_from_row(row))
        table.append(tuple(value(case, row) for _, value in COLUMNS))
    return CaseTable(HEADERS, table, not principal.sees_personal_data)


def _csv_cell(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime(TIME_FORMAT)
    if isinstance(value, str):
        return text_cell(value)
    return str(value)


def to_csv(table: CaseTable) -> bytes:
    """UTF-8 with BOM, comma-separated, CRLF line ends (as Excel writes CSV)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.headers)
    writer.writerows([_csv_cell(v) for v in row] for row in table.rows)
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(table: CaseTable, title: str = "案件清单") -> bytes:
    """One worksheet: a bold, frozen header row, text codes, dates as Excel dates."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)
    sheet.freeze_panes = "A2"
    for index, header in enumerate(table.headers, start=1):
        width = 40 if header in ("描述", "地址") else 20 if "时间" in header else 14
        sheet.column_dimensions[get_column_letter(index)].width = width
    bold = Font(bold=True)
    head = []
    for header in table.headers:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = bold
        head.append(cell)
    sheet.append(head)
    for row in table.rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsx_cell(sheet: Any, value: Value) -> Any:
    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
        cell.data_type = "s"  # never a formula, however it starts
        return cell
    if isinstance(value, datetime):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "yyyy-mm-dd hh:mm:ss"
        return cell
    return value


def export_cases(conn: Connection, found: CaseFilter, fmt: str, principal: Principal) -> bytes:
    """The selected cases as ``fmt`` (csv or xlsx) bytes."""
    if fmt not in FORMATS:
        raise InvalidInputError(
            tr('format was "{fmt}" but must be one of {FORMATS}', fmt=fmt, FORMATS=list(FORMATS)),
        )
    table = case_table(conn, found, principal)
    return to_csv(table) if fmt == "csv" else to_xlsx(table)


def file_name(fmt: str, moment: datetime | None = None) -> str:
    """``cases-YYYYMMDD-HHMMSS.<fmt>`` in Beijing time."""
    stamp = (moment or datetime.now(LOCAL)).astimezone(LOCAL).strftime("%Y%m%d-%H%M%S")
    return f"cases-{stamp}.{fmt}"
