"""The OpenAPI document tells the truth: it validates, and real error bodies match it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
import shapely.geometry
from fastapi.routing import APIRoute
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from sqlalchemy import create_engine

from geogrid.access import keys
from geogrid.access.roles import Role
from geogrid.api.main import create_app
from tests.conftest import start_api


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app().openapi()


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)
    assert document["openapi"].startswith("3.")


def test_the_bearer_scheme_is_declared_and_used(document: dict[str, Any]) -> None:
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": pytest.approx(
            document["components"]["securitySchemes"]["bearer"]["description"]
        ),
    }
    create = document["paths"]["/v1/cases"]["post"]
    assert create["security"] == [{"bearer": []}]  # a dispatcher key is required
    grids = document["paths"]["/v1/grids"]["get"]
    assert grids.get("security") in (None, [{"bearer": []}, {}])
    assert {"401", "403"} <= set(create["responses"])


def test_fastapis_validation_error_is_never_declared(document: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, method, operation in _operations(document):
        for status, response in operation["responses"].items():
            if status[0] in "45":
                [schema] = [c["schema"] for c in response["content"].values()]
                expected = (
                    "#/components/schemas/GeoReportError"
                    if path.startswith("/open311")
                    else "#/components/schemas/OgcException"
                    if path.startswith("/ogc")
                    else "#/components/schemas/Problem"
                )
                assert expected in str(schema), (method, path, status)


def test_open311_and_ogc_declare_400_not_422(document: dict[str, Any]) -> None:
    for path, _, operation in _operations(document):
        if path.startswith(("/open311", "/ogc/collections/")):
            assert "422" not in operation["responses"] and "400" in operation["responses"]


def test_operation_ids_are_the_route_names(document: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in _operations(document)]
    assert len(ids) == len(set(ids))
    names = {r.name for r in create_app().routes if isinstance(r, APIRoute)} | set(ids)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", i) for i in ids)
    assert "locate_one" in ids and "create_case" in ids and names


def _is_free_form(schema: dict[str, Any]) -> bool:
    if schema.get("type") == "array":
        return _is_free_form(schema.get("items", {}))
    return "$ref" not in schema and "properties" not in schema and "anyOf" not in schema


def test_no_json_answer_has_an_empty_schema(document: dict[str, Any]) -> None:
    for path, method, operation in _operations(document):
        for status, response in operation["responses"].items():
            for media, content in response.get("content", {}).items():
                if "json" in media:
                    assert not _is_free_form(content["schema"]), (method, path, status, media)


def test_request_bodies_are_typed(document: dict[str, Any]) -> None:
    edit = document["paths"]["/v1/plans/{plan_id}/edits"]["post"]["requestBody"]["content"]
    union = edit["application/json"]["schema"]
    assert union["discriminator"]["propertyName"] == "op"
    assert set(union["discriminator"]["mapping"]) >= {"transfer", "merge", "split", "replace"}
    assert "multipart/form-data" in edit
    report = document["paths"]["/v1/cases"]["post"]["requestBody"]["content"]
    assert report["application/json"]["schema"]["$ref"] == "#/components/schemas/CaseReport"
    for path in ("/v1/cases/{case_id}/transitions", "/v1/cases/{case_id}/reroute", "/v1/plans"):
        body = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        assert "$ref" in body["schema"], path


def test_every_example_in_the_document_is_valid(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    checked = 0
    for schema in schemas.values():
        for example in schema.get("examples", []):
            Draft202012Validator({**schema, "components": document["components"]}).validate(example)
            checked += 1
    assert checked >= 3  # the case report, the locate answer, the error body


def test_geojson_answers_declare_their_schema(document: dict[str, Any]) -> None:
    for path in (
        "/v1/grids",
        "/v1/communities",
        "/v1/streets",
        "/v1/stations",
        "/v1/compounds",
        "/v1/grids/{code}",
        "/v1/grids/{code}/history",
    ):
        content = document["paths"][path]["get"]["responses"]["200"]["content"]
        schema = content["application/geo+json"]["schema"]
        assert schema.get("$ref", "").startswith("#/components/schemas/"), path


# --- real error bodies against the declared schemas ----------------------------------------


def _validator(doc: dict[str, Any], path: str, method: str, status: int) -> Draft202012Validator:
    """A validator of the body ``doc`` declares for ``status`` (its refs resolve in ``doc``)."""
    response = doc["paths"][path][method]["responses"][str(status)]
    [schema] = [c["schema"] for m, c in response["content"].items() if "json" in m]
    return Draft202012Validator({**schema, "components": doc["components"]})


@pytest.fixture(scope="module")
def live(server: Any, demo_template: str) -> Iterator[tuple[str, dict[Role, str]]]:
    url = server.database("openapi", template=demo_template)
    engine = create_engine(url)
    with engine.begin() as conn:
        tokens = {
            role: keys.create_key(conn, f"openapi-{role.name}", role)[1]
            for role in (Role.viewer, Role.dispatcher, Role.planner, Role.admin)
        }
    engine.dispose()
    process, base = start_api(url)
    yield base, tokens
    process.terminate()
    process.wait(timeout=20)


def _check(
    doc: dict[str, Any], path: str, method: str, answer: httpx.Response, status: int
) -> None:
    assert answer.status_code == status, answer.text
    _validator(doc, path, method, status).validate(answer.json())


def test_real_error_bodies_match_the_document(
    document: dict[str, Any], live: tuple[str, dict[Role, str]]
) -> None:
    base, tokens = live
    with httpx.Client(base_url=base, timeout=60) as client:
        _check(
            document,
            "/v1/locate",
            "get",
            client.get("/v1/locate", params={"lon": 117.3, "lat": 95}),
            422,
        )
        _check(
            document,
            "/v1/locate",
            "get",
            client.get("/v1/locate", params={"lon": "east", "lat": 31.9}),
            422,
        )
        keyed = {"Authorization": "Bearer nope"}
        bad_key = client.get("/v1/locate", params={"lon": 117.3, "lat": 31.9}, headers=keyed)
        _check(document, "/v1/locate", "get", bad_key, 401)
        _check(document, "/v1/grids/{code}", "get", client.get("/v1/grids/340102999999999"), 404)
        _check(
            document,
            "/v1/cases",
            "post",
            client.post("/v1/cases", json={}, headers={"Authorization": "Bearer nope"}),
            401,
        )
        _check(document, "/v1/cases", "post", client.post("/v1/cases", json={}), 401)
        _check(
            document,
            "/v1/cases",
            "post",
            client.post(
                "/v1/cases", json={}, headers={"Authorization": f"Bearer {tokens[Role.viewer]}"}
            ),
            403,
        )
        many = np.zeros(2 * 1_000_001, dtype="<f8").tobytes()
        _check(
            document,
            "/v1/locate",
            "post",
            client.post(
                "/v1/locate", content=many, headers={"Content-Type": "application/octet-stream"}
            ),
            413,
        )
        dispatcher = {"Authorization": f"Bearer {tokens[Role.dispatcher]}"}
        grid = shapely.geometry.shape(client.get("/v1/grids/340102001001001").json()["geometry"])
        point = grid.representative_point().coords[0]
        report = {
            "category": "E0102",
            "description": "路口垃圾堆放",
            "lon": point[0],
            "lat": point[1],
            "channel": "hotline",
        }
        first = client.post(
            "/v1/cases", json=report, headers={**dispatcher, "Idempotency-Key": "openapi-409"}
        )
        assert first.status_code == 201, first.text
        changed = {**report, "description": "另一件事"}
        _check(
            document,
            "/v1/cases",
            "post",
            client.post(
                "/v1/cases", json=changed, headers={**dispatcher, "Idempotency-Key": "openapi-409"}
            ),
            409,
        )


def test_real_answers_match_the_document(
    document: dict[str, Any], live: tuple[str, dict[Role, str]]
) -> None:
    """Every JSON route, asked for real, answers what the document declares."""
    base, tokens = live

    def client(role: Role | None = None) -> httpx.Client:
        headers = {} if role is None else {"Authorization": f"Bearer {tokens[role]}"}
        return httpx.Client(base_url=base, timeout=60, headers=headers)

    def check(answer: httpx.Response, path: str, method: str = "get") -> Any:
        assert answer.status_code < 300, (path, answer.text)
        body = answer.json()
        _validator(document, path, method, answer.status_code).validate(body)
        return body

    code = "340102001001001"
    with (
        client() as anyone,
        client(Role.dispatcher) as dispatcher,
        client(Role.planner) as planner,
        client(Role.admin) as admin,
    ):
        grid = shapely.geometry.shape(
            check(anyone.get(f"/v1/grids/{code}"), "/v1/grids/{code}")["geometry"]
        )
        lon, lat = grid.representative_point().coords[0]
        for path, params in (
            ("/v1/health", {}),
            ("/v1/me", {}),
            ("/v1/locate", {"lon": lon, "lat": lat}),
            ("/v1/stations/nearest", {"lon": lon, "lat": lat}),
            ("/v1/grids", {"limit": 2}),
            ("/v1/streets", {"limit": 2}),
            ("/v1/communities", {"limit": 2}),
            ("/v1/stations", {"limit": 2}),
            ("/v1/compounds", {"limit": 2}),
            ("/v1/coverage", {"level": "street"}),
            ("/v1/releases", {}),
            ("/v1/releases/1/diff/1", {}),
            (f"/v1/grids/{code}/history", {}),
            ("/v1/case-categories", {}),
            ("/open311/v2/discovery.json", {}),
            ("/open311/v2/services.json", {}),
            ("/open311/v2/services/E0102.json", {}),
        ):
            template = (
                path.replace("/1/diff/1", "/{n}/diff/{m}")
                .replace(code, "{code}")
                .replace("discovery.json", "discovery.{fmt}")
                .replace("services.json", "services.{fmt}")
                .replace("E0102.json", "{service_code}.{fmt}")
            )
            check(anyone.get(path, params=params), template)
        check(anyone.post("/v1/locate", json={"points": [[lon, lat]]}), "/v1/locate", "post")
        check(admin.get("/v1/keys"), "/v1/keys")

        report = {"category": "E0102", "description": "路口垃圾堆放", "lon": lon, "lat": lat}
        check(dispatcher.post("/v1/cases/preview", json=report), "/v1/cases/preview", "post")
        case = check(dispatcher.post("/v1/cases", json=report), "/v1/cases", "post")
        one = "/v1/cases/{case_id}"
        check(dispatcher.get(f"/v1/cases/{case['id']}"), one)
        check(anyone.get(f"/v1/cases/{case['id']}"), one)  # masked, same shape
        moved = dispatcher.post(f"/v1/cases/{case['id']}/transitions", json={"to": "accepted"})
        check(moved, one + "/transitions", "post")
        rerouted = dispatcher.post(
            f"/v1/cases/{case['id']}/reroute", json={"grid": "340102001001002", "reason": "核实"}
        )
        check(rerouted, one + "/reroute", "post")
        for path in ("/v1/cases", "/v1/cases/counts", "/v1/cases/h3", "/v1/cases/performance"):
            check(anyone.get(path), path)
        form = {
            "api_key": tokens[Role.dispatcher],
            "service_code": "E0102",
            "lat": lat,
            "long": lon,
        }
        created = check(
            anyone.post("/open311/v2/requests.json", data=form),
            "/open311/v2/requests.{fmt}",
            "post",
        )
        request_id = created[0]["service_request_id"]
        check(anyone.get("/open311/v2/requests.json"), "/open311/v2/requests.{fmt}")
        check(
            anyone.get(f"/open311/v2/requests/{request_id}.json"),
            "/open311/v2/requests/{request_id}.{fmt}",
        )

        plan = check(planner.post("/v1/plans", json={"comment": "契约"}), "/v1/plans", "post")
        edit = {"op": "revert", "release": 1, "grids": [code], "comment": "no change"}
        check(
            planner.post(f"/v1/plans/{plan['id']}/edits", json=edit),
            "/v1/plans/{plan_id}/edits",
            "post",
        )
        check(planner.get("/v1/plans"), "/v1/plans")
        check(planner.get(f"/v1/plans/{plan['id']}"), "/v1/plans/{plan_id}")
        check(planner.get(f"/v1/plans/{plan['id']}/preview"), "/v1/plans/{plan_id}/preview")
        check(planner.get(f"/maps/plans/{plan['id']}/layers"), "/maps/plans/{plan_id}/layers")
        check(
            planner.post(f"/v1/plans/{plan['id']}/publish"), "/v1/plans/{plan_id}/publish", "post"
        )


def test_a_bad_plan_edit_names_the_field(live: tuple[str, dict[Role, str]]) -> None:
    base, tokens = live
    headers = {"Authorization": f"Bearer {tokens[Role.planner]}"}
    with httpx.Client(base_url=base, timeout=60, headers=headers) as planner:
        plan = planner.post("/v1/plans", json={}).json()
        for edit, named in (
            ({"op": "teleport"}, "teleport"),
            ({"op": "split", "grid": "340102001001001"}, "line"),
            ({"op": "revert", "release": "one"}, "release"),
        ):
            answer = planner.post(f"/v1/plans/{plan['id']}/edits", json=edit)
            assert answer.status_code == 422, answer.text
            assert answer.json()["code"] == "validation_error" and named in answer.json()["detail"]
