"""Walking networks on the demo: which routing library, and every station's service areas.

    .venv/bin/python -m bench.network [--rounds 3]

No database: the demo's generated network (``data/yaohai_demo_paths.gpkg``) and stations
(``data/yaohai_demo.gpkg``), as ``geogrid load … --layer paths`` reads them.

1. *Routing*: walking metres from every station to every node within the farthest tier
   (1000 m), with SciPy's ``csgraph.dijkstra`` (what geogrid ships: a distance limit, in C)
   and igraph's ``Graph.distances`` (C; no limit, so the whole graph), same answers checked.
   pgRouting would answer inside PostgreSQL, but each of its calls rebuilds the graph from a
   SQL query; the areas are drawn in GEOS in this process anyway.
2. *Drawing*: every station's 5-, 10- and 15-minute areas (the target: under 5 s), as
   shipped (each reached segment buffered alone, then one union) against drawing the reached
   paths as one GEOS buffer, on one thread and on two.
3. *Served* (with ``--served``; a throwaway demo database, ``GEOGRID_DATABASE_URL`` or the
   embedded cluster, and ``geogrid serve`` on it): ``geogrid load … --layer paths`` as a user
   runs it (publish and redraw every area), then ``GET /v1/coverage`` (district, 15 minutes)
   cold and warm over HTTP on the network's areas, beside the same on the circles (the
   target: warm under 200 ms).

Needs ``igraph`` for step 1 (``.venv/bin/pip install igraph``); without it step 1 runs SciPy
alone.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from geogrid.geo.datum import to_metric
from geogrid.network.areas import Reach, service_area
from geogrid.network.graph import WalkingGraph
from geogrid.network.stations import station_areas
from geogrid.settings import ServiceAreaSettings

DATA = Path(__file__).resolve().parent.parent / "data"


def timed(fn: Callable[[], object], rounds: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def one_buffer_areas(graph: WalkingGraph, reach: Reach, metres: float, access: float) -> object:
    """The baseline drawing: the same pieces, but the whole paths as one GEOS buffer."""
    segs = reach.reached_segments()
    du, dv = reach.node_m[graph.seg_u[segs]], reach.node_m[graph.seg_v[segs]]
    whole = (du + dv + graph.seg_length[segs]) / 2 <= metres - access
    lines = shapely.linestrings(np.stack([graph.seg_a[segs[whole]], graph.seg_b[segs[whole]]], 1))
    core = shapely.buffer(shapely.multilinestrings(lines), access, quad_segs=8)
    return shapely.union(core, service_area(reach, metres, access))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--served", action="store_true", help="also part 3 (a database)")
    args = parser.parse_args()
    settings = ServiceAreaSettings()
    tiers, access = settings.tier_distances_m, settings.network_access_m
    paths = gpd.read_file(DATA / "yaohai_demo_paths.gpkg", layer="paths", engine="pyogrio")
    stations = gpd.read_file(DATA / "yaohai_demo.gpkg", layer="stations", engine="pyogrio")
    started = time.perf_counter()
    graph = WalkingGraph(to_metric(line) for line in paths.geometry)
    print(
        f"demo network: {len(paths)} paths, {graph.nodes} nodes, {graph.segments} segments "
        f"(graph built in {time.perf_counter() - started:.2f} s); {len(stations)} stations; "
        f"tiers {dict(tiers)} m, access leg {access:.0f} m"
    )
    points = [to_metric(p).coords[0] for p in stations.geometry]
    xy = np.asarray(points)
    joints = graph.join(xy[:, 0], xy[:, 1])
    farthest = max(tiers.values())

    # 1. routing
    scipy_s, reaches = timed(
        lambda: [Reach.from_origin(graph, j, farthest) for j in joints], args.rounds
    )
    print(
        f"\n1. walking metres from all {len(joints)} stations to the nodes within {farthest:.0f} m"
    )
    print(f"   scipy.sparse.csgraph.dijkstra (shipped): {scipy_s * 1000:8.1f} ms")
    try:
        import igraph
    except ImportError:
        print("   igraph: not installed (.venv/bin/pip install igraph)")
    else:
        coo = graph.matrix.tocoo()
        keep = coo.row < coo.col
        g = igraph.Graph(
            n=graph.nodes, edges=np.column_stack([coo.row[keep], coo.col[keep]]).tolist()
        )
        weights = coo.data[keep].tolist()

        def with_igraph() -> list[np.ndarray]:
            out = []
            for j in joints:
                rows = np.asarray(
                    g.distances(
                        source=[graph.seg_u[j.segment], graph.seg_v[j.segment]], weights=weights
                    )
                )
                to_u = j.access + j.along
                to_v = j.access + graph.seg_length[j.segment] - j.along
                d = np.minimum(rows[0] + to_u, rows[1] + to_v)
                d[d > farthest] = np.inf
                out.append(d)
            return out

        igraph_s, found = timed(with_igraph, args.rounds)
        assert all(
            np.allclose(a, r.node_m, equal_nan=True)  # type: ignore[attr-defined]
            for a, r in zip(found, reaches, strict=True)  # type: ignore[call-overload]
        ), "igraph and SciPy disagree"
        print(
            f"   igraph Graph.distances (whole graph):   {igraph_s * 1000:8.1f} ms   "
            f"SciPy is {igraph_s / scipy_s:.2f}x as fast (same metres to the nearest mm)"
        )

    # 2. drawing
    print(f"\n2. every station's {len(tiers)} service areas (target: under 5 s)")
    results = {}
    for threads in (1, 2):
        seconds, drawn = timed(
            lambda threads=threads: station_areas(graph, points, tiers, access, threads=threads),
            args.rounds,
        )
        results[threads] = seconds
        areas = sum(len(s.areas) for s in drawn)  # type: ignore[attr-defined]
        print(
            f"   shipped, {threads} thread(s): {seconds:6.2f} s for {areas} areas "
            f"({seconds / len(points) * 1000:.1f} ms per station)"
        )
    baseline_s, _ = timed(
        lambda: [
            one_buffer_areas(graph, r, m, access)
            for r in reaches  # type: ignore[attr-defined]
            for m in tiers.values()
        ],
        1,
    )
    print(
        f"   baseline, the reached paths as one GEOS buffer, 1 thread: {baseline_s:6.2f} s "
        f"(shipped on 1 thread is {baseline_s / results[1]:.1f}x as fast)"
    )
    verdict = "met" if min(results.values()) < 5 else "NOT met"
    print(f"\n   target under 5 s: {verdict} ({min(results.values()):.2f} s)")
    if args.served:
        served()


def coverage_times(base: str, warm: int = 20) -> tuple[float, float, str]:
    """The first GET /v1/coverage, the median of ``warm`` more (ms), and its method."""
    import httpx

    times, method = [], ""
    with httpx.Client(base_url=base, timeout=120) as client:
        for _ in range(warm + 1):
            started = time.perf_counter()
            answer = client.get("/v1/coverage")
            answer.raise_for_status()
            times.append((time.perf_counter() - started) * 1000)
            method = answer.json()["method"]["method"]
    return times[0], statistics.median(times[1:]), method


def served() -> None:
    import tempfile

    from sqlalchemy import create_engine

    from bench import http
    from bench.database import demo_database
    from geogrid.io import loading

    print("\n3. served: geogrid load --layer paths, then GET /v1/coverage (district, 15 min)")
    with (
        demo_database() as url,
        tempfile.TemporaryDirectory() as tmp,
        http.server(url, Path(tmp)) as base,
    ):
        first, warm, method = coverage_times(base)
        print(f"   circles ({method}): first {first:7.1f} ms, warm median {warm:6.1f} ms")
        engine = create_engine(url)
        started = time.perf_counter()
        with engine.begin() as conn:
            report = loading.load_file(
                conn, DATA / "yaohai_demo_paths.gpkg", "paths", None, ServiceAreaSettings()
            )
        publish_s = time.perf_counter() - started
        engine.dispose()
        print(
            f"   publishing the network and redrawing every area: {publish_s:.2f} s "
            f"({'; '.join(report.notes)})"
        )
        first, warm, method = coverage_times(base)
        print(
            f"   network ({method}): first {first:7.1f} ms, warm median {warm:6.1f} ms "
            f"(target warm under 200 ms: {'met' if warm < 200 else 'NOT met'})"
        )


if __name__ == "__main__":
    main()
