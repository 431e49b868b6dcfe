"""POST /v1/cases/preview over real HTTP: what a case would get, the same as creating it gives,
without writing anything; similar open cases nearby; masking; bad input."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from shapely.geometry import Point
from sqlalchemy import create_engine, text

from geogrid import cases, db
from geogrid.access import keys
from geogrid.access.roles import Principal, Role, mask_name, mask_phone
from geogrid.api.routes.cases import preview_body
from geogrid.api.schemas.cases import CasePreviewAnswer
from geogrid.cases.report import CaseReport
from geogrid.geo.datum import from_metric, point_from_storage, to_metric
from geogrid.lookup import snapshot
from geogrid.settings import CaseSettings
from tests.conftest import start_api
from tests.helpers import working_due

PREVIEW = "/v1/cases/preview"


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

    def sql(self, query: str, **params: Any) -> Any:
        engine = create_engine(self.url)
        with engine.begin() as conn:
            found = conn.execute(text(query), params).all()
        engine.dispose()
        return found

    def written(self) -> tuple[int, int]:
        """How many cases and case events there are."""
        [row] = self.sql(
            "SELECT (SELECT count(*) FROM civic_case) c, (SELECT count(*) FROM case_event) e"
        )
        return int(row.c), int(row.e)

    def preview(self, payload: dict[str, Any], role: Role | None = Role.dispatcher) -> Any:
        answer = self.call("POST", PREVIEW, role=role, json=payload)
        assert answer.status_code == 200, answer.text
        found = answer.json()
        CasePreviewAnswer.model_validate(found)
        return found

    def create(self, payload: dict[str, Any]) -> Any:
        answer = self.call("POST", "/v1/cases", json=payload)
        assert answer.status_code == 201, answer.text
        return answer.json()


@pytest.fixture(scope="module")
def api(server: Any, demo_template: str) -> Iterator[Api]:
    url = server.database("casepreview", template=demo_template)
    engine = create_engine(url)
    with engine.begin() as conn:
        tokens = {
            role: keys.create_key(conn, f"preview-{role.name}", role)[1]
            for role in (Role.viewer, Role.dispatcher, Role.admin)
        }
    engine.dispose()
    process, base = start_api(
        url, settings={"GEOGRID_CASE_SIMILAR_DISTANCE_M": "100", "GEOGRID_CASE_SIMILAR_DAYS": "7"}
    )
    yield Api(base, tokens, url)
    process.terminate()
    process.wait(timeout=20)


def compound_point(api: Api, nth: int) -> tuple[float, float, int, str]:
    """The point (storage lon/lat) of the nth compound that a current grid holds."""
    [row] = api.sql(
        "SELECT c.id, c.name, ST_X(c.point) x, ST_Y(c.point) y FROM compound c "
        "WHERE EXISTS (SELECT 1 FROM grid_geometry g WHERE g.valid_to_release IS NULL "
        "AND ST_Covers(g.geom, c.point)) ORDER BY c.id OFFSET :n LIMIT 1",
        n=nth,
    )
    return row.x, row.y, int(row.id), row.name


def moved(lon: float, lat: float, east_m: float, north_m: float) -> tuple[float, float]:
    """A storage point ``east_m`` east and ``north_m`` north of another (EPSG:4548 metres)."""
    metric = to_metric(Point(lon, lat))
    found = from_metric(Point(metric.x + east_m, metric.y + north_m))
    return found.x, found.y


def body(lon: float, lat: float, crs: str = "cgcs2000", **extra: Any) -> dict[str, Any]:
    return {
        "category": "E0503",
        "description": "机动车占用消防通道",
        "lon": lon,
        "lat": lat,
        "crs": crs,
        "reporter": {"name": "李大伟", "phone": "13900001111"},
        "channel": "hotline",
        **extra,
    }


def assert_same_placement(preview: dict[str, Any], case: dict[str, Any]) -> None:
    assert preview["grid"] == case["grid"]
    assert preview["flags"] == case["flags"] and preview["flags_zh"] == case["flags_zh"]
    assert preview["release"] == case["release"]
    assert preview["category"] == case["category"]
    assert preview["location"] == case["location"]
    assert (preview["compound"] or {}).get("id") == case["compound_id"]


def test_preview_answers_what_the_created_case_gets(api: Api) -> None:
    lon, lat, compound_id, name = compound_point(api, 0)
    payload = body(lon, lat, category="E0101", description="楼顶私搭乱建")
    preview = api.preview(payload)
    assert preview["compound"] == {"id": compound_id, "name": name}
    assert preview["category"]["code"] == "E0101" and preview["category"]["handling_hours"] == 48
    assert preview["similar"] == []
    assert preview["similar_within"] == {"distance_m": 100.0, "days": 7.0}
    case = api.create(payload)
    assert_same_placement(preview, case)
    assert preview["grid"]["leader"]["name"]  # dispatchers see the people
    # due if accepted now: E0101 counts its 48 handling hours in working hours (office hours of
    # working days on the shipped calendar) from the moment of the preview, as acceptance does
    assert preview["category"]["clock"] == "working"
    at = datetime.fromisoformat(preview["at"])
    expected = working_due(at, 48)
    assert preview["calendar_missing"] is (expected is None)
    if expected is not None:
        assert datetime.fromisoformat(preview["due_at"]) == expected
    accepted = api.call("POST", f"/v1/cases/{case['id']}/transitions", json={"to": "accepted"})
    moved = accepted.json()
    assert moved["calendar_missing"] is (working_due(moved["accepted_at"], 48) is None)
    if expected is not None:
        due_at = datetime.fromisoformat(moved["due_at"])
        assert due_at == working_due(moved["accepted_at"], 48)
        assert expected <= due_at < expected + timedelta(minutes=5)


def test_a_preview_writes_nothing(api: Api) -> None:
    lon, lat, _, _ = compound_point(api, 1)
    before = api.written()
    for crs in ("cgcs2000", "gcj02"):
        api.preview(body(*point_from_storage(lon, lat, crs), crs=crs))
    assert api.call("POST", PREVIEW, json=body(lon - 0.1, lat)).status_code == 422
    assert api.written() == before
    api.create(body(lon, lat))
    assert api.written() == (before[0] + 1, before[1] + 1)  # the counts can fail


def test_boundary_and_outside_points_get_the_flags_create_gives(api: Api) -> None:
    [shared] = api.sql(
        "WITH v AS (SELECT (ST_DumpPoints(geom)).geom p FROM grid_geometry "
        "WHERE valid_to_release IS NULL ORDER BY grid_code LIMIT 200) "
        "SELECT ST_X(p) x, ST_Y(p) y FROM v WHERE (SELECT count(*) FROM grid_geometry g "
        "WHERE g.valid_to_release IS NULL AND ST_Covers(g.geom, v.p)) >= 2 LIMIT 1"
    )
    # the district point nearest to one a degree west of it, and that far point: every point
    # between the two is outside the district
    [edge] = api.sql(
        "SELECT ST_X(p) x, ST_Y(p) y, ST_X(q) qx, ST_Y(q) qy FROM district d, "
        "LATERAL (SELECT ST_SetSRID(ST_MakePoint(ST_XMin(d.geom) - 1, "
        "(ST_YMin(d.geom) + ST_YMax(d.geom)) / 2), 4490) q) w, "
        "LATERAL (SELECT ST_ClosestPoint(d.geom, w.q) p) c"
    )
    qx, qy = edge.qx, edge.qy
    # 0.0006 degrees (about 57 m) from the district towards the far point
    length = math.hypot(qx - edge.x, qy - edge.y)
    outside = (edge.x + 0.0006 * (qx - edge.x) / length, edge.y + 0.0006 * (qy - edge.y) / length)
    for (lon, lat), flag in (
        ((shared.x, shared.y), "near_boundary"),
        (outside, "outside_district"),
    ):
        preview = api.preview(body(lon, lat, description=f"{flag} 测试"))
        assert preview["flags"] == [flag]
        if flag == "near_boundary":
            assert preview["routing"]["on_boundary"] and len(preview["routing"]["candidates"]) > 1
        else:
            assert preview["routing"]["outside_distance_m"] > 50
        assert_same_placement(preview, api.create(body(lon, lat, description=f"{flag} 测试")))


def test_gcj02_and_an_address_route_like_create(api: Api) -> None:
    lon, lat, compound_id, name = compound_point(api, 2)
    plain = api.preview(body(lon, lat, category="E0104"))
    for crs in ("gcj02", "bd09"):
        shifted = point_from_storage(lon, lat, crs)
        preview = api.preview(body(*shifted, crs=crs, category="E0104"))
        assert preview["grid"]["code"] == plain["grid"]["code"], crs
        assert preview["location"]["lon"] == pytest.approx(lon, abs=1e-6)
        assert preview["location"]["lat"] == pytest.approx(lat, abs=1e-6)
        assert_same_placement(preview, api.create(body(*shifted, crs=crs, category="E0104")))
    by_address = {"category": "E0104", "description": "道路不洁", "address": name}
    preview = api.preview(by_address)
    assert preview["compound"] == {"id": compound_id, "name": name}
    assert_same_placement(preview, api.create(by_address))


def test_similar_cases_are_open_near_recent_and_of_the_same_category(api: Api) -> None:
    lon, lat, _, _ = compound_point(api, 3)
    category = "E0105"
    here = api.create(body(lon, lat, category=category, description="水面漂浮垃圾"))
    near = api.create(body(*moved(lon, lat, 60, 0), category=category, description="60 m 东"))
    far = api.create(body(*moved(lon, lat, 0, 150), category=category, description="150 m 北"))
    other = api.create(body(lon, lat, category="E0101", description="别的类别"))
    void = api.create(body(lon, lat, category=category, description="作废的"))
    api.call("POST", f"/v1/cases/{void['id']}/transitions", json={"to": "void", "note": "重复"})
    closed = api.create(body(*moved(lon, lat, 0, 20), category=category, description="结案的"))
    for status in ("accepted", "dispatched", "in_progress", "handled", "verified", "closed"):
        # the department signs for and handles (the admin stands in), others check and close
        who = Role.admin if status in ("in_progress", "handled") else Role.dispatcher
        answer = api.call(
            "POST", f"/v1/cases/{closed['id']}/transitions", role=who, json={"to": status}
        )
        assert answer.status_code == 200, answer.text
    old = api.create(body(*moved(lon, lat, -30, 0), category=category, description="十天前"))
    api.sql(
        "UPDATE civic_case SET created_at = now() - interval '10 days' WHERE id = :id RETURNING id",
        id=old["id"],
    )
    accepted = api.create(body(*moved(lon, lat, 0, -40), category=category, description="已立案"))
    api.call("POST", f"/v1/cases/{accepted['id']}/transitions", json={"to": "accepted"})

    preview = api.preview(body(lon, lat, category=category, description="又有人报"))
    similar = {c["id"]: c for c in preview["similar"]}
    assert set(similar) == {here["id"], near["id"], accepted["id"]}
    assert [c["id"] for c in preview["similar"]] == [here["id"], accepted["id"], near["id"]]
    assert similar[here["id"]]["distance_m"] == pytest.approx(0, abs=0.5)
    assert similar[near["id"]]["distance_m"] == pytest.approx(60, abs=1)
    assert similar[accepted["id"]]["distance_m"] == pytest.approx(40, abs=1)
    assert similar[accepted["id"]]["status"] == "accepted"
    assert similar[accepted["id"]]["status_zh"] == "立案"
    assert similar[near["id"]]["description"] == "60 m 东"
    assert similar[near["id"]]["reporter"] == {"name": "李大伟", "phone": "13900001111"}
    assert similar[near["id"]]["grid"] == near["grid"]["code"]
    assert similar[here["id"]]["created_at"] == here["created_at"]
    assert not {far["id"], other["id"], void["id"], closed["id"], old["id"]} & set(similar)


def test_viewers_are_refused_and_would_see_people_masked(api: Api) -> None:
    lon, lat, _, _ = compound_point(api, 4)
    payload = body(lon, lat, category="E0102")
    assert api.call("POST", PREVIEW, role=None, json=payload).status_code == 401
    assert api.call("POST", PREVIEW, role=Role.viewer, json=payload).status_code == 403
    api.create(payload)
    engine = db.make_engine(api.url)  # as the server makes its engine: times in +08:00
    with engine.connect() as conn:
        snap = snapshot.build(
            conn, conn.execute(text("SELECT max(id) FROM boundary_release")).scalar()
        )
        preview = cases.preview_case(conn, snap, CaseReport.model_validate(payload), CaseSettings())
    engine.dispose()
    full = preview_body(preview, Principal("preview-dispatcher", Role.dispatcher))
    masked = preview_body(preview, Principal(None, Role.viewer))
    over_http = api.preview(payload)
    assert {k: v for k, v in full.items() if k not in ("at", "due_at")} == {
        k: v for k, v in over_http.items() if k not in ("at", "due_at")
    }
    grid, seen = full["grid"], masked["grid"]
    assert grid["leader"]["name"] and grid["leader"]["phone"]
    assert seen["leader"] == {
        "name": mask_name(grid["leader"]["name"]),
        "phone": mask_phone(grid["leader"]["phone"]),
    }
    secretary = grid["party_branch"]["secretary"]
    assert seen["party_branch"]["secretary"] == {
        "name": mask_name(secretary["name"]),
        "phone": mask_phone(secretary["phone"]),
    }
    assert full["similar"][0]["reporter"] == {"name": "李大伟", "phone": "13900001111"}
    assert masked["similar"][0]["reporter"] == {"name": "李**", "phone": "139****1111"}
    assert {k: v for k, v in masked.items() if k not in ("grid", "similar")} == {
        k: v for k, v in full.items() if k not in ("grid", "similar")
    }


def test_bad_input_is_the_named_422_create_gives(api: Api) -> None:
    lon, lat, _, _ = compound_point(api, 0)
    before = api.written()
    for payload, code, words in (
        (body(lon - 0.1, lat), "outside_district", "outside"),
        (body(lat, lon), None, "swap"),
        ({**body(lon, lat), "category": "Z1"}, None, "catalogue"),
        ({"category": "E0101", "description": "无地点"}, None, "location"),
        ({"category": "E0101", "description": "x", "address": "不存在的小区名字"}, None, "close"),
        ({**body(lon, lat), "crs": "epsg:3857"}, None, "crs"),
    ):
        preview = api.call("POST", PREVIEW, json=payload)
        create = api.call("POST", "/v1/cases", json=payload)
        assert preview.status_code == create.status_code == 422, payload
        assert preview.json() == create.json(), payload
        assert words in preview.json()["detail"], preview.json()
        if code is not None:
            assert preview.json()["code"] == code
    assert api.written() == before
