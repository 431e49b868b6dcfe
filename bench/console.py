"""The dispatcher's case queue with 100,000 cases beside the JSON API's own list.

    python -m bench.console [--cases 100000] [--requests 50]

One ``geogrid serve`` as shipped (rate limits off) on a throwaway demo database into which
``--cases`` plausible cases are bulk-inserted (``bench/console_cases.sql``: a random point
inside a random grid, created over the last year, every status with its times). A dispatcher
signs in through /login; then, request after request, the queue's first screen
(``GET /console/cases``: counts per status, 50 newest cases, the filter lists) is timed
against the strongest honest baseline, ``GET /v1/cases?limit=50`` on the same data and the
same session (the same filter, count and page through the same framework, without HTML),
each also with a status filter and with ``overdue=true``. Printed: p50 and p95 milliseconds
(wall time on 127.0.0.1, so server time plus well under a millisecond), the ratio of the
medians, and whether the queue met its target of 300 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

import httpx
from sqlalchemy import Connection, create_engine, text

from bench.database import demo_database
from bench.http import _free_port
from geogrid.access import users
from geogrid.access.roles import Role
from geogrid.settings import AuthSettings

TARGET_MS = 300.0
PASSWORD = "bench-pass-1234"
SCENARIOS = {
    "first screen": ("", ""),
    "status=dispatched": ("status=dispatched", "status=dispatched"),
    "overdue=true": ("overdue=true", "overdue=true"),
}


def load_cases(conn: Connection, count: int, seed: float = 0.42) -> None:
    """Bulk-insert ``count`` generated cases (and their "created" events) inside ``conn``'s
    transaction; the same ``seed`` gives the same cases."""
    script = Path(str(resources.files("bench").joinpath("console_cases.sql"))).read_text()
    conn.execute(text(script), {"n": count, "seed": seed})


def _timed(client: httpx.Client, url: str) -> float:
    start = time.perf_counter()
    answer = client.get(url)
    elapsed = (time.perf_counter() - start) * 1000
    if answer.status_code != 200:
        raise RuntimeError(f"{url}: {answer.status_code} {answer.text[:300]}")
    return elapsed


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args(argv)
    with demo_database() as url:
        engine = create_engine(url)
        started = time.perf_counter()
        with engine.begin() as conn:
            load_cases(conn, args.cases)
            users.create_user(conn, "bench-disp", Role.dispatcher, PASSWORD, AuthSettings())
        print(f"{args.cases:,} cases loaded in {time.perf_counter() - started:.1f} s")
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
            _run(base, args.requests)
        finally:
            process.terminate()
            process.wait(timeout=20)


def _run(base: str, requests: int) -> None:
    client = httpx.Client(base_url=base, timeout=60, follow_redirects=False)
    signed = client.post("/login", data={"username": "bench-disp", "password": PASSWORD})
    if signed.status_code != 303:
        raise RuntimeError(f"sign-in: {signed.status_code} {signed.text[:300]}")
    print(f"\ncase queue vs GET /v1/cases?limit=50, {requests} requests each (ms, wall time)\n")
    print(f"{'filter':<20} {'queue p50':>10} {'p95':>8} {'/v1 p50':>9} {'p95':>8} {'ratio':>7}")
    worst = 0.0
    for name, (queue_query, api_query) in SCENARIOS.items():
        queue_url = f"/console/cases?{queue_query}"
        api_url = f"/v1/cases?limit=50&{api_query}"
        for url in (queue_url, api_url):  # warm: connection pool, templates, plans
            _timed(client, url)
        queue, api = [], []
        for _ in range(requests):  # alternate, so both see the same machine
            queue.append(_timed(client, queue_url))
            api.append(_timed(client, api_url))
        q50, a50 = statistics.median(queue), statistics.median(api)
        worst = max(worst, q50)
        print(
            f"{name:<20} {q50:>10.1f} {_p95(queue):>8.1f} {a50:>9.1f} {_p95(api):>8.1f}"
            f" {q50 / a50:>6.2f}x"
        )
    verdict = "met" if worst < TARGET_MS else "MISSED"
    print(f"\ntarget: the queue's median under {TARGET_MS:.0f} ms: {verdict} (worst {worst:.1f})")


if __name__ == "__main__":
    main()
