"""Feature collections for web maps: grids, communities, streets, stations and compounds.

Every collection is read one page at a time in a stable order (grids, communities and streets
by code, stations and compounds by id) with keyset paging: a page names the key to continue
``after``, and how many features match the filters in all. Geometries are read as WKB,
converted from storage (EPSG:4490) to the caller's coordinate system with :mod:`geogrid.geo.datum`
and rounded to :data:`COORDINATE_DECIMALS` decimals (1e-7 degree is about 1 cm).

The tiling check of a release (:func:`tiling_check`) is cached per database and release in the
process: a published release never changes, and checking 596 grids takes about a second.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from geogrid.boundaries.grids import Grid, Person, Unit
from geogrid.boundaries.releases import current_release, get_release
from geogrid.boundaries.validation import Violation, check_release
from geogrid.db.sqlfiles import sql
from geogrid.errors import InvalidInputError, NotFoundError
from geogrid.geo.datum import (
    from_metric,
    to_metric,
    to_storage,
)
from geogrid.geo.output import CrsName, output_crs, output_geometries
from geogrid.i18n import tr
from geogrid.lookup.service_areas import STATION_KINDS, Station

DEFAULT_LIMIT = 1_000
#: Larger page sizes are clamped to this, not refused.
MAX_LIMIT = 10_000

GRID_KINDS = ("resident", "dedicated")
COMPOUND_KINDS = ("organised", "scattered")

T = TypeVar("T")
BBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a collection.

    ``items`` carry geometries already in ``crs`` and rounded; ``next_after`` is the key to pass
    as ``after`` for the next page, None on the last one.
    """

    items: list[T]
    number_matched: int
    limit: int
    limit_requested: int
    next_after: str | int | None
    crs: CrsName
    release: int | None = None

    @property
    def limit_clamped(self) -> bool:
        return self.limit_requested > self.limit


@dataclass(frozen=True)
class Street:
    """A street, town or development zone."""

    code: str
    name: str
    kind: str
    district_code: str
    geometry: BaseGeometry


@dataclass(frozen=True)
class Community:
    """A community (社区) and the street it lies in."""

    code: str
    name: str
    street: Unit
    geometry: BaseGeometry


@dataclass(frozen=True)
class Compound:
    """A residential compound and the grid (of the page's release) that holds its point."""

    id: int
    name: str
    kind: str
    households: int
    population: int | None
    smart_safe: bool
    three_no: bool
    grid: Unit | None
    community: Unit | None
    geometry: BaseGeometry
    #: the point-on-surface its households count at, in the page's crs
    point: BaseGeometry


@dataclass(frozen=True)
class TilingCheck:
    """The invariant check of one release: valid when nothing is violated."""

    release: int
    violations: tuple[Violation, ...]

    @property
    def valid(self) -> bool:
        return not self.violations


# --- input -------------------------------------------------------------------------------


def clamp_limit(limit: int) -> int:
    """The page size used for ``limit``: at least 1, at most MAX_LIMIT.

    Examples
    --------
    >>> clamp_limit(50_000), clamp_limit(250)
    (10000, 250)
    """
    if limit < 1:
        raise InvalidInputError(tr("limit was {limit} but must be at least 1", limit=limit))
    return min(limit, MAX_LIMIT)


def parse_bbox(bbox: str | None, crs: str) -> BBox | None:
    """``"minlon,minlat,maxlon,maxlat"`` in ``crs`` as a storage (EPSG:4490) envelope.

    GCJ-02 and BD-09 corners are converted one by one and the envelope of all four is kept:
    the offset changes by well under a metre across a district, so the box stays a box.

    Examples
    --------
    >>> parse_bbox("117.30,31.85,117.40,31.90", "wgs84")
    (117.3, 31.85, 117.4, 31.9)
    >>> parse_bbox(None, "wgs84") is None
    True
    """
    if bbox is None or not bbox.strip():
        return None
    parts = bbox.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise InvalidInputError(
            tr(
                'bbox was "{bbox}" but must be four numbers "minlon,minlat,maxlon,maxlat"',
                bbox=bbox,
            ),
        )
    minlon, minlat, maxlon, maxlat = values
    if not (-180 <= minlon <= maxlon <= 180 and -90 <= minlat <= maxlat <= 90):
        swapped = "; did you swap lon and lat?" if abs(minlat) > 90 or abs(maxlat) > 90 else ""
        raise InvalidInputError(
            tr(
                'bbox was "{bbox}" but needs -180 <= minlon <= maxlon <= 180 and -90 '
                "<= minlat <= maxlat <= 90{swapped}",
                bbox=bbox,
                swapped=swapped,
            ),
        )
    lon, lat = to_storage(
        [minlon, maxlon, maxlon, minlon], [minlat, minlat, maxlat, maxlat], output_crs(crs)
    )
    return float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())


def _choice(name: str, value: str | None, allowed: Sequence[str]) -> str | None:
    if value is None or value in allowed:
        return value
    raise InvalidInputError(
        tr(
            '{name} was "{value}" but must be one of {allowed}',
            name=name,
            value=value,
            allowed=list(allowed),
        ),
    )


_UNIT_CODES = {
    "street": "SELECT code FROM street ORDER BY code",
    "community": "SELECT code FROM community ORDER BY code",
}
_UNIT_WORDS = {"street": ("streets", "街道"), "community": ("communities", "社区")}


def _unit_code(conn: Connection, unit: str, value: str | None) -> str | None:
    """``value`` when it is the code of a stored street or community, else InvalidInputError."""
    if value is None:
        return None
    known = [str(c).strip() for c in conn.execute(text(_UNIT_CODES[unit])).scalars()]
    if value in known:
        return value
    plural, zh = _UNIT_WORDS[unit]
    if len(known) <= 20:  # few enough to list them all
        allowed, allowed_zh = f"one of {known}", f"{known} 之一"
    else:
        digits = len(known[0])
        allowed = f"the {digits}-digit code of one of the {len(known)} {plural}"
        allowed_zh = f"{len(known)} 个{zh}之一的 {digits} 位编码"
    raise InvalidInputError(
        tr(
            '{unit} was "{value}" but must be {allowed}',
            unit=unit,
            value=value,
            allowed=allowed,
            zh=zh,
            allowed_zh=allowed_zh,
        )
    )


def _release_id(conn: Connection, release: int | None) -> int:
    if release is not None:
        return get_release(conn, release).id
    current = current_release(conn)
    if current is None:
        raise NotFoundError(tr("no boundary release is published yet"))
    return current.id


# --- geometry ----------------------------------------------------------------------------


def simplified(geometry: BaseGeometry, tolerance_m: float) -> BaseGeometry:
    """``geometry`` (storage lon/lat) simplified by ``tolerance_m`` metres.

    Simplification runs in EPSG:4548 metres with GEOS' topology-preserving simplifier (no
    self-intersections, no collapsed rings), then the result goes back to storage lon/lat.

    Examples
    --------
    >>> ring = shapely.Polygon([(117.30, 31.85), (117.305, 31.85000001), (117.31, 31.85),
    ...                         (117.31, 31.86), (117.30, 31.86)])
    >>> len(simplified(ring, 1.0).exterior.coords), simplified(ring, 1.0).is_valid
    (5, True)
    """
    if tolerance_m < 0 or not math.isfinite(tolerance_m):
        raise InvalidInputError(
            tr(
                "simplify was {tolerance_m} but must be a finite number >= 0",
                tolerance_m=tolerance_m,
            ),
        )
    if tolerance_m == 0:
        return geometry
    metric = shapely.simplify(to_metric(geometry), tolerance_m, preserve_topology=True)
    return from_metric(metric)


# --- collections -------------------------------------------------------------------------


def _page(
    conn: Connection,
    query: str,
    params: dict[str, Any],
    *,
    bbox: str | None,
    crs: str,
    limit: int,
    after: str | int | None,
    key: str,
    build: Callable[[Any, BaseGeometry], T],
    release: int | None = None,
) -> Page[T]:
    """Run one ``features_*`` query and turn its rows into a Page of ``build(row, geometry)``."""
    name = output_crs(crs)
    size = clamp_limit(limit)
    box = parse_bbox(bbox, name)
    minlon, minlat, maxlon, maxlat = box if box is not None else (None, None, None, None)
    rows = conn.execute(
        text(sql(f"features_{query}")),
        {
            **params,
            "minlon": minlon,
            "minlat": minlat,
            "maxlon": maxlon,
            "maxlat": maxlat,
            "after": after,
            "fetch": size + 1,
        },
    ).all()
    matched = int(rows[0].number_matched)
    rows = [r for r in rows if r.wkb is not None]  # an empty page still carries the count
    more = len(rows) > size
    rows = rows[:size]
    geometries = output_geometries(shapely.from_wkb([bytes(r.wkb) for r in rows]), name)
    items = [build(r, g) for r, g in zip(rows, geometries, strict=True)]
    next_after = getattr(rows[-1], key) if more else None
    if isinstance(next_after, str):
        next_after = next_after.strip()
    return Page(items, matched, size, limit, next_after, name, release)


def grids(
    conn: Connection,
    *,
    community: str | None = None,
    street: str | None = None,
    kind: str | None = None,
    release: int | None = None,
    bbox: str | None = None,
    crs: str = "wgs84",
    limit: int = DEFAULT_LIMIT,
    after: str | None = None,
) -> Page[Grid]:
    """One page of the grids of ``release`` (default: the current one), in code order.

    Parameters
    ----------
    conn : Connection
        An open connection.
    community, street : str, optional
        Only grids in this community (12 digits) or street (9 digits).
    kind : {"resident", "dedicated"}, optional
        Only grids of this kind.
    release : int, optional
        Boundary release; default the current one.
    bbox : str, optional
        ``"minlon,minlat,maxlon,maxlat"`` in ``crs``: only grids that intersect it.
    crs : {"wgs84", "cgcs2000", "gcj02", "bd09"}
        Coordinate system of ``bbox`` and of the returned geometries.
    limit : int
        Page size; values above MAX_LIMIT are clamped.
    after : str, optional
        Continue after this grid code (a page's ``next_after``).

    Returns
    -------
    Page of Grid
        Unmasked: callers mask personal data for viewers (``Grid.masked``). With
        ``community="340102001001", limit=2`` on the demo: codes ...001 and ...002,
        ``number_matched`` 10, ``next_after`` "340102001001002".
    """
    release_id = _release_id(conn, release)
    params = {
        "release": release_id,
        "community": _unit_code(conn, "community", community),
        "street": _unit_code(conn, "street", street),
        "kind": _choice("kind", kind, GRID_KINDS),
    }

    def build(r: Any, geometry: BaseGeometry) -> Grid:
        return Grid(
            code=r.code.strip(),
            name=r.name,
            kind=r.kind,
            dedicated_unit_name=r.dedicated_unit_name,
            dedicated_unit_type=r.dedicated_unit_type,
            community=Unit(r.community_code.strip(), r.community_name),
            street=Unit(r.street_code.strip(), r.street_name),
            leader=Person(r.leader_name, r.leader_phone),
            party_branch=r.party_branch_name,
            party_secretary=Person(r.party_secretary_name, r.party_secretary_phone),
            release=release_id,
            geometry=geometry,
        )

    return _page(
        conn,
        "grids",
        params,
        bbox=bbox,
        crs=crs,
        limit=limit,
        after=after,
        key="code",
        build=build,
        release=release_id,
    )


def communities(
    conn: Connection,
    *,
    street: str | None = None,
    bbox: str | None = None,
    crs: str = "wgs84",
    limit: int = DEFAULT_LIMIT,
    after: str | None = None,
) -> Page[Community]:
    """One page of communities in code order, optionally of one ``street``.

    ``bbox``, ``crs``, ``limit`` and ``after`` work as in :func:`grids`.
    """
    params = {"street": _unit_code(conn, "street", street)}

    def build(r: Any, geometry: BaseGeometry) -> Community:
        return Community(
            r.code.strip(), r.name, Unit(r.street_code.strip(), r.street_name), geometry
        )

    return _page(
        conn,
        "communities",
        params,
        bbox=bbox,
        crs=crs,
        limit=limit,
        after=after,
        key="code",
        build=build,
    )


def streets(
    conn: Connection,
    *,
    bbox: str | None = None,
    crs: str = "wgs84",
    limit: int = DEFAULT_LIMIT,
    after: str | None = None,
) -> Page[Street]:
    """One page of streets, towns and development zones in code order.

    ``bbox``, ``crs``, ``limit`` and ``after`` work as in :func:`grids`.
    """

    def build(r: Any, geometry: BaseGeometry) -> Street:
        return Street(r.code.strip(), r.name, r.kind, r.district_code.strip(), geometry)

    return _page(
        conn, "streets", {}, bbox=bbox, crs=crs, limit=limit, after=after, key="code", build=build
    )


def stations(
    conn: Connection,
    *,
    kind: str | None = None,
    community: str | None = None,
    bbox: str | None = None,
    crs: str = "wgs84",
    limit: int = DEFAULT_LIMIT,
    after: int | None = None,
) -> Page[Station]:
    """One page of service stations in id order, optionally of one kind or community.

    ``kind`` is one of STATION_KINDS; ``community`` filters on the community a station serves.
    ``bbox``, ``crs``, ``limit`` and ``after`` (an id) work as in :func:`grids`.
    """
    params = {
        "kind": _choice("kind", kind, STATION_KINDS),
        "community": _unit_code(conn, "community", community),
    }

    def build(r: Any, geometry: BaseGeometry) -> Station:
        served = (
            None if r.community_code is None else Unit(r.community_code.strip(), r.community_name)
        )
        return Station(int(r.id), r.name, r.kind, served, r.opening_hours, r.address, geometry)

    return _page(
        conn,
        "stations",
        params,
        bbox=bbox,
        crs=crs,
        limit=limit,
        after=after,
        key="id",
        build=build,
    )


def compounds(
    conn: Connection,
    *,
    kind: str | None = None,
    smart_safe: bool | None = None,
    three_no: bool | None = None,
    community: str | None = None,
    q: str | None = None,
    release: int | None = None,
    bbox: str | None = None,
    crs: str = "wgs84",
    limit: int = DEFAULT_LIMIT,
    after: int | None = None,
) -> Page[Compound]:
    """One page of compounds in id order, each with its point and the grid that holds it.

    A compound belongs to the grid of ``release`` (default: the current one) that holds its
    point-on-surface, and so to that grid's community; ``community`` filters on it. A point on
    an edge shared by two grids goes to the lower grid code. ``kind`` is one of COMPOUND_KINDS.
    ``q`` keeps the compounds whose name holds it, ignoring case (a search box: "海棠" finds
    海棠小区 and 海棠花园). ``bbox``, ``crs``, ``limit`` and ``after`` (an id) work as in
    :func:`grids`; the point is in ``crs`` like the outline.
    """
    release_id = _release_id(conn, release)
    params = {
        "release": release_id,
        "kind": _choice("kind", kind, COMPOUND_KINDS),
        "smart_safe": smart_safe,
        "three_no": three_no,
        "community": _unit_code(conn, "community", community),
        "q": (q or "").strip() or None,
    }

    def build(r: Any, geometry: BaseGeometry) -> Compound:
        grid = None if r.grid_code is None else Unit(r.grid_code.strip(), r.grid_name)
        held = (
            None if r.community_code is None else Unit(r.community_code.strip(), r.community_name)
        )
        return Compound(
            int(r.id),
            r.name,
            r.kind,
            int(r.households),
            r.population,
            bool(r.smart_safe),
            bool(r.three_no),
            grid,
            held,
            geometry,
            shapely.from_wkb(bytes(r.point_wkb)),
        )

    page = _page(
        conn,
        "compounds",
        params,
        bbox=bbox,
        crs=crs,
        limit=limit,
        after=after,
        key="id",
        build=build,
        release=release_id,
    )
    points = output_geometries([c.point for c in page.items], page.crs)
    items = [replace(c, point=p) for c, p in zip(page.items, points, strict=True)]
    return replace(page, items=items)


# --- tiling ------------------------------------------------------------------------------

_TILING: dict[tuple[str, int, str], TilingCheck] = {}
_TILING_LOCK = threading.Lock()


def tiling_check(conn: Connection, release: int | None = None) -> TilingCheck:
    """The invariant check (gaps, overlaps, nesting, validity) of ``release``, default current.

    Cached per database, release and content hash for the life of the process: a published
    release never changes. Concurrent first requests wait for one check instead of each
    running their own.
    """
    release_id = _release_id(conn, release)
    fingerprint = conn.execute(
        text("SELECT content_hash FROM boundary_release WHERE id = :r"), {"r": release_id}
    ).scalar_one()
    key = (conn.engine.url.render_as_string(), release_id, str(fingerprint))
    with _TILING_LOCK:
        found = _TILING.get(key)
        if found is None:
            found = TilingCheck(release_id, tuple(check_release(conn, release_id)))
            _TILING[key] = found
    return found


def violation_features(check: TilingCheck, crs: str = "wgs84") -> list[dict[str, Any]]:
    """The violations of ``check`` as GeoJSON Features with geometries in ``crs``, rounded."""
    name = output_crs(crs)
    located = [v for v in check.violations if v.location is not None]
    moved = iter(output_geometries([v.location for v in located], name))
    features = []
    for violation in check.violations:
        shown = (
            violation
            if violation.location is None
            else Violation(
                violation.rule, violation.message, violation.codes, next(moved), violation.area_m2
            )
        )
        features.append(shown.as_feature())
    return features
