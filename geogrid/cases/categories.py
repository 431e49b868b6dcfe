"""The case category catalogue, in the style of GB/T 30428 (digital urban management).

Event (事件) and component (部件) classes are separate lists whose major codes overlap, so a
code carries its type: ``E0102`` is event class 01 (市容环境), item 02 (暴露垃圾); ``C0102`` is
component class 01 (公用设施), item 02 (污水井盖). Each category has default handling hours.
The catalogue ships with geogrid (``geogrid/cases/catalogues/case_categories.csv``) and is replaced
with ``geogrid cases categories FILE``; a category no longer listed is deactivated, never
deleted, because old cases keep naming it.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, text

from geogrid.errors import InvalidInputError, LoadError
from geogrid.i18n import tr

TYPE_ZH = {"event": "事件", "component": "部件"}
_CODE = re.compile(r"^[EC][0-9]{4}$")
_COLUMNS = ("code", "type", "major_name", "name", "handling_hours")


@dataclass(frozen=True)
class Category:
    """One kind of case with its default handling time."""

    code: str
    type: str
    major_name: str
    name: str
    handling_hours: float
    active: bool = True

    @property
    def major_code(self) -> str:
        return self.code[1:3]


def list_categories(conn: Connection, *, include_inactive: bool = False) -> list[Category]:
    """The catalogue, events first, by code."""
    rows = conn.execute(
        text(
            "SELECT code, type, major_name, name, handling_hours, active FROM case_category "
            "WHERE active OR :all ORDER BY type DESC, code"
        ),
        {"all": include_inactive},
    )
    return [Category(*row) for row in rows]


def get_category(conn: Connection, code: str) -> Category:
    """One active category; an unknown code is refused naming close codes and names."""
    row = conn.execute(
        text(
            "SELECT code, type, major_name, name, handling_hours, active FROM case_category "
            "WHERE code = :c AND active"
        ),
        {"c": code},
    ).one_or_none()
    if row is not None:
        return Category(*row)
    known = list_categories(conn)
    by_name = [c.code for c in known if c.name == code]
    if len(by_name) == 1:  # a name is as good as its code
        return get_category(conn, by_name[0])
    labels = [f"{c.code} {c.name}" for c in known]
    close = difflib.get_close_matches(
        code, [c.code for c in known] + [c.name for c in known], n=5, cutoff=0.3
    )
    hint = [label for label in labels if any(m in label for m in close)] or labels[:10]
    raise InvalidInputError(
        tr(
            'category was "{code}" but must be a catalogue code such as {hint} '
            "(GET /v1/case-categories lists them all)",
            code=code,
            hint=hint,
        ),
    )


def read_catalogue(path: Path) -> list[Category]:
    """Read and check a catalogue CSV (columns code, type, major_name, name, handling_hours)."""
    try:
        content = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise LoadError(f"cannot read {path}: {exc.strerror}") from None
    reader = csv.DictReader(io.StringIO(content))
    missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise LoadError(f"{path} lacks the columns {missing}; it needs {list(_COLUMNS)}")
    found: list[Category] = []
    problems: list[str] = []
    for line, row in enumerate(reader, start=2):
        code, kind = row["code"].strip(), row["type"].strip()
        try:
            hours = float(row["handling_hours"])
        except ValueError:
            hours = -1.0
        if not _CODE.match(code):
            problems.append(f'line {line}: code "{code}" must be E or C + 4 digits')
        elif kind not in TYPE_ZH or (kind == "event") != code.startswith("E"):
            problems.append(
                f'line {line}: type "{kind}" must be "event" for E codes and '
                '"component" for C codes'
            )
        elif not hours > 0:
            problems.append(
                f'line {line}: handling_hours "{row["handling_hours"]}" must be a positive number'
            )
        elif not row["name"].strip():
            problems.append(f"line {line}: name is empty")
        else:
            found.append(
                Category(code, kind, row["major_name"].strip(), row["name"].strip(), hours)
            )
    codes = [c.code for c in found]
    problems += [
        f'code "{c}" appears more than once' for c in sorted(set(codes)) if codes.count(c) > 1
    ]
    if problems or not found:
        raise LoadError(
            f"{path} is not a valid catalogue: {problems or ['no rows']}", details=problems
        )
    return found


def replace_catalogue(conn: Connection, categories: list[Category]) -> tuple[int, int]:
    """Make ``categories`` the active catalogue. Returns (active, deactivated) counts."""
    conn.execute(
        text(
            "INSERT INTO case_category (code, type, major_name, name, handling_hours, active) "
            "VALUES (:code, :type, :major_name, :name, :handling_hours, true) "
            "ON CONFLICT (code) DO UPDATE SET type = EXCLUDED.type, "
            "major_name = EXCLUDED.major_name, name = EXCLUDED.name, "
            "handling_hours = EXCLUDED.handling_hours, active = true"
        ),
        [
            {
                "code": c.code,
                "type": c.type,
                "major_name": c.major_name,
                "name": c.name,
                "handling_hours": c.handling_hours,
            }
            for c in categories
        ],
    )
    gone = conn.execute(
        text("UPDATE case_category SET active = false WHERE active AND NOT code = ANY(:codes)"),
        {"codes": [c.code for c in categories]},
    ).rowcount
    return len(categories), int(gone)
