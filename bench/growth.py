"""Cost growth: single-point locate on the 596 demo grids against a synthetic 100,000-grid layer.

Each layer is measured in its own process (``python -m bench.growth``), on core 0, so that its
peak resident set (VmHWM) is its own. The synthetic layer is the Voronoi diagram of
random points in the district's bounding box, clipped to the box. Both layers are asked about
the same random points inside the district:

* ``GridIndex.locate_one`` (the index alone), and
* ``geogrid.lookup.locate.locate_point`` (the whole single-point answer) on a snapshot built
  from the layer as ``geogrid.lookup.snapshot.build`` builds one, without compounds or
  stations (the synthetic layer has none, so the demo's are left out too).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import create_engine, text

from bench.peers import strtree_locate
from bench.points import district, in_polygon
from bench.report import Figure
from geogrid.boundaries.grids import Grid, Person, Unit
from geogrid.boundaries.releases import BoundaryRelease
from geogrid.geo.locator import GridIndex
from geogrid.lookup.locate import locate_point
from geogrid.lookup.snapshot import Snapshot, assemble

#: What GridIndex.cell_kinds numbers 0 (pure), 1 (line) and 2 (walk).
CELL_KINDS = ("pure", "line", "walk")


def voronoi_layer(
    box: tuple[float, float, float, float], n: int, seed: int = 3
) -> tuple[list[str], list[BaseGeometry]]:
    """``n`` Voronoi cells of random points in ``box``, clipped to it, with 15-digit codes."""
    rng = np.random.default_rng(seed)
    points = np.column_stack([rng.uniform(box[0], box[2], n), rng.uniform(box[1], box[3], n)])
    frame = shapely.box(*box)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(points), extend_to=frame)
    )
    cells = shapely.intersection(cells, frame)
    return [f"{i:015d}" for i in range(len(cells))], list(cells)


def demo_layer(url: str) -> tuple[list[str], list[BaseGeometry]]:
    """The current grids of the bench database."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT grid_code, ST_AsBinary(geom) AS wkb FROM grid_geometry "
                "WHERE valid_to_release IS NULL"
            )
        ).all()
    engine.dispose()
    return [r.grid_code.strip() for r in rows], list(shapely.from_wkb([bytes(r.wkb) for r in rows]))


def layer_snapshot(index: GridIndex) -> Snapshot:
    """A snapshot of an indexed layer, assembled as geogrid.lookup.snapshot.build assembles one.

    Grid attributes are placeholders; there are no compounds or stations.
    """
    grids = [
        Grid(
            c,
            c,
            "resident",
            Unit(c[:12], c[:12]),
            Unit(c[:9], c[:9]),
            Person(None, None),
            None,
            Person(None, None),
            release=0,
            geometry=g,
        )
        for c, g in zip(index.codes, index.geoms, strict=True)
    ]
    release = BoundaryRelease(index.release, datetime.now(UTC), "bench", "", "bench")
    return assemble(release, index, grids)


def _per_call_us(
    fn: Callable[[float, float], object], xs: list[float], ys: list[float], repeats: int
) -> float:
    """Microseconds per call over all the points: the best of ``repeats`` passes (after one
    warm-up pass), since on a shared machine the slower passes measure the neighbours."""
    times = []
    for _ in range(repeats + 1):
        started = time.perf_counter()
        for x, y in zip(xs, ys, strict=True):
            fn(x, y)
        times.append((time.perf_counter() - started) / len(xs) * 1e6)
    return min(times[1:])


def _rss_mib() -> float:
    """This process's peak resident set in MiB: VmHWM, the high-water mark of its memory.

    Not ``ru_maxrss``: Linux keeps that across fork and exec, so a child of a big parent
    starts with the parent's peak (the bench's parent holds a million points).
    """
    with open("/proc/self/status", encoding="utf-8") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _agreement(index: GridIndex, x: np.ndarray, y: np.ndarray) -> int:
    """Points where locate_many and locate_one both give the STRtree's answer."""
    found, _ = index.locate_many(x, y)
    reference = strtree_locate(shapely.STRtree(index.geoms), x, y)
    one = np.array(
        [index.locate_one(a, b).grid for a, b in zip(x.tolist(), y.tolist(), strict=True)]
    )
    return int(((found == reference) & (one == reference)).sum())


def _locate_one_profile(
    index: GridIndex, x: np.ndarray, y: np.ndarray, repeats: int
) -> dict[str, float]:
    """locate_one per call: overall, and for points in each kind of raster cell."""
    kinds = index.cell_kinds(x, y)
    out = {
        "locate_one_us": _per_call_us(index.locate_one, x.tolist(), y.tolist(), repeats),
        "cell_m": index.raster.cell_m,
        "raster_cells": float(index.raster.nx * index.raster.ny),
    }
    for kind, name in enumerate(CELL_KINDS):
        chosen = kinds == kind
        out[f"points_in_{name}_cells"] = float(chosen.mean())
        if chosen.any():
            out[f"locate_one_{name}_us"] = _per_call_us(
                index.locate_one, x[chosen].tolist(), y[chosen].tolist(), repeats
            )
    return out


def _locate_point_profile(
    snap: Snapshot, x: np.ndarray, y: np.ndarray, repeats: int
) -> dict[str, float]:
    """locate_point per call, and its parts: index, metric point, distance to other grids."""
    xs, ys = x.tolist(), y.tolist()
    grids = [snap.locate(a, b).grid for a, b in zip(xs, ys, strict=True)]
    points = [snap.metric_point(a, b) for a, b in zip(xs, ys, strict=True)]
    at = {(a, b): i for i, (a, b) in enumerate(zip(xs, ys, strict=True))}

    def boundary(a: float, b: float) -> None:
        i = at[a, b]
        if grids[i] >= 0:
            snap.distance_to_other_grid(points[i], grids[i])

    return {
        "locate_point_us": _per_call_us(lambda a, b: locate_point(snap, a, b), xs, ys, repeats),
        "metric_point_us": _per_call_us(snap.metric_point, xs, ys, repeats),
        "boundary_distance_us": _per_call_us(boundary, xs, ys, repeats),
    }


def measure(url: str, grids: int, points: int, repeats: int) -> dict[str, float]:
    """Everything about one layer (``grids`` = 0: the demo), in this process."""
    os.sched_setaffinity(0, {0})
    engine = create_engine(url)
    area = district(engine)
    engine.dispose()
    codes, geoms = demo_layer(url) if grids == 0 else voronoi_layer(area.bounds, grids)
    out = {"grids": float(len(codes)), "rss_layer_mib": _rss_mib()}
    started = time.perf_counter()
    index = GridIndex.build(codes, geoms, 1)
    out["build_s"] = time.perf_counter() - started
    out["rss_index_mib"] = _rss_mib()
    x, y = in_polygon(area, points, seed=11)
    out["points"] = float(len(x))
    out["agree"] = float(_agreement(index, x, y))
    out |= _locate_one_profile(index, x, y, repeats)
    started = time.perf_counter()
    snap = layer_snapshot(index)
    out["snapshot_s"] = time.perf_counter() - started
    out["rss_snapshot_mib"] = _rss_mib()
    few = max(len(x) // 5, 1)  # locate_point is ten times slower: a fifth of the points
    out |= _locate_point_profile(snap, x[:few], y[:few], repeats)
    return out


def run(url: str, grids: int, points: int, repeats: int) -> dict[str, float]:
    """:func:`measure` in a fresh process."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.growth",
            url,
            "--grids",
            str(grids),
            "--points",
            str(points),
            "--repeats",
            str(repeats),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def figures(demo: dict[str, float], big: dict[str, float]) -> list[Figure]:
    n = f"{int(big['grids']):,} grids"
    for layer in (demo, big):
        if layer["agree"] != layer["points"]:
            raise AssertionError(
                f"locate_one/locate_many differ from STRtree on the "
                f"{int(layer['grids'])}-grid layer"
            )
    peer = "596 demo grids"

    def versus(
        name: str,
        key: str,
        unit: str,
        goal: tuple[str, float] | None = None,
        note: str = "",
        scale: float = 1.0,
    ) -> Figure:
        return Figure(f"{name}, {n}", scale * big[key], unit, peer, scale * demo[key], goal, note)

    return [
        versus(
            "locate_one",
            "locate_one_us",
            "µs",
            ("<=", 1.2),
            f"{int(big['points']):,} pts in the district, all answers checked",
        ),
        *(
            versus(f"  locate_one, points in {kind} cells", f"locate_one_{kind}_us", "µs")
            for kind in CELL_KINDS
        ),
        *(
            versus(f"  points in {kind} raster cells", f"points_in_{kind}_cells", "%", scale=100)
            for kind in CELL_KINDS[1:]
        ),
        versus(
            "locate_point", "locate_point_us", "µs", ("<=", 1.2), "no compounds in either layer"
        ),
        versus("  metric point (part of locate_point)", "metric_point_us", "µs"),
        versus("  boundary distance (part of locate_point)", "boundary_distance_us", "µs"),
        Figure(
            f"peak RSS, GridIndex.build of {n}",
            big["rss_index_mib"],
            "MiB",
            goal=("<", 1024.0),
            note=f"layer alone {big['rss_layer_mib']:.0f} MiB",
        ),
        Figure(
            f"peak RSS with the snapshot of {n}",
            big["rss_snapshot_mib"],
            "MiB",
            note=f"snapshot parts built in {big['snapshot_s']:.1f} s",
        ),
        versus("GridIndex.build", "build_s", "s"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url", help="the bench database (district, demo grids)")
    parser.add_argument("--grids", type=int, default=0, help="0: the demo layer")
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(measure(args.url, args.grids, args.points, args.repeats)))


if __name__ == "__main__":
    main()
