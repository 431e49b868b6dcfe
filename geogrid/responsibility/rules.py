"""The responsibility list: which department answers for a category of case in an area.

A row says *category* × *area* → *department*. The category is a catalogue code (``E0403``),
a major class (``E04``: every 突发事件) or a type letter (``E`` events, ``C`` components); the
area is the district (6 digits), a street (9), a community (12) or a grid (15). Codes nest, so
an area holds a grid exactly when the grid's code starts with the area's code.

**The most specific area wins**: among the rows whose category and area both hold a case, a
grid row beats a community row, which beats a street row, which beats a district row; between
rows of the same area, the more specific category wins (code over major class over type).
Rows naming an inactive department are skipped. When no row holds the case it has no
department and stays with its grid: the street office (街道) of that grid handles it through
the case centre's dispatchers (see :mod:`geogrid.cases.duties`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import Connection, text

from geogrid.errors import InvalidInputError, NotFoundError
from geogrid.i18n import tr
from geogrid.responsibility.departments import Department

CATEGORY = re.compile(r"[A-Z]([0-9]{2}){0,2}")
AREA = re.compile(r"[0-9]{6}([0-9]{3}){0,3}")
#: The kind of area a code names, by its length.
AREA_LEVEL = {6: "district", 9: "street", 12: "community", 15: "grid"}


@dataclass(frozen=True)
class Responsibility:
    """One row of the responsibility list."""

    category: str
    area_code: str
    department_code: str

    @property
    def area_level(self) -> str:
        return AREA_LEVEL[len(self.area_code)]

    def holds(self, category: str, grid_code: str) -> bool:
        """Whether this row answers for a case of ``category`` in grid ``grid_code``."""
        return category.startswith(self.category) and grid_code.startswith(self.area_code)


def most_specific(
    rows: Iterable[Responsibility], category: str, grid_code: str
) -> Responsibility | None:
    """The row that answers for a case of ``category`` in ``grid_code``: the most specific
    area first (grid > community > street > district), then the most specific category.

    Examples
    --------
    >>> rows = [Responsibility("E04", "340102", "SZ"), Responsibility("E0403", "340102", "RQ"),
    ...         Responsibility("E", "340102006", "QLZ")]
    >>> most_specific(rows, "E0403", "340102006004002").department_code
    'QLZ'
    >>> most_specific(rows, "E0403", "340102001001001").department_code
    'RQ'
    >>> most_specific(rows, "C0101", "340102001001001") is None
    True
    """
    found = [r for r in rows if r.holds(category, grid_code)]
    if not found:
        return None
    return max(found, key=lambda r: (len(r.area_code), len(r.category)))


_CANDIDATES = text(
    "SELECT r.category, r.area_code, r.department_code, d.name, d.kind, d.contact "
    "FROM responsibility r JOIN department d ON d.code = r.department_code "
    "WHERE d.active AND starts_with(:category, r.category) "
    "AND starts_with(:grid, r.area_code)"
)


class Candidate(NamedTuple):
    """A row that may answer for a case, with its (active) department."""

    category: str
    area_code: str
    department_code: str
    name: str
    kind: str
    contact: str


def responsible_department(conn: Connection, category: str, grid_code: str) -> Department | None:
    """The active department that answers for a case of ``category`` in ``grid_code``, or
    None (the case stays with its grid's street office)."""
    rows = conn.execute(_CANDIDATES, {"category": category, "grid": grid_code.strip()}).all()
    return choose_department([Candidate(*r) for r in rows], category, grid_code)


def choose_department(
    rows: Sequence[Candidate], category: str, grid_code: str
) -> Department | None:
    """The department of the row among ``rows`` that answers for ``category`` in
    ``grid_code`` (:func:`most_specific`), or None."""
    best = most_specific(
        (Responsibility(r.category, r.area_code, r.department_code) for r in rows),
        category,
        grid_code.strip(),
    )
    if best is None:
        return None
    row = next(r for r in rows if (r.category, r.area_code) == (best.category, best.area_code))
    return Department(row.department_code, row.name, row.kind, row.contact, True)


def check_row(
    conn: Connection, category: str, area_code: str, department_code: str
) -> Responsibility:
    """A row from raw values, each checked against the catalogue, the areas and the
    departments; InvalidInputError names the bad one."""
    category, area_code, department_code = (
        category.strip().upper(),
        area_code.strip(),
        department_code.strip(),
    )
    if not CATEGORY.fullmatch(category):
        raise InvalidInputError(
            tr(
                'category was "{category}" but must be a category code (E0403), a major '
                "class (E04) or a type letter (E or C)",
                category=category[:40],
            )
        )
    known = conn.execute(
        text("SELECT 1 FROM case_category WHERE starts_with(code, :c) LIMIT 1"), {"c": category}
    ).first()
    if known is None:
        raise InvalidInputError(
            tr('category "{category}" names no category of the catalogue', category=category)
        )
    if not AREA.fullmatch(area_code):
        raise InvalidInputError(
            tr(
                'area was "{area}" but must be a district (6 digits), street (9), '
                "community (12) or grid (15) code",
                area=area_code[:40],
            )
        )
    table = {6: "district", 9: "street", 12: "community", 15: "grid"}[len(area_code)]
    found = conn.execute(
        text(f"SELECT 1 FROM {table} WHERE code = :code"),  # table from the fixed map above
        {"code": area_code},
    ).first()
    if found is None:
        raise InvalidInputError(
            tr(
                'area "{area}" is no {level} of the district',
                area=area_code,
                level=table,
                level_zh={"district": "区", "street": "街道", "community": "社区", "grid": "网格"}[
                    table
                ],
            )
        )
    department = conn.execute(
        text("SELECT active FROM department WHERE code = :code"), {"code": department_code}
    ).first()
    if department is None:
        raise InvalidInputError(tr('no department has code "{code}"', code=department_code[:40]))
    return Responsibility(category, area_code, department_code)


def list_responsibility(
    conn: Connection, *, department_code: str | None = None
) -> list[Responsibility]:
    """The responsibility list (of one department, if named), by area then category."""
    rows = conn.execute(
        text(
            "SELECT category, area_code, department_code FROM responsibility "
            "WHERE department_code = :d OR CAST(:d AS text) IS NULL "
            "ORDER BY length(area_code), area_code, category"
        ),
        {"d": department_code},
    )
    return [Responsibility(r.category, r.area_code, r.department_code) for r in rows]


def save_row(conn: Connection, row: Responsibility) -> Responsibility:
    """Add a row, or give an existing (category, area) row another department."""
    conn.execute(
        text(
            "INSERT INTO responsibility (category, area_code, department_code) "
            "VALUES (:c, :a, :d) ON CONFLICT (category, area_code) DO UPDATE SET "
            "department_code = EXCLUDED.department_code, updated_at = now()"
        ),
        {"c": row.category, "a": row.area_code, "d": row.department_code},
    )
    return row


def delete_row(conn: Connection, category: str, area_code: str) -> None:
    """Remove the (category, area) row; NotFoundError when there is none."""
    gone = conn.execute(
        text("DELETE FROM responsibility WHERE category = :c AND area_code = :a RETURNING id"),
        {"c": category.strip().upper(), "a": area_code.strip()},
    ).first()
    if gone is None:
        raise NotFoundError(
            tr(
                "the responsibility list has no row for category {category} in area {area}",
                category=category.strip()[:40],
                area=area_code.strip()[:40],
            )
        )


def replace_responsibility(conn: Connection, rows: Sequence[Responsibility]) -> int:
    """Make ``rows`` the whole responsibility list (inside the caller's transaction)."""
    conn.execute(text("DELETE FROM responsibility"))
    for row in rows:
        save_row(conn, row)
    return len(rows)
