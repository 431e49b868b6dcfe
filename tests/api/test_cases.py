"""Case dispatch over real HTTP: the fixed contract, roles and masking, idempotent create."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from geogrid.access import keys
from geogrid.access.roles import Role
from geogrid.api.schemas.cases import CaseAnswer
from geogrid.calendar import replace_years, shipped_calendar
from geogrid.geo.datum import point_from_storage
from tests.conftest import start_api
from tests.helpers import working_due


class Api:
    def __init__(self, base: str, tokens: dict[Role, str], url: str) -> None:
        self.base, self.tokens, self.url = base, tokens, url

    def call(
        self, method: str, path: str, role: Role | None = Role.dispatcher, **kwargs: Any
    ) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        if role is not None:
            headers["Authorization"] = f"Bearer {self.tokens[role]}"
        return httpx.request(method, f"{self.base}{path}", headers=headers, timeout=30, **kwargs)

    def count(self, where: str = "true", **params: Any) -> int:
        engine = create_engine(self.url)
        with engine.connect() as conn:
            found = conn.execute(
                text(f"SELECT count(*) FROM civic_case WHERE {where}"), params
            ).scalar()
        engine.dispose()
        return int(found or 0)


@pytest.fixture(scope="module")
def api(server: Any, demo_template: str) -> Iterator[Api]:
    url = server.database("casesapi", template=demo_template)
    engine = create_engine(url)
    with engine.begin() as conn:
        tokens = {
            role: keys.create_key(conn, f"cases-{role.name}", role)[1]
            for role in (Role.viewer, Role.dispatcher, Role.planner)
        }
        # a point well inside some grid, for the tests below
    engine.dispose()
    process, base = start_api(url)
    yield Api(base, tokens, url)
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture(scope="module")
def inside(api: Api) -> tuple[float, float, str]:
    """A compound's point (storage = wgs84 here) and the grid that holds it."""
    engine = create_engine(api.url)
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT ST_X(c.point) x, ST_Y(c.point) y, gg.grid_code FROM compound c "
                "JOIN grid_geometry gg ON gg.valid_to_release IS NULL AND ST_Covers(gg.geom, "
                "c.point) ORDER BY c.id LIMIT 1"
            )
        ).one()
    engine.dispose()
    return row.x, row.y, row.grid_code.strip()


def body(lon: float, lat: float, crs: str = "wgs84", **extra: Any) -> dict[str, Any]:
    return {
        "category": "E0503",
        "description": "机动车占用消防通道",
        "lon": lon,
        "lat": lat,
        "crs": crs,
        "reporter": {"name": "李大伟", "phone": "13900001111"},
        "channel": "app",
        **extra,
    }


def test_categories_follow_the_contract(api: Api) -> None:
    answer = api.call("GET", "/v1/case-categories", role=None)
    assert answer.status_code == 200
    found = answer.json()
    assert {"code", "name", "type", "handling_hours"} <= set(found[0])
    types = {c["type"] for c in found}
    assert types == {"event", "component"}
    majors = {c["major_name"] for c in found}
    assert {
        "市容环境",
        "街面秩序",
        "施工管理",
        "突发事件",
        "公用设施",
        "道路交通设施",
        "园林绿化设施",
    } <= majors
    # the two lists' major codes overlap; the code's letter tells them apart
    assert {c["code"][1:3] for c in found if c["type"] == "event"} & {
        c["code"][1:3] for c in found if c["type"] == "component"
    }


def test_create_answers_the_contract(api: Api, inside: tuple[float, float, str]) -> None:
    lon, lat, grid = inside
    answer = api.call("POST", "/v1/cases", json=body(lon, lat))
    assert answer.status_code == 201, answer.text
    case = answer.json()
    assert case["status"] == "reported" and isinstance(case["id"], int)
    assert case["grid"]["code"] == grid and case["release"] == 1
    assert {"community", "street", "leader", "party_branch"} <= set(case["grid"])
    assert isinstance(case["flags"], list)
    assert answer.headers["location"] == f"/v1/cases/{case['id']}"
    assert case["reporter"] == {"name": "李大伟", "phone": "13900001111"}


def test_gcj02_and_bd09_points_reach_the_same_grid(
    api: Api, inside: tuple[float, float, str]
) -> None:
    lon, lat, grid = inside
    for crs in ("gcj02", "bd09"):
        shifted = point_from_storage(lon, lat, crs)
        answer = api.call("POST", "/v1/cases", json=body(*shifted, crs=crs))
        assert answer.status_code == 201 and answer.json()["grid"]["code"] == grid, crs


def test_roles_and_masking(api: Api, inside: tuple[float, float, str]) -> None:
    lon, lat, _ = inside
    assert api.call("POST", "/v1/cases", role=None, json=body(lon, lat)).status_code == 401
    assert api.call("POST", "/v1/cases", role=Role.viewer, json=body(lon, lat)).status_code == 403
    case_id = api.call("POST", "/v1/cases", json=body(lon, lat)).json()["id"]
    assert (
        api.call(
            "POST", f"/v1/cases/{case_id}/transitions", role=Role.viewer, json={"to": "accepted"}
        ).status_code
        == 403
    )
    seen = api.call("GET", f"/v1/cases/{case_id}", role=None).json()
    assert seen["reporter"] == {"name": "李**", "phone": "139****1111"}
    assert seen["events"][0]["actor"] == "c" + "*" * (len("cases-dispatcher") - 1)
    full = api.call("GET", f"/v1/cases/{case_id}").json()
    assert full["reporter"]["phone"] == "13900001111"
    assert full["events"][0]["actor"] == "cases-dispatcher"


def test_transitions_over_http(api: Api, inside: tuple[float, float, str]) -> None:
    case_id = api.call("POST", "/v1/cases", json=body(*inside[:2])).json()["id"]
    illegal = api.call("POST", f"/v1/cases/{case_id}/transitions", json={"to": "closed"})
    assert illegal.status_code == 409 and "accepted" in illegal.json()["detail"]
    zh = api.call(
        "POST",
        f"/v1/cases/{case_id}/transitions",
        json={"to": "closed"},
        headers={"Accept-Language": "zh"},
    )
    assert "结案" in zh.json()["detail"]
    moved = api.call(
        "POST", f"/v1/cases/{case_id}/transitions", json={"to": "accepted", "note": "立案"}
    )
    assert moved.status_code == 200
    assert moved.json()["status"] == "accepted" and moved.json()["accepted_at"]
    assert moved.json()["events"][-1]["note"] == "立案"
    assert (
        api.call("POST", "/v1/cases/999999/transitions", json={"to": "accepted"}).status_code == 404
    )


def test_due_times_follow_the_category_clock_and_the_calendar(
    api: Api, inside: tuple[float, float, str]
) -> None:
    def accept(category: str) -> dict[str, Any]:
        made = api.call("POST", "/v1/cases", json=body(*inside[:2], category=category))
        moved = api.call(
            "POST", f"/v1/cases/{made.json()['id']}/transitions", json={"to": "accepted"}
        )
        assert moved.status_code == 200, moved.text
        CaseAnswer.model_validate(moved.json())
        return dict(moved.json())

    # E0503 机动车乱停放: 4 working hours (office hours of working days, shipped calendar)
    working = accept("E0503")
    assert working["category"]["clock"] == "working"
    expected = working_due(working["accepted_at"], 4)
    assert working["calendar_missing"] is (expected is None)
    due = working["due_at"] and datetime.fromisoformat(working["due_at"])
    assert due == expected
    # E0403 燃气管道破裂: 1 hour round the clock
    urgent = accept("E0403")
    assert urgent["category"]["clock"] == "calendar" and not urgent["calendar_missing"]
    accepted_at = datetime.fromisoformat(urgent["accepted_at"])
    assert datetime.fromisoformat(urgent["due_at"]) == accepted_at + timedelta(hours=1)
    # without this year's notice a working-hour due time is not guessed
    engine = create_engine(api.url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM work_calendar_year WHERE year >= extract(year FROM now())"))
    try:
        missing = accept("E0503")
        assert missing["due_at"] is None and missing["calendar_missing"] is True
        assert missing["overdue"] is False
        listed = api.call("GET", "/v1/cases", params={"overdue": "false"}).json()
        assert any(c["id"] == missing["id"] and c["calendar_missing"] for c in listed["cases"])
        assert accept("E0403")["calendar_missing"] is False  # round the clock needs no calendar
    finally:
        with engine.begin() as conn:
            replace_years(conn, shipped_calendar())
        engine.dispose()


def test_bad_input_is_a_named_422(api: Api, inside: tuple[float, float, str]) -> None:
    lon, lat, _ = inside
    far = api.call("POST", "/v1/cases", json=body(lon - 0.1, lat))
    assert far.status_code == 422 and far.json()["code"] == "outside_district"
    swapped = api.call("POST", "/v1/cases", json=body(lat, lon))
    assert swapped.status_code == 422 and "swap" in swapped.json()["detail"]
    unknown = api.call("POST", "/v1/cases", json={**body(lon, lat), "category": "Z1"})
    assert unknown.status_code == 422 and "catalogue" in unknown.json()["detail"]


def test_idempotent_create_under_20_concurrent_retries(
    api: Api, inside: tuple[float, float, str]
) -> None:
    lon, lat, _ = inside
    payload = body(lon, lat, description="同一个请求重试二十次")
    key = "retry-7f3a"

    def post(_: int) -> httpx.Response:
        return api.call("POST", "/v1/cases", json=payload, headers={"Idempotency-Key": key})

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(post, range(20)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 19
    assert api.count("idempotency_key = :k", k=key) == 1
    other = api.call(
        "POST",
        "/v1/cases",
        json={**payload, "description": "另一件事"},
        headers={"Idempotency-Key": key},
    )
    assert other.status_code == 409


def test_every_time_carries_yaohais_offset(api: Api, inside: tuple[float, float, str]) -> None:
    case_id = api.call("POST", "/v1/cases", json=body(*inside[:2])).json()["id"]
    api.call("POST", f"/v1/cases/{case_id}/transitions", json={"to": "accepted"})
    one = api.call("GET", f"/v1/cases/{case_id}").json()
    listed = api.call("GET", "/v1/cases", params={"limit": 5}).json()
    times = [one["created_at"], one["accepted_at"], one["due_at"], one["events"][-1]["at"]]
    times += [c["created_at"] for c in listed["cases"]]
    assert times and all(t.endswith("+08:00") for t in times), times


def test_a_duplicate_is_flagged_and_merged_over_http(
    api: Api, inside: tuple[float, float, str]
) -> None:
    lon, lat = inside[:2]
    first = api.call("POST", "/v1/cases", json=body(lon, lat)).json()
    again = api.call("POST", "/v1/cases", json=body(lon, lat)).json()
    assert "possible_duplicate" in again["flags"] and "可能重复" in again["flags_zh"]
    flagged = api.call("GET", "/v1/cases", params={"flag": "possible_duplicate"}).json()
    assert again["id"] in {c["id"] for c in flagged["cases"]}
    viewer = api.call(
        "POST", f"/v1/cases/{again['id']}/merge", role=Role.viewer, json={"into": first["id"]}
    )
    assert viewer.status_code == 403
    merged = api.call(
        "POST", f"/v1/cases/{again['id']}/merge", json={"into": first["id"], "note": "重复"}
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["id"] == first["id"] and len(merged.json()["other_reporters"]) == 1
    gone = api.call("GET", f"/v1/cases/{again['id']}").json()
    assert gone["status"] == "void" and gone["merged_into"] == first["id"]
    twice = api.call("POST", f"/v1/cases/{again['id']}/merge", json={"into": first["id"]})
    assert twice.status_code == 409
