"""The invariants (docs/architecture.md), checked on a grid layer. One module, used by every writer.

Checks run in shapely on EPSG:4548 metres so that tolerances are in m and m²:

1. tiling: the grids' union equals the district (symmetric difference < 1 m²), pairwise
   overlaps < 0.01 m², every geometry valid, non-empty and in one piece;
2. nesting: every grid inside its community (0.5 m tolerance), every community inside its
   street, every street inside the district; grid codes are their community's code + 3 digits.

Each broken rule becomes a :class:`Violation` carrying a location (storage lon/lat) so that a
planner can see where it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from geogrid.geo.datum import from_metric, to_metric
from geogrid.limits import ascii_digits

TILING_TOLERANCE_M2 = 1.0
OVERLAP_TOLERANCE_M2 = 0.01
NESTING_TOLERANCE_M = 0.5
#: Smallest gap or spill part worth naming on its own (the rule itself uses the totals).
_PART_REPORT_M2 = 1e-4


@dataclass(frozen=True)
class Violation:
    """One broken invariant: which rule, which units, where, and how big."""

    rule: str
    message: str
    codes: tuple[str, ...] = ()
    location: BaseGeometry | None = None  # storage lon/lat (EPSG:4490)
    area_m2: float | None = None

    def as_feature(self) -> dict[str, Any]:
        """This violation as a GeoJSON Feature."""
        return {
            "type": "Feature",
            "geometry": None if self.location is None else shapely.geometry.mapping(self.location),
            "properties": {
                "rule": self.rule,
                "message": self.message,
                "codes": list(self.codes),
                "area_m2": self.area_m2,
            },
        }


@dataclass
class UnitShape:
    """A polygon unit to check: its code, its parent's code and its geometry (EPSG:4490)."""

    code: str
    parent: str | None
    geom: BaseGeometry
    metric: BaseGeometry = field(init=False)

    def __post_init__(self) -> None:
        metric = to_metric(self.geom)
        if self.geom.is_valid and not metric.is_valid:
            # Validity is judged where the data is stored (lon/lat, as PostGIS checks it);
            # projecting a valid ring with near-touching vertices can make it invalid in metres.
            metric = shapely.make_valid(metric, method="structure", keep_collapsed=False)
        self.metric = metric


def _where(geom: BaseGeometry) -> BaseGeometry:
    """A storage-CRS location for a metric geometry."""
    return from_metric(geom)


def invalid_geometry(label: str, code: str, geom: BaseGeometry) -> Violation | None:
    """A violation naming why and where ``geom`` is invalid, or None when it is valid."""
    if geom.is_valid:
        return None
    reason = shapely.is_valid_reason(geom)
    location = geom.representative_point()
    if "[" in reason:
        # GEOS appends the offending coordinate as "[x y]".
        x, y = reason[reason.index("[") + 1 : reason.index("]")].split()[:2]
        location = shapely.Point(float(x), float(y))
    return Violation(
        "invalid_geometry", f"{label} {code} is not a valid polygon: {reason}", (code,), location
    )


def _check_geometries(units: Sequence[UnitShape], label: str, single_part: bool) -> list[Violation]:
    found: list[Violation] = []
    for unit in units:
        g = unit.metric
        if g is None or g.is_empty:
            found.append(
                Violation("empty_geometry", f"{label} {unit.code} has no geometry", (unit.code,))
            )
            continue
        if g.geom_type not in ("Polygon", "MultiPolygon"):
            found.append(
                Violation(
                    "not_polygonal",
                    f"{label} {unit.code} is a {g.geom_type}, not a polygon",
                    (unit.code,),
                    _where(g),
                )
            )
            continue
        invalid = invalid_geometry(label, unit.code, unit.geom)
        if invalid is not None:
            found.append(invalid)
            continue
        parts = shapely.get_num_geometries(unit.geom)
        if single_part and parts > 1:
            found.append(
                Violation(
                    "not_contiguous",
                    f"{label} {unit.code} is in {parts} separate pieces",
                    (unit.code,),
                    unit.geom,
                )
            )
    return found


def _check_codes(grids: Sequence[UnitShape]) -> list[Violation]:
    found: list[Violation] = []
    seen: set[str] = set()
    for grid in grids:
        if grid.code in seen:
            found.append(
                Violation("duplicate_code", f"grid code {grid.code} appears twice", (grid.code,))
            )
        seen.add(grid.code)
        if len(grid.code) != 15 or not ascii_digits(grid.code):
            found.append(
                Violation("bad_code", f'grid code "{grid.code}" must be 15 digits', (grid.code,))
            )
        elif grid.parent is not None and not grid.code.startswith(grid.parent):
            found.append(
                Violation(
                    "bad_code",
                    f"grid code {grid.code} must start with its community code {grid.parent}",
                    (grid.code,),
                )
            )
    return found


def _check_tiling(
    units: Sequence[UnitShape], whole: BaseGeometry, label: str, whole_label: str
) -> list[Violation]:
    """Units must cover ``whole`` (metric) without gaps, spills or overlaps."""
    found: list[Violation] = []
    metric = [u.metric for u in units]
    union = shapely.union_all(metric)
    gaps = shapely.difference(whole, union)
    spills = shapely.difference(union, whole)
    if gaps.area + spills.area >= TILING_TOLERANCE_M2:
        for part in shapely.get_parts(gaps):
            if part.area > _PART_REPORT_M2:
                found.append(
                    Violation(
                        "gap",
                        f"{part.area:.2f} m² of {whole_label} is in no {label}",
                        (),
                        _where(part),
                        part.area,
                    )
                )
        for part in shapely.get_parts(spills):
            if part.area > _PART_REPORT_M2:
                near = [u.code for u in units if u.metric.intersects(part)]
                found.append(
                    Violation(
                        "outside_parent",
                        f"{part.area:.2f} m² of {label} "
                        f"{', '.join(near)} lies outside {whole_label}",
                        tuple(near),
                        _where(part),
                        part.area,
                    )
                )
    tree = shapely.STRtree(metric)
    left, right = tree.query(metric, predicate="intersects")
    for i, j in zip(left, right, strict=True):
        if i >= j:
            continue
        shared = shapely.intersection(metric[i], metric[j])
        if shared.area >= OVERLAP_TOLERANCE_M2:
            codes = (units[i].code, units[j].code)
            found.append(
                Violation(
                    "overlap",
                    f"{label}s {codes[0]} and {codes[1]} overlap by {shared.area:.2f} m²",
                    codes,
                    _where(shared),
                    shared.area,
                )
            )
    return found


def _check_nesting(
    children: Sequence[UnitShape], parents: dict[str, UnitShape], label: str, parent_label: str
) -> list[Violation]:
    found: list[Violation] = []
    padded = {code: p.metric.buffer(NESTING_TOLERANCE_M) for code, p in parents.items()}
    for child in children:
        if child.parent not in parents:
            found.append(
                Violation(
                    "unknown_parent",
                    f"{label} {child.code} names "
                    f"{parent_label} {child.parent}, which does not exist",
                    (child.code,),
                    child.geom.representative_point(),
                )
            )
            continue
        outside = shapely.difference(child.metric, padded[child.parent])
        if outside.area > 0:
            found.append(
                Violation(
                    "outside_parent",
                    f"{outside.area:.2f} m² of {label} "
                    f"{child.code} lies outside its {parent_label} {child.parent}",
                    (child.code, child.parent),
                    _where(outside),
                    outside.area,
                )
            )
    return found


def _valid(units: Iterable[UnitShape]) -> list[UnitShape]:
    return [
        u
        for u in units
        if u.metric is not None
        and not u.metric.is_empty
        and u.geom.is_valid
        and u.metric.geom_type in ("Polygon", "MultiPolygon")
    ]


def check_layer(
    grids: Sequence[UnitShape],
    communities: Sequence[UnitShape],
    streets: Sequence[UnitShape],
    district: UnitShape,
) -> list[Violation]:
    """Check a grid layer and the fixed units it nests in against every invariant.

    Parameters
    ----------
    grids, communities, streets : sequence of UnitShape
        Each with its parent code (community, street and district code respectively).
    district : UnitShape
        The district boundary.

    Returns
    -------
    list of Violation
        Empty when the layer holds every invariant.

    Examples
    --------
    >>> from shapely import Polygon, box
    >>> d = UnitShape("340102", None, Polygon([(117.30, 31.85), (117.31, 31.85), (117.32, 31.85),
    ...                                   (117.32, 31.87), (117.31, 31.87), (117.30, 31.87)]))
    >>> s = [UnitShape("340102001", "340102", d.geom)]
    >>> c = [UnitShape("340102001001", "340102001", d.geom)]
    >>> g = [UnitShape("340102001001001", "340102001001", box(117.30, 31.85, 117.31, 31.87)),
    ...      UnitShape("340102001001002", "340102001001",
    ...           Polygon([(117.31, 31.85), (117.32, 31.85), (117.32, 31.87)]))]
    >>> [v.rule for v in check_layer(g, c, s, d)]
    ['gap']
    """
    found = _check_geometries([district], "district", single_part=False)
    found += _check_geometries(streets, "street", single_part=False)
    found += _check_geometries(communities, "community", single_part=False)
    found += _check_geometries(grids, "grid", single_part=True)
    found += _check_codes(grids)
    ok_grids, ok_communities, ok_streets = _valid(grids), _valid(communities), _valid(streets)
    if not district.geom.is_valid:
        return found
    found += _check_tiling(ok_grids, district.metric, "grid", f"district {district.code}")
    found += _check_nesting(ok_grids, {c.code: c for c in ok_communities}, "grid", "community")
    found += _check_nesting(ok_communities, {s.code: s for s in ok_streets}, "community", "street")
    found += _check_nesting(ok_streets, {district.code: district}, "street", "district")
    return found


def total_area_m2(units: Sequence[UnitShape]) -> float:
    """Sum of the units' areas in square metres."""
    return float(np.sum([u.metric.area for u in units]))


def fixed_units(conn: Connection) -> tuple[UnitShape | None, list[UnitShape], list[UnitShape]]:
    """The district, streets and communities stored in the database, as Units."""
    district = None
    row = conn.execute(text("SELECT code, ST_AsBinary(geom) AS wkb FROM district")).first()
    if row is not None:
        district = UnitShape(row.code, None, shapely.from_wkb(bytes(row.wkb)))
    streets = [
        UnitShape(r.code, r.district_code, shapely.from_wkb(bytes(r.wkb)))
        for r in conn.execute(
            text("SELECT code, district_code, ST_AsBinary(geom) AS wkb FROM street ORDER BY code")
        )
    ]
    communities = [
        UnitShape(r.code, r.street_code, shapely.from_wkb(bytes(r.wkb)))
        for r in conn.execute(
            text("SELECT code, street_code, ST_AsBinary(geom) AS wkb FROM community ORDER BY code")
        )
    ]
    return district, streets, communities


def check_release(conn: Connection, release_id: int) -> list[Violation]:
    """Check the stored grid layer of ``release_id`` against every invariant."""
    district, streets, communities = fixed_units(conn)
    if district is None:
        return [Violation("no_district", "no district is loaded")]
    rows = conn.execute(
        text(
            "SELECT gg.grid_code, g.community_code, ST_AsBinary(gg.geom) AS wkb "
            "FROM grid_geometry_in(:r) gg JOIN grid g ON g.code = gg.grid_code "
            "ORDER BY gg.grid_code"
        ),
        {"r": release_id},
    )
    grids = [UnitShape(r.grid_code, r.community_code, shapely.from_wkb(bytes(r.wkb))) for r in rows]
    if not grids:
        return [Violation("no_grids", f"release {release_id} has no grids")]
    return check_layer(grids, communities, streets, district)
