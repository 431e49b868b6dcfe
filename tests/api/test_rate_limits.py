"""Rate limits per key and per address, shared by every process through PostgreSQL."""

from __future__ import annotations

import httpx
from sqlalchemy import create_engine

from geogrid.access import keys
from geogrid.access.roles import Role
from tests.conftest import start_api

SMALL = {
    "GEOGRID_RATE_WRITES": "3/minute",
    "GEOGRID_RATE_BATCHES": "2/minute",
    "GEOGRID_RATE_FAILED_AUTHENTICATION": "4/minute",
}
PLAN = {"comment": "rate limit test"}


def test_writes_are_counted_across_processes_and_refused_with_retry_after(
    fresh_demo_url: str,
) -> None:
    engine = create_engine(fresh_demo_url)
    with engine.begin() as conn:
        token = keys.create_key(conn, "planner-rl", Role.planner)[1]
    engine.dispose()
    first, base_a = start_api(fresh_demo_url, settings=SMALL)
    second, base_b = start_api(fresh_demo_url, settings=SMALL)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        statuses = [
            httpx.post(f"{base}/v1/plans", json=PLAN, headers=headers, timeout=30)
            for base in (base_a, base_b, base_a, base_b)
        ]
        assert [a.status_code for a in statuses] == [201, 201, 201, 429]
        refused = statuses[-1]
        assert refused.json()["code"] == "rate_limited"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert "3 per 1 minute" in refused.json()["detail"]
        # Reads are not writes: still answered.
        assert httpx.get(f"{base_a}/v1/plans", headers=headers).status_code == 200
        # Batches have their own budget.
        batch = [
            httpx.post(f"{base_b}/v1/locate", json={"points": [[117.337, 31.892]]}, timeout=30)
            for _ in range(3)
        ]
        assert [a.status_code for a in batch] == [200, 200, 429]
    finally:
        for process in (first, second):
            process.terminate()
            process.wait(timeout=20)


def test_an_address_that_sends_wrong_keys_is_slowed_down(fresh_demo_url: str) -> None:
    process, base = start_api(fresh_demo_url, settings=SMALL)
    try:
        # locate (answered by api/fastpath.py) and /v1/me alike: each wrong key counts once.
        paths = ["/v1/locate?lon=117.337&lat=31.892", "/v1/me"] * 3
        answers = [
            httpx.get(f"{base}{path}", headers={"Authorization": f"Bearer wrong-{i}"}, timeout=30)
            for i, path in enumerate(paths)
        ]
        assert [a.status_code for a in answers] == [401, 401, 401, 401, 429, 429]
        assert int(answers[-1].headers["retry-after"]) >= 1
        # Anonymous reads from the same address are not authentication: still answered.
        assert httpx.get(f"{base}/v1/me").status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=20)
