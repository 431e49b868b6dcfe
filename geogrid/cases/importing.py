"""Importing cases from a file: a CSV (UTF-8, with or without BOM) or XLSX sheet, one case a row.

Columns are named in English (``category``, ``description``, ``lon``, ``lat``, ``crs``,
``address``, ``reporter_name``, ``reporter_phone``, ``channel``, ``photos``, ``external_id``,
``source_id``) or with the Chinese headers geogrid's own export writes (类别编码, 描述,
经度(CGCS2000), 纬度(CGCS2000), 地址, 报告人, 报告人电话, 来源渠道, 照片, 外部编号, 案件编号 ...),
so an export of one system opens in another. A coordinate header may name its CRS in brackets
(经度(GCJ-02), lon(WGS84)); the most exact pair a row has is used (CGCS2000, the stored datum,
first). Every row is checked and routed first; unless told to skip bad rows, one bad row
imports nothing and every bad row is listed.

A row is imported once however often the file is: its ``external_id`` (else the exporting
system's case number, 案件编号) becomes the case's idempotency key (``import:<external_id>``,
``export:<案件编号>``). A row that is a case already there — the case its key names, or this
database's own case 案件编号 when the row is that case (same category, description, point and
report time) — is counted as already imported, even when the row gives its point in another CRS
than the first import did. So importing geogrid's own export, into the same database or
another, never fails and never duplicates. In a CSV the apostrophe the export put before text
that would be a formula is taken off again; masked personal data (张*, 138****0000: an export
made without personal data) is read as not given.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from geogrid.cases.export import EXTERNAL_KEY, TIME_FORMAT
from geogrid.cases.records import create_case
from geogrid.cases.report import CHANNELS, CaseReport
from geogrid.errors import GeogridError, LoadError
from geogrid.geo.points import point_to_storage
from geogrid.i18n import tr
from geogrid.io.spreadsheets import cell_text
from geogrid.lookup.snapshot import Snapshot
from geogrid.moments import LOCAL
from geogrid.settings import CaseSettings

#: The field each column feeds, by every name it may have.
ALIASES: dict[str, tuple[str, ...]] = {
    "external_id": ("external_id", "外部编号", "工单编号"),
    "source_id": ("source_id", "案件编号"),
    "reported_at": ("reported_at", "上报时间"),
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
#: The key prefix of a row known by the exporting system's case number only.
SOURCE_KEY = "export:"
#: 经度(CGCS2000), lat (gcj02), 纬度（GCJ-02）: a coordinate header naming its CRS.
_CRS_HEADER = re.compile(r"^(经度|纬度|lon|lat)\s*[(（]\s*([^)）]+?)\s*[)）]$", re.IGNORECASE)
_CRS_BY_NAME = {
    "cgcs2000": "cgcs2000",
    "epsg4490": "cgcs2000",
    "wgs84": "wgs84",
    "epsg4326": "wgs84",
    "gcj02": "gcj02",
    "bd09": "bd09",
}
#: Which of several coordinate pairs a row uses: the stored datum first, then by exactness.
_CRS_PREFERENCE = ("cgcs2000", "wgs84", "gcj02", "bd09")
#: How far (degrees, about 0.1 m) a row's point may be from a case's to be that case.
_SAME_POINT_DEG = 1e-6


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
                {k.strip(): cell_text(v.strip()) for k, v in row.items() if k and v and v.strip()}
                for row in csv.DictReader(io.StringIO(text))
            ]
    except (OSError, UnicodeDecodeError, ValueError, KeyError) as exc:
        raise LoadError(f"cannot read {path}: {exc}") from None
    raise LoadError(tr('file "{name}" must be .csv or .xlsx', name=path.name))


def read_upload(content: bytes, name: str) -> list[dict[str, Any]]:
    """Rows of an uploaded file called ``name`` (.csv or .xlsx), as :func:`read_rows` reads."""
    suffix = Path(name).suffix.lower()
    if suffix not in (".csv", ".txt", ".xlsx"):
        raise LoadError(tr('file "{name}" must be .csv or .xlsx', name=Path(name).name))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(content)
        return read_rows(path)


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


def _point(row: dict[str, Any], crs: str) -> tuple[Any, Any, str]:
    """(lon, lat, crs) of a row: plain lon/lat in its crs column (or ``crs``), else the most
    exact pair of headers that name their CRS."""
    lon, lat = _field(row, "lon"), _field(row, "lat")
    if lon is not None or lat is not None:
        return lon, lat, str(_field(row, "crs") or crs)
    pairs: dict[str, dict[str, Any]] = {}
    for header, value in row.items():
        match = _CRS_HEADER.match(header)
        if match is None:
            continue
        axis = "lon" if match[1].lower() in ("经度", "lon") else "lat"
        name = re.sub(r"[\s:_-]", "", match[2].lower())
        pairs.setdefault(_CRS_BY_NAME.get(name, match[2]), {})[axis] = value
    order = [c for c in _CRS_PREFERENCE if c in pairs] + sorted(set(pairs) - set(_CRS_PREFERENCE))
    for name in order:  # a complete pair first; else the half pair, to name what is missing
        if len(pairs[name]) == 2:
            return pairs[name]["lon"], pairs[name]["lat"], name
    if order:
        return pairs[order[0]].get("lon"), pairs[order[0]].get("lat"), order[0]
    return None, None, str(_field(row, "crs") or crs)


def _identifier(value: Any) -> str | None:
    """An id cell as text: a number cell 3.0 (Excel's) is "3"."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip() or None


def _unmasked(value: Any) -> str | None:
    """A personal-data cell, None when it was masked (张*, 138****0000) or blank."""
    found = _text(value)
    return None if found is None or "*" in found else found


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
    lon, lat, crs = _point(row, crs)
    body = {
        "category": str(_field(row, "category") or ""),
        "description": str(_field(row, "description") or ""),
        "lon": _number(lon, "lon"),
        "lat": _number(lat, "lat"),
        "crs": crs,
        "address": _field(row, "address"),
        "reporter": {
            "name": _unmasked(_field(row, "reporter_name")),
            "phone": _unmasked(_field(row, "reporter_phone")),
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
        external = _identifier(_field(row, "external_id"))
        source = _identifier(_field(row, "source_id"))
        key = (
            f"{EXTERNAL_KEY}{external}"
            if external is not None
            else None
            if source is None
            else f"{SOURCE_KEY}{source}"
        )
        try:
            report = report_from_row(row, crs)
            known = _known_case(conn, report, actor, key, source, _field(row, "reported_at"))
            if known is not None:
                result.already.append(known)
                continue
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


def _known_case(
    conn: Connection,
    report: CaseReport,
    actor: str,
    key: str | None,
    source: str | None,
    reported_at: Any,
) -> int | None:
    """The case already here that a row is, if any.

    The case ``actor`` created with ``key`` when it holds the same category, description and
    point (a first import may have given the point in another CRS, so the report's digest
    differs while the case is the same); else this database's own case number ``source`` when
    it is the row's case, reported at the row's time. A key naming a different case is left to
    create_case, which refuses it naming the key.
    """
    if report.lon is None or report.lat is None:
        return None
    lon, lat = point_to_storage(report.lon, report.lat, report.crs)
    same = (
        "category = :category AND description = :description "
        "AND ST_DWithin(location, ST_SetSRID(ST_MakePoint(:lon, :lat), 4490), :near)"
    )
    params: dict[str, Any] = {
        "category": report.category,
        "description": report.description,
        "lon": lon,
        "lat": lat,
        "near": _SAME_POINT_DEG,
    }
    if key is not None:
        found = conn.execute(
            text(
                f"SELECT id FROM civic_case WHERE created_by = :actor AND idempotency_key = :key "
                f"AND {same}"
            ),
            {**params, "actor": actor, "key": key},
        ).scalar()
        if found is not None:
            return int(found)
    moment = _moment(reported_at)
    if source is None or not source.isdigit() or moment is None:
        return None
    found = conn.execute(
        text(
            f"SELECT id FROM civic_case WHERE id = :id AND {same} "
            "AND abs(extract(epoch FROM created_at - :at)) < 1.5"
        ),
        {**params, "id": int(source), "at": moment},
    ).scalar()
    return None if found is None else int(found)


def _moment(value: Any) -> datetime | None:
    """A report time cell (an Excel date, or text as the export writes it) in Beijing time."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.strptime(str(value).strip(), TIME_FORMAT)
        except ValueError:
            return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=LOCAL)
