"""OGC API – Features over real HTTP: documents, links, paging, CRS headers, masking, errors.

Real GIS clients (GDAL, OWSLib, pyogrio, OpenLayers) read the same server in
tests/api/test_ogc_clients.py; here the protocol's rules are checked one by one.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from openapi_spec_validator import validate
from sqlalchemy import Engine

from geogrid.access.roles import Role
from geogrid.api import ogc
from tests.api.test_api import make_key
from tests.conftest import LiveServer

SPEC = "http://www.opengis.net/spec/"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


def _rels(links: list[dict[str, str]]) -> dict[str, str]:
    return {link["rel"]: link["href"] for link in links if link.get("type") != "text/html"}


def test_landing_page_links_the_api_the_conformance_and_the_data(live_api: LiveServer) -> None:
    with live_api.client() as client:
        answer = client.get("/ogc/")
        page = client.get("/ogc/", headers={"Accept": "text/html,application/xhtml+xml"})
        no_slash = client.get("/ogc")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    rels = _rels(answer.json()["links"])
    assert {"self", "service-desc", "conformance", "data"} <= set(rels)
    assert rels["data"].endswith("/ogc/collections")
    assert any(link["rel"] == "service-doc" for link in answer.json()["links"])
    assert page.headers["content-type"].startswith("text/html") and "<a href=" in page.text
    assert no_slash.status_code == 200 and no_slash.json()["links"] == answer.json()["links"]


def test_conformance_declares_parts_1_2_and_3(live_api: LiveServer) -> None:
    with live_api.client() as client:
        classes = set(client.get("/ogc/conformance").json()["conformsTo"])
    assert {
        SPEC + "ogcapi-features-1/1.0/conf/core",
        SPEC + "ogcapi-features-1/1.0/conf/geojson",
        SPEC + "ogcapi-features-2/1.0/conf/crs",
        SPEC + "ogcapi-features-3/1.0/conf/filter",
        SPEC + "cql2/1.0/conf/cql2-text",
        SPEC + "cql2/1.0/conf/cql2-json",
    } <= classes


def test_collections_describe_extent_and_crs(live_api: LiveServer) -> None:
    with live_api.client() as client:
        listed = client.get("/ogc/collections").json()["collections"]
        grids = client.get("/ogc/collections/grids").json()
    ids = [c["id"] for c in listed]
    assert ids == [
        "grids",
        "communities",
        "streets",
        "compounds",
        "stations",
        "service-areas",
        "coverage-gaps",
    ]
    assert grids["itemType"] == "feature" and grids["storageCrs"] == EPSG + "4490"
    assert CRS84 in grids["crs"] and EPSG + "4548" in grids["crs"]
    assert "urn:x-geogrid:def:crs:GCJ-02" in grids["crs"]
    [[minx, miny, maxx, maxy]] = grids["extent"]["spatial"]["bbox"]
    assert 117.2 < minx < maxx < 117.5 and 31.7 < miny < maxy < 32.1
    assert grids["extent"]["temporal"]["interval"][0][1] is None
    assert any(link["rel"] == "items" for link in grids["links"])


def test_next_links_walk_every_grid_in_the_pinned_release(live_api: LiveServer) -> None:
    seen: list[str] = []
    url: str | None = "/ogc/collections/grids/items?limit=250"
    with live_api.client() as client:
        while url is not None:
            answer = client.get(url)
            assert answer.status_code == 200
            assert answer.headers["content-type"] == "application/geo+json"
            assert answer.headers["content-crs"] == f"<{CRS84}>"
            page = answer.json()
            assert page["numberMatched"] == 596 and page["numberReturned"] == len(page["features"])
            assert "crs" not in page  # RFC 7946: the CRS is said in Content-Crs, not in the body
            seen += [f["id"] for f in page["features"]]
            url = _rels(page["links"]).get("next")
            if url is not None:
                assert parse_qs(urlsplit(url).query)["release"] == ["1"]
    assert len(seen) == len(set(seen)) == 596


def test_features_in_a_crs_say_so(live_api: LiveServer) -> None:
    with live_api.client() as client:
        answer = client.get(
            "/ogc/collections/grids/items/340102001001001", params={"crs": EPSG + "4548"}
        )
    assert answer.headers["content-crs"] == f"<{EPSG}4548>"
    northing, easting = answer.json()["geometry"]["coordinates"][0][0][0]
    assert 3_500_000 < northing < 3_600_000 and 500_000 < easting < 560_000


def test_viewers_get_masked_people_and_dispatchers_do_not(
    live_api: LiveServer, demo_engine: Engine
) -> None:
    path = "/ogc/collections/grids/items/340102001001001"
    with live_api.client() as client:
        masked = client.get(path).json()["properties"]
    with live_api.client(make_key(demo_engine, Role.dispatcher)) as client:
        full = client.get(path).json()["properties"]
    assert "*" in masked["leader_name"] and "****" in masked["leader_phone"]
    assert full["leader_name"] != masked["leader_name"] and "*" not in full["leader_phone"]


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({"colour": "red"}, "unknown query parameter"),
        ({"filter": "kind = "}, "not valid cql2-text"),
        ({"filter": "kind = 'x'", "filter-lang": "sql"}, "filter-lang"),
        ({"crs": "http://www.opengis.net/def/crs/EPSG/0/9999"}, "crs was"),
        ({"bbox-crs": "urn:nope", "bbox": "1,2,3,4"}, "bbox-crs was"),
        ({"bbox": "117.40,31.86,117.33,31.89"}, "lower corner must come first"),
        ({"bbox": "31.86,117.33,31.89,117.37"}, "did you swap"),
        ({"datetime": "yesterday"}, "ISO 8601"),
        ({"sortby": "leader_name"}, "sortby names"),
        ({"limit": "0"}, "limit"),
    ],
)
def test_bad_parameters_are_400_with_ogcs_exception_body(
    live_api: LiveServer, query: dict[str, str], words: str
) -> None:
    with live_api.client() as client:
        answer = client.get("/ogc/collections/grids/items", params=query)
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["code"] == "InvalidParameterValue" and words in body["description"]


def test_errors_speak_chinese_when_asked(live_api: LiveServer) -> None:
    with live_api.client(**{"Accept-Language": "zh"}) as client:
        answer = client.get("/ogc/collections/grids/items", params={"colour": "red"})
    assert answer.status_code == 400 and "未知的查询参数" in answer.json()["description"]


def test_unknown_collections_and_features_are_404(live_api: LiveServer) -> None:
    with live_api.client() as client:
        collection = client.get("/ogc/collections/parks/items")
        feature = client.get("/ogc/collections/grids/items/340102999999999")
    assert collection.status_code == feature.status_code == 404
    assert collection.json()["code"] == "NotFound" and "grids" in collection.json()["description"]


def test_filters_by_query_parameter_in_text_and_json(live_api: LiveServer) -> None:
    cql_json = json.dumps({"op": "=", "args": [{"property": "kind"}, "dedicated"]})
    with live_api.client() as client:
        by_text = client.get(
            "/ogc/collections/grids/items", params={"filter": "kind='dedicated'", "limit": 1000}
        ).json()
        by_json = client.get(
            "/ogc/collections/grids/items",
            params={"filter": cql_json, "filter-lang": "cql2-json", "limit": 1000},
        ).json()
        queryables = client.get("/ogc/collections/grids/queryables")
    assert by_text["numberMatched"] == by_json["numberMatched"] == 76
    assert queryables.headers["content-type"] == "application/schema+json"
    names = set(queryables.json()["properties"])
    assert {"geometry", "kind", "code", "community_code"} <= names
    assert "leader_name" not in names  # personal fields are never queryable


def test_items_as_html(live_api: LiveServer) -> None:
    with live_api.client() as client:
        answer = client.get("/ogc/collections/streets/items", params={"f": "html"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    assert answer.text.count("<tr><td>340102") == 13


def test_the_service_desc_is_a_valid_openapi_30_document(live_api: LiveServer) -> None:
    with live_api.client() as client:
        links = client.get("/ogc/").json()["links"]
        [desc] = [link for link in links if link["rel"] == "service-desc"]
        answer = client.get(desc["href"])
    assert desc["type"] == answer.headers["content-type"] == ogc.OPENAPI
    document = answer.json()
    validate(document)  # raises on anything that is not valid OpenAPI 3.0
    assert document["openapi"].startswith("3.0") and all(
        p.startswith("/ogc") for p in document["paths"]
    )
    items = document["paths"]["/ogc/collections/{collection_id}/items"]["get"]
    [limit] = [p for p in items["parameters"] if p["name"] == "limit"]
    assert limit["schema"]["maximum"] == 10_000  # GDAL takes its page size from it
    assert "OgcFeatureCollection" in str(items["responses"]["200"])


def test_items_carry_an_etag_and_answer_304(live_api: LiveServer) -> None:
    path = "/ogc/collections/grids/items/340102001001001"
    with live_api.client() as client:
        first = client.get(path)
        again = client.get(path, headers={"If-None-Match": first.headers["etag"]})
        page = client.get("/ogc/collections/grids/items", params={"limit": 5})
        other = client.get("/ogc/collections/grids/items", params={"limit": 6})
    assert first.headers["etag"].startswith('W/"r1-')
    assert again.status_code == 304 and again.content == b""
    assert page.headers["etag"] != other.headers["etag"]
    assert "Authorization" in page.headers["vary"]
