"""Boundary history: every release with what it changed, the diff of two releases, and every
geometry one grid has had.

All of it is read from ``grid_geometry``, whose rows span releases
``[valid_from_release, valid_to_release)``: a grid whose row is the same in two releases is
unchanged between them, and areas are measured in EPSG:4548 metres. Geometries come back in
the caller's coordinate system (one of :data:`geogrid.geo.datum.CRS_NAMES`), rounded as every
other answer is (:func:`geogrid.geo.output.output_geometries`).

A geometry published by a plan (issue 5) names it: :attr:`GridVersion.plan` and
:attr:`GridVersion.plan_comment` come from ``boundary_release.plan_id``; both are None for
geometries loaded from files. The release's ``published_by`` and ``comment`` say who made it
and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from geogrid.boundaries.grids import Unit, check_code
from geogrid.boundaries.releases import BoundaryRelease, get_release
from geogrid.db.sqlfiles import sql
from geogrid.errors import NotFoundError
from geogrid.geo.output import CrsName, output_crs, output_geometries
from geogrid.i18n import tr

Change = Literal["gained", "lost"]


@dataclass(frozen=True)
class ReleaseSummary:
    """A boundary release and what it changed against the release before it.

    ``previous`` is None for the first release, whose grids all count as added.
    """

    release: BoundaryRelease
    previous: int | None
    grids: int
    added: int
    removed: int
    changed: int


@dataclass(frozen=True)
class ChangedArea:
    """Part of a changed grid's symmetric difference: area it ``gained`` or ``lost``."""

    code: str
    name: str
    change: Change
    area_m2: float
    geometry: BaseGeometry


@dataclass(frozen=True)
class ChangedGrid:
    """A grid in both releases with a different geometry row in each."""

    code: str
    name: str
    from_geometry_id: int
    to_geometry_id: int
    from_area_m2: float
    to_area_m2: float
    gained_m2: float
    lost_m2: float


@dataclass(frozen=True)
class ReleaseDiff:
    """What changed from release ``from_release`` to release ``to_release``.

    ``added`` grids are in ``to_release`` only, ``removed`` ones in ``from_release`` only;
    ``changes`` hold the gained and lost areas of the ``changed`` grids, in ``crs``.
    """

    from_release: int
    to_release: int
    crs: CrsName
    added: list[Unit]
    removed: list[Unit]
    changed: list[ChangedGrid]
    changes: list[ChangedArea]


@dataclass(frozen=True)
class GridVersion:
    """One geometry of a grid, valid over releases ``[valid_from_release, valid_to_release)``.

    ``valid_to_release`` and ``valid_to`` are None for the current geometry. ``made_by`` and
    ``comment`` come from the release that made it; ``plan`` and ``plan_comment`` name the
    plan that published it (None for geometries loaded from files).
    """

    geometry_id: int
    valid_from_release: int
    valid_to_release: int | None
    valid_from: datetime
    valid_to: datetime | None
    area_m2: float
    made_by: str
    comment: str
    plan: int | None
    geometry: BaseGeometry
    plan_comment: str | None = None

    @property
    def current(self) -> bool:
        return self.valid_to_release is None


@dataclass(frozen=True)
class GridHistory:
    """Every geometry grid ``code`` has had, oldest first, in ``crs``."""

    code: str
    name: str
    kind: str
    community: Unit
    crs: CrsName
    versions: list[GridVersion]


def release_summaries(conn: Connection) -> list[ReleaseSummary]:
    """Every boundary release, oldest first, with how many grids it holds and changed.

    Parameters
    ----------
    conn : Connection
        An open connection.

    Returns
    -------
    list of ReleaseSummary
        Counts are against the release before: grids ``added``, ``removed``, and ``changed``
        (a new geometry row for a grid in both). On the demo with a one-strip transfer
        published as release 2: release 1 holds 596 grids, all added; release 2 holds 596,
        2 changed.
    """
    return [
        ReleaseSummary(
            release=BoundaryRelease(r.id, r.published_at, r.published_by, r.comment, r.source),
            previous=r.previous,
            grids=int(r.grids),
            added=int(r.added),
            removed=int(r.removed),
            changed=int(r.changed),
        )
        for r in conn.execute(text(sql("history_releases")))
    ]


def release_diff(
    conn: Connection, from_release: int, to_release: int, crs: str = "wgs84"
) -> ReleaseDiff:
    """The grids added, removed and changed from ``from_release`` to ``to_release``.

    Either direction works: the diff from 2 to 1 mirrors the one from 1 to 2 (added and
    removed swap, gained and lost swap). The same release twice gives an empty diff.

    Parameters
    ----------
    conn : Connection
        An open connection.
    from_release, to_release : int
        Boundary release ids.
    crs : {"wgs84", "cgcs2000", "gcj02", "bd09"}
        Coordinate system of the changed areas.

    Returns
    -------
    ReleaseDiff
        Grids in code order; ``changes`` has one ``gained`` and one ``lost`` area per changed
        grid (each only when not empty), with ``area_m2`` in EPSG:4548.

    Raises
    ------
    NotFoundError
        When either release does not exist (the message names those that do).
    InvalidInputError
        When ``crs`` is not one of CRS_NAMES.
    """
    name = output_crs(crs)
    old, new = get_release(conn, from_release).id, get_release(conn, to_release).id
    if old == new:
        return ReleaseDiff(old, new, name, [], [], [], [])
    rows = conn.execute(text(sql("history_diff")), {"old": old, "new": new}).all()
    added: list[Unit] = []
    removed: list[Unit] = []
    changed: list[ChangedGrid] = []
    pieces: list[tuple[str, str, Change, float, Any]] = []
    for r in rows:
        code = r.code.strip()
        if r.old_id is None:
            added.append(Unit(code, r.name))
        elif r.new_id is None:
            removed.append(Unit(code, r.name))
        else:
            changed.append(
                ChangedGrid(
                    code,
                    r.name,
                    int(r.old_id),
                    int(r.new_id),
                    float(r.old_area_m2),
                    float(r.new_area_m2),
                    float(r.gained_m2),
                    float(r.lost_m2),
                )
            )
            pieces += [
                (code, r.name, "gained", float(r.gained_m2), r.gained_wkb),
                (code, r.name, "lost", float(r.lost_m2), r.lost_wkb),
            ]
    pieces = [p for p in pieces if p[4] is not None]
    shapes = output_geometries(shapely.from_wkb([bytes(p[4]) for p in pieces]), name)
    changes = [
        ChangedArea(code, grid_name, change, area, shape)
        for (code, grid_name, change, area, _), shape in zip(pieces, shapes, strict=True)
    ]
    return ReleaseDiff(old, new, name, added, removed, changed, changes)


def grid_history(conn: Connection, code: str, crs: str = "wgs84") -> GridHistory:
    """Every geometry grid ``code`` has had, oldest first, with its validity.

    Parameters
    ----------
    conn : Connection
        An open connection.
    code : str
        A grid code (15 digits), current or retired.
    crs : {"wgs84", "cgcs2000", "gcj02", "bd09"}
        Coordinate system of the geometries.

    Returns
    -------
    GridHistory
        One GridVersion per geometry row; consecutive versions meet: one's
        ``valid_to_release`` (and ``valid_to``) is the next one's ``valid_from_release``
        (``valid_from``), unless the grid was retired and never came back.

    Raises
    ------
    InvalidInputError
        When ``code`` is not 15 digits, or ``crs`` is not one of CRS_NAMES.
    NotFoundError
        When no release ever held a grid with that code.

    Examples
    --------
    >>> grid_history(conn, "340102001001001").versions[0].valid_from_release  # doctest: +SKIP
    1
    """
    name = output_crs(crs)
    check_code(code)
    grid = conn.execute(
        text(
            "SELECT g.name, g.kind, g.community_code, c.name AS community_name "
            "FROM grid g JOIN community c ON c.code = g.community_code WHERE g.code = :code"
        ),
        {"code": code},
    ).one_or_none()
    rows = [] if grid is None else conn.execute(text(sql("history_grid")), {"code": code}).all()
    if grid is None or not rows:
        raise NotFoundError(
            tr("grid {code} has never existed in any boundary release", code=code),
        )
    shapes = output_geometries(shapely.from_wkb([bytes(r.wkb) for r in rows]), name)
    versions = [_version(r, shape) for r, shape in zip(rows, shapes, strict=True)]
    return GridHistory(
        code,
        grid.name,
        grid.kind,
        Unit(grid.community_code.strip(), grid.community_name),
        name,
        versions,
    )


def _version(row: Any, geometry: BaseGeometry) -> GridVersion:
    return GridVersion(
        geometry_id=int(row.id),
        valid_from_release=int(row.valid_from_release),
        valid_to_release=row.valid_to_release,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        area_m2=float(row.area_m2),
        made_by=row.published_by,
        comment=row.comment,
        geometry=geometry,
        plan=None if row.plan_id is None else int(row.plan_id),
        plan_comment=row.plan_comment,
    )
