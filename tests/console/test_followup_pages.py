"""After dispatch in the console, over real HTTP: a handler asks for an extension on the case
page, a supervisor approves it on the approvals page (never their own), 催办 and 督办, and a
closed case's 回访 and reopening, each as the JSON API then shows it."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from geogrid.access import users
from geogrid.access.roles import Role
from geogrid.settings import AuthSettings
from tests.conftest import start_api

if TYPE_CHECKING:
    from tests.conftest import TestServer

PASSWORD = "test-pass-9012"
#: 市政's handler (SZ answers for E04 in the demo), a dispatcher, a supervisor and an admin
PEOPLE = {
    "hand-a": (Role.handler, "SZ"),
    "desk-b": (Role.dispatcher, None),
    "chief-c": (Role.supervisor, None),
    "boss-d": (Role.admin, None),
}


@pytest.fixture(scope="module")
def api(server: TestServer, demo_template: str) -> Iterator[str]:
    url = server.database(f"fu{secrets.token_hex(3)}", template=demo_template)
    engine = create_engine(url)
    with engine.begin() as conn:
        for name, (role, department) in PEOPLE.items():
            users.create_user(conn, name, role, PASSWORD, AuthSettings(), department=department)
        point = conn.execute(
            text("SELECT ST_X(point) x, ST_Y(point) y FROM compound LIMIT 1")
        ).one()
    engine.dispose()
    process, base = start_api(url, settings={"GEOGRID_RATE_LIMITS": "false"})
    yield f"{base}|{point.x}|{point.y}"
    process.terminate()
    process.wait(timeout=30)


class Person:
    def __init__(self, base: str, name: str) -> None:
        self.client = httpx.Client(base_url=base, timeout=60, follow_redirects=False)
        answer = self.client.post("/login", data={"username": name, "password": PASSWORD})
        assert answer.status_code == 303, answer.text[:300]
        html = self.client.get("/console/cases?status=void").text
        found = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
        assert found is not None
        self.token = found.group(1)

    def form(self, path: str, **data: str) -> httpx.Response:
        return self.client.post(path, data={"csrf_token": self.token, **data})

    def api(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.client.request(method, path, headers={"X-CSRF-Token": self.token}, **kw)

    def move(self, case_id: int, to: str) -> None:
        answer = self.api("POST", f"/v1/cases/{case_id}/transitions", json={"to": to})
        assert answer.status_code == 200, answer.text


@pytest.fixture(scope="module")
def people(api: str) -> dict[str, Any]:
    base, x, y = api.split("|")
    found: dict[str, Any] = {name: Person(base, name) for name in PEOPLE}
    found["point"] = (float(x), float(y))
    return found


def _case(people: dict[str, Any]) -> int:
    lon, lat = people["point"]
    made = people["desk-b"].api(
        "POST",
        "/v1/cases",
        json={
            "category": "E0404",
            "description": "下水道堵塞",
            "lon": lon,
            "lat": lat,
            "crs": "cgcs2000",
        },
    )
    assert made.status_code == 201, made.text
    case_id = int(made.json()["id"])
    for to in ("accepted", "dispatched"):
        people["desk-b"].move(case_id, to)
    return case_id


def test_an_extension_asked_on_the_case_page_is_approved_on_the_approvals_page(
    people: dict[str, Any],
) -> None:
    hand, chief = people["hand-a"], people["chief-c"]
    case_id = _case(people)
    page = hand.client.get(f"/console/cases/{case_id}").text
    assert "申请延期" in page and "处置阶段" in page and "督办审批" not in page  # no menu item
    assert hand.client.get("/console/approvals").status_code == 403
    before = hand.api("GET", f"/v1/cases/{case_id}").json()
    bad = hand.form(f"/console/cases/{case_id}/extensions", hours="abc", reason="x")
    assert bad.status_code == 422 and "延期" in bad.text
    asked = hand.form(f"/console/cases/{case_id}/extensions", hours="6", reason="需等待配件")
    assert asked.status_code == 303
    listing = chief.client.get("/console/approvals")
    assert (
        listing.status_code == 200 and "需等待配件" in listing.text and "督办审批" in listing.text
    )
    [extension] = chief.api("GET", f"/v1/cases/{case_id}/extensions").json()
    approved = chief.form(
        f"/console/cases/{case_id}/extensions/{extension['id']}/decision",
        approve="yes",
        note="同意",
        back="approvals",
    )
    assert approved.status_code == 303 and approved.headers["location"].endswith(
        "/console/approvals"
    )
    after = hand.api("GET", f"/v1/cases/{case_id}").json()
    assert after["extended_hours"] == 6 and after["due_at"] > before["due_at"]
    assert "需等待配件" not in chief.client.get("/console/approvals").text
    # the admin's own request cannot be approved by the admin
    boss = people["boss-d"]
    boss.form(f"/console/cases/{case_id}/extensions", hours="1", reason="再等一小时")
    [mine, _] = chief.api("GET", f"/v1/cases/{case_id}/extensions").json()
    refused = boss.form(
        f"/console/cases/{case_id}/extensions/{mine['id']}/decision",
        approve="yes",
        back="approvals",
    )
    assert refused.status_code == 422 and "职责分离" in refused.text


def test_urging_supervising_visiting_and_reopening_from_the_case_page(
    people: dict[str, Any],
) -> None:
    hand, desk, chief = people["hand-a"], people["desk-b"], people["chief-c"]
    case_id = _case(people)
    assert desk.form(f"/console/cases/{case_id}/urge", note="群众来电催促").status_code == 303
    assert desk.form(f"/console/cases/{case_id}/supervise", note="x").status_code == 403
    assert chief.form(f"/console/cases/{case_id}/supervise", note="限今日办结").status_code == 303
    shown = hand.api("GET", f"/v1/cases/{case_id}").json()
    assert shown["urged"] == 1 and shown["supervised_at"]
    page = hand.client.get(f"/console/cases/{case_id}").text
    assert "催办 1 次" in page and "督办" in page
    for to in ("in_progress", "handled"):
        hand.move(case_id, to)
    for to in ("verified", "closed"):
        desk.move(case_id, to)
    closed = desk.client.get(f"/console/cases/{case_id}").text
    assert "记录回访" in closed and "重新办理" in closed
    visited = desk.form(
        f"/console/cases/{case_id}/visits", reached="yes", satisfaction="2", note="仍有异味"
    )
    assert visited.status_code == 303
    assert hand.api("GET", f"/v1/cases/{case_id}").json()["satisfaction"] == 2
    assert "不满意" in hand.client.get(f"/console/cases/{case_id}").text
    assert hand.form(f"/console/cases/{case_id}/reopen", note="x").status_code == 403
    blank = desk.form(f"/console/cases/{case_id}/reopen", note="")
    assert blank.status_code == 422
    reopened = desk.form(f"/console/cases/{case_id}/reopen", note="回访不满意")
    assert reopened.status_code == 303
    again = hand.api("GET", f"/v1/cases/{case_id}").json()
    assert (again["status"], again["reopened"]) == ("dispatched", 1)


def test_the_intake_form_takes_the_urgency(people: dict[str, Any]) -> None:
    desk = people["desk-b"]
    lon, lat = people["point"]
    form = {
        "description": "井盖丢失，行人易坠落",
        "lon": str(lon),
        "lat": str(lat),
        "crs": "cgcs2000",
        "channel": "hotline",
    }
    made = desk.form("/console/cases/new", category="C0102 污水井盖", urgency="urgent", **form)
    assert made.status_code == 303, made.text[:500]
    case_id = int(made.headers["location"].split("?")[0].rstrip("/").split("/")[-1])
    case = desk.api("GET", f"/v1/cases/{case_id}").json()
    assert case["urgency"] == "urgent" and case["urgency_zh"] == "紧急"
    assert "紧急" in desk.client.get(f"/console/cases/{case_id}").text
    # a category with one level refuses "urgent", naming the level it has
    refused = desk.form("/console/cases/new", category="E0102", urgency="urgent", **form)
    assert refused.status_code == 422 and "normal" in refused.text
