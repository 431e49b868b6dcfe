"""POST /v1/locate with a million points in each format: client wall time and server time.

The client (this process, on core 1) sends a prepared body over loopback to the bench server
(core 0) and reads the whole answer. Server time is the route's own work, timed in this process
on core 0 by calling the function the route runs (``api.routes.locate._locate_batch``): parse,
datum, locate and encode, without the transfer.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import httpx
import numpy as np
import orjson
from sqlalchemy import Engine

from bench.report import Figure, median
from geogrid.api.routes.locate import _locate_batch, _read_points
from geogrid.geo.points import points_to_storage
from geogrid.lookup.locate import code_table, locate_points
from geogrid.lookup.snapshot import SnapshotStore

FORMATS = {
    "binary": "application/octet-stream",
    "csv": "text/csv",
    "json": "application/json",
}


@dataclass(frozen=True)
class BatchTimes:
    client_s: float
    server_s: float
    stages: dict[str, float]


def bodies(lon: np.ndarray, lat: np.ndarray) -> dict[str, bytes]:
    """The same points as a binary, CSV and JSON request body."""
    pairs = np.column_stack([lon, lat]).astype("<f8")
    csv = "id,lon,lat\n" + "".join(
        f"{i},{x!r},{y!r}\n"
        for i, (x, y) in enumerate(zip(lon.tolist(), lat.tolist(), strict=True))
    )
    return {
        "binary": pairs.tobytes(),
        "csv": csv.encode(),
        "json": orjson.dumps({"crs": "wgs84", "points": pairs}, option=orjson.OPT_SERIALIZE_NUMPY),
    }


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _expected_codes(store: SnapshotStore, lon: np.ndarray, lat: np.ndarray) -> list[str]:
    snapshot = store.current()
    grid, _ = locate_points(snapshot, lon, lat)
    return [c.decode() for c in code_table(snapshot)[grid].tolist()]


def _check(reply: httpx.Response, fmt: str, expected: list[str]) -> None:
    reply.raise_for_status()
    if fmt == "binary":
        got = np.frombuffer(reply.content, dtype=[("code", "S15"), ("b", "u1")])["code"]
        codes = [c.decode() for c in got.tolist()]
    elif fmt == "csv":
        codes = [line.split(",")[1] for line in reply.text.splitlines()[1:]]
    else:
        codes = [r["grid"] or "" for r in orjson.loads(reply.content)["results"]]
    if codes != expected:
        wrong = sum(a != b for a, b in zip(codes, expected, strict=False))
        raise AssertionError(
            f"POST /v1/locate ({fmt}) differs from locate_many at {wrong} "
            f"points (of {len(expected)})"
        )


def measure(
    base: str, engine: Engine, lon: np.ndarray, lat: np.ndarray, repeats: int
) -> dict[str, BatchTimes]:
    """Client and server time per format; every answer checked against locate_many."""
    store = SnapshotStore(engine)
    expected = _expected_codes(store, lon, lat)
    prepared = bodies(lon, lat)
    affinity = os.sched_getaffinity(0)
    found = {}
    try:
        with httpx.Client(base_url=base, timeout=300) as client:
            for fmt, content_type in FORMATS.items():
                body = prepared[fmt]
                headers = {"content-type": content_type}
                os.sched_setaffinity(0, {1})
                client_s = []
                for _ in range(repeats):
                    started = time.perf_counter()
                    reply = client.post("/v1/locate", content=body, headers=headers)
                    client_s.append(time.perf_counter() - started)
                    _check(reply, fmt, expected)
                os.sched_setaffinity(0, {0})
                server_s = [
                    _timed(partial(_locate_batch, store, body, content_type, None))
                    for _ in range(repeats)
                ]
                found[fmt] = BatchTimes(
                    median(client_s),
                    min(server_s),
                    _stages(store, body, content_type, min(server_s)),
                )
    finally:
        os.sched_setaffinity(0, affinity)
    return found


def _stages(store: SnapshotStore, body: bytes, content_type: str, total: float) -> dict[str, float]:
    """Where the server's time goes: parse, datum, locate, and the rest (encode the answer)."""
    started = time.perf_counter()
    lon, lat, crs, _, _ = _read_points(body, content_type, None)
    parsed = time.perf_counter()
    x, y = points_to_storage(lon, lat, crs)
    converted = time.perf_counter()
    locate_points(store.current(), x, y)
    located = time.perf_counter()
    return {
        "parse": parsed - started,
        "datum": converted - parsed,
        "locate": located - converted,
        "encode": max(total - (located - started), 0.0),
    }


def figures(times: dict[str, BatchTimes], n: int) -> list[Figure]:
    fastest = min(times, key=lambda f: times[f].client_s)
    out = []
    for fmt, t in times.items():
        stages = ", ".join(f"{k} {v:.2f}" for k, v in t.stages.items())
        goal = ("<", 3.0) if fmt == fastest else None
        out.append(
            Figure(
                f"POST /v1/locate {n:,} pts {fmt}: client wall",
                t.client_s,
                "s",
                goal=goal,
                note="fastest format" if goal else "",
            )
        )
        out.append(
            Figure(f"POST /v1/locate {n:,} pts {fmt}: server", t.server_s, "s", note=f"s: {stages}")
        )
    return out
