"""OGC API – Tiles and TileJSON over real HTTP: documents, tiles, errors, releases, caching."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import mapbox_vector_tile
import pytest
from shapely.geometry import shape
from sqlalchemy import Engine, create_engine

from geogrid.access.roles import Role
from geogrid.io import loading
from geogrid.io.files import write_layer
from geogrid.io.layers import read_layer_from_db
from geogrid.settings import ServiceAreaSettings
from tests.api.test_api import make_key
from tests.conftest import LiveServer, start_api
from tests.tiles.test_render import LAT, LON, address

if TYPE_CHECKING:
    from tests.conftest import TestServer

MVT = "application/vnd.mapbox-vector-tile"
SPEC = "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/"
Z14 = address(LON, LAT, 14)
TILE = f"/ogc/tiles/WebMercatorQuad/14/{Z14.row}/{Z14.col}"
GRIDS_TILE = f"/ogc/collections/grids/tiles/WebMercatorQuad/14/{Z14.row}/{Z14.col}"


def _decode(content: bytes) -> dict[str, dict[str, object]]:
    return mapbox_vector_tile.decode(content)  # type: ignore[no-any-return]


def test_landing_page_conformance_and_collections_link_the_tiles(live_api: LiveServer) -> None:
    with live_api.client() as client:
        rels = {link["rel"]: link["href"] for link in client.get("/ogc/").json()["links"]}
        classes = set(client.get("/ogc/conformance").json()["conformsTo"])
        grids = client.get("/ogc/collections/grids").json()
    assert rels["http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"].endswith("/ogc/tiles")
    assert rels["http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes"].endswith(
        "/ogc/tileMatrixSets"
    )
    assert {SPEC + c for c in ("core", "tileset", "tilesets-list", "mvt")} <= classes
    assert any(link["href"].endswith("/ogc/collections/grids/tiles") for link in grids["links"])


def test_tilesets_tile_matrix_sets_and_tilejson(live_api: LiveServer) -> None:
    with live_api.client() as client:
        listed = client.get("/ogc/tiles").json()["tilesets"]
        sets = client.get("/ogc/tileMatrixSets").json()["tileMatrixSets"]
        wmq = client.get("/ogc/tileMatrixSets/WebMercatorQuad").json()
        meta = client.get("/ogc/collections/grids/tiles/GCJ02WebMercatorQuad").json()
        tilejson = client.get("/ogc/tiles/WebMercatorQuad/tilejson.json")
        same = client.get("/ogc/tiles/WebMercatorQuad", params={"f": "tilejson"})
        html = client.get("/ogc/tiles/WebMercatorQuad", params={"f": "html"})
    assert {t["links"][0]["href"].rsplit("/", 1)[1] for t in listed} == {
        "WebMercatorQuad",
        "GCJ02WebMercatorQuad",
    }
    assert {s["id"] for s in sets} == {"WebMercatorQuad", "GCJ02WebMercatorQuad"}
    assert len(wmq["tileMatrices"]) == 25 and wmq["crs"].endswith("EPSG/0/3857")
    assert meta["dataType"] == "vector" and [layer["id"] for layer in meta["layers"]] == ["grids"]
    item = next(link for link in meta["links"] if link["rel"] == "item")
    assert item["type"] == MVT and item["href"].endswith("/{tileMatrix}/{tileRow}/{tileCol}")
    body = tilejson.json()
    assert body["tilejson"] == "3.0.0" and body == same.json()
    # the tile URLs pin the release the document was made from
    assert body["tiles"][0].endswith("/WebMercatorQuad/{z}/{y}/{x}?release=1")
    assert {layer["id"] for layer in body["vector_layers"]} >= {"grids", "district", "streets"}
    grids = next(layer for layer in body["vector_layers"] if layer["id"] == "grids")
    assert "leader_name" not in grids["fields"] and grids["fields"]["code"] == "String"
    assert html.headers["content-type"].startswith("text/html")


def test_tiles_carry_no_personal_field_even_for_a_planner(
    live_api: LiveServer, demo_engine: Engine
) -> None:
    key = make_key(demo_engine, Role.planner)
    with live_api.client(key) as client:
        answer = client.get(TILE)
        names = client.get(
            "/ogc/collections/grids/items", params={"limit": 1000, "properties": "leader_name"}
        ).json()
    assert answer.status_code == 200 and answer.headers["content-type"] == MVT
    leaders = {f["properties"]["leader_name"] for f in names["features"]} - {None}
    assert leaders, "a planner sees leaders' names in the features"
    decoded = _decode(answer.content)
    assert "grids" in decoded and "district" in decoded
    for layer in decoded.values():
        for feature in layer["features"]:  # type: ignore[attr-defined]
            assert not {"leader_name", "leader_phone", "party_secretary_name"} & set(
                feature["properties"]
            )
    assert not any(name.encode() in answer.content for name in leaders)


def test_bad_tiles_are_400_or_404_with_ogc_bodies(live_api: LiveServer) -> None:
    cases = {
        "/ogc/tiles/WebMercatorQuad/25/0/0": 400,
        "/ogc/tiles/WebMercatorQuad/x/0/0": 400,
        "/ogc/tiles/WebMercatorQuad/3/8/0": 400,
        "/ogc/tiles/WebMercatorQuad/3/0/8": 400,
        "/ogc/tiles/WebMercatorQuad/3/-1/0": 400,
        "/ogc/tiles/WorldCRS84Quad/3/0/0": 404,
        "/ogc/collections/cases/tiles/WebMercatorQuad/3/0/0": 404,
        "/ogc/tiles/WebMercatorQuad/3/0/0?f=png": 400,
        "/ogc/tiles/WebMercatorQuad/3/0/0?bbox=1": 400,
        "/ogc/tiles/WebMercatorQuad?f=xml": 400,
        f"{TILE}?release=999": 404,
    }
    with live_api.client() as client:
        for path, status in cases.items():
            answer = client.get(path)
            assert answer.status_code == status, path
            body = answer.json()
            assert set(body) == {"code", "description"} and body["description"], path
        chinese = client.get("/ogc/tiles/WebMercatorQuad/25/0/0", headers={"Accept-Language": "zh"})
    assert "瓦片矩阵" in chinese.json()["description"]


def test_empty_tiles_are_204(live_api: LiveServer) -> None:
    with live_api.client() as client:
        answer = client.get("/ogc/tiles/WebMercatorQuad/3/0/0")
    assert answer.status_code == 204 and answer.content == b""


def test_pinned_tiles_are_immutable_unpinned_ones_revalidate(live_api: LiveServer) -> None:
    with live_api.client() as client:
        pinned = client.get(GRIDS_TILE, params={"release": 1})
        unpinned = client.get(GRIDS_TILE)
        again = client.get(GRIDS_TILE, headers={"If-None-Match": unpinned.headers["etag"]})
        plain = client.get(GRIDS_TILE, headers={"Accept-Encoding": "identity"})
    assert pinned.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert unpinned.headers["cache-control"] == "public, max-age=5"
    assert unpinned.headers["x-boundary-release"] == "1"
    assert again.status_code == 304 and again.content == b""
    assert pinned.content == unpinned.content == plain.content
    assert unpinned.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain.headers
    assert list(_decode(pinned.content)) == ["grids"]


@pytest.fixture
def two_releases(server: TestServer, demo_template: str) -> Iterator[tuple[str, Engine]]:
    url = server.database("tilespub", template=demo_template)
    engine = create_engine(url)
    yield url, engine
    engine.dispose()


def test_a_published_release_is_served_in_tiles_at_once(
    two_releases: tuple[str, Engine], tmp_path: Path
) -> None:
    from tests.io.test_loading import transfer

    url, engine = two_releases
    process, base = start_api(url)
    try:
        live = LiveServer(base, url)
        with engine.connect() as conn:
            release_1 = read_layer_from_db(conn, "grids", 1)
        changed, gainer, _ = transfer(release_1)
        point = changed.set_index("code").geometry[gainer].representative_point()
        tile = address(point.x, point.y, 15)
        path = f"/ogc/collections/grids/tiles/WebMercatorQuad/15/{tile.row}/{tile.col}"
        with live.client() as client:
            before = client.get(path)
            assert before.headers["x-boundary-release"] == "1"
            layer = write_layer(changed, tmp_path / "grids.gpkg", "grids")
            with engine.begin() as conn:
                loading.load_file(conn, layer, "grids", "cgcs2000", ServiceAreaSettings())
            committed = time.monotonic()
            while True:
                after = client.get(path)
                if after.headers["x-boundary-release"] == "2":
                    break
                assert time.monotonic() - committed < 5, "release 2 not served within 5 s"
                time.sleep(0.05)
            old = client.get(path, params={"release": 1})
        assert after.content != before.content
        assert old.content == before.content

        def area(content: bytes) -> float:
            features = _decode(content)["grids"]["features"]
            found = next(f for f in features if f["properties"]["code"] == gainer)  # type: ignore[index]
            return float(shape(found["geometry"]).area)  # type: ignore[index]

        assert area(after.content) > area(before.content)
    finally:
        process.terminate()
        process.wait(timeout=20)
