"""Reading single grids with their community, street and responsible people."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from geogrid.access.roles import mask_name, mask_phone
from geogrid.boundaries.releases import current_release
from geogrid.db.sqlfiles import sql
from geogrid.errors import InvalidInputError, NotFoundError
from geogrid.i18n import tr
from geogrid.limits import ascii_digits


@dataclass(frozen=True)
class Person:
    """A responsible person: name and phone (personal data, masked for viewers)."""

    name: str | None
    phone: str | None

    def masked(self) -> Person:
        return Person(mask_name(self.name), mask_phone(self.phone))


@dataclass(frozen=True)
class Unit:
    """A community or street: official code and name."""

    code: str
    name: str


@dataclass(frozen=True)
class Grid:
    """One grid: what it is, where it sits, who serves it — the one grid type of geogrid.

    Read from a release with :func:`get_grid` it carries its ``release`` and ``geometry``
    (EPSG:4490); the snapshot's grids carry them too; a case's grid (as the case was routed)
    leaves the geometry out. Views for other uses (a map popup, an API answer) are built from
    it where they are drawn.
    """

    code: str
    name: str
    kind: str
    community: Unit
    street: Unit
    leader: Person
    party_branch: str | None
    party_secretary: Person
    dedicated_unit_name: str | None = None
    dedicated_unit_type: str | None = None
    release: int | None = None
    geometry: BaseGeometry | None = None

    def masked(self) -> Grid:
        """The same grid with personal data masked (for viewers)."""
        return replace(
            self, leader=self.leader.masked(), party_secretary=self.party_secretary.masked()
        )

    @property
    def shape(self) -> BaseGeometry:
        """The geometry, which a grid read from a release always has."""
        if self.geometry is None:
            raise ValueError(f"grid {self.code} was read without its geometry")
        return self.geometry


def _grid(row: Any, release: int) -> Grid:
    return Grid(
        code=row.code,
        name=row.name,
        kind=row.kind,
        dedicated_unit_name=row.dedicated_unit_name,
        dedicated_unit_type=row.dedicated_unit_type,
        community=Unit(row.community_code, row.community_name),
        street=Unit(row.street_code, row.street_name),
        leader=Person(row.leader_name, row.leader_phone),
        party_branch=row.party_branch_name,
        party_secretary=Person(row.party_secretary_name, row.party_secretary_phone),
        release=release,
        geometry=shapely.from_wkb(bytes(row.wkb)),
    )


def check_code(code: str) -> None:
    """Raise InvalidInputError unless ``code`` is a 15-digit grid code."""
    if len(code) != 15 or not ascii_digits(code):
        raise InvalidInputError(
            tr(
                'grid code was "{code}" but must be 15 digits (community code + 3-digit sequence)',
                code=code,
            ),
        )


def get_grid(conn: Connection, code: str, release: int | None = None) -> Grid:
    """Grid ``code`` as of ``release`` (default: the current one).

    Raises
    ------
    InvalidInputError
        When ``code`` is not 15 digits.
    NotFoundError
        When no grid has that code in that release.
    """
    check_code(code)
    if release is None:
        current = current_release(conn)
        if current is None:
            raise NotFoundError(tr("no boundary release is published yet"))
        release = current.id
    row = conn.execute(text(sql("grid_by_code")), {"code": code, "release": release}).one_or_none()
    if row is None:
        raise NotFoundError(
            tr("grid {code} does not exist in release {release}", code=code, release=release),
        )
    return _grid(row, release)


#: The tables that hold each level of unit above the grid.
_UNIT_TABLES = {"street": "street", "community": "community"}


def list_units(conn: Connection, level: str) -> list[Unit]:
    """Every street or community (``level``), code and name, in code order (no geometry).

    Examples
    --------
    >>> [u.name for u in list_units(conn, "street")][:2]  # doctest: +SKIP
    ['明光路街道', '胜利路街道']
    """
    if level not in _UNIT_TABLES:
        raise InvalidInputError(
            tr(
                '{name} was "{value}" but must be one of {allowed}',
                name="level",
                value=level,
                allowed=sorted(_UNIT_TABLES),
            ),
        )
    rows = conn.execute(text(f"SELECT code, name FROM {_UNIT_TABLES[level]} ORDER BY code"))
    return [Unit(r.code.strip(), r.name) for r in rows]


def grid_choices(conn: Connection) -> list[tuple[str, str]]:
    """Every grid of the current release as (code, "community name grid name"), code order:
    what a form offers to pick a grid by name rather than type its 15 digits."""
    rows = conn.execute(
        text(
            "SELECT g.code, c.name AS community, g.name FROM grid g "
            "JOIN grid_geometry_in((SELECT max(id) FROM boundary_release)) gg "
            "ON gg.grid_code = g.code "
            "JOIN community c ON c.code = g.community_code ORDER BY g.code"
        )
    )
    return [(r.code.strip(), f"{r.community} {r.name}") for r in rows]
