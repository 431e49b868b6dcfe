"""Throughput of `geogrid serve --workers N` for N = 1, 2 and 4, in one run, as ratios to 1.

Each server is `geogrid serve` as shipped (access log on, written to a file; every worker
builds its own snapshot and follows releases), on a throwaway demo database. Two routes:

* ``GET /v1/locate`` at 1000 random points in the district: answered from the worker's
  memory, no database;
* ``GET /v1/grids/{code}`` for every grid in turn: one grid with its people and geometry,
  read from PostgreSQL through the database gate (a slot, a pooled connection, a
  transaction), the map viewer's click.

wrk runs on core 1 (``taskset -c 1 wrk -t1 -c16``, as bench/http.py); the servers and PostgreSQL are not
pinned: a fleet is measured on every core it has. Rounds alternate the worker counts (each
round starting one later), one server at a time; figures are medians over rounds. A request
that times out (wrk's 2 s) or is answered 503 (its 5 s deadline passed) is counted and
printed; more than 1 % of a run stops the benchmark, as in bench/http.py.

    python -m bench.fleet                      # 3 rounds of 10 s per route and count, ~6 min
    python -m bench.fleet --rounds 1 --seconds 3
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from bench.database import demo_database
from bench.http import REPO, WrkRun, _free_port, have_wrk, lua_script, wrk
from bench.points import district, in_polygon
from bench.report import Figure, machine, median, table

WORKERS = (1, 2, 4)
ROUTES = ("locate", "grid")
TITLES = {"locate": "GET /v1/locate", "grid": "GET /v1/grids/{code}"}


@contextlib.contextmanager
def fleet(url: str, workers: int, workdir: Path) -> Iterator[str]:
    """`geogrid serve --workers N` on a free port; yield its URL once every worker serves."""
    port = _free_port()
    log = open(workdir / f"serve-{workers}.log", "wb")  # noqa: SIM115 (lives with the process)
    env = {**os.environ, "GEOGRID_DATABASE_URL": url}
    command = [sys.executable, "-m", "geogrid.cli.main", "serve", "--host", "127.0.0.1"]
    process = subprocess.Popen(
        [*command, "--port", str(port), "--workers", str(workers)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for_workers(process, base, workers, log.name)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _wait_for_workers(process: subprocess.Popen[bytes], base: str, n: int, log: str) -> None:
    """Until n distinct workers have answered /livez with a release (new connection each)."""
    serving: set[int] = set()
    deadline = time.monotonic() + 120
    while len(serving) < n:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"geogrid serve --workers {n} did not start; see {log}")
        try:
            alive = httpx.get(f"{base}/livez", timeout=10).json()
            if alive["release"] is not None:
                serving.add(alive["pid"])
        except httpx.TransportError:
            time.sleep(0.2)


def paths_script(path: Path, paths: Sequence[str]) -> Path:
    """A wrk script that cycles through ``paths``, one request each."""
    listed = ",\n".join(f'  "{p}"' for p in paths)
    path.write_text(
        f"local paths = {{\n{listed}\n}}\nlocal i = 0\n"
        "request = function()\n  i = i % #paths + 1\n"
        '  return wrk.format("GET", paths[i])\nend\n',
        encoding="utf-8",
    )
    return path


def measure(
    url: str, rounds: int, seconds: int, workdir: Path
) -> dict[tuple[str, int], list[WrkRun]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        codes = [r[0].strip() for r in conn.execute(text("SELECT code FROM grid ORDER BY code"))]
    lon, lat = in_polygon(district(engine), 1000)
    engine.dispose()
    scripts = {
        "locate": lua_script(workdir / "locate.lua", "/v1/locate", lon, lat),
        "grid": paths_script(workdir / "grid.lua", [f"/v1/grids/{c}" for c in codes]),
    }
    runs: dict[tuple[str, int], list[WrkRun]] = {(r, n): [] for r in ROUTES for n in WORKERS}
    for round_ in range(rounds):
        shift = round_ % len(WORKERS)
        for n in WORKERS[shift:] + WORKERS[:shift]:
            with fleet(url, n, workdir) as base:
                for route in ROUTES:
                    # Warm every worker's pool and caches.
                    wrk(f"{base}/", 2, scripts[route], allow_errors=True)
                for route in ROUTES:
                    run = wrk(f"{base}/", seconds, scripts[route], allow_errors=True)
                    runs[route, n].append(run)
                    print(
                        f"  round {round_ + 1}/{rounds} {TITLES[route]:>22}, {n} worker(s): "
                        f"{run.requests_per_s:6.0f} req/s  p50 {run.p50_ms:6.2f} ms  "
                        f"p99 {run.p99_ms:6.2f} ms{_lost(run)}",
                        flush=True,
                    )
    return runs


def _lost(run: WrkRun) -> str:
    """Requests that timed out or were answered 503 (a deadline passed on a busy machine)."""
    if not run.timeouts and not run.errors:
        return ""
    return f"  ({run.timeouts} timed out, {run.errors} not 2xx, of {run.requests})"


def figures(runs: dict[tuple[str, int], list[WrkRun]]) -> list[Figure]:
    """Req/s and p99 per worker count, as ratios to one worker."""
    found = []
    for route in ROUTES:
        rate = {n: median([r.requests_per_s for r in runs[route, n]]) for n in WORKERS}
        p99 = {n: median([r.p99_ms for r in runs[route, n]]) for n in WORKERS}
        for n in WORKERS[1:]:
            found.append(
                Figure(f"{TITLES[route]} req/s, {n} workers", rate[n], "req/s", "1 worker", rate[1])
            )
        for n in WORKERS[1:]:
            found.append(
                Figure(f"{TITLES[route]} p99, {n} workers", p99[n], "ms", "1 worker", p99[1])
            )
    return found


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fleet", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    args = parser.parse_args(argv)
    if not have_wrk():
        sys.exit("bench.fleet needs wrk and taskset: sudo apt-get install wrk util-linux")
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="geogrid-bench-fleet-") as folder,
        demo_database() as url,
    ):
        engine = create_engine(url)
        print("\n".join(machine(engine)), flush=True)
        engine.dispose()
        runs = measure(url, args.rounds, args.seconds, Path(folder))
    print(f"\n{table(figures(runs))}\n")
    for route in ROUTES:
        for n in WORKERS:
            rs = runs[route, n]
            print(
                f"{TITLES[route]:>22}, {n} worker(s): "
                f"{median([r.requests_per_s for r in rs]):6.0f} req/s "
                f"({min(r.requests_per_s for r in rs):.0f}-{max(r.requests_per_s for r in rs):.0f}),"
                f" p99 {median([r.p99_ms for r in rs]):.2f} ms; "
                f"{sum(r.timeouts for r in rs)} timed out, {sum(r.errors for r in rs)} not 2xx "
                f"of {sum(r.requests for r in rs)}"
            )
    print(f"whole run: {(time.monotonic() - started) / 60:.1f} min on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
