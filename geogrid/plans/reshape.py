"""The ``reshape`` op: one grid redrawn whole (and, or, renamed), its neighbours in the
community giving and taking the difference, so that one write stands on its own; and the
``absorb`` op: one grid taken into a neighbour of its community, which keeps its code.

It is what a desktop GIS sends when a planner moves a grid's edge: the grid's new outline, one
feature at a time, no transaction (OGC API – Features Part 4, geogrid.plans.collection), and
it is open to the plan API too (``{"op": "reshape", "grid": code, "geometry": ...}``):

- where the new outline reaches into a neighbour of the same community, that piece moves to
  the grid (as a ``transfer`` from the neighbour would move it);
- each piece the grid gives up goes to the neighbour of the same community it shares the
  longest edge with: the neighbour whose shared edge moved with it;
- a piece that would go to another community, outside the district, or to no neighbour at all
  (a gap) is refused with its location.

The result is checked like every edit: each grid changed must stay one valid polygon.
"""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection

from geogrid.boundaries.validation import Violation
from geogrid.errors import InvalidInputError
from geogrid.geo.datum import to_metric
from geogrid.i18n import tr
from geogrid.limits import TITLE, check_text
from geogrid.plans.geometry import (
    MIN_AREA_M2,
    adjacent,
    clean,
    metric_area,
    reassign_faces,
    single_part,
)
from geogrid.plans.layer import Layer, reject
from geogrid.plans.params import UNIT_TYPES, grid_code, polygon, required_text

#: m²: a new outline that differs from the grid's by less than this is the same outline (what
#: a client hands back after rounding differs by far less once fitted).
UNCHANGED_M2 = 0.01
#: The attributes a reshape may set besides the geometry; ``merge_into`` lives in the plan only.
ATTRIBUTES = ("name", "dedicated_unit_name", "dedicated_unit_type", "merge_into")


def normalise_reshape(params: dict[str, Any], layer: Layer) -> dict[str, Any]:
    """Check a reshape: ``{"grid": code, "geometry"?, "crs"?, "name"?, ...}``."""
    found: dict[str, Any] = {"grid": grid_code(params, "grid")}
    if params.get("geometry") is not None:
        found["geometry"] = polygon(params, "geometry", layer)
    if "name" in params:
        found["name"] = required_text(params, "name")
    if "dedicated_unit_name" in params:
        value = params["dedicated_unit_name"]
        found["dedicated_unit_name"] = (
            None
            if value is None or not str(value).strip()
            else check_text("dedicated_unit_name", str(value).strip(), TITLE)
        )
    if "dedicated_unit_type" in params:
        unit_type = params["dedicated_unit_type"]
        if unit_type is not None and unit_type not in UNIT_TYPES:
            raise InvalidInputError(
                f'dedicated_unit_type was "{unit_type}" but must be one of {list(UNIT_TYPES)}'
            )
        found["dedicated_unit_type"] = unit_type
    if "merge_into" in params:
        value = params["merge_into"]
        found["merge_into"] = None if value in (None, "") else grid_code(params, "merge_into")
    if len(found) == 1:
        raise InvalidInputError(
            tr("a reshape sets the geometry or at least one of {names}", names=list(ATTRIBUTES))
        )
    return found


def touches_reshape(params: dict[str, Any]) -> set[str]:
    """The grid and the neighbours it gave to or took from (stored by apply)."""
    return {params["grid"], *params.get("grids", ())}


def apply_reshape(conn: Connection, layer: Layer, params: dict[str, Any]) -> None:
    """Redraw grid ``params["grid"]``; neighbours of its community give and take."""
    code = params["grid"]
    grid = layer.grid(code)
    changed: set[str] = set()
    if "geometry" in params:
        outline = layer.fit(shapely.geometry.shape(params["geometry"]))
        reject(single_part("grid", code, outline))
        if metric_area(shapely.symmetric_difference(grid["geometry"], outline)) >= UNCHANGED_M2:
            changed |= _take(layer, code, outline)
            changed |= _give(layer, code, outline)
    for key in ATTRIBUTES:
        if key in params:
            grid[key] = params[key]
    serves = grid.get("dedicated_unit_name") or grid.get("dedicated_unit_type")
    sets_unit = "dedicated_unit_name" in params or "dedicated_unit_type" in params
    if sets_unit and serves and grid.get("kind") != "dedicated":
        raise InvalidInputError(
            tr("grid {code} is a resident grid; only dedicated grids serve a unit", code=code)
        )
    params["grids"] = sorted(changed - {code})  # stored with the edit: what it touches
    layer.touched |= {code, *changed}
    layer.share_vertices({code, *changed})


def _take(layer: Layer, code: str, outline: BaseGeometry) -> set[str]:
    """Move into grid ``code`` every piece of a neighbour inside ``outline``."""
    grid = layer.grid(code)
    taken: set[str] = set()
    violations: list[Violation] = []
    for other, neighbour in sorted(layer.grids.items()):
        if other == code or not neighbour["geometry"].intersects(outline):
            continue
        piece = shapely.intersection(neighbour["geometry"], outline)
        if piece.is_empty or metric_area(piece) < MIN_AREA_M2:
            continue
        if neighbour["community_code"] != grid["community_code"]:
            violations.append(
                Violation(
                    "different_community",
                    f"the new outline of grid {code} reaches {metric_area(piece):.1f} m² into "
                    f"grid {other} of community {neighbour['community_code']}; grids change "
                    "only within their community",
                    (code, other),
                    piece,
                )
            )
            continue
        gained, lost = reassign_faces(neighbour["geometry"], grid["geometry"], outline)
        violations += single_part("grid", code, gained) + single_part("grid", other, lost)
        if not violations:
            grid["geometry"], neighbour["geometry"] = clean(gained), clean(lost)
            taken.add(other)
    reject(violations)
    beyond = shapely.difference(outline, grid["geometry"])
    if not beyond.is_empty and metric_area(beyond) >= MIN_AREA_M2:
        reject(
            [
                Violation(
                    "outside_district",
                    f"the new outline of grid {code} reaches {metric_area(beyond):.1f} m² "
                    "beyond every grid (outside the district)",
                    (code,),
                    beyond,
                )
            ]
        )
    return taken


def _give(layer: Layer, code: str, outline: BaseGeometry) -> set[str]:
    """Give each piece of grid ``code`` outside ``outline`` to the neighbour of its community
    that shares the longest edge with the piece."""
    grid = layer.grid(code)
    given: set[str] = set()
    freed = shapely.difference(grid["geometry"], outline)
    for piece in shapely.get_parts(freed):
        if piece.geom_type != "Polygon" or metric_area(piece) < MIN_AREA_M2:
            continue
        receiver = _longest_edge(layer, code, piece)
        if receiver is None:
            reject(
                [
                    Violation(
                        "would_leave_gap",
                        f"grid {code} would give up {metric_area(piece):.1f} m² that no other "
                        f"grid of community {grid['community_code']} borders: it would be a "
                        "gap (move that edge with a neighbour's)",
                        (code,),
                        piece,
                    )
                ]
            )
        neighbour = layer.grids[str(receiver)]
        gained, lost = reassign_faces(grid["geometry"], neighbour["geometry"], piece)
        reject(single_part("grid", str(receiver), gained) + single_part("grid", code, lost))
        neighbour["geometry"], grid["geometry"] = clean(gained), clean(lost)
        given.add(str(receiver))
    return given


def _longest_edge(layer: Layer, code: str, piece: BaseGeometry) -> str | None:
    """The grid of ``code``'s community (not ``code``) sharing the longest edge with ``piece``
    (over 1 cm), or None."""
    community = layer.grid(code)["community_code"]
    best, longest = None, 0.01
    for other, grid in sorted(layer.grids.items()):
        if other == code or grid["community_code"] != community:
            continue
        if not grid["geometry"].intersects(piece):
            continue
        shared = shapely.intersection(grid["geometry"].boundary, piece.boundary)
        length = float(to_metric(shared).length) if not shared.is_empty else 0.0
        if length > longest:
            best, longest = other, length
    return best


# ---- absorb ----------------------------------------------------------------------------------


def normalise_absorb(params: dict[str, Any], layer: Layer) -> dict[str, Any]:
    """Check an absorb: ``{"grid": code, "into": code}``."""
    found = {"grid": grid_code(params, "grid"), "into": grid_code(params, "into")}
    if found["grid"] == found["into"]:
        raise InvalidInputError(tr('"grid" and "into" name the same grid'))
    return found


def apply_absorb(conn: Connection, layer: Layer, params: dict[str, Any]) -> None:
    """Give all of grid ``params["grid"]`` to ``params["into"]``; the first code retires.

    Unlike ``merge`` (a new grid, a new code, of one kind), the neighbour stays what it is:
    deleting a carved dedicated grid gives its area back to the resident grid around it.
    """
    code, into = params["grid"], params["into"]
    grid, keeper = layer.grid(code), layer.grid(into)
    if grid["community_code"] != keeper["community_code"]:
        reject(
            [
                Violation(
                    "different_community",
                    f"grids {code} and {into} are in different communities "
                    f"({grid['community_code']} and {keeper['community_code']}); a grid is "
                    "absorbed only within its community",
                    (code, into),
                    grid["geometry"].representative_point(),
                )
            ]
        )
    if not adjacent(grid["geometry"], keeper["geometry"]):
        reject(
            [
                Violation(
                    "not_adjacent",
                    f"grids {code} and {into} do not share an edge",
                    (code, into),
                    grid["geometry"].representative_point(),
                )
            ]
        )
    merged = clean(shapely.coverage_union_all([keeper["geometry"], grid["geometry"]]))
    reject(single_part("grid", into, merged))
    keeper["geometry"] = merged
    del layer.grids[code]
    layer.touched |= {code, into}
    layer.share_vertices({into})


def longest_edge_neighbour(layer: Layer, code: str) -> str | None:
    """The grid of ``code``'s community sharing the longest edge with it (over 1 cm)."""
    return _longest_edge(layer, code, layer.grid(code)["geometry"])
