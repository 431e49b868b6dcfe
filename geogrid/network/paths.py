"""Walking networks: a paths layer checked, published as a new network, and read back.

A paths file (GeoPackage, GeoJSON or Shapefile; lines; any coordinate system geogrid reads,
GCJ-02 included) is checked whole before anything is written:

- it has lines (an empty layer is refused by the file reader);
- no path crosses itself (a self-intersecting line is a drawing error: which side of the loop
  is the path?);
- every path has a length;
- the paths lie where the district is: when most of their points, once converted, fall outside
  the district's extent (with :data:`EXTENT_MARGIN_M` to spare), the file is in another
  coordinate system than it says (a GCJ-02 file read as WGS 84 is off by some 500 m, one in
  metres read as degrees is nowhere near), and it is refused saying so.

A network may reach beyond the district (people walk across its edge); only a layer that
*mostly* lies elsewhere is refused. A clean layer is published as a new walking network,
numbered like the boundary releases; the newest is current.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import geopandas as gpd
import numpy as np
import shapely
from sqlalchemy import Connection, text

from geogrid.errors import LoadError
from geogrid.geo.datum import to_metric
from geogrid.network.graph import WalkingGraph

#: How far outside the district's extent a point may lie and still count as near it.
EXTENT_MARGIN_M = 2000.0
#: The share of points outside the extent beyond which a layer is in the wrong CRS.
WRONG_CRS_SHARE = 0.5
#: Degrees per metre, near enough for a margin (1 degree of latitude is about 111 km).
_DEGREES_PER_M = 1 / 111_000


@dataclass(frozen=True)
class WalkingNetwork:
    """One published walking network."""

    id: int
    published_at: datetime
    published_by: str
    source: str
    paths: int
    length_m: float


def check_paths(frame: gpd.GeoDataFrame, district: shapely.Geometry) -> list[shapely.LineString]:
    """The layer's paths (storage lon/lat) as single lines, or LoadError naming every problem.

    ``district`` is the district's outline (EPSG:4490) the paths must mostly lie near.
    """
    lines: list[shapely.LineString] = []
    problems: list[str] = []
    for i, geom in enumerate(frame.geometry):
        parts = list(geom.geoms) if geom.geom_type == "MultiLineString" else [geom]
        for part in parts:
            if not part.is_simple:
                problems.append(f"path {i} crosses itself (near {_near(part)})")
            elif part.length == 0:
                problems.append(f"path {i} has no length")
            else:
                lines.append(part)
    if problems:
        raise LoadError(
            f"the paths layer has {len(problems)} bad path(s); nothing was published: "
            + "; ".join(problems[:10]),
            details=problems,
        )
    xy = shapely.get_coordinates(lines)
    minx, miny, maxx, maxy = district.bounds
    margin = EXTENT_MARGIN_M * _DEGREES_PER_M
    inside = (
        (xy[:, 0] >= minx - margin)
        & (xy[:, 0] <= maxx + margin)
        & (xy[:, 1] >= miny - margin)
        & (xy[:, 1] <= maxy + margin)
    )
    outside = 1 - float(np.mean(inside))
    if outside > WRONG_CRS_SHARE:
        raise LoadError(
            f"{outside:.0%} of the paths' {len(xy)} points lie outside the district's extent "
            f"(lon {minx:.4f}..{maxx:.4f}, lat {miny:.4f}..{maxy:.4f}, "
            f"{EXTENT_MARGIN_M:.0f} m to spare) once converted: the layer is in another "
            "coordinate system than it says; pass --crs (gcj02 for AMap or Tencent data, "
            "bd09 for Baidu's, EPSG:n for a projected file); nothing was published"
        )
    return lines


def _near(line: shapely.LineString) -> str:
    point = line.representative_point()
    return f"{point.x:.6f}, {point.y:.6f}"


def publish_paths(
    conn: Connection,
    frame: gpd.GeoDataFrame,
    *,
    source: str,
    published_by: str,
    comment: str = "",
) -> WalkingNetwork:
    """Check the paths layer ``frame`` (storage lon/lat) and publish it as a new network."""
    district = conn.execute(text("SELECT ST_AsBinary(ST_Union(geom)) FROM district")).scalar()
    if district is None:
        raise LoadError("load the district first: a walking network is checked against it")
    lines = check_paths(frame, shapely.from_wkb(bytes(district)))
    metric = to_metric(np.asarray(lines, dtype=object))  # every vertex in one transform
    WalkingGraph(metric)  # it must make a graph
    length_m = float(shapely.length(metric).sum())
    row = conn.execute(
        text(
            "INSERT INTO walking_network (published_by, source, paths, length_m, comment) "
            "VALUES (:by, :source, :paths, :length, :comment) RETURNING id, published_at"
        ),
        {
            "by": published_by,
            "source": source,
            "paths": len(lines),
            "length": length_m,
            "comment": comment,
        },
    ).one()
    names = _column(frame, "name", lines)
    kinds = _column(frame, "kind", lines)
    conn.execute(  # one statement for every path, not a round trip each
        text(
            "INSERT INTO walking_path (network_id, id, name, kind, geom) "
            "SELECT :network, p.id, p.name, p.kind, ST_GeomFromWKB(p.wkb, 4490) "
            "FROM unnest(CAST(:ids AS integer[]), CAST(:names AS text[]), "
            "CAST(:kinds AS text[]), CAST(:wkbs AS bytea[])) AS p(id, name, kind, wkb)"
        ),
        {
            "network": row.id,
            "ids": list(range(1, len(lines) + 1)),
            "names": names,
            "kinds": kinds,
            "wkbs": list(shapely.to_wkb(np.asarray(lines, dtype=object))),
        },
    )
    return WalkingNetwork(row.id, row.published_at, published_by, source, len(lines), length_m)


def _column(frame: gpd.GeoDataFrame, column: str, lines: list[shapely.LineString]) -> list[str]:
    """``column``'s text for each single line (a multi-line's parts share their feature's)."""
    values = []
    for geom, value in zip(
        frame.geometry,
        frame[column] if column in frame.columns else [None] * len(frame),
        strict=True,
    ):
        count = len(geom.geoms) if geom.geom_type == "MultiLineString" else 1
        text_value = "" if value is None or value != value else str(value).strip()[:200]
        values += [text_value] * count
    return values[: len(lines)]


def current_network(conn: Connection) -> WalkingNetwork | None:
    """The newest published walking network, or None."""
    row = conn.execute(
        text(
            "SELECT id, published_at, published_by, source, paths, length_m "
            "FROM walking_network ORDER BY id DESC LIMIT 1"
        )
    ).one_or_none()
    return None if row is None else WalkingNetwork(*row)


def network_graph(conn: Connection, network_id: int) -> WalkingGraph:
    """The graph of network ``network_id`` (metric coordinates)."""
    rows = conn.execute(
        text("SELECT ST_AsBinary(geom) FROM walking_path WHERE network_id = :n ORDER BY id"),
        {"n": network_id},
    ).scalars()
    lines = shapely.from_wkb(np.asarray([bytes(wkb) for wkb in rows], dtype=object))
    return WalkingGraph(to_metric(lines))


__all__ = [
    "EXTENT_MARGIN_M",
    "WalkingNetwork",
    "check_paths",
    "current_network",
    "network_graph",
    "publish_paths",
]
