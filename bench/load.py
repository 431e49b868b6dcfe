"""Load and abuse, as issue 11 sets them: ``python -m bench.load [--minutes M]``.

Three parts, each against ``geogrid serve`` as shipped (one worker) on a fresh demo database:

1. **200 connections for 30 s** on a database-backed route (``GET /v1/grids/{code}``), wrk on
   core 1 counting every status: no freeze (every request answered, none past the deadline),
   no 500.
2. **The database hung for 35 s**: the server reaches PostgreSQL through a TCP proxy that stops
   forwarding without closing anything. Meanwhile 16 clients read a grid (answers must be 503
   within the deadline) and 4 keyed clients locate (answers must stay 200); then the proxy
   forwards again and the time to the first 200 is measured (target: within 1 s).
3. **Memory over mixed load** (default 10 minutes): locate, nearest station, grid reads and
   case reports at once; the server's resident memory sampled every 10 s. Target: the last
   sample within ±5 % of the first one taken after a minute of warm-up.

Prints each part's figures and a table of the targets.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.database import demo_database
from bench.http import CLIENT_CPU, _free_port, pinned
from bench.report import Figure, table
from geogrid.access import keys
from geogrid.access.roles import Role
from tests.tcp_proxy import CuttableProxy

GRID = "/v1/grids/340102005007001"
LOCATE = "/v1/locate?lon=117.3370&lat=31.8920"
DEADLINE_S = 5.0  # GEOGRID_TIMEOUT_INTERACTIVE_S as shipped


@contextmanager
def serve(database_url: str, log: Path, **settings: str) -> Iterator[tuple[str, int]]:
    """``geogrid serve`` pinned to core 0, once ready; yields its base URL and process id."""
    port = _free_port()
    env = {**os.environ, "GEOGRID_DATABASE_URL": database_url, **settings}
    command = [sys.executable, "-m", "geogrid.cli.main", "serve", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    with pinned(command, env, log, base + "/readyz") as pid:
        yield base, pid


# --- 1. 200 connections ---------------------------------------------------------------------

STATUS_SCRIPT = """
local threads = {}
setup = function(thread) table.insert(threads, thread) end
init = function(args) s200 = 0; s429 = 0; s500 = 0; s503 = 0; other = 0 end
response = function(status, headers, body)
  if status == 200 then s200 = s200 + 1
  elseif status == 429 then s429 = s429 + 1
  elseif status == 500 then s500 = s500 + 1
  elseif status == 503 then s503 = s503 + 1
  else other = other + 1 end
end
done = function(summary, latency, requests)
  for _, t in ipairs(threads) do
    for _, name in ipairs({"s200", "s429", "s500", "s503"}) do
      io.write(string.format("status %s %d\\n", string.sub(name, 2), t:get(name)))
    end
    io.write(string.format("status 0 %d\\n", t:get("other")))
  end
  io.write(string.format("max_ms %.1f\\n", latency.max / 1000))
  io.write(string.format("timeouts %d\\n", summary.errors.timeout))
  io.write(string.format("connect_errors %d\\n", summary.errors.connect))
  io.write(string.format("read_errors %d\\n", summary.errors.read))
end
"""


def connections(base: str, workdir: Path, seconds: int = 30, clients: int = 200) -> list[Figure]:
    script = workdir / "statuses.lua"
    script.write_text(STATUS_SCRIPT, encoding="utf-8")
    timeout = f"{int(DEADLINE_S * 2)}s"
    command = ["taskset", "-c", CLIENT_CPU, "wrk", "-t1", f"-c{clients}", f"-d{seconds}s"]
    out = subprocess.run(
        [*command, "--timeout", timeout, "-s", str(script), base + GRID],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    statuses: Counter[int] = Counter()
    found: dict[str, float] = {}
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] == "status":
            statuses[int(parts[1])] += int(parts[2])
        elif len(parts) == 2 and parts[0] in {
            "max_ms",
            "timeouts",
            "connect_errors",
            "read_errors",
        }:
            found[parts[0]] = float(parts[1])
    total = sum(statuses.values())
    print(
        f"  {clients} connections, {seconds} s on {GRID}: {total:,} answers "
        f"{dict(sorted(statuses.items()))}, slowest {found['max_ms']:.0f} ms, "
        f"{found['timeouts']:.0f} timeouts, {found['read_errors']:.0f} read errors",
        flush=True,
    )
    return [
        Figure("200 connections: answers with status 500", statuses[500], "", goal=("<=", 0)),
        Figure(
            "200 connections: requests unanswered (wrk timeouts, read errors)",
            found["timeouts"] + found["read_errors"] + found["connect_errors"],
            "",
            goal=("<=", 0),
        ),
        Figure(
            "200 connections: slowest answer",
            found["max_ms"] / 1000,
            "s",
            goal=("<=", DEADLINE_S + 0.5),
            note=f"deadline {DEADLINE_S:g} s; {total:,} answers, {statuses[200]:,} × 200",
        ),
    ]


# --- 2. the database hung ---------------------------------------------------------------------


def _key(database_url: str) -> str:
    engine = create_engine(database_url)
    with engine.begin() as conn:
        token = keys.create_key(conn, f"bench-{secrets.token_hex(3)}", Role.dispatcher)[1]
    engine.dispose()
    return token


def hung(database_url: str, workdir: Path, hang_s: float = 35.0) -> list[Figure]:
    token = _key(database_url)
    parsed = make_url(database_url)
    proxy = CuttableProxy((parsed.host or "127.0.0.1", int(parsed.port or 5432)))
    via = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    reads: list[tuple[int, float]] = []
    located: list[tuple[int, float]] = []
    stop = threading.Event()

    def client(url: str, headers: dict[str, str], into: list[tuple[int, float]]) -> None:
        with httpx.Client(headers=headers, timeout=60) as http:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    status = http.get(url).status_code
                except httpx.TransportError:
                    status = 0
                into.append((status, time.monotonic() - started))

    try:
        with serve(via, workdir / "hung.log") as (base, _):
            keyed = {"Authorization": f"Bearer {token}"}
            assert httpx.get(base + LOCATE, headers=keyed).status_code == 200
            proxy.hang()
            threads = [
                threading.Thread(target=client, args=(base + GRID, {}, reads)) for _ in range(16)
            ] + [
                threading.Thread(target=client, args=(base + LOCATE, keyed, located))
                for _ in range(4)
            ]
            for thread in threads:
                thread.start()
            time.sleep(hang_s)
            stop.set()
            for thread in threads:
                thread.join()
            proxy.resume()
            returned = time.monotonic()
            while httpx.get(base + GRID, timeout=30).status_code != 200:
                time.sleep(0.02)
            recovered = time.monotonic() - returned
    finally:
        proxy.close()
    read_statuses = Counter(s for s, _ in reads)
    locate_statuses = Counter(s for s, _ in located)
    slowest = max(seconds for _, seconds in reads)
    print(
        f"  database hung {hang_s:g} s: grid reads {dict(read_statuses)}, slowest "
        f"{slowest:.2f} s; keyed locates {dict(locate_statuses)}, median "
        f"{statistics.median(s for _, s in located) * 1000:.1f} ms; "
        f"recovered {recovered * 1000:.0f} ms after the database returned",
        flush=True,
    )
    return [
        Figure(
            "database hung 35 s: grid reads not 503",
            sum(n for s, n in read_statuses.items() if s != 503),
            "",
            goal=("<=", 0),
            note=f"{len(reads):,} reads",
        ),
        Figure(
            "database hung 35 s: slowest 503",
            slowest,
            "s",
            goal=("<=", DEADLINE_S + 0.5),
            note=f"deadline {DEADLINE_S:g} s",
        ),
        Figure(
            "database hung 35 s: keyed locates not 200",
            sum(n for s, n in locate_statuses.items() if s != 200),
            "",
            goal=("<=", 0),
            note=f"{len(located):,} locates",
        ),
        Figure(
            "database back: time to the first 200",
            recovered,
            "s",
            goal=("<=", 1.0),
        ),
    ]


# --- 3. memory ------------------------------------------------------------------------------------


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def memory(database_url: str, workdir: Path, minutes: float) -> list[Figure]:
    token = _key(database_url)
    engine = create_engine(database_url)
    with engine.connect() as conn:
        points = conn.execute(
            text("SELECT ST_X(point) x, ST_Y(point) y FROM compound ORDER BY id LIMIT 200")
        ).all()
    engine.dispose()
    stop = threading.Event()
    counts: Counter[str] = Counter()

    def mixed(worker: int, base: str) -> None:
        keyed = {"Authorization": f"Bearer {token}"}
        i = worker
        with httpx.Client(base_url=base, timeout=60) as http:
            while not stop.is_set():
                p = points[i % len(points)]
                lon, lat = f"{p.x:.6f}", f"{p.y:.6f}"
                kind = i % 10
                if kind < 5:
                    answer = http.get("/v1/locate", params={"lon": lon, "lat": lat})
                elif kind < 7:
                    answer = http.get("/v1/stations/nearest", params={"lon": lon, "lat": lat})
                elif kind < 9:
                    answer = http.get(GRID, headers=keyed)
                else:
                    answer = http.post(
                        "/v1/cases",
                        headers=keyed,
                        json={
                            "category": "E0102",
                            "description": f"bench memory {i}",
                            "lon": p.x,
                            "lat": p.y,
                            "crs": "cgcs2000",
                            "channel": "hotline",
                        },
                    )
                counts[f"{answer.status_code}"] += 1
                i += 8

    samples: list[tuple[float, float]] = []
    # One client address reports far more cases than a desk would: lift the writes budget so
    # the reports are stored, not refused.
    lifted = {"GEOGRID_RATE_WRITES": "1000000/minute"}
    with serve(database_url, workdir / "memory.log", **lifted) as (base, pid):
        threads = [threading.Thread(target=mixed, args=(w, base)) for w in range(8)]
        for thread in threads:
            thread.start()
        started = time.monotonic()
        while time.monotonic() - started < minutes * 60:
            time.sleep(10)
            samples.append((time.monotonic() - started, _rss_mb(pid)))
            print(f"  {samples[-1][0]:5.0f} s: {samples[-1][1]:.1f} MB", flush=True)
        stop.set()
        for thread in threads:
            thread.join()
    warm = [mb for at, mb in samples if at >= 60] or [samples[-1][1]]
    first, last = warm[0], warm[-1]
    print(f"  answers {dict(counts)}", flush=True)
    return [
        Figure(
            f"memory after {minutes:g} min of mixed load vs after 1 min",
            last,
            "MB",
            "after 1 min",
            first,
            ("<=", 1.05),
            note=f"min {min(warm):.1f} MB, max {max(warm):.1f} MB",
        ),
        Figure(
            "memory after 1 min vs the end (no shrink below 95 %)",
            first,
            "MB",
            "at the end",
            last,
            ("<=", 1.0 / 0.95),
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="of the memory part")
    parser.add_argument("--skip", nargs="*", default=[], choices=["connections", "hung", "memory"])
    args = parser.parse_args()
    figures: list[Figure] = []
    with demo_database() as url, tempfile.TemporaryDirectory(prefix="geogrid-load-") as tmp:
        workdir = Path(tmp)
        if "connections" not in args.skip:
            print("\n== 200 connections for 30 s on a database-backed route", flush=True)
            with serve(url, workdir / "connections.log") as (base, _):
                figures += connections(base, workdir)
        if "hung" not in args.skip:
            print("\n== the database hung for 35 s (a proxy that stops forwarding)", flush=True)
            figures += hung(url, workdir)
        if "memory" not in args.skip:
            print(f"\n== {args.minutes:g} minutes of mixed load, resident memory", flush=True)
            figures += memory(url, workdir, args.minutes)
    print()
    print(table(figures))


if __name__ == "__main__":
    main()
