"""What the web maps draw, gathered from the database as plain data (no HTML here).

Each function takes a connection and returns one frozen dataclass of everything a map needs:
:func:`overview`, :func:`grid_view`, :func:`coverage_view`, :func:`locate_view`,
:func:`case_view` (cases through ``geogrid.cases.queries``' filter) and :func:`plan_view`. The
``maps`` package renders them; it never reads the database itself.

Geometries are storage lon/lat (EPSG:4490, equal to WGS84 at map scale), already simplified
for the zoom the map is read at (:func:`tolerance_m`): polygon layers that tile (grids,
communities, streets) go through GEOS' coverage simplification, which moves each shared edge
once, so neighbours still meet exactly. Personal data (grid leaders' names and phones) is
masked here unless the caller may see it (docs/architecture.md, "Access").
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import h3
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from geogrid.access.roles import ANONYMOUS, Principal
from geogrid.boundaries.grids import Grid, get_grid
from geogrid.boundaries.releases import current_release
from geogrid.errors import InvalidInputError, NotFoundError
from geogrid.geo.datum import from_metric, to_metric
from geogrid.geo.points import point_to_storage
from geogrid.i18n import tr
from geogrid.lookup import collections as features
from geogrid.lookup import coverage
from geogrid.lookup.service_areas import STATION_KINDS
from geogrid.mapdata.types import (
    HEX_RESOLUTION,
    Area,
    CommunityCoverage,
    CompoundPlace,
    CoverageView,
    GridOrganisationPlace,
    GridPlace,
    GridView,
    HexCell,
    LocateView,
    OrganisationLayers,
    Overview,
    ServiceArea,
    StationPlace,
)
from geogrid.organisations import organisation_coverage

T = TypeVar("T")
#: Latitude the map scale is taken at (Yaohai); tolerances change by <1 % across China's
#: middle latitudes, which is far below what a viewer sees.
_SCALE_LAT = 31.9
#: Zoom each map is read at: the finest detail its geometries keep (half a pixel there).
OVERVIEW_ZOOM = 15
GRID_ZOOM = 17
COVERAGE_ZOOM = 14
LOCATE_ZOOM = 16


# --- plain data the maps draw ------------------------------------------------------------


# --- helpers -----------------------------------------------------------------------------


def tolerance_m(zoom: int) -> float:
    """Half a web-mercator pixel at ``zoom``, in metres: the simplification a map can afford.

    Examples
    --------
    >>> round(tolerance_m(15), 2), round(tolerance_m(17), 2)
    (2.03, 0.51)
    """
    return float(0.5 * 156_543.034 * math.cos(math.radians(_SCALE_LAT)) / 2**zoom)


def simplify_coverage(geometries: Sequence[BaseGeometry], tolerance: float) -> list[BaseGeometry]:
    """Simplify polygons that tile an area by ``tolerance`` metres, keeping shared edges shared.

    Runs GEOS' coverage simplification in EPSG:4548 metres: every edge two polygons share is
    simplified once, so they still meet with no gap or overlap. A layer that is not a valid
    coverage (edges that do not match vertex for vertex) is simplified polygon by polygon.

    Examples
    --------
    >>> left = shapely.box(117.30, 31.85, 117.31, 31.86)
    >>> right = shapely.box(117.31, 31.85, 117.32, 31.86)
    >>> a, b = simplify_coverage([left, right], 2.0)
    >>> a.intersection(b).length > 0 and a.intersection(b).area == 0
    True
    """
    if not geometries:
        return []
    metric = to_metric(np.asarray(geometries, dtype=object))
    if shapely.coverage_is_valid(metric):
        simplified = shapely.coverage_simplify(metric, tolerance)
    else:
        simplified = shapely.simplify(metric, tolerance, preserve_topology=True)
    return list(from_metric(simplified))


def simplify_one(geometry: BaseGeometry, tolerance: float) -> BaseGeometry:
    """One geometry simplified by ``tolerance`` metres (topology-preserving)."""
    if geometry.is_empty:
        return geometry
    result: BaseGeometry = from_metric(
        shapely.simplify(to_metric(geometry), tolerance, preserve_topology=True)
    )
    return result


def all_pages(fetch: Callable[[Any], features.Page[T]]) -> list[T]:
    """Every item of a paged collection."""
    items: list[T] = []
    after: Any = None
    while True:
        page = fetch(after)
        items.extend(page.items)
        if page.next_after is None:
            return items
        after = page.next_after


def current_release_id(conn: Connection) -> int:
    release = current_release(conn)
    if release is None:
        raise NotFoundError(
            tr("no boundary release is published yet; run: geogrid load demo"),
        )
    return release.id


def _bbox(geometry: BaseGeometry, margin_deg: float) -> str:
    minx, miny, maxx, maxy = geometry.bounds
    return f"{minx - margin_deg},{miny - margin_deg},{maxx + margin_deg},{maxy + margin_deg}"


# --- readers -----------------------------------------------------------------------------


def district_area(conn: Connection, tolerance: float) -> Area:
    row = conn.execute(
        text("SELECT code, name, ST_AsBinary(geom) AS wkb FROM district ORDER BY code LIMIT 1")
    ).one_or_none()
    if row is None:
        raise NotFoundError(tr("no district is loaded; run: geogrid load demo"))
    return Area(
        str(row.code).strip(), row.name, simplify_one(shapely.from_wkb(bytes(row.wkb)), tolerance)
    )


def _streets(conn: Connection, tolerance: float) -> tuple[Area, ...]:
    found = all_pages(lambda after: features.streets(conn, limit=features.MAX_LIMIT, after=after))
    shapes = simplify_coverage([s.geometry for s in found], tolerance)
    return tuple(Area(s.code, s.name, g) for s, g in zip(found, shapes, strict=True))


def _communities(conn: Connection, tolerance: float) -> tuple[Area, ...]:
    found = all_pages(
        lambda after: features.communities(conn, limit=features.MAX_LIMIT, after=after)
    )
    shapes = simplify_coverage([c.geometry for c in found], tolerance)
    return tuple(Area(c.code, c.name, g, c.street.name) for c, g in zip(found, shapes, strict=True))


def _compounds(conn: Connection, bbox: str | None = None) -> list[features.Compound]:
    return all_pages(
        lambda after: features.compounds(conn, bbox=bbox, limit=features.MAX_LIMIT, after=after)
    )


def _compound_places(
    found: Iterable[features.Compound], tolerance: float
) -> tuple[CompoundPlace, ...]:
    items = list(found)
    # Compounds do not tile anything: each is simplified on its own.
    shapes = [simplify_one(c.geometry, tolerance) for c in items]
    return tuple(
        CompoundPlace(
            c.id,
            c.name,
            c.kind,
            c.households,
            c.smart_safe,
            c.three_no,
            None if c.grid is None else c.grid.code,
            None if c.grid is None else c.grid.name,
            g,
        )
        for c, g in zip(items, shapes, strict=True)
    )


def _grid_places(
    grids: Sequence[Grid],
    compounds: Iterable[features.Compound],
    principal: Principal,
    tolerance: float | None,
) -> tuple[GridPlace, ...]:
    """Grids with their households and compounds counted (a compound counts in one grid)."""
    households: dict[str, int] = defaultdict(int)
    counted: dict[str, int] = defaultdict(int)
    for compound in compounds:
        if compound.grid is not None:
            households[compound.grid.code] += compound.households
            counted[compound.grid.code] += 1
    shapes = (
        [g.geometry for g in grids]
        if tolerance is None
        else simplify_coverage([g.geometry for g in grids], tolerance)
    )
    places = []
    for grid, shape in zip(grids, shapes, strict=True):
        leader = principal.visible(grid.leader)
        places.append(
            GridPlace(
                grid.code,
                grid.name,
                grid.kind,
                grid.dedicated_unit_name,
                grid.community.name,
                grid.street.name,
                leader.name,
                leader.phone,
                households[grid.code],
                counted[grid.code],
                shape,
            )
        )
    return tuple(places)


_AREAS = (
    "SELECT station_id, minutes, method, distance_m, detour_factor, "
    "ST_AsBinary(geom) AS wkb FROM service_area ORDER BY station_id, minutes"
)


def _stations(conn: Connection, kinds: Iterable[str] | None = None) -> tuple[StationPlace, ...]:
    chosen = set(kinds) if kinds is not None else set(STATION_KINDS)
    areas: dict[int, list[ServiceArea]] = defaultdict(list)
    for r in conn.execute(text(_AREAS)):
        distance, factor = float(r.distance_m), float(r.detour_factor)
        areas[int(r.station_id)].append(
            ServiceArea(
                int(r.minutes),
                r.method,
                distance / factor if r.method == "circle" else None,
                distance,
                factor,
                shapely.from_wkb(bytes(r.wkb)),
            )
        )
    found = all_pages(lambda after: features.stations(conn, limit=features.MAX_LIMIT, after=after))
    return tuple(
        StationPlace(
            s.id,
            s.name,
            s.kind,
            float(s.geometry.x),
            float(s.geometry.y),
            s.opening_hours,
            s.address,
            None if s.community is None else s.community.name,
            tuple(areas.get(s.id, ())),
        )
        for s in found
        if s.kind in chosen
    )


def _hexes(conn: Connection, minutes: int | None, resolution: int) -> tuple[HexCell, ...]:
    cells = coverage.coverage_h3(conn, resolution=resolution, minutes=minutes).cells
    found = []
    for cell in cells:
        if cell.tally.households_uncovered <= 0:
            continue
        ring = [(lon, lat) for lat, lon in h3.cell_to_boundary(cell.cell)]
        found.append(
            HexCell(
                cell.cell,
                cell.tally.households,
                cell.tally.households_uncovered,
                shapely.Polygon(ring),
            )
        )
    return tuple(found)


def _organisation_layers(
    conn: Connection,
    principal: Principal,
    grids: Sequence[GridPlace],
    compounds: Sequence[CompoundPlace],
    communities: Sequence[Area],
) -> OrganisationLayers:
    """The registers as the overview draws them: branch secretaries masked unless the
    principal may see personal data; drawn over the grids, compounds and communities the map
    already holds (the same release, already simplified)."""
    found = principal.visible(organisation_coverage(conn))
    names = {g.code: g.name for g in grids}
    uncovered = set(found.uncovered_compound_ids)
    without_law = set(found.communities_without_law_member)
    return OrganisationLayers(
        grids=tuple(
            GridOrganisationPlace(
                g.code,
                names.get(g.code, g.code),
                g.kind,
                None if g.branch is None else g.branch.name,
                None if g.branch is None else g.branch.secretary.name,
                None if g.branch is None else g.branch.secretary.phone,
                g.platforms,
            )
            for g in found.grids
            if g.code in names
        ),
        uncovered_compounds=tuple(c for c in compounds if c.id in uncovered),
        communities_without_law_member=tuple(c for c in communities if c.code in without_law),
    )


# --- the maps ----------------------------------------------------------------------------


def overview(conn: Connection, principal: Principal, *, minutes: int | None = None) -> Overview:
    """Everything the district overview draws; the gaps and heat cells are of tier ``minutes``
    (None: each station kind at its own tier, as coverage counts by default).

    The organisation layers (party branches and platforms per grid, compounds without a
    小巷管家 team, communities without a law member) are the registers as they serve now.

    Parameters
    ----------
    conn
        An open connection.
    principal
        Who asks: grid leaders and branch secretaries are masked unless they may see
        personal data.
    minutes
        The tier whose coverage gaps and uncovered households are drawn (5, 10 or 15; None:
        each kind at its own tier).
    """
    release = current_release_id(conn)
    tolerance = tolerance_m(OVERVIEW_ZOOM)
    grids = all_pages(lambda after: features.grids(conn, limit=features.MAX_LIMIT, after=after))
    compounds = _compounds(conn)
    report = coverage.coverage_gaps(conn, minutes=minutes, level="district")
    gap = (
        shapely.union_all([u.gap for u in report.units])
        if report.units
        else shapely.GeometryCollection()
    )
    communities = _communities(conn, tolerance)
    grid_places = _grid_places(grids, compounds, principal, tolerance)
    compound_places = _compound_places(compounds, tolerance)
    return Overview(
        release=release,
        district=district_area(conn, tolerance),
        streets=_streets(conn, tolerance),
        communities=communities,
        grids=grid_places,
        compounds=compound_places,
        stations=_stations(conn),
        gap_minutes=minutes,
        gap=simplify_one(gap, tolerance),
        gap_area_m2=sum(u.gap_area_m2 for u in report.units),
        hexes=_hexes(conn, minutes, HEX_RESOLUTION),
        personal_data=principal.sees_personal_data,
        organisations=_organisation_layers(
            conn, principal, grid_places, compound_places, communities
        ),
    )


def grid_view(conn: Connection, code: str, principal: Principal) -> GridView:
    """One grid with its neighbours (grids within 0.5 m), the compounds around it and the
    stations any of whose service areas reach it.

    Raises InvalidInputError for a malformed code and NotFoundError for an unknown one.
    """
    grid = get_grid(conn, code)
    tolerance = tolerance_m(GRID_ZOOM)
    # About 1.5 km around the grid: the neighbours and anything a 15-minute circle reaches.
    around = _bbox(grid.geometry, 0.015)
    nearby = all_pages(
        lambda after: features.grids(conn, bbox=around, limit=features.MAX_LIMIT, after=after)
    )
    metric = to_metric(np.asarray([g.geometry for g in nearby], dtype=object))
    [own] = [i for i, g in enumerate(nearby) if g.code == grid.code]
    touching = shapely.dwithin(metric, metric[own], 0.5)
    compounds = _compounds(conn, _bbox(grid.geometry, 0.003))
    places = _grid_places(nearby, compounds, principal, tolerance)
    community = next(c for c in _communities(conn, tolerance) if c.code == grid.community.code)
    reaching = tuple(
        s for s in _stations(conn) if any(a.geometry.intersects(grid.geometry) for a in s.areas)
    )
    assert grid.release is not None  # get_grid reads a grid in a release
    return GridView(
        release=grid.release,
        grid=places[own],
        neighbours=tuple(p for i, p in enumerate(places) if touching[i] and i != own),
        community=community,
        compounds=_compound_places(compounds, tolerance),
        stations=reaching,
        personal_data=principal.sees_personal_data,
    )


def coverage_view(
    conn: Connection, *, minutes: int | None = None, kinds: Iterable[str] | None = None
) -> CoverageView:
    """Households covered per community by tier ``minutes`` of the stations of ``kinds``
    (defaults as coverage's: each kind at its own tier; the residents' services)."""
    report = coverage.coverage_gaps(conn, minutes=minutes, level="community", kinds=kinds)
    chosen = report.kinds
    tolerance = tolerance_m(COVERAGE_ZOOM)
    outlines = {c.code: c for c in _communities(conn, tolerance)}
    rows = []
    for unit in report.units:
        tally = unit.tally
        outline = outlines.get(unit.code)
        rows.append(
            CommunityCoverage(
                unit.code,
                unit.name,
                None if outline is None else outline.parent_name,
                tally.households,
                tally.households_covered,
                tally.households_covered_share,
                unit.covered_share,
                unit.gap_area_m2,
                outline.geometry if outline is not None else simplify_one(unit.gap, tolerance),
                simplify_one(unit.gap, tolerance),
            )
        )
    methods = sorted(
        {
            f"{k.kind} {k.minutes} min: {k.method} {k.distance_m:g} m / {k.detour_factor:g}"
            if k.method == "circle"
            else f"{k.kind} {k.minutes} min: {k.method} {k.distance_m:g} m"
            for k in report.method.kinds
        }
    )
    return CoverageView(
        report.release,
        minutes,
        chosen,
        "; ".join(methods) or "circle",
        district_area(conn, tolerance),
        tuple(rows),
        _stations(conn, chosen),
    )


def locate_view(
    conn: Connection, lon: float | None, lat: float | None, crs: str = "wgs84"
) -> LocateView:
    """The grids around the district and the point (lon, lat) in ``crs``, if given.

    Raises InvalidInputError for a bad point or coordinate system (the message names the
    value and the allowed range).
    """
    if (lon is None) != (lat is None):
        raise InvalidInputError(
            tr("lon and lat must be given together (or neither, for a map without a point)"),
        )
    point = None if lon is None or lat is None else point_to_storage(lon, lat, crs)
    tolerance = tolerance_m(LOCATE_ZOOM)
    district = district_area(conn, tolerance)
    grids = all_pages(lambda after: features.grids(conn, limit=features.MAX_LIMIT, after=after))
    centre = district.geometry.centroid
    return LocateView(
        release=current_release_id(conn),
        district=district,
        communities=_communities(conn, tolerance),
        # People are never drawn on the locate map: its answers come from /v1/locate.
        grids=_grid_places(grids, (), ANONYMOUS, tolerance),
        point=point,
        center=(float(centre.x), float(centre.y)),
    )
