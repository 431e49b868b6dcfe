"""Notifications end to end: the API (real server) writes events, a worker (the shipped
`geogrid notify run`) delivers them to a real HTTP receiver that fails at first.

Issue 15's acceptance: a webhook that fails 3 times is retried until it answers, and each event
is delivered exactly once to a receiver that deduplicates by event id.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from bench.receiver import Receiver
from geogrid.access import keys
from geogrid.access.roles import Role
from tests.conftest import REPO, start_api

SECRET = "e2e-secret-0123456789abcdef"


class Api:
    def __init__(self, base: str, tokens: dict[Role, str], url: str) -> None:
        self.base, self.tokens, self.url = base, tokens, url

    def call(self, method: str, path: str, role: Role = Role.admin, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[role]}", **kw.pop("headers", {})}
        return httpx.request(method, f"{self.base}{path}", headers=headers, timeout=30, **kw)


@pytest.fixture(scope="module")
def api(server: Any, demo_template: str) -> Iterator[Api]:
    url = server.database("notifyapi", template=demo_template)
    engine = create_engine(url)
    with engine.begin() as conn:
        tokens = {
            role: keys.create_key(conn, f"notify-{role.name}", role)[1]
            for role in (Role.viewer, Role.dispatcher, Role.admin)
        }
    engine.dispose()
    process, base = start_api(url)
    yield Api(base, tokens, url)
    process.terminate()
    process.wait(timeout=20)


def _point_and_other_grid(url: str) -> tuple[float, float, str]:
    engine = create_engine(url)
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT ST_X(c.point) x, ST_Y(c.point) y, gg.grid_code FROM compound c "
                "JOIN grid_geometry gg ON gg.valid_to_release IS NULL AND ST_Covers(gg.geom, "
                "c.point) ORDER BY c.id LIMIT 1"
            )
        ).one()
        other = conn.execute(
            text(
                "SELECT grid_code FROM grid_geometry WHERE valid_to_release IS NULL AND "
                "grid_code <> :g ORDER BY grid_code LIMIT 1"
            ),
            {"g": row.grid_code},
        ).scalar_one()
    engine.dispose()
    return row.x, row.y, other.strip()


def test_only_admins_see_and_manage_webhooks(api: Api) -> None:
    for role in (Role.viewer, Role.dispatcher):
        assert api.call("GET", "/v1/notifications/status", role).status_code == 403
        made = api.call("POST", "/v1/notifications/webhooks", role, json={"name": "x", "url": "x"})
        assert made.status_code == 403
    bad = api.call("POST", "/v1/notifications/webhooks", json={"name": "sms", "url": "ftp://x"})
    assert bad.status_code == 422
    assert "ftp://x" in bad.json()["detail"]
    bad = api.call(
        "POST",
        "/v1/notifications/webhooks",
        json={"name": "sms", "url": "http://x.example/", "kinds": ["case.asigned"]},
        headers={"Accept-Language": "zh"},
    )
    assert bad.status_code == 422
    assert "case.asigned" in bad.json()["detail"] and "事件类型" in bad.json()["detail"]
    assert api.call("DELETE", "/v1/notifications/webhooks/nothing").status_code == 404


def test_a_webhook_failing_three_times_gets_each_event_exactly_once(api: Api) -> None:
    x, y, other = _point_and_other_grid(api.url)
    with Receiver(SECRET, fail_first=3) as receiver:
        made = api.call(
            "POST",
            "/v1/notifications/webhooks",
            json={"name": "sms-gateway", "url": receiver.url, "secret": SECRET},
        )
        assert made.status_code == 201, made.text
        assert made.json()["secret"] == SECRET
        listed = api.call("GET", "/v1/notifications/webhooks").json()
        assert [h["name"] for h in listed] == ["sms-gateway"]
        assert "secret" not in listed[0]

        case = api.call(
            "POST",
            "/v1/cases",
            Role.dispatcher,
            json={
                "category": "E0503",
                "description": "机动车占用消防通道",
                "lon": x,
                "lat": y,
                "crs": "wgs84",
                "reporter": {"name": "李大伟", "phone": "13900001111"},
                "channel": "app",
            },
        )
        assert case.status_code == 201, case.text
        case_id, grid = case.json()["id"], case.json()["grid"]["code"]
        for to in ("accepted", "dispatched"):
            moved = api.call(
                "POST", f"/v1/cases/{case_id}/transitions", Role.dispatcher, json={"to": to}
            )
            assert moved.status_code == 200, moved.text
        moved = api.call(
            "POST",
            f"/v1/cases/{case_id}/reroute",
            Role.dispatcher,
            json={"grid": other, "reason": "现场核实属隔壁网格"},
        )
        assert moved.status_code == 200, moved.text

        waiting = api.call("GET", "/v1/notifications/status").json()
        assert (waiting["events"], waiting["pending"], waiting["delivered"]) == (3, 3, 0)

        worker = subprocess.run(
            [
                sys.executable,
                "-m",
                "geogrid.cli.main",
                "notify",
                "run",
                "--until-idle",
                "--max-seconds",
                "60",
            ],
            cwd=REPO,
            env={
                **os.environ,
                "GEOGRID_DATABASE_URL": api.url,
                "GEOGRID_NOTIFY_BACKOFF_S": "0.2",
                "GEOGRID_NOTIFY_POLL_S": "0.05",
            },
            capture_output=True,
            timeout=120,
        )
        assert worker.returncode == 0, worker.stderr.decode()

    assert receiver.failed == 3  # refused three times, then answered
    assert receiver.bad_signatures == 0
    assert set(receiver.counts.values()) == {1}  # each event accepted exactly once
    kinds = Counter(e["kind"] for e in receiver.events.values())
    assert kinds == {"case.reported": 1, "case.assigned": 2}
    reported, dispatched, rerouted = sorted(receiver.events.values(), key=lambda e: e["id"])
    assert reported["payload"]["grid"]["code"] == grid
    assert dispatched["case_id"] == case_id
    assert dispatched["payload"]["status"] == "dispatched"
    assert dispatched["payload"]["grid"]["code"] == grid
    assert dispatched["payload"]["due_at"].endswith("+08:00")
    assert dispatched["payload"]["grid"]["leader"]["phone"]  # the SMS gateway's recipient
    assert (rerouted["payload"]["grid"]["code"], rerouted["payload"]["from_grid"]) == (other, grid)

    status = api.call("GET", "/v1/notifications/status").json()
    assert (status["pending"], status["failing"], status["delivered"], status["dead"]) == (
        0,
        0,
        3,
        0,
    )
    (hook,) = status["webhooks"]
    assert hook["name"] == "sms-gateway" and hook["last_delivered_at"].endswith("+08:00")
    assert "case.assigned" in status["kinds"]
    assert api.call("DELETE", "/v1/notifications/webhooks/sms-gateway").status_code == 204
    assert api.call("GET", "/v1/notifications/webhooks").json() == []
