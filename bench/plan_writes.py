"""Plan edits through OGC API – Features Part 4 beside the same edits through the plan API.

    python -m bench.plan_writes [--edits 40]

One ``geogrid serve`` as shipped on a throwaway demo database, one planner, one client, one
request at a time (a desktop GIS saves one feature after another). Two open plans; into each,
``--edits`` edits move a shared edge 10 m and back, alternately, on one pair of grids: into one
plan as QGIS sends them (``PATCH /ogc/collections/plan-{id}/items/{code}``, a merge patch of
the new outline), into the other as ``POST /v1/plans/{id}/edits`` with the same ``reshape``.
The doors alternate edit by edit. Printed: the median and worst milliseconds per write for
each door over the first and the last ten edits (a plan's edits are replayed to check each new
one, so a write costs more as the plan grows), their ratio, and a ``PUT`` of a grid exactly as
read (a no-op: read, fit, compare, store nothing).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from typing import Any

import httpx
import shapely
from sqlalchemy import create_engine

from bench.database import demo_database
from bench.http import _free_port
from geogrid.access import keys
from geogrid.access.roles import Role
from geogrid.geo.datum import to_metric

TEN_METRES = 10 / 111_320


def _pair(client: httpx.Client, items: str) -> tuple[dict[str, Any], dict[str, Any], Any]:
    grids = {f["id"]: f for f in client.get(items, params={"limit": 1000}).json()["features"]}
    shapes = {c: shapely.geometry.shape(f["geometry"]) for c, f in grids.items()}
    for a in sorted(grids):
        for b in sorted(grids):
            pa, pb = grids[a]["properties"], grids[b]["properties"]
            if a == b or pa["community_code"] != pb["community_code"]:
                continue
            if pa["kind"] != "resident" or pb["kind"] != "resident":
                continue
            if not shapes[a].intersects(shapes[b]):
                continue
            edge = shapely.line_merge(shapely.intersection(shapes[a].boundary, shapes[b].boundary))
            if edge.geom_type != "LineString" or to_metric(edge).length < 150:
                continue
            band = shapely.intersection(shapes[b], edge.buffer(TEN_METRES, cap_style="flat"))
            if shapely.get_num_geometries(shapely.difference(shapes[b], band)) == 1:
                return grids[a], grids[b], band
    raise RuntimeError("no pair of grids fits")


def _timed(send: Any) -> float:
    start = time.perf_counter()
    answer = send()
    elapsed = (time.perf_counter() - start) * 1000
    if answer.status_code >= 300:
        raise RuntimeError(f"{answer.status_code}: {answer.text[:300]}")
    return elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=40)
    args = parser.parse_args(argv)
    with demo_database() as url:
        engine = create_engine(url)
        with engine.begin() as conn:
            token = keys.create_key(conn, "bench-planner", Role.planner)[1]
        engine.dispose()
        port = _free_port()
        env = {**os.environ, "GEOGRID_DATABASE_URL": url, "GEOGRID_RATE_LIMITS": "false"}
        command = [sys.executable, "-m", "geogrid.cli.main", "serve", "--port", str(port)]
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/v1/health", timeout=5).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
            _run(base, token, args.edits)
        finally:
            process.terminate()
            process.wait(timeout=20)


def _run(base: str, token: str, edits: int) -> None:
    client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120)
    part4_plan = client.post("/v1/plans", json={"comment": "bench: Part 4"}).json()["id"]
    api_plan = client.post("/v1/plans", json={"comment": "bench: plan API"}).json()["id"]
    items = f"/ogc/collections/plan-{part4_plan}/items"
    a, _, band = _pair(client, items)
    outlines = [
        shapely.geometry.mapping(shapely.union(shapely.geometry.shape(a["geometry"]), band)),
        a["geometry"],
    ]
    patch = {"Content-Type": "application/merge-patch+json"}
    times: dict[str, list[float]] = {"Part 4 PATCH": [], "plan API POST": []}
    item, edits_url = f"{items}/{a['id']}", f"/v1/plans/{api_plan}/edits"
    for n in range(edits):
        outline = outlines[n % 2]
        body = {"op": "reshape", "grid": a["id"], "geometry": outline, "crs": "wgs84"}
        times["Part 4 PATCH"].append(
            _timed(lambda o=outline: client.patch(item, json={"geometry": o}, headers=patch))
        )
        times["plan API POST"].append(_timed(lambda b=body: client.post(edits_url, json=b)))
    read = client.get(f"{items}/{a['id']}")
    no_op = [
        _timed(
            lambda: client.put(
                f"{items}/{a['id']}",
                content=read.content,
                headers={"Content-Type": "application/geo+json"},
            )
        )
        for _ in range(10)
    ]
    print(f"\nplan writes, one at a time, {edits} edits per plan (ms per write)\n")
    print(
        f"{'door':<16} {'first 10: median':>17} {'worst':>7} {'last 10: median':>16} {'worst':>7}"
    )
    for door, found in times.items():
        first, last = found[:10], found[-10:]
        print(
            f"{door:<16} {statistics.median(first):>17.1f} {max(first):>7.1f}"
            f" {statistics.median(last):>16.1f} {max(last):>7.1f}"
        )
    ratio = statistics.median(times["Part 4 PATCH"][-10:]) / statistics.median(
        times["plan API POST"][-10:]
    )
    print(f"\nPart 4 / plan API, last 10: {ratio:.2f}x (1.00x: the door costs nothing)")
    print(f"PUT as read (no-op) after {edits} edits: median {statistics.median(no_op):.1f} ms")


if __name__ == "__main__":
    main()
