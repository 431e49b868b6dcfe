"""The ``move_compound`` op: a compound, and the strip of its grid that joins it to the target
grid, moved to an adjacent grid of the same community.

A compound belongs to the grid holding its point-on-surface (docs/architecture.md, "Storage"). Demo
compounds, like real ones, sit inside their grid, off its edges; moving the footprint alone
would leave an island. So the op moves the **corridor**: the convex hull of the footprint and
the nearest stretch of the shared edge with the target grid, clipped to the source grid. The
stretch is the part of the shared edge within ``r`` of the edge point nearest the footprint,
``r`` half the side of a square of the footprint's area (at least ``MIN_STRETCH_M``), so the
corridor is about as wide as the compound. The hull reaches ``OVERSHOOT_M`` past the edge so
that its outline crosses the edge instead of running along it; only source faces move.

Refused, with locations: a corridor that leaves either grid in pieces or invalid, that cuts
another compound (more than ``CUT_SHARE`` of its footprint on each side), that carries
another compound's point along, or after which the compound's point is not in the target.
"""

from __future__ import annotations

import math
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points
from sqlalchemy import Connection, text

from geogrid.boundaries.validation import Violation
from geogrid.errors import InvalidInputError, NotFoundError
from geogrid.geo.datum import from_metric, to_metric
from geogrid.i18n import tr
from geogrid.limits import INT64_MAX, ascii_digits
from geogrid.plans.geometry import (
    MIN_AREA_M2,
    adjacent,
    clean,
    faces,
    holder,
    metric_area,
    single_part,
    union_faces,
)
from geogrid.plans.layer import EditRejectedError, Layer, reject
from geogrid.plans.params import grid_code

#: Metres: the shortest stretch of shared edge a corridor reaches (half of it each side).
MIN_STRETCH_M = 10.0
#: Metres: how far the corridor reaches past the shared edge into the target grid.
OVERSHOOT_M = 1.0
#: Another compound is cut when more than this share of its footprint is on each side.
CUT_SHARE = 0.01


def normalise_move_compound(params: dict[str, Any], layer: Layer) -> dict[str, Any]:
    """Check a move_compound edit: ``{"compound": id, "to": code}``."""
    compound = params.get("compound")
    if (
        isinstance(compound, bool)
        or not isinstance(compound, int | str)
        or not ascii_digits(str(compound).strip())
        or len(str(compound).strip()) > 19
        or not 1 <= int(compound) <= INT64_MAX
    ):
        raise InvalidInputError('"compound" must be the id of a compound')
    return {"compound": int(compound), "to": grid_code(params, "to")}


def touches_move_compound(params: dict[str, Any]) -> set[str]:
    """The target grid, and the source once the edit has been applied and stored."""
    return {params["to"], *([params["from"]] if "from" in params else [])}


def corridor(source: BaseGeometry, target: BaseGeometry, footprint: BaseGeometry) -> BaseGeometry:
    """The hull of ``footprint`` and its nearest stretch of the source-target edge.

    All three in storage coordinates; the hull is built in metres and may reach outside
    ``source`` (callers keep only source faces inside it).

    Examples
    --------
    >>> a = shapely.box(117.30, 31.80, 117.31, 31.81)
    >>> b = shapely.box(117.31, 31.80, 117.32, 31.81)
    >>> house = shapely.box(117.305, 31.804, 117.306, 31.805)
    >>> hull = corridor(a, b, house)
    >>> hull.covers(house), hull.intersects(b.buffer(-1e-6)), hull.covers(a)
    (True, True, False)
    """
    edge = to_metric(shapely.intersection(source.boundary, target.boundary))
    metric = to_metric(footprint)
    near = nearest_points(metric, edge)[1]
    reach = max(MIN_STRETCH_M, math.sqrt(metric.area)) / 2
    stretch = shapely.intersection(edge, near.buffer(reach))
    if stretch.is_empty:  # the nearest point is an isolated touch: use it
        stretch = near
    hull = shapely.union(metric, stretch.buffer(OVERSHOOT_M)).convex_hull
    return from_metric(hull)


def apply_move_compound(conn: Connection, layer: Layer, params: dict[str, Any]) -> None:
    """Move compound ``params["compound"]`` with its corridor to grid ``params["to"]``."""
    compound = params["compound"]
    row = conn.execute(
        text(
            "SELECT ST_AsBinary(coalesce(point, ST_PointOnSurface(geom))) "
            "AS p, ST_AsBinary(geom) AS g FROM compound WHERE id = :id"
        ),
        {"id": compound},
    ).one_or_none()
    if row is None:
        raise NotFoundError(tr("compound {compound} does not exist", compound=compound))
    point, footprint = shapely.from_wkb(bytes(row.p)), shapely.from_wkb(bytes(row.g))
    code_to = params["to"]
    target = layer.grid(code_to)
    code_from = holder(layer.grids, point)
    if code_from is None:
        reject([Violation("outside_grids", f"compound {compound} lies in no grid", (), point)])
    assert code_from is not None
    if code_from == code_to:
        raise EditRejectedError(f"compound {compound} is already in grid {code_to}")
    source = layer.grid(code_from)
    if source["community_code"] != target["community_code"]:
        reject(
            [
                Violation(
                    "different_community",
                    f"grids {code_from} and {code_to} are in "
                    f"different communities ({source['community_code']} and "
                    f"{target['community_code']}); a compound moves only within one",
                    (code_from, code_to),
                    point,
                )
            ]
        )
    if not adjacent(source["geometry"], target["geometry"]):
        reject(
            [
                Violation(
                    "not_adjacent",
                    f"grids {code_from} and {code_to} do not share an edge",
                    (code_from, code_to),
                    point,
                )
            ]
        )
    piece = shapely.intersection(source["geometry"], footprint)
    if piece.is_empty or metric_area(piece) < MIN_AREA_M2:
        reject(
            [
                Violation(
                    "empty_transfer",
                    f"compound {compound} covers none of grid {code_from}",
                    (code_from,),
                    point,
                )
            ]
        )
    hull = corridor(source["geometry"], target["geometry"], piece)
    moved, kept, own = faces(source["geometry"], target["geometry"], hull)
    # Keep the part of the clipped hull that holds the compound; the rest stays put.
    holding = [p for p in shapely.get_parts(union_faces(moved)) if p.intersects(piece)]
    reach = shapely.union_all(holding) if holding else shapely.Polygon()
    carried = [f for f in moved if reach.covers(f.representative_point())]
    kept += [f for f in moved if not reach.covers(f.representative_point())]
    strip = union_faces(carried)
    reject(_other_compounds(conn, compound, strip, layer.grids, code_from))
    gained, lost = union_faces(own + carried), union_faces(kept)
    reject(single_part("grid", code_to, gained) + single_part("grid", code_from, lost))
    old_to, old_from = target["geometry"], source["geometry"]
    target["geometry"], source["geometry"] = clean(gained), clean(lost)
    now = holder(layer.grids, point)
    if now != code_to:
        target["geometry"], source["geometry"] = old_to, old_from
        reject(
            [
                Violation(
                    "compound_not_moved",
                    f"after the move the point of compound "
                    f"{compound} would be in grid {now}, not {code_to}",
                    (code_from, code_to),
                    point,
                )
            ]
        )
    params["from"] = code_from  # stored with the edit: what it touches
    layer.touched |= {code_from, code_to}
    layer.share_vertices({code_from, code_to})


def _other_compounds(
    conn: Connection,
    compound: int,
    strip: BaseGeometry,
    grids: dict[str, dict[str, Any]],
    code_from: str,
) -> list[Violation]:
    """Compounds other than ``compound`` that moving ``strip`` would cut or carry along."""
    if strip.is_empty:
        return []
    rows = conn.execute(
        text(
            "SELECT id, name, ST_AsBinary(coalesce(point, ST_PointOnSurface(geom))) AS p, "
            "ST_AsBinary(geom) AS g FROM compound WHERE id <> :id "
            "AND ST_Intersects(geom, ST_GeomFromWKB(:strip, 4490)) ORDER BY id"
        ),
        {"id": compound, "strip": shapely.to_wkb(strip)},
    )
    found = []
    for r in rows:
        geom, point = shapely.from_wkb(bytes(r.g)), shapely.from_wkb(bytes(r.p))
        inside = shapely.intersection(geom, strip)
        share = metric_area(inside) / max(metric_area(geom), 1e-9)
        if CUT_SHARE < share < 1 - CUT_SHARE:
            found.append(
                Violation(
                    "compound_cut",
                    f"moving compound {compound} would cut "
                    f"compound {r.id} ({r.name}): {share:.0%} of it would "
                    "change grid",
                    (code_from,),
                    inside,
                )
            )
        elif strip.covers(point) and holder(grids, point) == code_from:
            found.append(
                Violation(
                    "compound_carried",
                    f"moving compound {compound} would "
                    f"carry compound {r.id} ({r.name}) along; move that one "
                    "first",
                    (code_from,),
                    geom,
                )
            )
    return found
