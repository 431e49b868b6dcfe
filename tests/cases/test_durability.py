"""No accepted case is lost: the database connection breaks mid-request, again and again.

Every answer is either 201 (and the case exists) or 503 (and it does not); the API recovers
by itself once the database is reachable again.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from geogrid.access import keys
from geogrid.access.roles import Role
from tests.conftest import start_api
from tests.tcp_proxy import CuttableProxy


def test_a_broken_connection_loses_no_accepted_case(server: Any, demo_template: str) -> None:
    url = server.database("durable", template=demo_template)
    direct = create_engine(url)
    with direct.begin() as conn:
        token = keys.create_key(conn, "durable-desk", Role.dispatcher)[1]
        points = conn.execute(
            text("SELECT ST_X(point) x, ST_Y(point) y FROM compound ORDER BY id LIMIT 50")
        ).all()
    parsed = make_url(url)
    proxy = CuttableProxy((parsed.host or "127.0.0.1", int(parsed.port or 5432)))
    via_proxy = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    process, base = start_api(via_proxy)
    headers = {"Authorization": f"Bearer {token}"}
    stop = threading.Event()

    def report(i: int) -> tuple[str, int]:
        marker = f"durability {uuid.uuid4()}"
        point = points[i % len(points)]
        answer = httpx.post(
            f"{base}/v1/cases",
            headers=headers,
            timeout=60,
            json={
                "category": "E0102",
                "description": marker,
                "lon": point.x,
                "lat": point.y,
                "crs": "cgcs2000",
                "channel": "hotline",
            },
        )
        return marker, answer.status_code

    def saboteur() -> None:
        rng = random.Random(3)
        while not stop.is_set():
            time.sleep(rng.uniform(0.2, 0.6))
            proxy.cut()
            time.sleep(rng.uniform(0.05, 0.2))
            proxy.resume()

    try:
        cutter = threading.Thread(target=saboteur)
        cutter.start()
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(report, range(120)))
        stop.set()
        cutter.join()
        proxy.resume()
        statuses = [s for _, s in answers]
        assert set(statuses) <= {201, 503}, statuses
        assert statuses.count(503) > 0, "the connection never broke mid-request"
        assert statuses.count(201) > 0
        with direct.connect() as conn:
            stored = {
                r.description
                for r in conn.execute(
                    text("SELECT description FROM civic_case WHERE description LIKE 'durability %'")
                )
            }
        for marker, status in answers:
            assert (marker in stored) == (status == 201), (marker, status)
        # recovers by itself: the next case goes through without a restart
        deadline = time.monotonic() + 15
        while report(0)[1] != 201:
            assert time.monotonic() < deadline, "the API did not recover"
            time.sleep(0.3)
    finally:
        stop.set()
        process.terminate()
        process.wait(timeout=20)
        proxy.close()
        direct.dispose()


def test_a_commit_whose_answer_is_lost_is_settled(server: Any, demo_template: str) -> None:
    """The connection breaks at COMMIT: before the server saw it → 503 and no case; after
    the server committed but before the API heard back → the API finds out, answers 201."""
    url = server.database("settle", template=demo_template)
    direct = create_engine(url)
    with direct.begin() as conn:
        token = keys.create_key(conn, "settle-desk", Role.dispatcher)[1]
        point = conn.execute(
            text("SELECT ST_X(point) x, ST_Y(point) y FROM compound ORDER BY id LIMIT 1")
        ).one()
    parsed = make_url(url)
    proxy = CuttableProxy((parsed.host or "127.0.0.1", int(parsed.port or 5432)))
    process, base = start_api(
        parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    )
    try:
        for mode, status in (("before", 503), ("after", 201)):
            marker = f"settle {mode} {uuid.uuid4()}"
            proxy.broke.clear()
            proxy.break_commit = mode
            answer = httpx.post(
                f"{base}/v1/cases",
                timeout=60,
                json={
                    "category": "E0102",
                    "description": marker,
                    "lon": point.x,
                    "lat": point.y,
                    "crs": "cgcs2000",
                },
                headers={"Authorization": f"Bearer {token}"},
            )
            assert proxy.broke.is_set()
            assert answer.status_code == status, (mode, answer.text)
            with direct.connect() as conn:
                stored = conn.execute(
                    text("SELECT count(*) FROM civic_case WHERE description = :m"), {"m": marker}
                ).scalar()
            assert stored == (1 if status == 201 else 0), mode
    finally:
        process.terminate()
        process.wait(timeout=20)
        proxy.close()
        direct.dispose()
