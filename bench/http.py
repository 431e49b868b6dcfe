"""HTTP throughput: geogrid's hot routes against its peers, one uvicorn process on core 0.

wrk runs on core 1 (``taskset -c 1 wrk -t1 -c16 --latency``), the server and its PostgreSQL
backends on core 0. Each round runs every endpoint once, in turn, so drift (thermal, noisy
neighbours) spreads over all of them; the figures are medians over rounds. Every endpoint is
asked about the same ~1000 random points in the district, cycled by a wrk Lua script;
/v1/locate is also measured at one fixed point. Peers without a target of their own (STRtree,
PostGIS) run every other round.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

from bench.points import FIXED_POINT
from bench.report import Figure, median

REPO = Path(__file__).resolve().parents[1]
SERVER_CPU = "0"  # a taskset list: "0", or "0,1" for the whole machine (bench.cases --server-cores)
CLIENT_CPU = "1"
CONNECTIONS = 16


def server_cpus() -> set[int]:
    """The cores :data:`SERVER_CPU` names."""
    return {int(c) for c in SERVER_CPU.split(",")}


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    mixed: bool = True  # cycle through the random points (else: ask about the fixed point)
    every_round: bool = True  # else every other round (peers without a target of their own)


ENDPOINTS = (
    Endpoint("echo", "/bench/echo"),
    Endpoint("echo-async", "/bench/echo-async"),
    Endpoint("locate", "/v1/locate"),
    Endpoint("locate-fixed", "/v1/locate", mixed=False),
    Endpoint("nearest", "/v1/stations/nearest"),
    Endpoint("strtree", "/bench/strtree", every_round=False),
    Endpoint("postgis", "/bench/postgis", every_round=False),
)


@dataclass(frozen=True)
class WrkRun:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int = 0
    #: Requests wrk gave up on (no answer within its 2 s timeout); not in the latencies.
    timeouts: int = 0
    #: Answers that were not 2xx or 3xx (only with ``allow_errors``); in the rate.
    errors: int = 0


#: A run where more of the requests than this time out measures a server in trouble: stop.
MAX_TIMEOUT_SHARE = 0.01


@contextmanager
def pinned(command: list[str], env: dict[str, str], log: Path, ready: str) -> Iterator[int]:
    """Run ``command`` on the server core until the block ends; it is up once ``ready`` (a
    URL) answers 200. Yields its process id."""
    with open(log, "wb") as out:
        process = subprocess.Popen(
            ["taskset", "-c", SERVER_CPU, *command],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_ready(process, ready, log)
            yield process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@contextmanager
def server(database_url: str, workdir: Path, workers: int = 1) -> Iterator[str]:
    """bench.app under uvicorn (one worker unless told, access log off) pinned to
    :data:`SERVER_CPU`; yield its URL."""
    port = _free_port()
    env = {**os.environ, "GEOGRID_DATABASE_URL": database_url, "BENCH_CPUS": SERVER_CPU}
    command = [sys.executable, "-m", "uvicorn", "bench.app:create_bench_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    command += ["--no-access-log", "--log-level", "warning"]
    base = f"http://127.0.0.1:{port}"
    with pinned(command, env, workdir / "uvicorn.log", base + "/v1/health"):
        yield base


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the bench server exited early; see {log}")
        try:
            if httpx.get(url, timeout=10).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the bench server did not answer within 90 s; see {log}")


def have_wrk() -> bool:
    return shutil.which("wrk") is not None and shutil.which("taskset") is not None


def check_answers(base: str, lon: np.ndarray, lat: np.ndarray) -> int:
    """Ask strtree, postgis and /v1/locate about every point; return how many agree (all)."""
    with httpx.Client(base_url=base, timeout=30) as client:
        for x, y in zip(lon.tolist(), lat.tolist(), strict=True):
            params = {"lon": x, "lat": y}
            located = client.get("/v1/locate", params=params).json()["grid"]
            answers = {
                (located or {}).get("code"),
                client.get("/bench/strtree", params=params).json()["code"],
                client.get("/bench/postgis", params=params).json()["code"],
            }
            if len(answers) != 1:
                raise AssertionError(f"peers disagree at ({x}, {y}): {answers}")
    return len(lon)


def lua_script(path: Path, prefix: str, lon: np.ndarray, lat: np.ndarray) -> Path:
    """A wrk script that cycles through the points, one request each."""
    paths = ",\n".join(
        f'  "{prefix}?lon={x:.7f}&lat={y:.7f}"'
        for x, y in zip(lon.tolist(), lat.tolist(), strict=True)
    )
    path.write_text(
        f"local paths = {{\n{paths}\n}}\n"
        "local i = 0\n"
        "request = function()\n"
        "  i = i % #paths + 1\n"
        '  return wrk.format("GET", paths[i])\n'
        "end\n",
        encoding="utf-8",
    )
    return path


_UNIT_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(url: str, seconds: int, script: Path | None = None, allow_errors: bool = False) -> WrkRun:
    """One wrk run on core 1 (see :func:`parse_wrk` for what stops the benchmark)."""
    command = [
        "taskset",
        "-c",
        CLIENT_CPU,
        "wrk",
        "-t1",
        f"-c{CONNECTIONS}",
        f"-d{seconds}s",
        "--latency",
    ]
    if script is not None:
        command += ["-s", str(script)]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    return parse_wrk(out, url, allow_errors)


def parse_wrk(out: str, url: str = "", allow_errors: bool = False) -> WrkRun:
    """The figures of one wrk run, from its ``--latency`` output.

    A request that timed out is counted (a busy machine may stall one now and then), unless
    more than ``MAX_TIMEOUT_SHARE`` of them did. Raises RuntimeError for an answer that was
    not 2xx or 3xx, a connect, read or write error, or too many timeouts: the run measured
    a failure, not a speed. With ``allow_errors`` answers that were not 2xx or 3xx (a 503
    when a deadline passed) are counted like timeouts instead.
    """
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = int(bad.group(1)) if bad else 0
    found = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    connect, read, write, timeouts = (int(n) for n in found.groups()) if found else (0, 0, 0, 0)
    done = re.search(r"^\s*(\d+) requests in ", out, re.M)
    requests = int(done.group(1)) if done else 0
    lost = timeouts + (errors + read if allow_errors else 0)
    if (
        (errors and not allow_errors)
        or connect
        or (read and not allow_errors)
        or write
        or lost > MAX_TIMEOUT_SHARE * requests
    ):
        raise RuntimeError(f"wrk saw failures for {url}:\n{out}")
    percentiles = {
        int(p): float(v) * _UNIT_MS[u]
        for p, v, u in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    }
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return WrkRun(rate, percentiles[50], percentiles[99], requests, timeouts, errors)


def throughput(
    base: str, lon: np.ndarray, lat: np.ndarray, workdir: Path, rounds: int, seconds: int
) -> dict[str, list[WrkRun]]:
    """Alternating rounds over the endpoints (after a short warm-up of each)."""
    fixed = f"lon={FIXED_POINT[0]}&lat={FIXED_POINT[1]}"
    targets: list[tuple[Endpoint, str, Path | None]] = []
    for e in ENDPOINTS:
        if e.mixed:
            targets.append(
                (e, f"{base}{e.path}", lua_script(workdir / f"{e.name}.lua", e.path, lon, lat))
            )
        else:
            targets.append((e, f"{base}{e.path}?{fixed}", None))
    for _, url, lua in targets:
        wrk(url, 1, lua)
    runs: dict[str, list[WrkRun]] = {e.name: [] for e, _, _ in targets}
    for round_ in range(rounds):
        # Each round starts one endpoint later, so none always follows the same neighbour.
        shift = round_ % len(targets)
        for e, url, lua in targets[shift:] + targets[:shift]:
            if not e.every_round and round_ % 2:
                continue
            runs[e.name].append(wrk(url, seconds, lua))
            last = runs[e.name][-1]
            timeouts = f"  {last.timeouts} timed out" if last.timeouts else ""
            print(
                f"  round {round_ + 1}/{rounds} {e.name:>12}: {last.requests_per_s:6.0f} req/s"
                f"  p50 {last.p50_ms:6.2f} ms  p99 {last.p99_ms:6.2f} ms{timeouts}",
                flush=True,
            )
    return runs


def figures(runs: dict[str, list[WrkRun]], points: int) -> list[Figure]:
    """Medians over rounds, as ratios to the echoes (and geogrid's to its peers)."""
    rate = {name: median([r.requests_per_s for r in rs]) for name, rs in runs.items()}
    p99 = {name: median([r.p99_ms for r in rs]) for name, rs in runs.items()}
    mixed = f"{points} points"
    return [
        Figure(
            "GET /v1/locate req/s",
            rate["locate"],
            "req/s",
            "echo (def)",
            rate["echo"],
            (">=", 0.95),
            mixed,
        ),
        Figure(
            "GET /v1/locate p99",
            p99["locate"],
            "ms",
            "echo (def)",
            p99["echo"],
            ("<=", 1.25),
            mixed,
        ),
        Figure(
            "GET /v1/locate req/s",
            rate["locate-fixed"],
            "req/s",
            "echo (def)",
            rate["echo"],
            (">=", 0.95),
            "fixed point",
        ),
        Figure(
            "GET /v1/locate p99",
            p99["locate-fixed"],
            "ms",
            "echo (def)",
            p99["echo"],
            ("<=", 1.25),
            "fixed point",
        ),
        Figure(
            "GET /v1/stations/nearest req/s",
            rate["nearest"],
            "req/s",
            "echo (def)",
            rate["echo"],
            (">=", 0.9),
            mixed,
        ),
        Figure(
            "GET /v1/stations/nearest p99",
            p99["nearest"],
            "ms",
            "echo (def)",
            p99["echo"],
            note=mixed,
        ),
        Figure(
            "GET /v1/locate req/s",
            rate["locate"],
            "req/s",
            "echo (async def, ceiling)",
            rate["echo-async"],
            note=mixed,
        ),
        Figure(
            "GET /v1/locate p99",
            p99["locate"],
            "ms",
            "echo (async def, ceiling)",
            p99["echo-async"],
            note=mixed,
        ),
        Figure(
            "GET /v1/stations/nearest req/s",
            rate["nearest"],
            "req/s",
            "echo (async def, ceiling)",
            rate["echo-async"],
            note=mixed,
        ),
        Figure(
            "echo (async def) req/s",
            rate["echo-async"],
            "req/s",
            "echo (def)",
            rate["echo"],
            note=mixed,
        ),
        Figure(
            "GET /v1/locate req/s",
            rate["locate"],
            "req/s",
            "STRtree route",
            rate["strtree"],
            note=mixed,
        ),
        Figure(
            "GET /v1/locate req/s",
            rate["locate"],
            "req/s",
            "PostGIS ST_Covers route",
            rate["postgis"],
            note=mixed,
        ),
        Figure(
            "STRtree route req/s", rate["strtree"], "req/s", "echo (def)", rate["echo"], note=mixed
        ),
        Figure(
            "PostGIS ST_Covers route req/s",
            rate["postgis"],
            "req/s",
            "echo (def)",
            rate["echo"],
            note=mixed,
        ),
    ]


def _timeouts(runs: Sequence[WrkRun]) -> str:
    timeouts = sum(r.timeouts for r in runs)
    if not timeouts:
        return ""
    return (
        f"; {timeouts} of {sum(r.requests for r in runs)} requests timed out (not in the latencies)"
    )


def summary(runs: dict[str, list[WrkRun]]) -> Sequence[str]:
    """One line per endpoint: medians over the rounds (and their range), and any timeouts."""
    return [
        f"{name:>12}: {median([r.requests_per_s for r in rs]):6.0f} req/s "
        f"({min(r.requests_per_s for r in rs):.0f}-{max(r.requests_per_s for r in rs):.0f}), "
        f"p50 {median([r.p50_ms for r in rs]):.2f} ms, "
        f"p99 {median([r.p99_ms for r in rs]):.2f} ms "
        f"({min(r.p99_ms for r in rs):.1f}-{max(r.p99_ms for r in rs):.1f}){_timeouts(rs)}"
        for name, rs in runs.items()
    ]
