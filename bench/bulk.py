"""In-process figures on one core: bulk point-in-grid against its peers, and index builds.

Every peer (bench/peers.py) starts from the same numpy arrays of WGS84 (= storage) lon/lat
and ends with one grid index per point (the smallest code on ties, -1 outside); building each
peer's index is not timed. The answers are compared point by point: geogrid's must equal
each peer's.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import geopandas as gpd
import numpy as np
import shapely
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import StaticPool

from bench.database import backend_pid, pin_postgres
from bench.peers import postgis_locate, sjoin_locate, strtree_locate
from bench.report import Figure
from geogrid.geo import datum
from geogrid.geo.locator import GridIndex
from geogrid.lookup import snapshot

T = TypeVar("T")
CPU = 0


@contextmanager
def one_core(cpu: int | set[int] = CPU) -> Iterator[None]:
    """Run this process on one core (or the set of cores given) for the duration."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu} if isinstance(cpu, int) else cpu)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def timed(fn: Callable[[], T], repeats: int) -> tuple[float, T]:
    """Best wall time of ``repeats`` calls after a warm-up call, and the last result.

    The best, not the median: on a shared machine the slower runs measure the neighbours.
    """
    result = fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), result


def bulk_figures(
    engine: Engine, x: np.ndarray, y: np.ndarray, postgis_points: int, repeats: int
) -> list[Figure]:
    """geogrid's locate_many against STRtree, sjoin and PostGIS, on one core."""
    n = len(x)
    with engine.connect() as conn:
        snap = snapshot.build(conn, _current(conn))
    index = snap.index
    tree = shapely.STRtree(index.geoms)
    frame = gpd.GeoDataFrame({"grid": np.arange(len(index.codes))}, geometry=index.geoms, crs=4490)
    frame.sindex  # noqa: B018 (build the right-hand tree before timing, as for the others)
    engine = _pinned_engine(engine)
    with one_core():
        t_geogrid, (ours, _) = timed(lambda: index.locate_many(x, y), max(repeats, 5))
        t_tree, theirs = timed(lambda: strtree_locate(tree, x, y), repeats)
        t_sjoin, joined = timed(lambda: sjoin_locate(frame, x, y), repeats)
        px, py = x[:postgis_points], y[:postgis_points]
        t_postgis, in_db = timed(lambda: postgis_locate(engine, index.codes, px, py), repeats)
        gx, gy = datum.wgs84_to_gcj02(x, y)
        t_datum, (sx, sy) = timed(lambda: datum.to_storage(gx, gy, "gcj02"), repeats)
    engine.dispose()
    ours64 = ours.astype(np.int64)
    for peer, answer, m in (
        ("STRtree", theirs, n),
        ("sjoin", joined, n),
        ("PostGIS", in_db, postgis_points),
    ):
        wrong = np.flatnonzero(ours64[:m] != answer)
        if len(wrong):
            i = int(wrong[0])
            raise AssertionError(
                f"locate_many differs from {peer} at {len(wrong)} of {m} "
                f"points, first ({x[i]!r}, {y[i]!r}): {ours64[i]} vs {answer[i]}"
            )
    print(
        f"  answers equal: STRtree {n:,}/{n:,}, sjoin {n:,}/{n:,}, "
        f"PostGIS {postgis_points:,}/{postgis_points:,}; "
        f"{int((ours64 >= 0).sum()):,} points in a grid",
        flush=True,
    )
    round_trip = float(max(np.abs(sx - x).max(), np.abs(sy - y).max()))
    rate = n / t_geogrid / 1e6
    per_s = {
        "STRtree": n / t_tree / 1e6,
        "geopandas sjoin": n / t_sjoin / 1e6,
        "PostGIS join": postgis_points / t_postgis / 1e6,
    }
    label = f"{n:,} pts"
    out = [Figure("locate_many throughput", rate, "M pts/s", goal=(">=", 10.0), note=label)]
    out += [
        Figure(
            "locate_many throughput",
            rate,
            "M pts/s",
            peer,
            value,
            (">=", 20.0) if peer == "STRtree" else None,
            note=label if peer != "PostGIS join" else f"PostGIS on {postgis_points:,}",
        )
        for peer, value in per_s.items()
    ]
    out += [
        Figure(
            "locate_many answers equal to STRtree and sjoin",
            n,
            "pts",
            note=f"and PostGIS on {postgis_points:,}",
        ),
        Figure(
            "GCJ-02 -> storage, datum.to_storage (timed apart)",
            n / t_datum / 1e6,
            "M pts/s",
            note=f"{t_datum:.2f} s for {label}; round trip ≤ {round_trip:.0e}°",
        ),
        Figure("locate_many time", t_geogrid * 1e3, "ms", note=label),
    ]
    return out


def _current(conn: Connection) -> int:
    return int(conn.execute(text("SELECT max(id) FROM boundary_release")).scalar_one())


def _pinned_engine(engine: Engine) -> Engine:
    """A one-connection engine whose PostgreSQL backend runs on the benchmark's core."""
    url = engine.url.render_as_string(hide_password=False)
    pinned = create_engine(url, poolclass=StaticPool)
    with pinned.connect() as conn:
        pin_postgres(url, backend_pid(conn), {CPU})
    return pinned


def build_figures(engine: Engine, repeats: int) -> list[Figure]:
    """GridIndex.build and snapshot.build for the demo layer, on one core."""
    with engine.connect() as conn:
        release = _current(conn)
        snap = snapshot.build(conn, release)
    codes, geoms = snap.index.codes, snap.index.geoms
    pinned = _pinned_engine(engine)
    with one_core():
        t_index, _ = timed(lambda: GridIndex.build(codes, geoms, release), repeats)

        def build_snapshot() -> None:
            with pinned.connect() as conn:
                snapshot.build(conn, release)

        t_snapshot, _ = timed(build_snapshot, repeats)
    pinned.dispose()
    return [
        Figure("GridIndex.build", t_index, "s", goal=("<", 2.0), note=f"{len(codes)} grids"),
        Figure(
            "snapshot.build", t_snapshot, "s", goal=("<", 2.0), note="incl. reading the release"
        ),
    ]
