"""Bounded everything: inputs that used to reach a 500 are a 4xx naming the field.

Each case here was a 500 before the bounded types (geogrid/limits.py) and moment ranges.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from geogrid.access import keys
from geogrid.access.roles import Role
from tests.conftest import start_api


class Api:
    def __init__(self, base: str, tokens: dict[Role, str], url: str) -> None:
        self.base, self.tokens, self.url = base, tokens, url

    def call(
        self, method: str, path: str, role: Role | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        if role is not None:
            headers["Authorization"] = f"Bearer {self.tokens[role]}"
        return httpx.request(method, f"{self.base}{path}", headers=headers, timeout=30, **kwargs)


@pytest.fixture(scope="module")
def api(server: Any, demo_template: str) -> Iterator[Api]:
    url = server.database("bounds", template=demo_template)
    engine = create_engine(url)
    with engine.begin() as conn:
        tokens = {
            role: keys.create_key(conn, f"bounds-{role.name}", role)[1]
            for role in (Role.dispatcher, Role.planner)
        }
    engine.dispose()
    process, base = start_api(url)
    yield Api(base, tokens, url)
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture(scope="module")
def grid(api: Api) -> str:
    engine = create_engine(api.url)
    with engine.connect() as conn:
        code = conn.execute(text("SELECT code FROM grid ORDER BY code LIMIT 1")).scalar_one()
    engine.dispose()
    return str(code).strip()


def refused(answer: httpx.Response, field: str, status: int = 422) -> str:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["code"] in ("validation_error", "invalid_input", "edit_rejected"), body
    assert field in body["detail"], body
    return str(body["detail"])


FILTERED = ["/v1/cases", "/v1/cases/counts", "/v1/cases/h3", "/v1/cases/performance"]
FILTERED += ["/v1/cases/export", "/maps/cases"]


@pytest.mark.parametrize("path", FILTERED)
def test_nul_in_a_filter_is_a_422_naming_it(api: Api, path: str) -> None:
    detail = refused(api.call("GET", path, params={"category": "\x00"}), "category")
    assert "U+0000" in detail


@pytest.mark.parametrize(
    "params, field",
    [
        ({"to": "9999-12-31"}, "to"),
        ({"from": "1899-12-31"}, "from"),
        ({"from": "2026-05-01T00:00-23:59", "to": "2101-01-01"}, "to"),
        ({"limit": "99999999999999999999"}, "limit"),
        ({"after": str(2**64)}, "after"),
        ({"grid": "x" * 5000}, "grid"),
    ],
)
def test_out_of_range_filters_are_a_422(api: Api, params: dict[str, str], field: str) -> None:
    refused(api.call("GET", "/v1/cases", params=params), field)


def test_the_last_day_of_the_range_is_accepted(api: Api) -> None:
    answer = api.call("GET", "/v1/cases", params={"from": "1900-01-01", "to": "2100-12-31"})
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("collection", ["grids", "communities", "streets"])
def test_nul_in_a_cursor_is_a_422(api: Api, collection: str) -> None:
    refused(api.call("GET", f"/v1/{collection}", params={"after": "\x00"}), "after")


def test_ids_beyond_64_bits_are_a_422(api: Api) -> None:
    refused(api.call("GET", f"/v1/cases/{2**64}"), "case_id")
    refused(api.call("GET", f"/v1/plans/{2**31}", role=Role.planner), "plan_id")


def case(**extra: Any) -> dict[str, Any]:
    return {"category": "E0102", "description": "垃圾", "lon": 117.3338, "lat": 31.8717, **extra}


@pytest.mark.parametrize(
    "body, field",
    [
        (case(description="垃圾\x00"), "description"),
        (case(category="E01\x0002"), "category"),
        (case(address="长江路\x00"), "address"),
        (case(reporter={"name": "张\x00三"}), "reporter.name"),
        (case(crs="wgs\x0084"), "crs"),
        (case(photos=["https://x.org/\x00.jpg"]), "photos.0"),
        (case(description="x" * 4001), "description"),
    ],
)
def test_nul_in_a_case_report_is_a_422_naming_the_field(
    api: Api, body: dict[str, Any], field: str
) -> None:
    refused(api.call("POST", "/v1/cases", Role.dispatcher, json=body), field)


def test_a_case_description_keeps_its_lines(api: Api) -> None:
    answer = api.call(
        "POST", "/v1/cases", Role.dispatcher, json=case(description="第一行\n第二行\t完")
    )
    assert answer.status_code == 201, answer.text


def test_a_non_finite_coordinate_is_a_422(api: Api) -> None:
    raw = json.dumps(case()).replace("117.3338", "1e400")
    headers = {"Content-Type": "application/json"}
    refused(api.call("POST", "/v1/cases", Role.dispatcher, content=raw, headers=headers), "lon")


@pytest.mark.parametrize(
    "name",
    ["description", "address_string", "first_name", "phone", "api_key", "jurisdiction_id"],
)
def test_nul_in_an_open311_post_is_a_400_in_its_shape(api: Api, name: str) -> None:
    form = {"service_code": "E0102", "lat": "31.8717", "long": "117.3338", name: "a\x00b"}
    answer = api.call("POST", "/open311/v2/requests.json", Role.dispatcher, data=form)
    assert answer.status_code == 400, answer.text
    [error] = answer.json()
    assert error["code"] == 400


# ---- plans ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plan(api: Api) -> int:
    answer = api.call("POST", "/v1/plans", Role.planner, json={"comment": "bounds"})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def edit(api: Api, plan: int, **kwargs: Any) -> httpx.Response:
    return api.call("POST", f"/v1/plans/{plan}/edits", Role.planner, **kwargs)


def test_an_infinite_coordinate_in_an_edit_is_a_422(api: Api, plan: int, grid: str) -> None:
    area = '{"type": "Polygon", "coordinates": [[[1e400, 31.8], [117.3, 31.8], [117.3, 31.9]]]}'
    raw = f'{{"op": "transfer", "from": "{grid}", "to": "{grid}", "area": {area}}}'
    headers = {"Content-Type": "application/json"}
    detail = refused(edit(api, plan, content=raw, headers=headers), "infinity")
    assert "not valid JSON" in detail


def test_json_nested_100000_deep_is_refused_clearly(api: Api, plan: int) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    headers = {"Content-Type": "application/json"}
    raw = '{"op": "replace", "grids": ["340102001001001"], "layer": ' + deep + "}"
    refused(edit(api, plan, content=raw, headers=headers), "depth limit")
    # a body FastAPI reads itself: a 400 that says why
    answer = api.call(
        "POST", "/v1/plans", Role.planner, content='{"comment": ' + deep + "}", headers=headers
    )
    assert answer.status_code == 400 and "nests too deeply" in answer.json()["detail"]


@pytest.mark.parametrize(
    "person, field",
    [
        ({"name": "张三", "phone": "abc"}, "phone"),
        ({"name": "张\x00三"}, "name"),
        ({"name": "张" * 51}, "name"),
    ],
)
def test_a_reassign_the_database_would_refuse_is_refused_at_once(
    api: Api, plan: int, grid: str, person: dict[str, str], field: str
) -> None:
    body = {"op": "reassign", "grid": grid, "leader": person}
    refused(edit(api, plan, json=body), field)


def test_nul_in_an_edit_comment_is_a_422(api: Api, plan: int, grid: str) -> None:
    body = {"op": "reassign", "grid": grid, "party_branch": "党支部", "comment": "a\x00"}
    refused(edit(api, plan, json=body), "comment")


def test_a_plan_that_previews_valid_publishes(api: Api, grid: str) -> None:
    made = api.call("POST", "/v1/plans", Role.planner, json={"comment": "换网格长"})
    plan = made.json()["id"]
    body = {
        "op": "reassign",
        "grid": grid,
        "leader": {"name": "王五", "phone": "0551-62345678"},
        "comment": "第一行\n第二行",
    }
    assert edit(api, plan, json=body).status_code == 201
    shown = api.call("GET", f"/v1/plans/{plan}/preview", Role.planner)
    assert shown.status_code == 200 and shown.json()["valid"] is True
    published = api.call("POST", f"/v1/plans/{plan}/publish", Role.planner)
    assert published.status_code == 200, published.text


# ---- found by fuzzing (tests/api/test_fuzz.py) -----------------------------------------------


def test_a_merge_listing_a_grid_twice_is_a_422(api: Api, plan: int, grid: str) -> None:
    # was a KeyError (500): the merge deleted the same grid twice
    body = {"op": "merge", "grids": [grid, grid], "comment": "", "name": None}
    refused(edit(api, plan, json=body), "more than once")


# "²".isdigit() is True and int("²") a ValueError: each of these was a 500.


def test_a_superscript_request_id_is_a_404_in_open311s_shape(api: Api) -> None:
    answer = api.call("GET", "/open311/v2/requests/².json")
    assert answer.status_code == 404 and answer.json()[0]["code"] == 404


def test_a_superscript_in_open311s_id_list_is_a_400(api: Api) -> None:
    answer = api.call("GET", "/open311/v2/requests.json", params={"service_request_id": "3,²"})
    assert answer.status_code == 400 and "²" in answer.json()[0]["description"]


def test_a_superscript_epsg_code_is_a_422(api: Api) -> None:
    refused(api.call("GET", "/v1/grids", params={"crs": "EPSG:²"}), "EPSG:²")


def test_a_superscript_compound_id_is_a_422(api: Api, plan: int, grid: str) -> None:
    body = {"op": "move_compound", "compound": "²", "to": grid}
    refused(edit(api, plan, json=body), "compound")
