"""Open plans as editable collections (OGC API – Features Part 4) over real HTTP.

The request sequence is QGIS's (src/providers/wfs/oapif in QGIS 3.32+): it reads the landing
page, the API, the collection, conformance and ten items; it enables editing only when
``OPTIONS`` on the items lists ``POST``, then asks ``OPTIONS`` on the first item for ``PUT``,
``PATCH`` and ``DELETE``; it writes one feature at a time, geometry changes as a merge patch
``{"geometry": ...}`` (``application/merge-patch+json``) when ``PATCH`` is allowed, attribute
changes as ``{"properties": {...}}``, new features as ``POST`` of a GeoJSON Feature (the id
read back from ``Location``), with a ``Content-Crs`` header when the layer is not in CRS84,
and never ``If-Match``.
"""

from __future__ import annotations

import json
import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import shapely
from sqlalchemy import Engine, create_engine, func, select, table, text

from geogrid.access import keys
from geogrid.access.roles import Role
from geogrid.geo.datum import to_metric
from tests.conftest import TestServer, start_api

#: About 10 m, in degrees of latitude.
TEN_METRES = 10 / 111_320


@dataclass
class Office:
    """A private demo database served over HTTP, with keys and one open plan."""

    base: str
    engine: Engine
    planner: httpx.Client
    viewer: httpx.Client
    anonymous: httpx.Client
    plan_id: int

    @property
    def items(self) -> str:
        return f"/ogc/collections/plan-{self.plan_id}/items"

    def edits(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(table("plan_edit"))
                    .where(text("undone_at IS NULL"))
                ).scalar_one()
            )


@pytest.fixture(scope="module")
def office(server: TestServer, demo_template: str) -> Iterator[Office]:
    url = server.database(f"p4{secrets.token_hex(3)}", template=demo_template)
    engine = create_engine(url)
    with engine.begin() as conn:
        planner = keys.create_key(conn, "qgis-planner", Role.planner)[1]
        viewer = keys.create_key(conn, "a-viewer", Role.viewer)[1]
    process, base = start_api(url)
    clients = [
        httpx.Client(base_url=base, headers=h, timeout=60)
        for h in (
            {"Authorization": f"Bearer {planner}"},
            {"Authorization": f"Bearer {viewer}"},
            {},
        )
    ]
    plan = clients[0].post("/v1/plans", json={"comment": "QGIS edits"})
    assert plan.status_code == 201, plan.text
    try:
        yield Office(base, engine, *clients, plan.json()["id"])
    finally:
        for client in clients:
            client.close()
        process.terminate()
        process.wait(timeout=20)
        engine.dispose()


def neighbours(office: Office) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """Two grids of one community as the plan's items give them, sharing an edge of 150 m or
    more, and a 10 m band of the second along that edge that leaves it whole."""
    page = office.planner.get(office.items, params={"limit": 1000}).json()["features"]
    grids = {f["id"]: f for f in page}
    shapes = {c: shapely.geometry.shape(f["geometry"]) for c, f in grids.items()}
    for a in sorted(grids):
        for b in sorted(grids):
            pa, pb = grids[a]["properties"], grids[b]["properties"]
            if a == b or pa["community_code"] != pb["community_code"] or pa["kind"] != "resident":
                continue
            if pb["kind"] != "resident" or not shapes[a].intersects(shapes[b]):
                continue
            edge = shapely.line_merge(shapely.intersection(shapes[a].boundary, shapes[b].boundary))
            if edge.geom_type != "LineString" or to_metric(edge).length < 150:
                continue
            band = shapely.intersection(shapes[b], edge.buffer(TEN_METRES, cap_style="flat"))
            rest = shapely.difference(shapes[b], band)
            if shapely.get_num_geometries(rest) == 1 and rest.is_valid:
                return grids[a], grids[b], band
    raise AssertionError("no neighbours fit")


def _merge_patch(geometry: Any) -> dict[str, Any]:
    return {"geometry": shapely.geometry.mapping(geometry)}


PATCH = {"Content-Type": "application/merge-patch+json"}


def test_qgis_finds_the_plan_editable(office: Office) -> None:
    landing = office.planner.get("/ogc/").json()
    assert {link["rel"] for link in landing["links"]} >= {"service-desc", "conformance", "data"}
    assert office.planner.get("/ogc/api").status_code == 200
    collection = office.planner.get(f"/ogc/collections/plan-{office.plan_id}")
    assert collection.status_code == 200 and collection.json()["extent"]["spatial"]["bbox"]
    queryables = office.planner.get(f"/ogc/collections/plan-{office.plan_id}/queryables")
    assert queryables.status_code == 200 and queryables.json()["properties"] == {}
    assert office.viewer.get(f"/ogc/collections/plan-{office.plan_id}").status_code == 403
    listed = office.planner.get("/ogc/collections").json()["collections"]
    assert f"plan-{office.plan_id}" in {c["id"] for c in listed}
    # a viewer sees only the published collections
    seen = office.viewer.get("/ogc/collections").json()["collections"]
    assert not [c for c in seen if c["id"].startswith("plan-")]
    conformance = office.planner.get("/ogc/conformance").json()["conformsTo"]
    assert any("ogcapi-features-4" in c for c in conformance)
    first = office.planner.get(office.items, params={"limit": 10})
    assert first.status_code == 200 and first.json()["numberReturned"] == 10
    options = office.planner.options(office.items)
    assert options.status_code == 204 and "POST" in options.headers["Allow"].split(", ")
    item = office.planner.options(f"{office.items}/{first.json()['features'][0]['id']}")
    assert set(item.headers["Allow"].split(", ")) >= {"PUT", "PATCH", "DELETE"}
    # the published collections take no writes, and say so
    assert "POST" not in office.planner.options("/ogc/collections/grids/items").headers["Allow"]


def test_a_feature_put_back_as_read_is_a_200_no_op(office: Office) -> None:
    before = office.edits()
    code = office.planner.get(office.items, params={"limit": 1}).json()["features"][0]["id"]
    read = office.planner.get(f"{office.items}/{code}")
    assert read.headers["ETag"]
    put = office.planner.put(
        f"{office.items}/{code}",
        content=read.content,
        headers={"Content-Type": "application/geo+json"},
    )
    assert put.status_code == 200, put.text
    assert put.headers["X-Plan-Edit"] == "none"
    assert put.headers["ETag"] == read.headers["ETag"]
    assert office.edits() == before


def test_moving_a_shared_edge_10_m_changes_both_grids_and_keeps_the_tiling(
    office: Office,
) -> None:
    a, b, band = neighbours(office)
    grown = shapely.union(shapely.geometry.shape(a["geometry"]), band)
    shrunk = shapely.difference(shapely.geometry.shape(b["geometry"]), band)
    before = office.edits()
    # QGIS with topological editing: both features changed, written one after the other
    first = office.planner.patch(
        f"{office.items}/{a['id']}", json=_merge_patch(grown), headers=PATCH
    )
    assert first.status_code == 200, first.text
    assert first.headers["X-Plan-Edit"] != "none"
    second = office.planner.patch(
        f"{office.items}/{b['id']}", json=_merge_patch(shrunk), headers=PATCH
    )
    assert second.status_code == 200, second.text
    assert second.headers["X-Plan-Edit"] == "none"  # the first write moved b's edge already
    assert office.edits() == before + 1
    preview = office.planner.get(f"/v1/plans/{office.plan_id}/preview").json()
    assert preview["valid"], preview["violations"]
    changed = {g["code"]: g for g in preview["grids"]}
    assert {a["id"], b["id"]} <= set(changed)
    gained = to_metric(band).area
    after_a = shapely.geometry.shape(
        office.planner.get(f"{office.items}/{a['id']}").json()["geometry"]
    )
    area_change = to_metric(after_a).area - to_metric(shapely.geometry.shape(a["geometry"])).area
    assert abs(area_change - gained) < 1.0


def test_each_write_is_the_edit_the_plan_api_would_make(office: Office) -> None:
    """The stored edit is a ``reshape``; the same body through /v1 is accepted as well."""
    edits = office.planner.get(f"/v1/plans/{office.plan_id}").json()["edits"]
    assert edits and edits[-1]["op"] == "reshape"
    a, _, band = neighbours(office)
    same = {
        "op": "reshape",
        "grid": a["id"],
        "geometry": shapely.geometry.mapping(
            shapely.union(shapely.geometry.shape(a["geometry"]), band)
        ),
        "crs": "wgs84",
        "comment": "the same edit through the plan API",
    }
    answer = office.planner.post(f"/v1/plans/{office.plan_id}/edits", json=same)
    assert answer.status_code == 201, answer.text


def test_an_edit_in_another_crs_with_its_axis_order(office: Office) -> None:
    """EPSG:4326 as Part 2 names it: latitude first, in body and answer."""
    uri = "http://www.opengis.net/def/crs/EPSG/0/4326"
    a, b, band = neighbours(office)
    grown = shapely.union(shapely.geometry.shape(a["geometry"]), band)
    swapped = shapely.transform(grown, lambda xy: xy[:, ::-1])
    answer = office.planner.patch(
        f"{office.items}/{a['id']}",
        json=_merge_patch(swapped),
        headers={**PATCH, "Content-Crs": f"<{uri}>"},
    )
    assert answer.status_code == 200, answer.text
    read = office.planner.get(f"{office.items}/{b['id']}").json()
    assert (
        to_metric(shapely.geometry.shape(read["geometry"])).area
        < to_metric(shapely.geometry.shape(b["geometry"])).area - 0.9 * to_metric(band).area
    )


def test_an_attribute_change_is_a_plan_edit(office: Office) -> None:
    code = office.planner.get(office.items, params={"limit": 1}).json()["features"][0]["id"]
    answer = office.planner.patch(
        f"{office.items}/{code}", json={"properties": {"name": "新名字网格"}}, headers=PATCH
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["properties"]["name"] == "新名字网格"
    fixed = office.planner.patch(
        f"{office.items}/{code}", json={"properties": {"kind": "dedicated"}}, headers=PATCH
    )
    assert fixed.status_code == 400 and "kind" in fixed.json()["description"]


def test_refused_writes_change_nothing(office: Office) -> None:
    a, _, band = neighbours(office)
    before = office.edits()
    url = f"{office.items}/{a['id']}"
    body = _merge_patch(shapely.union(shapely.geometry.shape(a["geometry"]), band))
    assert office.anonymous.patch(url, json=body, headers=PATCH).status_code == 401
    assert office.anonymous.put(url, json={"type": "Feature", **body}).status_code == 401
    assert office.viewer.patch(url, json=body, headers=PATCH).status_code == 403
    # a self-intersecting outline (a bow tie): 422 with the rule and where it breaks
    x0, y0, x1, y1 = shapely.geometry.shape(a["geometry"]).bounds
    bow_tie = {
        "type": "Polygon",
        "coordinates": [[[x0, y0], [x1, y1], [x1, y0], [x0, y1], [x0, y0]]],
    }
    refused = office.planner.patch(url, json={"geometry": bow_tie}, headers=PATCH)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "UnprocessableEntity"
    [violation] = refused.json()["violations"]["features"]
    assert violation["properties"]["rule"] == "invalid_geometry"
    assert violation["geometry"]["type"] == "Point"
    # a version the client no longer holds
    stale = office.planner.put(
        url,
        json={"type": "Feature", "geometry": a["geometry"], "properties": {}},
        headers={"If-Match": '"not-the-current-one"'},
    )
    assert stale.status_code == 412
    # a published collection is read-only
    published = office.planner.put(f"/ogc/collections/grids/items/{a['id']}", json=body)
    assert published.status_code == 405 and "plan" in published.json()["description"]
    assert office.edits() == before


def test_a_far_reaching_outline_is_refused_with_its_location(office: Office) -> None:
    a, _, _ = neighbours(office)
    before = office.edits()
    outline = shapely.geometry.shape(a["geometry"]).buffer(0.01)  # ~1 km all round
    refused = office.planner.patch(
        f"{office.items}/{a['id']}", json=_merge_patch(outline), headers=PATCH
    )
    assert refused.status_code == 422, refused.text
    rules = {v["properties"]["rule"] for v in refused.json()["violations"]["features"]}
    assert rules & {"different_community", "outside_district"}
    assert office.edits() == before


def test_if_match_is_honoured_when_sent(office: Office) -> None:
    code = office.planner.get(office.items, params={"limit": 2}).json()["features"][1]["id"]
    read = office.planner.get(f"{office.items}/{code}")
    answer = office.planner.patch(
        f"{office.items}/{code}",
        json={"properties": {"name": "按版本改名"}},
        headers={**PATCH, "If-Match": read.headers["ETag"]},
    )
    assert answer.status_code == 200
    again = office.planner.patch(
        f"{office.items}/{code}",
        json={"properties": {"name": "又改名"}},
        headers={**PATCH, "If-Match": read.headers["ETag"]},
    )
    assert again.status_code == 412


def test_a_new_feature_is_a_carved_dedicated_grid_and_delete_merges(office: Office) -> None:
    a, _, _ = neighbours(office)
    inner = shapely.geometry.shape(a["geometry"]).representative_point().buffer(0.0003)
    feature = {
        "type": "Feature",
        "geometry": shapely.geometry.mapping(inner),
        "properties": {"name": "新建学校网格", "dedicated_unit_type": "school"},
    }
    missing = office.planner.post(office.items, json={**feature, "properties": {"name": "x"}})
    assert missing.status_code == 400, missing.text
    created = office.planner.post(office.items, json=feature)
    assert created.status_code == 201, created.text
    new_code = created.headers["Location"].rsplit("/items/", 1)[1]
    read = office.planner.get(f"{office.items}/{new_code}").json()
    assert read["properties"]["kind"] == "dedicated"
    assert read["properties"]["dedicated_unit_name"] == "新建学校网格"
    deleted = office.planner.delete(f"{office.items}/{new_code}")
    assert deleted.status_code == 204, deleted.text
    assert office.planner.get(f"{office.items}/{new_code}").status_code == 404
    preview = office.planner.get(f"/v1/plans/{office.plan_id}/preview").json()
    assert preview["valid"], preview["violations"]


def test_shrinking_a_grid_gives_the_freed_band_to_the_neighbour(office: Office) -> None:
    a, b, band = neighbours(office)
    shrunk = shapely.difference(shapely.geometry.shape(b["geometry"]), band)
    answer = office.planner.patch(
        f"{office.items}/{b['id']}", json=_merge_patch(shrunk), headers=PATCH
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Plan-Edit"] != "none"
    after = shapely.geometry.shape(
        office.planner.get(f"{office.items}/{a['id']}").json()["geometry"]
    )
    grew = to_metric(after).area - to_metric(shapely.geometry.shape(a["geometry"])).area
    assert abs(grew - to_metric(band).area) < 1.0


# --- OWSLib, a real Part 4 client --------------------------------------------------------------


def _owslib(office: Office, client: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An OWSLib Features client with ``client``'s key.

    OWSLib 0.35 updates its module-wide default headers with each client's own: each client
    gets a copy here, so no key leaks into another client or test.
    """
    ogcapi = pytest.importorskip("owslib.ogcapi.features", reason="OWSLib is in the test extra")
    defaults = sys.modules["owslib.ogcapi"]
    monkeypatch.setattr(defaults, "REQUEST_HEADERS", dict(defaults.REQUEST_HEADERS))
    found = ogcapi.Features(f"{office.base}/ogc", headers=dict(client.headers), timeout=60)
    found.headers = dict(found.headers)
    return found


def test_owslib_lists_the_plan_and_updates_a_grid(
    office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    planner = _owslib(office, office.planner, monkeypatch)
    collection = f"plan-{office.plan_id}"
    assert collection in {c["id"] for c in planner.collections()["collections"]}
    a, b, band = neighbours(office)
    items = planner.collection_items(collection, limit=1000)
    assert {a["id"], b["id"]} <= {f["id"] for f in items["features"]}
    # as read: a 200 that stores nothing
    before = office.edits()
    as_read = planner.collection_item(collection, a["id"])
    assert planner.collection_item_update(collection, a["id"], json.dumps(as_read))
    assert planner.response_headers["X-Plan-Edit"] == "none"
    assert office.edits() == before
    # the shared edge moved 10 m into b
    moved = {
        "type": "Feature",
        "id": a["id"],
        "geometry": shapely.geometry.mapping(
            shapely.union(shapely.geometry.shape(a["geometry"]), band)
        ),
        "properties": a["properties"],
    }
    assert planner.collection_item_update(collection, a["id"], json.dumps(moved))
    assert office.edits() == before + 1
    preview = office.planner.get(f"/v1/plans/{office.plan_id}/preview").json()
    assert {a["id"], b["id"]} <= {g["code"] for g in preview["grids"]}
    assert preview["valid"], preview["violations"]
    # a viewer's write is refused, and changes nothing
    viewer = _owslib(office, office.viewer, monkeypatch)
    with pytest.raises(RuntimeError, match="edit_plans"):
        viewer.collection_item_update(collection, a["id"], json.dumps(moved))
    assert office.edits() == before + 1


def test_a_published_plan_takes_no_more_writes(office: Office) -> None:
    """Runs last: it publishes the module's plan."""
    a, _, band = neighbours(office)
    published = office.planner.post(f"/v1/plans/{office.plan_id}/publish")
    assert published.status_code == 200, published.text
    before = office.edits()
    body = _merge_patch(shapely.union(shapely.geometry.shape(a["geometry"]), band))
    late = office.planner.patch(f"{office.items}/{a['id']}", json=body, headers=PATCH)
    assert late.status_code == 409 and "published" in late.json()["description"]
    assert office.planner.options(office.items).status_code == 409
    listed = office.planner.get("/ogc/collections").json()["collections"]
    assert f"plan-{office.plan_id}" not in {c["id"] for c in listed}
    assert office.edits() == before
