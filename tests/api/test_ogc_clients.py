"""OGC API – Features read by real clients, over real HTTP, from the shared demo database.

- GDAL's OAPIF driver as Debian ships it (gdal-bin 3.6, ``ogrinfo`` in a subprocess; installed
  by scripts/bootstrap.sh with the test extra): the collections, every grid through paging,
  the feature count and extent.
- The newer GDAL inside pyogrio's wheels (>= 3.7) for Part 2: grids read in EPSG:4548.
- GDAL's GeoJSON driver on an items URL, by geopandas (which downloads the URL itself) and by
  pyogrio (through GDAL's /vsicurl, which needs HEAD and byte ranges).
- OWSLib's ``owslib.ogcapi.features.Features``: landing page, collections, items, queryables,
  CQL2 filters, counts checked against SQL.
- OpenLayers (vendored, maps/static/vendor/ol) in Debian's Chromium: ``ol.format.GeoJSON``
  reads /ogc and /v1 answers and a map renders them.

Nothing leaves 127.0.0.1: the browser aborts any other request, GDAL and OWSLib are only given
the live server's address.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import numpy as np
import pyogrio
import pyproj
import pytest
import shapely
from shapely.geometry import shape
from sqlalchemy import Engine, text

from geogrid import features
from geogrid.maps.assets import VENDORED
from tests.browser import launched_chromium
from tests.conftest import ARTIFACTS, LiveServer

GRIDS = 596
DEDICATED = 76
#: A grid of the demo (Yaohai), and a box across the middle of the district (CRS84)
GRID = "340102001001001"
BOX = (117.33, 31.86, 117.37, 31.90)
EPSG_4548 = "http://www.opengis.net/def/crs/EPSG/0/4548"
TIMEOUT = 60

#: The current release's grids, as the collection reads them
CURRENT_GRIDS = """
    WITH r AS (SELECT max(id) AS id FROM boundary_release)
    SELECT count(*) FROM grid_geometry gg JOIN grid g ON g.code = gg.grid_code, r
    WHERE gg.valid_from_release <= r.id
      AND (gg.valid_to_release IS NULL OR gg.valid_to_release > r.id)
"""


def scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def grids_extent(engine: Engine) -> list[float]:
    """The current grids' extent in storage longitude/latitude (CRS84's to under a metre)."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "WITH r AS (SELECT max(id) AS id FROM boundary_release), "
                "e AS (SELECT ST_Extent(gg.geom) AS b FROM grid_geometry gg, r "
                "WHERE gg.valid_from_release <= r.id "
                "AND (gg.valid_to_release IS NULL OR gg.valid_to_release > r.id)) "
                "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM e"
            )
        ).one()
    return [float(v) for v in row]


def projected(geometry: Any, transformer: pyproj.Transformer) -> Any:
    return shapely.transform(
        geometry, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
    )


def grid_crs84(live_api: LiveServer) -> Any:
    """Grid GRID as the /ogc answers it by default (CRS84)."""
    answer = httpx.get(f"{live_api.base_url}/ogc/collections/grids/items/{GRID}", timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    return shape(answer.json()["geometry"])


def server_log(live_api: LiveServer) -> Path:
    return ARTIFACTS / f"uvicorn-{live_api.base_url.rsplit(':', 1)[1]}.log"


def server_requests(
    live_api: LiveServer, since: int, request_id: str | None = None
) -> list[dict[str, Any]]:
    """The access-log lines written after byte ``since`` (of requests sent with that
    ``X-Request-ID``, if given).

    The server logs a request once it has answered; a client may have its answer a moment
    before the line is written, so wait briefly for the log to settle.
    """
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + 5
    while True:
        with server_log(live_api).open("rb") as log:
            log.seek(since)
            lines = log.read().decode("utf-8", "replace").splitlines()
        now = [
            entry
            for entry in (json.loads(line) for line in lines if line.startswith("{"))
            if entry.get("event") == "request"
            and (request_id is None or entry.get("request_id") == request_id)
        ]
        if (now and len(now) == len(found)) or time.monotonic() > deadline:
            return now
        found = now
        time.sleep(0.3)


# --- GDAL 3.6 (Debian's gdal-bin): ogrinfo ------------------------------------------------


@pytest.fixture(scope="module")
def ogrinfo() -> str:
    found = shutil.which("ogrinfo")
    if found is None:
        reason = "ogrinfo is not installed (Debian's gdal-bin; ./scripts/test installs it)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def run_ogrinfo(ogrinfo: str, *args: str) -> str:
    done = subprocess.run(
        [ogrinfo, *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, "GDAL_HTTP_TIMEOUT": "30", "CPL_DEBUG": "OFF"},
        check=False,
    )
    assert done.returncode == 0, f"ogrinfo {' '.join(args)} failed:\n{done.stderr[-3000:]}"
    assert "ERROR" not in done.stderr, done.stderr[-3000:]
    return done.stdout


def test_ogrinfo_lists_every_collection(ogrinfo: str, live_api: LiveServer) -> None:
    out = run_ogrinfo(ogrinfo, "-ro", f"OAPIF:{live_api.base_url}/ogc")
    assert "using driver `OAPIF' successful" in out
    listed = dict(re.findall(r"^\d+: (\S+) \(title: .*\) \((.+)\)$", out, re.MULTILINE))
    assert list(listed) == [c.id for c in features.COLLECTIONS]
    assert len(listed) == 7
    for collection in features.COLLECTIONS:
        kind = "Point" if collection.geometry == "point" else "Multi Polygon"
        assert listed[collection.id] == kind, collection.id


def test_ogrinfo_reads_every_grid_page_by_page(ogrinfo: str, live_api: LiveServer) -> None:
    """596 grids at 100 a page: six pages, each following the last one's next link."""
    tag = f"ogrinfo-paging-{secrets.token_hex(4)}"
    since = server_log(live_api).stat().st_size
    out = run_ogrinfo(
        ogrinfo,
        "-ro",
        "-q",
        "--config",
        "GDAL_HTTP_HEADERS",
        f"X-Request-ID: {tag}",
        "-oo",
        "PAGE_SIZE=100",
        f"OAPIF:{live_api.base_url}/ogc",
        "grids",
    )
    assert len(re.findall(r"^OGRFeature\(grids\):", out, re.MULTILINE)) == GRIDS
    codes = re.findall(r"^\s+code \(String\) = (\d{15})$", out, re.MULTILINE)
    assert len(codes) == GRIDS and len(set(codes)) == GRIDS  # no page read twice
    assert GRID in codes
    # an anonymous reader: phones masked in every feature GDAL read
    phones = re.findall(r"^\s+leader_phone \(String\) = (.+)$", out, re.MULTILINE)
    assert phones and all(re.fullmatch(r"\d{3}\*+\d{4}", p) for p in phones), phones[:3]

    pages = [
        r
        for r in server_requests(live_api, since, tag)
        if r["path"] == "/ogc/collections/grids/items" and r["status"] == 200
    ]
    offsets = sorted(int(parse_qs(p.get("query", "")).get("offset", ["0"])[0]) for p in pages)
    limits = {parse_qs(p.get("query", ""))["limit"][0] for p in pages}
    assert limits == {"100"}
    # the schema is read from the first page, then the features from offset 0 to 500
    assert sorted(set(offsets)) == [0, 100, 200, 300, 400, 500], offsets
    # every page after the first follows a next link, which pins the release
    assert all("release=" in p["query"] for p in pages if "offset=" in p["query"])


def test_ogrinfo_summary_has_the_count_and_extent(
    ogrinfo: str, live_api: LiveServer, demo_engine: Engine
) -> None:
    out = run_ogrinfo(ogrinfo, "-ro", "-so", f"OAPIF:{live_api.base_url}/ogc", "grids")
    count = re.search(r"^Feature Count: (\d+)$", out, re.MULTILINE)
    assert count is not None and int(count.group(1)) == GRIDS, out
    assert scalar(demo_engine, CURRENT_GRIDS) == GRIDS
    found = re.search(r"^Extent: \(([-\d.]+), ([-\d.]+)\) - \(([-\d.]+), ([-\d.]+)\)$", out, re.M)
    assert found is not None, out
    extent = [float(v) for v in found.groups()]
    # ogrinfo prints 6 decimals
    assert extent == pytest.approx(grids_extent(demo_engine), abs=1e-5)
    assert 117 < extent[0] < extent[2] < 118 and 31 < extent[1] < extent[3] < 33
    assert "Geometry: Multi Polygon" in out
    assert "leader_phone: String" in out


# --- GDAL >= 3.7 (pyogrio's wheels): Part 2, CRS ------------------------------------------


def test_newer_gdal_reads_grids_in_epsg_4548(live_api: LiveServer) -> None:
    version = tuple(int(v) for v in pyogrio.__gdal_version_string__.split(".")[:2])
    if version < (3, 7):
        pytest.skip(f"GDAL's OAPIF CRS open option needs GDAL 3.7; pyogrio has {version}")
    source = f"OAPIF:{live_api.base_url}/ogc"
    since = server_log(live_api).stat().st_size
    pyogrio.set_gdal_config_options({"GDAL_HTTP_TIMEOUT": "30"})
    try:
        info = pyogrio.read_info(source, layer="grids", CRS="EPSG:4548")
        frame = pyogrio.read_dataframe(source, layer="grids", CRS="EPSG:4548")
    finally:
        pyogrio.set_gdal_config_options({"GDAL_HTTP_TIMEOUT": None})
    assert info["crs"] == "EPSG:4548"
    assert frame.crs is not None and frame.crs.to_epsg() == 4548
    assert len(frame) == GRIDS and frame["code"].is_unique

    # the server projected: GDAL asked for EPSG:4548 by URI (this GDAL ignores
    # GDAL_HTTP_HEADERS here, so its requests are told apart by the log's position only)
    asked = [
        parse_qs(r.get("query", ""))
        for r in server_requests(live_api, since)
        if r["path"] == "/ogc/collections/grids/items" and r["status"] == 200
    ]
    with_crs = [q for q in asked if q.get("crs") == [EPSG_4548]]
    assert with_crs, asked
    assert sum(int(q["limit"][0]) for q in with_crs) >= GRIDS

    # GDAL has easting, northing in metres (the server wrote northing first); compare with
    # pyproj's projection of the CRS84 answer
    to_4548 = pyproj.Transformer.from_crs("OGC:CRS84", "EPSG:4548", always_xy=True)
    expected = projected(grid_crs84(live_api), to_4548)
    [got] = frame.loc[frame["code"] == GRID, "geometry"]
    assert 500_000 < got.centroid.x < 560_000 and 3_500_000 < got.centroid.y < 3_560_000
    assert got.centroid.distance(expected.centroid) < 1.0
    assert got.area == pytest.approx(expected.area, rel=1e-4)
    minx, miny, maxx, maxy = frame.total_bounds
    assert 500_000 < minx < maxx < 560_000 and 3_500_000 < miny < maxy < 3_560_000


# --- GDAL's GeoJSON driver on an items URL -------------------------------------------------

ITEMS_URLS = {
    "ogc": "/ogc/collections/grids/items?limit=1000",
    "v1": "/v1/grids?limit=1000",
}


@pytest.mark.parametrize("api", sorted(ITEMS_URLS))
def test_geopandas_reads_an_items_url(live_api: LiveServer, api: str) -> None:
    import geopandas

    frame = geopandas.read_file(live_api.base_url + ITEMS_URLS[api])
    assert len(frame) == GRIDS and frame["code"].is_unique
    assert frame.crs is not None and frame.crs.to_epsg() == 4326  # GeoJSON: CRS84
    assert frame.total_bounds[0] > 117 and frame.total_bounds[3] < 33


@pytest.mark.parametrize("api", sorted(ITEMS_URLS))
def test_pyogrio_reads_an_items_url(live_api: LiveServer, api: str) -> None:
    pyogrio.set_gdal_config_options({"GDAL_HTTP_TIMEOUT": "30"})
    try:
        frame = pyogrio.read_dataframe(live_api.base_url + ITEMS_URLS[api])
    finally:
        pyogrio.set_gdal_config_options({"GDAL_HTTP_TIMEOUT": None})
    assert len(frame) == GRIDS and frame["code"].is_unique
    assert frame.crs is not None and frame.crs.to_epsg() == 4326


# --- OWSLib -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def owslib_features(live_api: LiveServer) -> Any:
    ogcapi = pytest.importorskip("owslib.ogcapi.features", reason="OWSLib is in the test extra")
    return ogcapi.Features(f"{live_api.base_url}/ogc", timeout=TIMEOUT)


def test_owslib_reads_the_landing_page_and_collections(owslib_features: Any) -> None:
    rels = {link["rel"] for link in owslib_features.links}
    assert {"self", "service-desc", "conformance", "data"} <= rels
    conformance = owslib_features.conformance()["conformsTo"]
    assert any(c.endswith("ogcapi-features-1/1.0/conf/core") for c in conformance)
    assert any(c.endswith("ogcapi-features-3/1.0/conf/filter") for c in conformance)
    api = owslib_features.api()  # found by the service-desc link's media type
    assert "/ogc/collections/{collection_id}/items" in api["paths"]

    collections = owslib_features.collections()["collections"]
    assert [c["id"] for c in collections] == [c.id for c in features.COLLECTIONS]
    grids = owslib_features.collection("grids")
    assert grids["id"] == "grids" and grids["itemType"] == "feature"
    assert EPSG_4548 in grids["crs"]
    assert any(link["rel"] == "items" for link in grids["links"])


def test_owslib_pages_through_items(owslib_features: Any) -> None:
    first = owslib_features.collection_items("grids", limit=250)
    assert first["numberMatched"] == GRIDS and first["numberReturned"] == 250
    seen = [f["id"] for f in first["features"]]
    page = first
    while (following := next((x for x in page["links"] if x["rel"] == "next"), None)) is not None:
        query = parse_qs(urlsplit(following["href"]).query)
        page = owslib_features.collection_items(
            "grids", limit=250, offset=int(query["offset"][0]), release=int(query["release"][0])
        )
        seen += [f["id"] for f in page["features"]]
    assert len(seen) == GRIDS and len(set(seen)) == GRIDS
    # anonymous: personal fields are there, masked
    properties = first["features"][0]["properties"]
    assert re.fullmatch(r"\d{3}\*+\d{4}", properties["leader_phone"])


def test_owslib_queryables(owslib_features: Any) -> None:
    queryables = owslib_features.collection_queryables("grids")
    names = set(queryables["properties"])
    assert {"geometry", "code", "kind", "community_code"} <= names
    assert queryables["properties"]["kind"]["enum"] == ["resident", "dedicated"]
    # personal fields can be neither filtered nor sorted on
    assert not names & {"leader_name", "leader_phone", "party_secretary_name"}


def test_owslib_cql2_filters_match_sql(owslib_features: Any, demo_engine: Engine) -> None:
    dedicated = owslib_features.collection_items(
        "grids", limit=1000, filter="kind='dedicated'", **{"filter-lang": "cql2-text"}
    )
    assert dedicated["numberMatched"] == DEDICATED == len(dedicated["features"])
    assert {f["properties"]["kind"] for f in dedicated["features"]} == {"dedicated"}
    assert scalar(demo_engine, CURRENT_GRIDS + " AND g.kind = 'dedicated'") == DEDICATED

    x1, y1, x2, y2 = BOX
    polygon = f"POLYGON(({x1} {y1},{x2} {y1},{x2} {y2},{x1} {y2},{x1} {y1}))"
    spatial = owslib_features.collection_items(
        "grids",
        limit=1000,
        filter=f"S_INTERSECTS(geometry,{polygon}) AND kind='resident'",
        **{"filter-lang": "cql2-text"},
    )
    expected = scalar(
        demo_engine,
        CURRENT_GRIDS
        + " AND g.kind = 'resident' AND ST_Intersects(gg.geom, ST_MakeEnvelope(:a, :b, :c, :d,"
        " 4490))",
        a=x1,
        b=y1,
        c=x2,
        d=y2,
    )
    assert 0 < expected < GRIDS - DEDICATED
    assert spatial["numberMatched"] == expected == len(spatial["features"])
    # the same box as bbox (OWSLib joins the list) finds those grids too
    boxed = owslib_features.collection_items("grids", limit=1000, bbox=list(BOX))
    resident = {f["id"] for f in boxed["features"] if f["properties"]["kind"] == "resident"}
    assert resident == {f["id"] for f in spatial["features"]}


# --- OpenLayers in Chromium ---------------------------------------------------------------

OL_JS = VENDORED["https://cdn.jsdelivr.net/npm/ol@10.11.0/dist/ol.js"].local
OL_CSS = VENDORED["https://cdn.jsdelivr.net/npm/ol@10.11.0/ol.css"].local
#: A test-only page on the API's own origin (fulfilled by Playwright, never asked of the API)
OL_PAGE = "/__ol_test__"
OL_HTML = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>OpenLayers reads geogrid</title>
<link rel="stylesheet" href="/static/{css}">
<script src="/static/{js}"></script>
<style>html, body, #map {{ margin: 0; width: 800px; height: 600px; }}</style>
</head><body><div id="map"></div><script>
window.result = (async () => {{
  const answer = await fetch({url});
  if (!answer.ok) throw new Error("HTTP " + answer.status);
  const body = await answer.json();
  const features = new ol.format.GeoJSON().readFeatures(body, {{
    featureProjection: "EPSG:3857",
  }});
  const source = new ol.source.Vector({{ features }});
  const layer = new ol.layer.Vector({{
    source,
    style: new ol.style.Style({{
      fill: new ol.style.Fill({{ color: "rgba(255, 0, 0, 1)" }}),
      stroke: new ol.style.Stroke({{ color: "rgba(0, 0, 255, 1)", width: 1 }}),
    }}),
  }});
  const map = new ol.Map({{ target: "map", layers: [layer], view: new ol.View() }});
  map.getView().fit(source.getExtent(), {{ size: map.getSize() }});
  const rendered = await new Promise((resolve) => map.once("rendercomplete", () => resolve(true)));
  const canvas = document.querySelector("#map canvas");
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 0; i < pixels.length; i += 4) if (pixels[i + 3] > 0) painted++;
  const grid = features.find((f) => f.get("code") === {grid});
  return {{
    count: features.length,
    codes: new Set(features.map((f) => f.get("code"))).size,
    extent: source.getExtent(),
    grid: grid ? ol.extent.getCenter(grid.getGeometry().getExtent()) : null,
    rendered,
    painted,
    pixels: pixels.length / 4,
  }};
}})();
</script></body></html>
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launched_chromium()


@pytest.mark.parametrize("api", sorted(ITEMS_URLS))
def test_openlayers_reads_and_draws_the_grids(
    browser: Any, live_api: LiveServer, demo_engine: Engine, api: str
) -> None:
    base = live_api.base_url
    page_html = OL_HTML.format(
        css=OL_CSS, js=OL_JS, url=json.dumps(ITEMS_URLS[api]), grid=json.dumps(GRID)
    )
    context = browser.new_context(viewport={"width": 800, "height": 600})
    outside: list[str] = []
    errors: list[str] = []

    def route(r: Any) -> None:
        address = urlsplit(r.request.url)
        if r.request.url == base + OL_PAGE:
            r.fulfill(status=200, content_type="text/html; charset=utf-8", body=page_html)
        elif address.scheme in ("data", "blob") or address.hostname == "127.0.0.1":
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    try:
        context.route("**/*", route)
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.set_default_timeout(30_000)
        page.goto(base + OL_PAGE, wait_until="load")
        assert page.evaluate("() => typeof ol === 'object' && typeof ol.Map === 'function'")
        result = page.evaluate("() => window.result")
        page.screenshot(path=str(ARTIFACTS / f"ol-grids-{api}.png"))
    finally:
        context.close()
    assert outside == [] and errors == [], (outside, errors)
    assert result["count"] == GRIDS and result["codes"] == GRIDS
    assert result["rendered"] is True
    # the district fills the view: most of the canvas is painted, not all of it
    assert 0.2 * result["pixels"] < result["painted"] < result["pixels"], result
    # features in web mercator where pyproj puts them
    to_3857 = pyproj.Transformer.from_crs("OGC:CRS84", "EPSG:3857", always_xy=True)
    lon1, lat1, lon2, lat2 = grids_extent(demo_engine)
    corners = [*to_3857.transform(lon1, lat1), *to_3857.transform(lon2, lat2)]
    assert result["extent"] == pytest.approx(corners, abs=2.0)
    x1, y1, x2, y2 = projected(grid_crs84(live_api), to_3857).bounds
    assert result["grid"] == pytest.approx([(x1 + x2) / 2, (y1 + y2) / 2], abs=1.0)
