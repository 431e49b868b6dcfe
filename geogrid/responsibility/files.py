"""Departments and the responsibility list from files: CSV (UTF-8, BOM or not) or XLSX, with
English or Chinese headers, all or nothing.

Every row is checked first; one bad row loads nothing, and the error names every bad row by
its line (as ``geogrid cases import`` does). Loading departments adds or changes the
departments the file names and leaves the others alone (cases and accounts name them);
loading a responsibility list replaces the whole list, since the file is the list.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from geogrid.errors import GeogridError, LoadError
from geogrid.i18n import tr
from geogrid.responsibility.departments import Department, check_department, save_departments
from geogrid.responsibility.rules import Responsibility, check_row, replace_responsibility

DEPARTMENT_HEADERS: dict[str, tuple[str, ...]] = {
    "code": ("code", "部门编码", "编码"),
    "name": ("name", "部门名称", "名称"),
    "kind": ("kind", "部门类别", "类别"),
    "contact": ("contact", "联系方式", "联系电话"),
    "active": ("active", "启用"),
}
RESPONSIBILITY_HEADERS: dict[str, tuple[str, ...]] = {
    "category": ("category", "案件类别", "类别编码"),
    "area": ("area", "区域编码", "区域"),
    "department": ("department", "责任部门编码", "部门编码", "责任部门"),
}
_YES = {"1", "true", "yes", "y", "是", "启用"}
_NO = {"0", "false", "no", "n", "否", "停用"}


def table_field(row: dict[str, Any], headers: dict[str, tuple[str, ...]], name: str) -> str:
    """The text of field ``name`` in ``row`` under any of its header aliases, "" when absent.

    Examples
    --------
    >>> table_field({"部门编码": 12.0}, {"code": ("code", "部门编码")}, "code")
    '12'
    """
    for alias in headers[name]:
        if alias in row:
            value = row[alias]
            if isinstance(value, float) and value.is_integer():
                value = int(value)  # a code a spreadsheet took for a number
            return str(value).strip()
    return ""


#: A cell geogrid.io.spreadsheets.text_cell guarded (a CSV this tool wrote): an apostrophe
#: before text a spreadsheet would run as a formula. That package sits above this one.
_GUARDED = re.compile(r"'+[=+\-@]")


def _unguarded(value: str) -> str:
    """``value`` without the apostrophe text_cell added (its inverse, cell_text)."""
    return value[1:] if _GUARDED.match(value) else value


def read_table(path: Path) -> list[dict[str, Any]]:
    """Rows of a CSV (UTF-8, BOM or not) or of an XLSX's first sheet, keyed by header, empty
    cells left out; the first data row is line 2. Every register loaded from a table
    (departments, the responsibility list, geogrid.organisations) reads it here. (The same
    reading as ``geogrid cases import``'s, kept here because this package sits below the
    cases.)"""
    suffix = path.suffix.lower()
    try:
        if suffix == ".xlsx":
            return _xlsx_rows(path)
        if suffix in (".csv", ".txt"):
            content = path.read_text(encoding="utf-8-sig")
            return [
                {k.strip(): _unguarded(v.strip()) for k, v in row.items() if k and v and v.strip()}
                for row in csv.DictReader(io.StringIO(content))
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


def refuse_rows(path: Path, refused: list[tuple[int, str]]) -> None:
    """Raise LoadError naming every bad row (line, why) of ``path``, if there is any: the one
    message of an all-or-nothing load."""
    if refused:
        listed = "; ".join(f"line {line}: {why}" for line, why in refused[:20])
        raise LoadError(
            tr(
                "{refused} rows of {name} are bad, so none was loaded: {listed}",
                refused=len(refused),
                name=path.name,
                listed=listed,
            ),
            details=[{"line": line, "reason": why} for line, why in refused],
        )


def read_departments(path: Path) -> list[Department]:
    """The departments a file lists; LoadError naming every bad row."""
    found: list[Department] = []
    refused: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(read_table(path), start=2):
        try:
            active = table_field(row, DEPARTMENT_HEADERS, "active").lower() or "1"
            if active not in _YES | _NO:
                raise ValueError(f'active was "{active}" but must be 是 or 否 (1 or 0)')
            department = check_department(
                table_field(row, DEPARTMENT_HEADERS, "code"),
                table_field(row, DEPARTMENT_HEADERS, "name"),
                table_field(row, DEPARTMENT_HEADERS, "kind"),
                table_field(row, DEPARTMENT_HEADERS, "contact"),
            )
            if department.code in seen:
                raise ValueError(
                    f'department code "{department.code}" is on line {seen[department.code]} too'
                )
        except (GeogridError, ValueError) as exc:
            refused.append((line, str(exc)))
            continue
        seen[department.code] = line
        found.append(
            Department(
                department.code,
                department.name,
                department.kind,
                department.contact,
                active in _YES,
            )
        )
    refuse_rows(path, refused)
    return found


def read_responsibility(conn: Connection, path: Path) -> list[Responsibility]:
    """The responsibility rows a file lists, each checked against the database; LoadError
    naming every bad row."""
    found: list[Responsibility] = []
    refused: list[tuple[int, str]] = []
    seen: dict[tuple[str, str], int] = {}
    for line, row in enumerate(read_table(path), start=2):
        try:
            checked = check_row(
                conn,
                table_field(row, RESPONSIBILITY_HEADERS, "category"),
                table_field(row, RESPONSIBILITY_HEADERS, "area"),
                table_field(row, RESPONSIBILITY_HEADERS, "department"),
            )
            key = (checked.category, checked.area_code)
            if key in seen:
                raise ValueError(f"category {key[0]} in area {key[1]} is on line {seen[key]} too")
        except (GeogridError, ValueError) as exc:
            refused.append((line, str(exc)))
            continue
        seen[key] = line
        found.append(checked)
    refuse_rows(path, refused)
    return found


def load_departments(conn: Connection, path: Path) -> int:
    """Add or change the departments ``path`` lists, all or nothing; returns how many."""
    return save_departments(conn, read_departments(path))


def load_responsibility(conn: Connection, path: Path) -> int:
    """Replace the responsibility list with ``path``'s rows, all or nothing; returns how many."""
    return replace_responsibility(conn, read_responsibility(conn, path))
