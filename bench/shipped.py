"""geogrid as shipped against the framework's ceiling, in one run.

Two servers, both one uvicorn worker pinned to core 0 with the options of ``geogrid serve``
(``geogrid.cli.main.uvicorn_options``), wrk on core 1:

* ``geogrid serve`` itself: its default logging (one JSON line per request, to a file), its
  request middleware (request id, security headers, metrics), rate limits on;
* ``bench/echo_app.py``: a bare FastAPI app whose one ``async def`` route echoes ``lon`` and
  ``lat`` — no access log, no middleware: what FastAPI and uvicorn can do at best.

Rounds alternate the three targets (echo, locate, nearest station) so drift spreads over all;
figures are medians over rounds. Targets (issue 11): locate >= 0.75x and nearest >= 0.7x the
echo's requests per second.

Run alone: ``python -m bench.shipped [--rounds N] [--seconds S]`` (makes its own database).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from bench import points
from bench.database import demo_database
from bench.http import (
    CLIENT_CPU,
    CONNECTIONS,
    SERVER_CPU,
    WrkRun,
    _free_port,
    lua_script,
    pinned,
    summary,
    wrk,
)
from bench.report import Figure, median, table
from geogrid import db


@contextmanager
def servers(database_url: str, workdir: Path) -> Iterator[tuple[str, str]]:
    """``geogrid serve`` and the bare echo app, both on core 0; yield their base URLs."""
    env = {**os.environ, "GEOGRID_DATABASE_URL": database_url}
    shipped_port, echo_port = _free_port(), _free_port()
    shipped = f"http://127.0.0.1:{shipped_port}"
    echo = f"http://127.0.0.1:{echo_port}"
    serve = [sys.executable, "-m", "geogrid.cli.main", "serve", "--port", str(shipped_port)]
    bare = [sys.executable, "-m", "bench.launch", "127.0.0.1", str(echo_port)]
    with (
        pinned(serve, env, workdir / "geogrid-serve.log", shipped + "/v1/health"),
        pinned(bare, env, workdir / "echo.log", echo + "/echo?lon=1&lat=2"),
    ):
        yield shipped, echo


def throughput(
    shipped: str,
    echo: str,
    lon: np.ndarray,
    lat: np.ndarray,
    workdir: Path,
    rounds: int,
    seconds: int,
) -> dict[str, list[WrkRun]]:
    targets = {
        "echo (async, bare)": (echo, lua_script(workdir / "echo.lua", "/echo", lon, lat)),
        "locate": (shipped, lua_script(workdir / "locate.lua", "/v1/locate", lon, lat)),
        "nearest": (
            shipped,
            lua_script(workdir / "nearest.lua", "/v1/stations/nearest", lon, lat),
        ),
    }
    for base, script in targets.values():
        wrk(base + "/", 2, script)  # warm-up
    runs: dict[str, list[WrkRun]] = {name: [] for name in targets}
    for round_ in range(rounds):
        for name, (base, script) in targets.items():
            run = wrk(base + "/", seconds, script)
            runs[name].append(run)
            print(
                f"  round {round_ + 1}: {name:<20} {run.requests_per_s:>9,.0f} req/s  "
                f"p99 {run.p99_ms:.2f} ms",
                flush=True,
            )
    return runs


def figures(runs: dict[str, list[WrkRun]]) -> list[Figure]:
    rate = {name: median([r.requests_per_s for r in rs]) for name, rs in runs.items()}
    ceiling = rate["echo (async, bare)"]
    note = f"as shipped, 1 worker, core 0; wrk -c{CONNECTIONS} core 1"
    return [
        Figure(
            "GET /v1/locate req/s (geogrid serve)",
            rate["locate"],
            "req/s",
            "bare FastAPI async echo",
            ceiling,
            (">=", 0.75),
            note,
        ),
        Figure(
            "GET /v1/stations/nearest req/s (geogrid serve)",
            rate["nearest"],
            "req/s",
            "bare FastAPI async echo",
            ceiling,
            (">=", 0.7),
            note,
        ),
    ]


def run(url: str, rounds: int, seconds: int, http_points: int = 1000) -> list[Figure]:
    engine = db.make_engine(url)
    area = points.district(engine)
    engine.dispose()
    lon, lat = points.in_polygon(area, http_points)
    with tempfile.TemporaryDirectory(prefix="geogrid-shipped-") as tmp:
        workdir = Path(tmp)
        with servers(url, workdir) as (shipped, echo):
            runs = throughput(shipped, echo, lon, lat, workdir, rounds, seconds)
    for line in summary(runs):
        print("  " + line)
    return figures(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    print(
        f"geogrid serve vs a bare async echo: {args.rounds} rounds of {args.seconds} s, "
        f"servers on core {SERVER_CPU}, wrk on core {CLIENT_CPU}",
        flush=True,
    )
    with demo_database() as url:
        print(table(run(url, args.rounds, args.seconds)))


if __name__ == "__main__":
    main()
