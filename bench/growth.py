"""Cost growth: one point on the 596 demo grids against a synthetic 100,000-grid layer.

``python -m bench.growth`` makes its own throwaway demo database, measures, prints the table and
drops the database; ``python -m bench`` runs the same section. The synthetic layer is the
Voronoi diagram of random points in the district's bounding box, clipped to the box. Two fresh
processes, on core 0:

* *timing*: both layers in one process, asked about the same random points inside the district
  in alternating passes (demo, then big, figure by figure), the best pass of each after a
  warm-up round: on a shared machine a slow pass measures the neighbours, and alternating keeps
  a slow spell from landing on one layer only. Every answer of ``locate_one`` and
  ``locate_many`` is checked against an STRtree. ``locate_one`` is
  ``GridIndex.locate_one`` per call (also by the kind of raster cell the point is in);
  ``locate_point`` is ``geogrid.lookup.locate.locate_point`` (the whole single-point answer)
  on a snapshot assembled as ``geogrid.lookup.snapshot.build`` assembles one, without compounds
  or stations (the synthetic layer has none, so the demo's are left out too), with its two
  costly parts.
* *memory*: the big layer alone: the process's peak resident set (VmHWM) after
  ``GridIndex.build`` and after the snapshot, the snapshot's build time, and
  ``GridIndex.build``'s (the best of 3, like the demo's builds in ``bench.bulk``).
"""

from __future__ import annotations

import argparse
import json
import math
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

from bench.database import demo_database
from bench.peers import strtree_locate
from bench.points import district, in_polygon
from bench.report import Figure, table
from geogrid.boundaries.grids import Grid, Person, Unit
from geogrid.boundaries.releases import BoundaryRelease
from geogrid.geo.locator import GridIndex
from geogrid.lookup.locate import locate_point
from geogrid.lookup.snapshot import Snapshot, assemble

#: What GridIndex.cell_kinds numbers 0 (pure), 1 (line) and 2 (walk).
CELL_KINDS = ("pure", "line", "walk")
LAYERS = ("demo", "big")
Result = dict[str, dict[str, float]]


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


def _pass_us(fn: Callable[[float, float], object], xs: list[float], ys: list[float]) -> float:
    """Microseconds per call over one pass through the points."""
    started = time.perf_counter()
    for x, y in zip(xs, ys, strict=True):
        fn(x, y)
    return (time.perf_counter() - started) / len(xs) * 1e6


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


Passes = dict[str, tuple[Callable[[float, float], object], list[float], list[float]]]


def _passes(index: GridIndex, snap: Snapshot, x: np.ndarray, y: np.ndarray) -> Passes:
    """What is timed on one layer: locate_one (all points, and by kind of cell), locate_point
    and its two costly parts (on a fifth of the points: they are ten times slower)."""
    kinds = index.cell_kinds(x, y)
    passes: Passes = {"locate_one_us": (index.locate_one, x.tolist(), y.tolist())}
    for kind, name in enumerate(CELL_KINDS):
        if (kinds == kind).any():
            chosen = kinds == kind
            passes[f"locate_one_{name}_us"] = (
                index.locate_one,
                x[chosen].tolist(),
                y[chosen].tolist(),
            )
    few = max(len(x) // 5, 1)
    xs, ys = x[:few].tolist(), y[:few].tolist()
    grids = [snap.locate(a, b).grid for a, b in zip(xs, ys, strict=True)]
    points = [snap.metric_point(a, b) for a, b in zip(xs, ys, strict=True)]
    at = {(a, b): i for i, (a, b) in enumerate(zip(xs, ys, strict=True))}

    def boundary(a: float, b: float) -> None:
        i = at[a, b]
        if grids[i] >= 0:
            snap.distance_to_other_grid(points[i], grids[i])

    passes["locate_point_us"] = (lambda a, b: locate_point(snap, a, b), xs, ys)
    passes["metric_point_us"] = (snap.metric_point, xs, ys)
    passes["boundary_distance_us"] = (boundary, xs, ys)
    return passes


def measure_timing(url: str, grids: int, points: int, repeats: int) -> Result:
    """Both layers in this process, timed in alternating passes (the best of ``repeats``)."""
    os.sched_setaffinity(0, {0})
    engine = create_engine(url)
    area = district(engine)
    engine.dispose()
    x, y = in_polygon(area, points, seed=11)
    out: Result = {}
    passes: dict[str, Passes] = {}
    for layer in LAYERS:
        codes, geoms = demo_layer(url) if layer == "demo" else voronoi_layer(area.bounds, grids)
        started = time.perf_counter()
        index = GridIndex.build(codes, geoms, 1)
        build_s = time.perf_counter() - started
        kinds = index.cell_kinds(x, y)
        out[layer] = {
            "grids": float(len(codes)),
            "build_s": build_s,
            "points": float(len(x)),
            "agree": float(_agreement(index, x, y)),
            "cell_m": index.raster.cell_m,
            "raster_cells": float(index.raster.nx * index.raster.ny),
        } | {
            f"points_in_{name}_cells": float((kinds == k).mean())
            for k, name in enumerate(CELL_KINDS)
        }
        passes[layer] = _passes(index, layer_snapshot(index), x, y)
    for round_ in range(repeats + 1):  # round 0 warms up
        for name in passes["demo"]:
            for layer in LAYERS:
                if name in passes[layer]:
                    taken = _pass_us(*passes[layer][name])
                    if round_:
                        out[layer][name] = min(out[layer].get(name, math.inf), taken)
    return out


def measure_memory(url: str, grids: int, builds: int = 3) -> dict[str, float]:
    """The big layer alone: this process's peak resident set after the index and after the
    snapshot, then the build times (the best of ``builds``, the first included)."""
    os.sched_setaffinity(0, {0})
    engine = create_engine(url)
    area = district(engine)
    engine.dispose()
    codes, geoms = voronoi_layer(area.bounds, grids)
    out = {"grids": float(len(codes)), "rss_layer_mib": _rss_mib()}
    started = time.perf_counter()
    index = GridIndex.build(codes, geoms, 1)
    times = [time.perf_counter() - started]
    out["rss_index_mib"] = _rss_mib()
    started = time.perf_counter()
    snap = layer_snapshot(index)
    out["snapshot_s"] = time.perf_counter() - started
    out["rss_snapshot_mib"] = _rss_mib()
    del snap, index
    for _ in range(builds - 1):
        started = time.perf_counter()
        GridIndex.build(codes, geoms, 1)
        times.append(time.perf_counter() - started)
    out["build_s"] = min(times)
    return out


def _child(url: str, part: str, grids: int, points: int, repeats: int) -> object:
    """A measurement in a fresh process (``python -m bench.growth --part ...``)."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.growth",
            "--part",
            part,
            "--url",
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
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(url: str, grids: int, points: int, repeats: int) -> Result:
    """Timing and memory, each in a fresh process: ``{"demo": {...}, "big": {...}}``."""
    timing: Result = _child(url, "timing", grids, points, repeats)  # type: ignore[assignment]
    memory: dict[str, float] = _child(url, "memory", grids, points, repeats)  # type: ignore[assignment]
    timing["big"]["build_in_timing_s"] = timing["big"].pop("build_s")
    return {"demo": timing["demo"], "big": timing["big"] | memory}


def details(result: Result) -> list[str]:
    """One line per layer, every figure measured."""
    return [
        f"{int(layer['grids']):>7,} grids: " + ", ".join(f"{k} {v:.3g}" for k, v in layer.items())
        for layer in result.values()
    ]


def figures(result: Result) -> list[Figure]:
    demo, big = result["demo"], result["big"]
    n = f"{int(big['grids']):,} grids"
    for layer in (demo, big):
        if layer["agree"] != layer["points"]:
            raise AssertionError(
                f"locate_one/locate_many differ from STRtree on the "
                f"{int(layer['grids'])}-grid layer"
            )
    peer = f"{int(demo['grids'])} demo grids"

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
            if f"locate_one_{kind}_us" in big and f"locate_one_{kind}_us" in demo
        ),
        *(
            versus(f"  points in {kind} raster cells", f"points_in_{kind}_cells", "%", scale=100)
            for kind in CELL_KINDS[1:]
        ),
        versus(
            "  raster cell side",
            "cell_m",
            "m",
            note=f"{big['raster_cells'] / 1e6:.1f} M cells against {demo['raster_cells'] / 1e6:.2f} M",
        ),
        versus(
            "locate_point", "locate_point_us", "µs", ("<=", 1.2), "no compounds in either layer"
        ),
        versus("  metric point (part of locate_point)", "metric_point_us", "µs"),
        versus("  boundary distance (part of locate_point)", "boundary_distance_us", "µs"),
        Figure(
            f"GridIndex.build, {n}",
            big["build_s"],
            "s",
            goal=("<", 5.0),
            note=f"{peer}: {demo['build_s']:.3f} s",
        ),
        Figure(
            f"snapshot of {n}, after GridIndex.build (Grid objects, snapshot.assemble)",
            big["snapshot_s"],
            "s",
        ),
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
            goal=("<", 1024.0),
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.growth", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--grids", type=int, default=100_000, help="the synthetic layer's size")
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5, help="timed passes (best of)")
    parser.add_argument("--part", choices=["timing", "memory"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part == "timing":
        print(json.dumps(measure_timing(args.url, args.grids, args.points, args.repeats)))
    elif args.part == "memory":
        print(json.dumps(measure_memory(args.url, args.grids)))
    else:
        started = time.perf_counter()
        with demo_database() as url:
            result = run(url, args.grids, args.points, args.repeats)
        for line in details(result):
            print("  " + line)
        print("\n" + table(figures(result)))
        print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
