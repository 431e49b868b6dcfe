"""Every map in headless Chromium against the real API, with the network off.

Debian's Chromium (/usr/bin/chromium, installed by scripts/test) is driven by Playwright with
``executable_path``. Every request is intercepted: anything not to 127.0.0.1 (or inside the
page, ``data:``) is aborted and recorded, and the tests fail on it. Screenshots of every map go
to tests/artifacts/.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from geogrid.cli.main import app
from geogrid.geo.datum import wgs84_to_gcj02
from tests.browser import launched_chromium
from tests.conftest import ARTIFACTS, LiveServer

VIEWPORT = {"width": 1280, "height": 800}
AMAP = "高德地图（GCJ-02）"
OFFLINE = "离线底图（区界）"

CURRENT = """
    WITH r AS (SELECT max(id) AS id FROM boundary_release)
    SELECT gg.grid_code AS code, gg.geom FROM grid_geometry gg, r
    WHERE gg.valid_from_release <= r.id
      AND (gg.valid_to_release IS NULL OR gg.valid_to_release > r.id)
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launched_chromium()


@dataclass
class Visit:
    """A page loaded with every request outside 127.0.0.1 aborted and recorded."""

    page: Any
    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def count(self, selector: str) -> int:
        return int(self.page.evaluate("(s) => document.querySelectorAll(s).length", selector))

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"map-{name}.png"
        self.page.screenshot(path=str(path))
        return path


@pytest.fixture
def visit(browser: Any) -> Iterator[Any]:
    contexts = []

    def open_page(url: str) -> Visit:
        context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", service_workers="block")
        contexts.append(context)
        page = context.new_page()
        found = Visit(page)

        def route(r: Any) -> None:
            address = urlsplit(r.request.url)
            if address.scheme in ("data", "blob", "file") or address.hostname == "127.0.0.1":
                r.continue_()
            else:
                found.outside.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        page.on("console", lambda m: found.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: found.errors.append(f"page error: {e}"))
        page.on("request", lambda r: found.requests.append(r.url))
        page.goto(url, wait_until="load")
        page.wait_for_selector("html[data-geogrid=ready]", timeout=30_000)
        return found

    yield open_page
    for context in contexts:
        context.close()


def scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def controls(visit: Visit) -> dict[str, Any]:
    return dict(
        visit.page.evaluate("""() => ({
        layers: !!document.querySelector('.leaflet-control-layers'),
        legend: (document.querySelector('.geogrid-legend') || {}).textContent || '',
        search: !!document.querySelector('.leaflet-control-search input'),
        scale: !!document.querySelector('.leaflet-control-scale'),
        fullscreen: !!document.querySelector('.leaflet-control-zoom-fullscreen'),
    })""")
    )


def assert_clean(visit: Visit) -> None:
    assert visit.outside == [], f"requests outside 127.0.0.1: {visit.outside}"
    assert visit.errors == [], f"console errors: {visit.errors}"


VERTEX = """(code) => {
    let found = null;
    geogrid.map.eachLayer((l) => {
        if (!found && l.feature && l.feature.properties.code === code && l.getLatLngs) found = l;
    });
    let ll = found.getLatLngs();
    while (Array.isArray(ll[0])) ll = ll[0];
    return [ll[0].lng, ll[0].lat];
}"""

STATION = """() => {
    let found = null;
    geogrid.map.eachLayer((l) => {
        if (!found && l.options.icon && /geogrid-station/.test(l.options.icon.options.className))
            found = l;
    });
    return [found.getLatLng().lng, found.getLatLng().lat];
}"""


def choose_base(visit: Visit, name: str, datum: str) -> None:
    visit.page.hover(".leaflet-control-layers")
    visit.page.get_by_text(name, exact=True).click()
    visit.page.wait_for_selector(f"html[data-datum={datum}]")


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    dx = (b[0] - a[0]) * 111_320 * math.cos(math.radians(a[1]))
    dy = (b[1] - a[1]) * 110_574
    return math.hypot(dx, dy)


# --- the overview ---------------------------------------------------------------------------


def test_overview_draws_every_grid_and_station_offline(
    live_api: LiveServer, demo_engine: Engine, visit: Any
) -> None:
    page = visit(f"{live_api.base_url}/maps/overview")
    grids = scalar(demo_engine, f"SELECT count(*) FROM ({CURRENT}) g")
    stations = scalar(demo_engine, "SELECT count(*) FROM station")
    assert page.count(".leaflet-gg-grids-pane path") == grids
    assert page.count(".leaflet-marker-pane .geogrid-station") == stations
    assert page.count(".leaflet-gg-communities-pane path") == scalar(
        demo_engine, "SELECT count(*) FROM community"
    )
    assert page.count(".leaflet-gg-gaps-pane path") >= 1
    shown = controls(page)
    assert shown["layers"] and shown["search"] and shown["scale"] and shown["fullscreen"]
    for words in ("居民网格", "专属网格", "三无小区", "法治e站", "未覆盖区域"):
        assert words in shown["legend"]
    # no online base layer was asked for: no tile at all
    assert not any("tile" in u or "appmaptile" in u for u in page.requests)
    assert_clean(page)
    page.screenshot("overview")
    # the heat layer of uncovered households: one hexagon per H3 cell with any
    cells = live_api.client().get("/v1/coverage", params={"format": "h3", "res": 9}).json()
    uncovered = sum(1 for c in cells["cells"] if c["households"]["uncovered"] > 0)
    assert page.count(".leaflet-gg-hexes-pane path") == 0  # off until chosen
    page.page.hover(".leaflet-control-layers")
    page.page.get_by_text(re.compile("未覆盖住户热力")).click()
    assert uncovered > 0 and page.count(".leaflet-gg-hexes-pane path") == uncovered
    assert_clean(page)


def test_search_by_grid_code_zooms_to_it(
    live_api: LiveServer, demo_engine: Engine, visit: Any
) -> None:
    code = scalar(demo_engine, "SELECT max(code) FROM grid WHERE kind = 'dedicated'")
    page = visit(f"{live_api.base_url}/maps/overview")
    before = page.page.evaluate("() => geogrid.map.getZoom()")
    page.page.locator(".leaflet-control-search input.search-input").press_sequentially(
        code, delay=15
    )
    page.page.wait_for_selector(".search-tip")
    tips = page.page.locator(".search-tip")
    assert code in tips.first.text_content()
    assert page.page.evaluate("() => document.querySelector('.search-tip').children.length") == 0
    tips.first.click()
    page.page.wait_for_selector(f"html[data-found='{code}']")
    state = page.page.evaluate(
        """(code) => {
        let found = null;
        geogrid.map.eachLayer((l) => {
            if (l.feature && l.feature.properties.code === code && l.getBounds) found = l;
        });
        const view = geogrid.map.getBounds(), grid = found.getBounds();
        return {zoom: geogrid.map.getZoom(), center: view.contains(grid.getCenter()),
                fits: view.pad(0.05).contains(grid), popup: !!found.isPopupOpen()};
    }""",
        code,
    )
    assert state["zoom"] >= before + 2 and state["center"] and state["popup"]
    assert_clean(page)
    page.page.mouse.move(640, 760)
    page.page.wait_for_timeout(500)  # the popup fades in
    page.screenshot("overview-search")


def test_a_gcj02_base_moves_the_data_by_the_gcj02_offset(
    live_api: LiveServer, demo_engine: Engine, visit: Any
) -> None:
    code = scalar(demo_engine, "SELECT min(code) FROM grid WHERE kind = 'resident'")
    page = visit(f"{live_api.base_url}/maps/overview")
    assert_clean(page)
    vertex = tuple(page.page.evaluate(VERTEX, code))
    station = tuple(page.page.evaluate(STATION))
    choose_base(page, AMAP, "gcj02")
    moved = tuple(page.page.evaluate(VERTEX, code))
    expected = tuple(float(v) for v in wgs84_to_gcj02(*vertex))
    assert abs(moved[0] - expected[0]) < 1e-9 and abs(moved[1] - expected[1]) < 1e-9
    assert 450 < metres(vertex, moved) < 700  # "about 570 m" in Yaohai
    station_moved = tuple(page.page.evaluate(STATION))
    assert abs(metres(station, station_moved) - metres(vertex, moved)) < 20
    # the page's formula is geogrid.geo.datum's, everywhere in and around the district
    rng = np.random.default_rng(7)
    points = np.column_stack([rng.uniform(117.2, 117.5, 100), rng.uniform(31.7, 32.1, 100)])
    shifted = np.array(
        page.page.evaluate("(pts) => pts.map((p) => geogrid.toGcj02(p[0], p[1]))", points.tolist())
    )
    lon, lat = wgs84_to_gcj02(points[:, 0], points[:, 1])
    assert np.abs(shifted - np.column_stack([lon, lat])).max() < 1e-9
    page.screenshot("overview-amap")
    # only the chosen base's tiles were asked for (and refused: there is no network)
    assert page.outside and all(
        urlsplit(u).hostname.endswith(".is.autonavi.com") for u in page.outside
    )
    choose_base(page, OFFLINE, "wgs84")
    back = tuple(page.page.evaluate(VERTEX, code))
    assert abs(back[0] - vertex[0]) < 1e-12 and abs(back[1] - vertex[1]) < 1e-12
    unexpected = [e for e in page.errors if "ERR_FAILED" not in e]
    assert unexpected == []


STYLED = """(key) => {
    const found = [];
    geogrid.map.eachLayer((l) => {
        if (l.feature && l.feature.properties.s === key && l.getLatLngs) found.push(l);
    });
    return found.map((l) => {
        let ll = l.getLatLngs();
        while (Array.isArray(ll[0])) ll = ll[0];
        return [l.feature.properties.code || "", ll[0].lng, ll[0].lat];
    });
}"""


def test_the_organisation_layers_switch_on_with_the_grids_shapes(
    live_api: LiveServer, demo_engine: Engine, visit: Any
) -> None:
    page = visit(f"{live_api.base_url}/maps/overview")
    assert page.page.evaluate(STYLED, "no_branch") == []  # off until chosen
    page.page.hover(".leaflet-control-layers")
    page.page.get_by_text(re.compile("^ ?网格党支部（")).click()
    page.page.get_by_text(re.compile("^ ?无小巷管家队伍的小区（")).click()
    without = page.page.evaluate(STYLED, "no_branch")
    branches = scalar(demo_engine, "SELECT count(*) FROM org_party_branch WHERE valid_to IS NULL")
    grids = scalar(demo_engine, f"SELECT count(*) FROM ({CURRENT}) g")
    assert len(without) == grids - branches == 122
    assert len(page.page.evaluate(STYLED, "branch")) == branches
    # drawn with the shape of the grid of the same code (in the grid layer), vertex for vertex
    code, lon, lat = without[0]
    own = [
        v
        for v in page.page.evaluate(STYLED, "resident") + page.page.evaluate(STYLED, "dedicated")
        if v[0] == code
    ]
    assert own == [[code, lon, lat]]
    summary = live_api.client().get("/v1/organisations/summary").json()
    uncovered = page.page.evaluate(STYLED, "uncovered_compound")
    assert len(uncovered) == summary["compounds_without_volunteer_team"] > 0
    page.screenshot("overview-organisations")
    assert_clean(page)


# --- the other maps -------------------------------------------------------------------------


def test_grid_map_shows_the_grid_its_neighbours_and_the_stations_reaching_it(
    live_api: LiveServer, demo_engine: Engine, visit: Any
) -> None:
    code = scalar(demo_engine, "SELECT min(code) FROM grid WHERE kind = 'resident'")
    neighbours = scalar(
        demo_engine,
        f"""
        WITH cur AS ({CURRENT})
        SELECT count(*) FROM cur a, cur b
        WHERE a.code = :code AND b.code <> :code
          AND ST_DWithin(ST_Transform(a.geom, 4548), ST_Transform(b.geom, 4548), 0.5)""",
        code=code,
    )
    stations = scalar(
        demo_engine,
        f"""
        WITH cur AS ({CURRENT})
        SELECT count(DISTINCT sa.station_id) FROM service_area sa, cur
        WHERE cur.code = :code AND ST_Intersects(sa.geom, cur.geom)""",
        code=code,
    )
    page = visit(f"{live_api.base_url}/maps/grids/{code}")
    assert neighbours > 0 and stations > 0
    assert page.count(".leaflet-gg-grids-pane path") == 1 + neighbours
    assert page.count(".leaflet-marker-pane .geogrid-station") == stations
    assert page.count(".leaflet-gg-circles-pane path") == 3 * stations
    shown = controls(page)
    assert shown["layers"] and shown["search"] and code in shown["legend"]
    assert_clean(page)
    page.screenshot("grid")


def test_coverage_map_colours_every_community(
    live_api: LiveServer, demo_engine: Engine, visit: Any
) -> None:
    page = visit(f"{live_api.base_url}/maps/coverage")  # each kind at its own tier
    communities = scalar(demo_engine, "SELECT count(*) FROM community")
    assert page.count(".leaflet-gg-choropleth-pane path") == communities
    assert page.count(".leaflet-gg-gaps-pane path") >= 1
    # The stations counted: the residents' services, not the courier rest stops.
    assert page.count(".leaflet-marker-pane .geogrid-station") == scalar(
        demo_engine, "SELECT count(*) FROM station WHERE kind <> 'courier_rest'"
    )
    fills = page.page.evaluate("""() => new Set([...document.querySelectorAll(
        '.leaflet-gg-choropleth-pane path')].map((p) => p.getAttribute('fill'))).size""")
    assert fills >= 2  # a choropleth, not one colour
    assert "覆盖住户占比" in controls(page)["legend"]
    assert_clean(page)
    page.screenshot("coverage")


def _located(page: Visit, code: str | None = None) -> str:
    page.page.wait_for_selector(".geogrid-answer[data-state=done]")
    if code is not None:
        page.page.wait_for_selector(f".geogrid-answer[data-grid='{code}']")
    return str(page.page.get_attribute(".geogrid-answer", "data-grid"))


def _click_at(page: Visit, lon: float, lat: float) -> tuple[float, float]:
    """Centre the map on a WGS84 point and click the middle; returns the clicked WGS84 point."""
    page.page.evaluate(
        "([lon, lat]) => geogrid.map.setView(geogrid.shown([lat, lon]), 16, {animate: false})",
        [lon, lat],
    )
    box = page.page.locator(".folium-map").bounding_box()
    page.page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    clicked = page.page.evaluate("""() => {
        let found = null;
        geogrid.map.eachLayer((l) => {
            if (l.options.icon && /geogrid-point/.test(l.options.icon.options.className))
                found = l;
        });
        const ll = found._ggWgs || found.getLatLng();
        return [ll.lng, ll.lat];
    }""")
    return float(clicked[0]), float(clicked[1])


def test_locate_map_answers_the_point_and_every_click(
    live_api: LiveServer, demo_engine: Engine, visit: Any
) -> None:
    with demo_engine.connect() as conn:
        first, second = conn.execute(
            text(f"""
            WITH cur AS ({CURRENT})
            SELECT code, ST_X(ST_PointOnSurface(geom)) AS lon, ST_Y(ST_PointOnSurface(geom)) AS lat
            FROM cur WHERE code IN ((SELECT min(code) FROM cur), (SELECT max(code) FROM cur))
            ORDER BY code""")
        ).all()
    api = live_api.client()

    def expected(lon: float, lat: float) -> str:
        return str(api.get("/v1/locate", params={"lon": lon, "lat": lat}).json()["grid"]["code"])

    # the first point comes in GCJ-02, as a phone would send it
    gcj = [float(v) for v in wgs84_to_gcj02(first.lon, first.lat)]
    page = visit(f"{live_api.base_url}/maps/locate?lon={gcj[0]}&lat={gcj[1]}&crs=gcj02")
    assert _located(page, first.code) == first.code == expected(first.lon, first.lat)
    assert page.count("path.geogrid-line") == 3
    assert page.count(".leaflet-gg-focus-pane path") == 1
    answer = str(page.page.text_content(".geogrid-answer"))
    assert "最近服务站点" in answer
    # The minutes shown agree with the circles named (one walking model, README).
    shown = re.findall(r"步行 (\d+\.\d) 分钟(?:，在 ([\d/]+) 分钟圈内)?", answer)
    assert len(shown) == 3
    for minutes, within in shown:
        tiers = [int(t) for t in within.split("/")] if within else []
        assert tiers == [t for t in (5, 10, 15) if float(minutes) <= t], (minutes, within)
    assert any("/v1/locate?" in u for u in page.requests)
    page.screenshot("locate")
    # a click moves the point and shows the new answer
    clicked = _click_at(page, second.lon, second.lat)
    assert _located(page, expected(*clicked)) == expected(*clicked)
    assert expected(*clicked) != first.code
    # on a GCJ-02 base the click is read in GCJ-02 and located in WGS84
    choose_base(page, AMAP, "gcj02")
    clicked = _click_at(page, first.lon, first.lat)
    assert metres(clicked, (first.lon, first.lat)) < 10
    assert _located(page, expected(*clicked)) == expected(*clicked)
    assert all(urlsplit(u).hostname.endswith(".is.autonavi.com") for u in page.outside)
    assert [e for e in page.errors if "ERR_FAILED" not in e] == []


def test_map_files_open_offline(
    demo_url: str, browser: Any, visit: Any, demo_engine: Engine
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    out = ARTIFACTS / "map-file-overview.html"
    result = CliRunner().invoke(
        app, ["map", "overview", "--out", str(out)], env={"GEOGRID_DATABASE_URL": demo_url}
    )
    assert result.exit_code == 0, result.stderr
    page = visit(out.resolve().as_uri())
    assert [u for u in page.requests if not u.startswith(("file:", "data:"))] == []
    assert page.count(".leaflet-gg-grids-pane path") == scalar(
        demo_engine, f"SELECT count(*) FROM ({CURRENT}) g"
    )
    assert page.count(".leaflet-marker-pane .geogrid-station") == scalar(
        demo_engine, "SELECT count(*) FROM station"
    )
    # the station icons are drawn with Font Awesome, loaded from the font inside the file
    assert page.page.evaluate("""() => [...document.fonts].some(
        (f) => f.family.includes('Font Awesome') && f.status === 'loaded')""")
    assert_clean(page)
    page.screenshot("file-overview")


def test_the_readme_shows_an_overview_screenshot() -> None:
    """docs/overview.png is tests/artifacts/map-overview.png of a test run, committed."""
    root = Path(__file__).resolve().parents[2]
    png = root / "docs" / "overview.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "docs/overview.png" in (root / "README.md").read_text(encoding="utf-8")
