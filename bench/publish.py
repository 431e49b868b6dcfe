"""Publishing a plan: one transfer between two neighbouring grids, published as a release.

Each round opens a plan on the current release, moves a ~20 m strip from one grid to its
neighbour (a one-grid edit: it touches those two grids) and times ``plans.publish_plan`` up to
the commit: replaying the edit, checking every invariant on the whole layer, the new release,
lineage and audit. Rounds follow one another on one throwaway demo database, so each publishes
on top of the last; the figure is the best of them.

    python -m bench.publish   # this figure alone (bench/README.md: measured separately)
"""

from __future__ import annotations

import time
from typing import Any

import shapely
from sqlalchemy import Engine, create_engine

from bench.database import demo_database
from bench.report import Figure, table
from geogrid import plans
from geogrid.boundaries import releases
from geogrid.geo.datum import to_metric

#: Strip width in degrees of CGCS2000 (~20 m at 31.8° N).
STRIP_DEG = 0.0002


def transfer_edit(engine: Engine, skip: int = 0) -> dict[str, Any]:
    """A transfer of a strip of one grid to a neighbour of its community along a long edge."""
    with engine.connect() as conn:
        current = releases.current_release(conn)
        assert current is not None
        layer = plans.base_layer(conn, current.id)
    codes = sorted(layer.grids)
    found = 0
    for i, a in enumerate(codes):
        for b in codes[i + 1 :]:
            ga, gb = layer.grids[a], layer.grids[b]
            if ga["community_code"] != gb["community_code"]:
                continue
            edge = shapely.intersection(ga["geometry"].boundary, gb["geometry"].boundary)
            if to_metric(edge).length < 300:
                continue
            strip = shapely.intersection(ga["geometry"], edge.buffer(STRIP_DEG))
            rest = shapely.difference(ga["geometry"], strip)
            if shapely.get_num_geometries(rest) != 1 or not rest.is_valid:
                continue
            if found == skip:
                return {
                    "op": "transfer",
                    "from": a,
                    "to": b,
                    "crs": "cgcs2000",
                    "area": dict(shapely.geometry.mapping(strip)),
                    "comment": "bench",
                }
            found += 1
    raise RuntimeError("no pair of neighbouring grids to move a strip between")


def measure(url: str, rounds: int = 3) -> list[float]:
    """Seconds for each round's publish_plan (plan and edit made before the clock starts)."""
    engine = create_engine(url)
    times = []
    try:
        for i in range(rounds):
            edit = transfer_edit(engine, skip=i)
            with engine.begin() as conn:
                plan = plans.create_plan(conn, f"bench round {i + 1}", "bench")
                plans.add_edit(conn, plan.id, edit, "bench")
            started = time.perf_counter()
            with engine.begin() as conn:
                plans.publish_plan(conn, plan.id, "bench")
            times.append(time.perf_counter() - started)
    finally:
        engine.dispose()
    return times


def figures(rounds: int = 3) -> list[Figure]:
    """Best of ``rounds`` publishes on a throwaway demo database, against the 1 s target."""
    with demo_database() as url:
        times = measure(url, rounds)
    print("  publish_plan rounds: " + ", ".join(f"{t:.3f} s" for t in times), flush=True)
    return [
        Figure(
            f"publish a plan: one transfer, two grids (best of {len(times)})",
            min(times),
            "s",
            goal=("<", 1.0),
            note="to commit, incl. full check",
        )
    ]


if __name__ == "__main__":
    print("\n" + table(figures()) + "\n")
