"""Which grid a case goes to: the point-in-grid answer plus the dispatcher's flags.

- inside a grid: that grid; a point on a shared edge or vertex goes to the tie-break grid
  (smallest code, see geogrid.geo.locator) and, like any point within ``near_boundary_m`` of another
  grid, is flagged ``near_boundary`` for the dispatcher to confirm;
- outside every grid but within ``outside_max_m``: the nearest grid, flagged
  ``outside_district`` (属地兜底);
- farther: refused (``outside_district``, with the distance), to be passed on to the city
  platform (转办).

:func:`route` answers from a process's in-memory snapshot (the fast path);
:func:`route_in_release` gives the same answer from PostGIS for any release, and is what
re-routing after a publish and a create racing a publish use.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

from geogrid.errors import InvalidInputError
from geogrid.i18n import tr
from geogrid.lookup.locate import locate_point
from geogrid.lookup.snapshot import Snapshot
from geogrid.settings import CaseSettings

#: Flags routing sets (others, such as boundary_changed, are set by later events).
ROUTING_FLAGS = ("near_boundary", "outside_district")
FLAGS = (*ROUTING_FLAGS, "boundary_changed", "possible_duplicate")
FLAG_ZH = {
    "near_boundary": "临近网格边界",
    "outside_district": "辖区外属地兜底",
    "boundary_changed": "边界已调整",
    "possible_duplicate": "可能重复",
}


class UnroutableError(InvalidInputError):
    """A case location outside the district, beyond the phone-GPS fallback (422): not a
    Yaohai case, to be passed on to the city platform (转办)."""

    code = "outside_district"


@dataclass(frozen=True)
class Routing:
    """Where a case goes and why."""

    grid_code: str
    release: int
    flags: tuple[str, ...]
    on_boundary: bool
    candidates: tuple[str, ...]
    #: metres to the nearest other grid (0 on a shared edge); None outside the district
    boundary_distance_m: float | None
    #: metres outside the district (to the nearest grid); None inside
    outside_distance_m: float | None


def _flags(
    boundary_m: float | None, outside_m: float | None, settings: CaseSettings
) -> tuple[str, ...]:
    if outside_m is not None:
        return ("outside_district",)
    if boundary_m is not None and boundary_m <= settings.near_boundary_m:
        return ("near_boundary",)
    return ()


def _unroutable(distance: float, settings: CaseSettings) -> UnroutableError:
    return UnroutableError(
        tr(
            "the location is {distance:.0f} m outside the district, farther than the "
            "{outside_max_m:.0f} m a phone's position may be off (GEOGRID_OUTSIDE_MAX_M): not "
            "a case of this district; pass it on to the city platform",
            distance=distance,
            outside_max_m=settings.outside_max_m,
        ),
        details={"distance_m": round(distance, 1), "outside_max_m": settings.outside_max_m},
    )


def route(snapshot: Snapshot, lon: float, lat: float, settings: CaseSettings) -> Routing:
    """Route a storage-CRS (EPSG:4490) point with a release snapshot.

    Raises
    ------
    UnroutableError
        The point is farther than ``settings.outside_max_m`` from every grid.
    """
    answer = locate_point(snapshot, lon, lat)
    if answer.grid is None:
        assert answer.nearest is not None
        code, distance = answer.nearest
        if distance > settings.outside_max_m:
            raise _unroutable(distance, settings)
        return Routing(
            code, answer.release, _flags(None, distance, settings), False, (), None, distance
        )
    return Routing(
        answer.grid.code,
        answer.release,
        _flags(answer.boundary_distance_m, None, settings),
        answer.on_boundary,
        answer.candidates,
        answer.boundary_distance_m,
        None,
    )


#: The grids of release :r (the one release-validity rule, a SQL function; migration 0004).
_IN_RELEASE = "grid_geometry_in(:r)"
_POINT = "ST_SetSRID(ST_MakePoint(:x, :y), 4490)"


def route_in_release(
    conn: Connection, lon: float, lat: float, release: int, settings: CaseSettings
) -> Routing:
    """The same answer as :func:`route`, computed by PostGIS for release ``release``."""
    params = {"x": float(lon), "y": float(lat), "r": int(release)}
    covering = [
        r.grid_code.strip()
        for r in conn.execute(
            text(
                f"SELECT grid_code FROM {_IN_RELEASE} "
                f"WHERE ST_Covers(geom, {_POINT}) ORDER BY grid_code"
            ),
            params,
        )
    ]
    if not covering:
        nearest = conn.execute(
            text(
                "SELECT grid_code, ST_Distance(ST_Transform(geom, 4548), "
                f"ST_Transform({_POINT}, 4548)) AS d FROM (SELECT grid_code, geom FROM "
                f"{_IN_RELEASE} ORDER BY geom <-> {_POINT} LIMIT 8) s "
                "ORDER BY d, grid_code LIMIT 1"
            ),
            params,
        ).one()
        distance = round(float(nearest.d), 2)
        if distance > settings.outside_max_m:
            raise _unroutable(distance, settings)
        return Routing(
            nearest.grid_code.strip(),
            release,
            _flags(None, distance, settings),
            False,
            (),
            None,
            distance,
        )
    code = covering[0]
    if len(covering) > 1:
        boundary: float | None = 0.0
    else:
        # 1 degree of longitude is > 90 km here, so this box holds every grid within reach.
        found = conn.execute(
            text(
                "SELECT min(ST_Distance(ST_Transform(geom, 4548), ST_Transform("
                + _POINT
                + ", 4548))) FROM "
                + _IN_RELEASE
                + " WHERE grid_code <> :g "
                "AND ST_DWithin(geom, " + _POINT + ", :deg)"
            ),
            {**params, "g": code, "deg": (settings.near_boundary_m + 1.0) / 90_000},
        ).scalar()
        boundary = None if found is None else round(float(found), 2)
    return Routing(
        code,
        release,
        _flags(boundary, None, settings),
        len(covering) > 1 or boundary == 0.0,
        tuple(covering),
        boundary,
        None,
    )
