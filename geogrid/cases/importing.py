"""Importing cases from a file: a CSV (UTF-8, with or without BOM) or XLSX sheet, one case a row.

Columns are named in English (``category``, ``description``, ``lon``, ``lat``, ``crs``,
``address``, ``reporter_name``, ``reporter_phone``, ``channel``, ``photos``, ``external_id``)
or with the Chinese headers geogrid's own export writes (类别编码, 描述, 经度, 纬度, 地址, 报告人,
报告人电话, 来源渠道, 案件编号 ...), so an export of one system opens in another. Every row is
checked and routed first; unless told to skip bad rows, one bad row imports nothing and every
bad row is listed. With an ``external_id`` a row is imported once however often the file is
(it becomes the case's idempotency key).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from geogrid.cases.records import create_case
from geogrid.cases.report import CHANNELS, CaseReport
from geogrid.errors import GeogridError, LoadError
from geogrid.i18n import tr
from geogrid.lookup.snapshot import Snapshot
from geogrid.settings import CaseSettings

#: The field each column feeds, by every name it may have.
ALIASES: dict[str, tuple[str, ...]] = {
    "external_id": ("external_id", "外部编号", "工单编号", "案件编号"),
    "category": ("category", "类别编码", "类别"),
    "description": ("description", "描述", "问题描述"),
    "lon": ("lon", "经度"),
    "lat": ("lat", "纬度"),
    "crs": ("crs", "坐标系"),
    "address": ("address", "地址"),
    "reporter_name": ("reporter_name", "报告人"),
    "reporter_phone": ("reporter_phone", "报告人电话"),
    "channel": ("channel", "来源渠道"),
    "photos": ("photos", "照片"),
}
_CHANNEL_BY_LABEL = {label: code for code, label in CHANNELS.items()}


@dataclass
class ImportResult:
    """What an import did: cases created, rows already imported, rows refused (line, why)."""

    created: list[int] = field(default_factory=list)
    already: list[int] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a CSV or XLSX file as dicts keyed by header (empty cells left out)."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".xlsx":
            return _xlsx_rows(path)
        if suffix in (".csv", ".txt"):
            text = path.read_text(encoding="utf-8-sig")
            return [
                {k.strip(): v.strip() for k, v in row.items() if k and v and v.strip()}
                for row in csv.DictReader(io.StringIO(text))
            ]
    except (OSError, UnicodeDecodeError, ValueError, KeyError) as exc:
        raise LoadError(f"cannot read {path}: {exc}") from None
    raise LoadError(tr('file "{name}" must be .csv or .xlsx', name=path.name))


def _xlsx_rows(path: Path) -> list[dict[str, Any]]:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
        return [
            {
                h: v
                for h, v in zip(header, row, strict=False)
                if h and v is not None and str(v).strip()
            }
            for row in rows
            if any(v is not None for v in row)
        ]
    finally:
        book.close()


def _field(row: dict[str, Any], name: str) -> Any:
    for alias in ALIASES[name]:
        if alias in row:
            return row[alias]
    return None


def _number(value: Any, name: str) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f'{name} was "{value}" but must be a number') from None


def report_from_row(row: dict[str, Any], crs: str) -> CaseReport:
    """The case a row describes (raises GeogridError or ValueError naming the bad value)."""
    channel = _field(row, "channel")
    channel = _CHANNEL_BY_LABEL.get(str(channel), channel) if channel else "other"
    photos = str(_field(row, "photos") or "").replace(";", " ").replace(",", " ").split()
    body = {
        "category": str(_field(row, "category") or ""),
        "description": str(_field(row, "description") or ""),
        "lon": _number(_field(row, "lon"), "lon"),
        "lat": _number(_field(row, "lat"), "lat"),
        "crs": str(_field(row, "crs") or crs),
        "address": _field(row, "address"),
        "reporter": {
            "name": _text(_field(row, "reporter_name")),
            "phone": _text(_field(row, "reporter_phone")),
        },
        "channel": channel,
        "photos": photos,
    }
    return CaseReport.from_mapping(body)


def _text(value: Any) -> str | None:
    return None if value is None else str(value).strip()


def import_cases(
    conn: Connection,
    snapshot: Snapshot,
    rows: Iterable[dict[str, Any]],
    actor: str,
    settings: CaseSettings,
    *,
    crs: str = "wgs84",
    skip_bad: bool = False,
) -> ImportResult:
    """Create a case per row inside the caller's transaction.

    Raises
    ------
    LoadError
        Some row is bad and ``skip_bad`` is False; ``details`` lists (line, reason) for each
        (the caller rolls back, so nothing is imported).
    """
    result = ImportResult()
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        external = _field(row, "external_id")
        key = None if external is None else f"import:{external}"
        try:
            report = report_from_row(row, crs)
            case, replayed = create_case(conn, snapshot, report, actor, settings, key)
        except (GeogridError, ValueError) as exc:
            result.refused.append((line, str(exc)))
            continue
        (result.already if replayed else result.created).append(case.id)
    if result.refused and not skip_bad:
        listed = "; ".join(f"line {line}: {why}" for line, why in result.refused[:20])
        raise LoadError(
            tr(
                "{refused} rows cannot be imported, so none was: {listed}",
                refused=len(result.refused),
                listed=listed,
            ),
            details=[{"line": line, "reason": why} for line, why in result.refused],
        )
    return result
