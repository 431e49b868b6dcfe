"""`geogrid serve --workers N`: each worker listens on a socket of its own, follows new releases
by itself, and /metrics counts them all."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, create_engine

from geogrid.access import keys
from geogrid.access.roles import Role
from geogrid.cli.serving import uvicorn_options
from geogrid.settings import ApiSettings
from tests.conftest import start_api
from tests.plans.test_plans import neighbours, transfer

WORKERS = 2


@pytest.fixture
def engine(fresh_demo_url: str) -> Iterator[Engine]:
    engine = create_engine(fresh_demo_url)
    yield engine
    engine.dispose()


def livez(base: str) -> dict[str, int]:
    """/livez on a new connection, so that any worker may take it."""
    answer: dict[str, int] = httpx.get(f"{base}/livez", timeout=10).json()
    return answer


def listening(port: int) -> int:
    """How many sockets listen on the port (/proc/net/tcp; state 0A is LISTEN)."""
    rows = Path("/proc/net/tcp").read_text(encoding="ascii").splitlines()[1:]
    return sum(
        1
        for row in rows
        if int(row.split()[1].rsplit(":", 1)[1], 16) == port and row.split()[3] == "0A"
    )


def test_every_worker_follows_a_publish_and_metrics_count_them_all(
    fresh_demo_url: str, engine: Engine
) -> None:
    with engine.begin() as conn:
        _, secret = keys.create_key(conn, "planner", Role.planner)
    process, base = start_api(fresh_demo_url, workers=WORKERS)
    try:
        asked = 0
        workers: set[int] = set()
        while len(workers) < WORKERS and asked < 200:
            workers.add(livez(base)["pid"])
            asked += 1
        assert len(workers) == WORKERS
        # One listening socket per worker (SO_REUSEPORT): the kernel spreads connections over
        # them, kept-alive ones included, instead of handing a burst to one worker.
        assert listening(int(base.rsplit(":", 1)[1])) == WORKERS

        a, b, strip = neighbours(engine)
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {secret}"}, timeout=60
        ) as planner:
            plan = planner.post("/v1/plans", json={"comment": "workers"}).json()
            assert planner.post(f"/v1/plans/{plan['id']}/edits", json=transfer(a, b, strip))
            published = planner.post(f"/v1/plans/{plan['id']}/publish")
        answered = time.monotonic()
        assert published.status_code == 200, published.text

        # Each worker serves the new release within a second of the publish's answer (the
        # one that published it at once).
        serving: dict[int, float] = {}
        while len(serving) < WORKERS and time.monotonic() - answered < 5:
            seen = livez(base)
            asked += 1
            if seen["release"] == 2:
                serving.setdefault(seen["pid"], time.monotonic() - answered)
        assert set(serving) == workers and max(serving.values()) < 1.0, serving

        # Whichever worker answers /metrics, it counts the requests of all of them.
        metrics = httpx.get(f"{base}/metrics", timeout=10).text
        [line] = [
            line
            for line in metrics.splitlines()
            if line.startswith("geogrid_http_request_duration_seconds_count")
            and 'route="/livez"' in line
        ]
        assert float(line.rsplit(" ", 1)[1]) == asked
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_serve_passes_the_trusted_proxies_to_uvicorn() -> None:
    assert "forwarded_allow_ips" not in uvicorn_options(ApiSettings(forwarded_allow_ips=None))
    options = uvicorn_options(ApiSettings(forwarded_allow_ips="10.0.0.5,10.0.1.0/24"))
    assert options["forwarded_allow_ips"] == "10.0.0.5,10.0.1.0/24"
    assert options["proxy_headers"] is True
