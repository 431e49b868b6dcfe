"""The plan map in headless Chromium: draw a transfer area with the mouse, submit it as an edit.

Runs the real API on a private copy of the demo, with every request outside 127.0.0.1 aborted
and recorded (as tests/maps/test_map_browser.py does).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import shapely
from sqlalchemy import Engine, create_engine

import maps
from geogrid import keys, mapdata, plans
from geogrid.access import Role
from geogrid.releases import current_release
from tests.conftest import ARTIFACTS, start_api
from tests.maps.test_map_browser import ARGS, CHROMIUM, VIEWPORT
from tests.test_plans import neighbours


@pytest.fixture
def engine(fresh_demo_url: str) -> Iterator[Engine]:
    engine = create_engine(fresh_demo_url)
    yield engine
    engine.dispose()


@pytest.fixture
def chromium() -> Iterator[Any]:
    if importlib.util.find_spec("playwright") is None or not CHROMIUM.exists():
        reason = f"browser tests need Playwright and Debian's chromium at {CHROMIUM}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS,
                                              headless=True)
        yield launched
        launched.close()


def _drawing(engine: Engine, a: str, b: str
             ) -> tuple[shapely.Polygon, shapely.Point, shapely.Point]:
    """A polygon along the edge ``a`` shares with ``b``, reaching ~20 m into both: the part
    inside ``a`` is the strip tests.test_plans.neighbours moves, with few vertices to click.
    Also a point of each grid inside it (to click the grids on the same view)."""
    with engine.connect() as conn:
        layer = plans.base_layer(conn, current_release(conn).id)  # type: ignore[union-attr]
    edge = shapely.intersection(layer.grids[a]["geometry"].boundary,
                                layer.grids[b]["geometry"].boundary)
    area = shapely.simplify(edge.buffer(0.0002, quad_segs=2), 0.00002)
    assert area.geom_type == "Polygon" and area.is_valid
    return (area, shapely.intersection(layer.grids[a]["geometry"], area).representative_point(),
            shapely.intersection(layer.grids[b]["geometry"], area).representative_point())


def test_plan_page_renders_offline(engine: Engine) -> None:
    with engine.begin() as conn:
        plan = plans.create_plan(conn, "渲染", "test")
        view = mapdata.plan_view(conn, plan.id)
    assert view.base and not view.after and not view.touched
    html = maps.page(maps.plan_map(view), None)  # inline: a file that opens offline
    assert "cdnjs" not in html and maps.external_references(html) == []
    assert "L.Control.Draw" in html and "geogrid.planEditor" in html


def test_drawing_a_transfer_area_creates_the_edit(fresh_demo_url: str, engine: Engine,
                                                  chromium: Any) -> None:
    a, b, _ = neighbours(engine)
    with engine.begin() as conn:
        secret = keys.create_key(conn, "map-planner", Role.planner)[1]
        plan = plans.create_plan(conn, "画图划转", "test")
    area, in_a, in_b = _drawing(engine, a, b)
    process, base = start_api(fresh_demo_url)
    context = chromium.new_context(viewport=VIEWPORT, locale="zh-CN", service_workers="block")
    outside: list[str] = []
    errors: list[str] = []
    try:
        def route(r: Any) -> None:
            address = urlsplit(r.request.url)
            if address.scheme in ("data", "blob") or address.hostname == "127.0.0.1":
                r.continue_()
            else:
                outside.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        page.goto(f"{base}/maps/plans/{plan.id}", wait_until="load")
        page.wait_for_selector("html[data-geogrid=ready]", timeout=30_000)

        page.fill(".geogrid-plan [name=key]", secret)
        page.select_option(".geogrid-plan [name=op]", "transfer")
        page.fill(".geogrid-plan [name=comment]", "在地图上绘制")

        # show the area left of the form; pick "from" and "to" by clicking the two grids
        ring = [[y, x] for x, y in [*list(area.exterior.coords)[:-1], in_a.coords[0],
                                    in_b.coords[0]]]
        minx, miny, maxx, maxy = area.bounds
        page.evaluate("""([b]) => geogrid.map.fitBounds(b, {animate: false,
            paddingTopLeft: [80, 80], paddingBottomRight: [420, 120]})""",
                      [[[miny, minx], [maxy, maxx]]])
        *points, at_a, at_b = page.evaluate("""(ring) => ring.map(function (ll) {
            var p = geogrid.map.latLngToContainerPoint(L.latLng(ll[0], ll[1]));
            return [p.x, p.y]; })""", ring)
        box = page.locator(".leaflet-container").bounding_box()
        for x, y in (at_a, at_b):
            page.mouse.click(box["x"] + x, box["y"] + y)
            page.keyboard.press("Escape")  # close the grid's popup, if any
        assert page.input_value(".geogrid-plan [name=from]") == a
        assert page.input_value(".geogrid-plan [name=to]") == b

        # draw the area vertex by vertex with the mouse, closing it on the first vertex
        page.click(".leaflet-draw-draw-polygon")
        for x, y in [*points, points[0]]:
            page.mouse.click(box["x"] + x, box["y"] + y)
            page.wait_for_timeout(60)
        page.wait_for_selector(".geogrid-plan[data-drawn=polygon]", timeout=5_000)
        page.click(".geogrid-plan [name=submit]")
        page.wait_for_selector(".geogrid-plan[data-state=done], .geogrid-plan[data-state=error]",
                               timeout=30_000)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "map-plan-drawn.png"))
        state = page.get_attribute(".geogrid-plan", "data-state")
        assert state == "done", page.inner_text(".geogrid-plan .gg-result")
        edit_id = int(page.get_attribute(".geogrid-plan", "data-edit") or 0)
        with engine.connect() as conn:
            stored = plans.get_plan(conn, plan.id)
        assert [(e.id, e.op) for e in stored.edits] == [(edit_id, "transfer")]
        assert stored.edits[0].params["from"] == a and stored.edits[0].params["to"] == b
        # the key the planner typed stays for this tab only
        assert page.evaluate("() => sessionStorage.getItem('geogrid.plannerKey')") == secret
        # reloaded, the page shows the grids after the edit
        page.reload(wait_until="load")
        page.wait_for_selector("html[data-geogrid=ready]", timeout=30_000)
        assert page.input_value(".geogrid-plan [name=key]") == secret
        assert page.evaluate("""() => document.querySelectorAll(
            '.leaflet-gg-focus-pane path').length""") == 2
        assert httpx.get(f"{base}/maps/plans/999999").status_code == 404
        assert errors == []

        # a refused edit: the page shows the API's 422 detail and stores nothing
        page.fill(".geogrid-plan [name=from]", a)
        page.fill(".geogrid-plan [name=to]", a)
        page.evaluate("""([b]) => geogrid.map.fitBounds(b, {animate: false,
            paddingTopLeft: [80, 80], paddingBottomRight: [420, 120]})""",
                      [[[miny, minx], [maxy, maxx]]])
        page.click(".leaflet-draw-draw-polygon")
        for x, y in [*points, points[0]]:
            page.mouse.click(box["x"] + x, box["y"] + y)
            page.wait_for_timeout(60)
        page.wait_for_selector(".geogrid-plan[data-drawn=polygon]", timeout=5_000)
        page.click(".geogrid-plan [name=submit]")
        page.wait_for_selector(".geogrid-plan[data-state=error]", timeout=30_000)
        assert "422" in page.inner_text(".geogrid-plan .gg-result")
        with engine.connect() as conn:
            assert len(plans.get_plan(conn, plan.id).edits) == 1
        # Chromium logs every non-2xx fetch as a console error; that one is expected
        assert [e for e in errors if "status of 422" not in e] == []
        assert outside == []
    finally:
        context.close()
        process.terminate()
        process.wait(timeout=30)
