#!/usr/bin/env python
"""Generate the demo's walking network and compound gates: ``data/yaohai_demo_paths.gpkg``
(layers ``paths`` and ``gates``).

Run from the repository root, after ``data/generate.py``::

    .venv/bin/python data/paths.py

Everything here is **generated**, not surveyed (see ``data/README.md``). It is built to be
consistent with the generated grids, as a city's are with its streets:

- *streets*: every grid edge (grid lines in a city follow streets), noded where they meet;
- *lanes*: from each compound's point-on-surface (where coverage counts its households) and
  from each station to the nearest street, the way a compound's own road or a station's
  forecourt joins the street;
- *gates*: one per organised compound (its main gate, 正门), where its footprint comes
  nearest a street; scattered buildings have none;
- *a rail corridor*: a generated line through 合肥站 (north-north-east to south-south-west,
  not the real line's course) that streets cross only at underpasses every 1.2 km; streets
  and lanes that would cross it elsewhere are left out, so walks round it are longer than a
  straight line, as walks round the real rail yard are.

All geometry work is in EPSG:4548 metres (``geogrid.geo.datum``), converted to EPSG:4490 at
the end. Deterministic: no randomness, and the GeoPackage timestamp is pinned, so a second run
writes the same file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from shapely.geometry import LineString, Point

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geogrid.geo.datum import from_metric, to_metric  # noqa: E402

DEMO = ROOT / "data" / "yaohai_demo.gpkg"
OUT = ROOT / "data" / "yaohai_demo_paths.gpkg"
HEFEI_STATION = (117.3128, 31.8828)  # as in data/generate.py
RAIL_BEARING_DEG = 20.0  # from north, towards east
RAIL_HALF_LENGTH_M = 9000.0
UNDERPASS_SPACING_M = 1200.0
UNDERPASS_REACH_M = 80.0  # a street crossing the corridor this near an underpass uses it


def rail_corridor() -> tuple[LineString, list[Point]]:
    """The generated rail line (metric) and its underpasses."""
    centre = np.array(to_metric(Point(*HEFEI_STATION)).coords[0])
    angle = np.radians(RAIL_BEARING_DEG)
    direction = np.array([np.sin(angle), np.cos(angle)])
    line = LineString(
        [centre - direction * RAIL_HALF_LENGTH_M, centre + direction * RAIL_HALF_LENGTH_M]
    )
    steps = np.arange(UNDERPASS_SPACING_M / 2, 2 * RAIL_HALF_LENGTH_M, UNDERPASS_SPACING_M)
    return line, [line.interpolate(s) for s in steps]


def crosses_rail(lines: np.ndarray, rail: LineString, underpasses: list[Point]) -> np.ndarray:
    """Which lines cross the rail line away from every underpass."""
    crossing = shapely.intersects(lines, rail)
    holes = shapely.union_all([p.buffer(UNDERPASS_REACH_M) for p in underpasses])
    at_hole = np.array(
        [
            bool(c) and shapely.intersection(line, rail).within(holes)
            for line, c in zip(lines, crossing, strict=True)
        ]
    )
    return crossing & ~at_hole


def streets(grids: gpd.GeoDataFrame) -> np.ndarray:
    """Every grid edge once, split where edges meet (metric)."""
    rings = shapely.boundary(np.array([to_metric(g) for g in grids.geometry.values]))
    noded = shapely.union_all(rings)  # shared edges once, noded at every junction
    merged = shapely.line_merge(noded)  # joined through points where only two edges meet
    return np.array(shapely.get_parts(merged))


def lanes(targets: np.ndarray, network: shapely.Geometry) -> np.ndarray:
    """From each target (a point, metric) to the nearest point of the network,
    overshooting it by 1 cm so that noding puts a shared vertex there."""
    out = []
    for target in targets:
        link = shapely.shortest_line(target, network)
        (x0, y0), (x1, y1) = link.coords
        length = float(np.hypot(x1 - x0, y1 - y0))
        if length < 1.0:
            continue  # already on a street
        k = (length + 0.01) / length
        out.append(LineString([(x0, y0), (x0 + (x1 - x0) * k, y0 + (y1 - y0) * k)]))
    return np.array(out, dtype=object)


def main() -> None:
    grids = gpd.read_file(DEMO, layer="grids", engine="pyogrio")
    compounds = gpd.read_file(DEMO, layer="compounds", engine="pyogrio")
    stations = gpd.read_file(DEMO, layer="stations", engine="pyogrio")
    rail, underpasses = rail_corridor()

    street_lines = streets(grids)
    street_lines = street_lines[~crosses_rail(street_lines, rail, underpasses)]
    street_net = shapely.multilinestrings(street_lines)
    # a compound's lane starts at its point-on-surface, where coverage counts its households:
    # the compound's own road out to the street
    inside = np.array([to_metric(g).point_on_surface() for g in compounds.geometry.values])
    points = np.array([to_metric(g) for g in stations.geometry.values])
    lane_lines = lanes(np.concatenate([inside, points]), street_net)
    lane_lines = lane_lines[~crosses_rail(lane_lines, rail, underpasses)]

    # node everything once so that lanes share a vertex with the street they join
    noded = shapely.get_parts(
        shapely.line_merge(shapely.union_all(np.concatenate([street_lines, lane_lines])))
    )
    near_lanes = shapely.buffer(shapely.multilinestrings(lane_lines), 0.05)
    shapely.prepare(near_lanes)
    kinds = ["lane" if near_lanes.covers(line) else "street" for line in noded]
    frame = gpd.GeoDataFrame(
        {
            "name": [""] * len(noded),
            "kind": kinds,
            "geometry": [from_metric(line) for line in noded],
        },
        crs="EPSG:4490",
    )
    # a gate for each organised compound, where its footprint comes nearest a street (its main
    # gate); scattered buildings have none, so coverage measures them from their footprint
    organised = compounds[compounds["kind"] == "organised"]
    gate_points = [
        from_metric(shapely.shortest_line(to_metric(g), street_net).interpolate(0.0))
        for g in organised.geometry.values
    ]
    gates = gpd.GeoDataFrame(
        {
            "compound_id": organised["id"].astype(int).to_numpy(),
            "name": ["正门"] * len(organised),
            "geometry": gate_points,
        },
        crs="EPSG:4490",
    )
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2023-06-30T00:00:00.000Z"})
    OUT.unlink(missing_ok=True)
    frame.to_file(OUT, layer="paths", driver="GPKG", engine="pyogrio")
    gates.to_file(OUT, layer="gates", driver="GPKG", engine="pyogrio")
    length_km = sum(to_metric(g).length for g in frame.geometry) / 1000
    print(
        f"{OUT.name}: {len(frame)} paths ({kinds.count('street')} streets, "
        f"{kinds.count('lane')} lanes), {length_km:.0f} km; rail corridor with "
        f"{len(underpasses)} underpasses; {len(gates)} compound gates"
    )


if __name__ == "__main__":
    main()
