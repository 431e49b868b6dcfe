"""The plan map in headless Chromium: sign in through /login, draw a transfer area or a split
line with the mouse and submit it as an edit, undo it, publish the plan, and read the preview
and the API's refusals in the side panel, all without reloading the page. The panel's calls go
with the session cookie and its CSRF token (keys are for machines, not people).

One API process on one private copy of the demo serves the whole module (tests that publish
come last); every request outside 127.0.0.1 is aborted and recorded, as in
tests/maps/test_map_browser.py.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest
import shapely
from sqlalchemy import Engine, create_engine

from geogrid import maps, plans
from geogrid.access import keys
from geogrid.access.roles import Role
from geogrid.access.users import create_user
from geogrid.boundaries.releases import current_release
from geogrid.geo.datum import to_metric
from geogrid.mapdata import plans as mapdata_plans
from geogrid.settings import AuthSettings
from tests.browser import launched_chromium
from tests.conftest import ARTIFACTS, start_api
from tests.maps.test_map_browser import VIEWPORT
from tests.plans.test_plans import neighbours, transfer

if TYPE_CHECKING:  # imported for the annotation only: pytest would try to collect the class
    from tests.conftest import TestServer

PANEL = ".geogrid-plan"
#: Keeps what is drawn left of the side panel (about 360 px wide, top right).
PADDING = "paddingTopLeft: [80, 80], paddingBottomRight: [440, 120]"
#: Chromium logs every non-2xx fetch as a console error; the tests expect these.
REFUSED = ("status of 401", "status of 409", "status of 422")
#: The planner who signs in (made by the ``planner`` fixture).
PLANNER = ("map-planner", "map-planner-pass-1")


@pytest.fixture(scope="module")
def database_url(server: TestServer, demo_template: str) -> str:
    return server.database(f"pm{secrets.token_hex(3)}", template=demo_template)


@pytest.fixture(scope="module")
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def api(database_url: str) -> Iterator[str]:
    process, base = start_api(database_url)
    yield base
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def secret(engine: Engine) -> str:
    """A planner's API key: for machines (the page itself never asks for one)."""
    with engine.begin() as conn:
        return keys.create_key(conn, "map-planner-key", Role.planner)[1]


@pytest.fixture(scope="module")
def planner(engine: Engine) -> tuple[str, str]:
    with engine.begin() as conn:
        create_user(conn, PLANNER[0], Role.planner, PLANNER[1], AuthSettings())
    return PLANNER


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    yield from launched_chromium()


@dataclass
class PlanPage:
    """A plan map in a fresh browser context, with what it asked outside 127.0.0.1 and
    the errors it logged."""

    page: Any
    base: str
    context: Any
    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def open(self, plan_id: int) -> None:
        self.page.goto(f"{self.base}/maps/plans/{plan_id}", wait_until="load")
        self.ready()

    def ready(self) -> None:
        self.page.wait_for_selector("html[data-geogrid=ready]", timeout=30_000)

    def log_in(self, user: tuple[str, str]) -> None:
        """Fill and send the /login form the page is on; it comes back to ``next``."""
        self.page.wait_for_selector("form[action$='/login']", timeout=30_000)
        self.page.fill("#username", user[0])
        self.page.fill("#password", user[1])
        with self.page.expect_navigation(wait_until="load"):
            self.page.click("form[action$='/login'] button[type=submit]")

    def sign_in(self, user: tuple[str, str], plan_id: int) -> None:
        """Sign in through /login, coming back to the plan map of ``plan_id``."""
        self.page.goto(f"{self.base}/login?next=/maps/plans/{plan_id}", wait_until="load")
        self.log_in(user)
        self.ready()

    def attr(self, name: str, selector: str = PANEL) -> str | None:
        return self.page.get_attribute(selector, name)  # type: ignore[no-any-return]

    def text(self, selector: str) -> str:
        return self.page.inner_text(selector)  # type: ignore[no-any-return]

    def count(self, selector: str) -> int:
        return int(self.page.evaluate("(s) => document.querySelectorAll(s).length", selector))

    def preview_ready(self, edits: int) -> None:
        self.page.wait_for_selector(
            f"{PANEL} .gg-preview[data-state=ready][data-edits='{edits}']", timeout=30_000
        )

    def finished(self, action: str) -> str:
        """Wait for the panel's answer to ``action``; its state (done or error)."""
        self.page.wait_for_selector(
            f"{PANEL}[data-action={action}]:is([data-state=done], [data-state=error])",
            timeout=30_000,
        )
        return str(self.attr("data-state"))

    def fit(self, shape: shapely.geometry.base.BaseGeometry) -> None:
        minx, miny, maxx, maxy = shape.bounds
        self.page.evaluate(
            f"([b]) => geogrid.map.fitBounds(b, {{animate: false, {PADDING}}})",
            [[[miny, minx], [maxy, maxx]]],
        )

    def click_at(self, point: shapely.Point) -> None:
        for x, y in self._screen([point.coords[0]]):
            self.page.mouse.click(x, y)

    def pick(self, point: shapely.Point) -> None:
        """Click a grid (to fill "from"/"to") and close its popup, if any."""
        self.click_at(point)
        self.page.keyboard.press("Escape")

    def draw(self, tool: str, coords: list[tuple[float, float]]) -> None:
        """Draw with the Draw control's ``tool`` (polygon: coords is the open ring; polyline),
        clicking the first vertex again to close a polygon, the last to end a line."""
        self.page.click(f".leaflet-draw-draw-{tool}")
        points = self._screen(coords)
        for x, y in [*points, points[0] if tool == "polygon" else points[-1]]:
            self.page.mouse.click(x, y)
            self.page.wait_for_timeout(60)
        self.page.wait_for_selector(f"{PANEL}[data-drawn={tool}]", timeout=5_000)

    def _screen(self, coords: list[tuple[float, float]]) -> list[tuple[float, float]]:
        found = self.page.evaluate(
            """(ring) => ring.map(function (ll) {
            var p = geogrid.map.latLngToContainerPoint(geogrid.shown(L.latLng(ll[1], ll[0])));
            return [p.x, p.y]; })""",
            [list(c) for c in coords],
        )
        box = self.page.locator(".leaflet-container").bounding_box()
        return [(box["x"] + x, box["y"] + y) for x, y in found]

    def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"map-plan-{name}.png"))


@pytest.fixture
def browse(chromium: Any, api: str) -> Iterator[PlanPage]:
    """A browser tab for plan pages."""
    context = chromium.new_context(viewport=VIEWPORT, locale="zh-CN", service_workers="block")
    visit = PlanPage(context.new_page(), api, context)

    def route(r: Any) -> None:
        address = urlsplit(r.request.url)
        if address.scheme in ("data", "blob") or address.hostname == "127.0.0.1":
            r.continue_()
        else:
            visit.outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    visit.page.on("console", lambda m: visit.errors.append(m.text) if m.type == "error" else None)
    visit.page.on("pageerror", lambda e: visit.errors.append(f"page error: {e}"))
    visit.page.on("dialog", lambda d: d.accept())
    try:
        yield visit
        assert visit.outside == []
        assert [e for e in visit.errors if not any(s in e for s in REFUSED)] == []
    finally:
        context.close()


def _drawing(
    engine: Engine, a: str, b: str
) -> tuple[shapely.Polygon, shapely.Point, shapely.Point]:
    """A polygon along the edge ``a`` shares with ``b``, reaching ~20 m into both: the part
    inside ``a`` is the strip tests.plans.test_plans.neighbours moves, with few vertices to click.
    Also a point of each grid inside it (to click the grids on the same view)."""
    with engine.connect() as conn:
        layer = plans.base_layer(conn, current_release(conn).id)  # type: ignore[union-attr]
    edge = shapely.intersection(
        layer.grids[a]["geometry"].boundary, layer.grids[b]["geometry"].boundary
    )
    area = shapely.simplify(edge.buffer(0.0002, quad_segs=2), 0.00002)
    assert area.geom_type == "Polygon" and area.is_valid
    return (
        area,
        shapely.intersection(layer.grids[a]["geometry"], area).representative_point(),
        shapely.intersection(layer.grids[b]["geometry"], area).representative_point(),
    )


def _new_plan(engine: Engine, comment: str) -> int:
    with engine.begin() as conn:
        return plans.create_plan(conn, comment, "test").id


def _edits(engine: Engine, plan_id: int) -> list[plans.Edit]:
    with engine.connect() as conn:
        return plans.get_plan(conn, plan_id).edits


def test_plan_page_renders_offline(engine: Engine) -> None:
    plan_id = _new_plan(engine, "渲染")
    with engine.connect() as conn:
        view = mapdata_plans.plan_view(conn, plan_id)
        lean = mapdata_plans.plan_view(conn, plan_id, with_base=False)
    assert view.base and not view.after and not view.touched and lean.base == ()
    html = maps.page(maps.plan_map(view), None)  # inline: a file that opens offline
    assert "cdnjs" not in html and maps.external_references(html) == []
    assert "L.Control.Draw" in html and "geogrid.planEditor" in html
    layers = maps.plan_layers(lean)
    assert layers["status"] == "open" and layers["edits"] == []
    assert layers["after"] == {"type": "FeatureCollection", "features": []}


def test_the_layers_of_a_plan_page_need_a_planner(
    api: str, engine: Engine, secret: str, planner: tuple[str, str]
) -> None:
    plan_id = _new_plan(engine, "权限")
    assert httpx.get(f"{api}/maps/plans/{plan_id}/layers").status_code == 401
    answer = httpx.get(
        f"{api}/maps/plans/{plan_id}/layers", headers={"Authorization": f"Bearer {secret}"}
    )
    assert answer.status_code == 200 and answer.json()["plan"] == plan_id
    assert httpx.get(f"{api}/maps/plans/999999").status_code == 404
    # nobody signed in: the page offers /login (coming back here), holds no token
    anonymous = httpx.get(f"{api}/maps/plans/{plan_id}")
    assert '"csrf":null' in anonymous.text
    assert f'"login":"/login?next=%2Fmaps%2Fplans%2F{plan_id}"' in anonymous.text
    # a signed-in planner: the page holds the session's CSRF token, and is never stored
    with httpx.Client(base_url=api, timeout=30) as person:
        signed = person.post("/login", data={"username": planner[0], "password": planner[1]})
        assert signed.status_code == 303
        page = person.get(f"/maps/plans/{plan_id}")
        token = page.text.split('"csrf":"', 1)[1].split('"', 1)[0]
        assert len(token) >= 32 and page.headers["cache-control"] == "no-store"
        assert person.get(f"/maps/plans/{plan_id}/layers").json()["plan"] == plan_id


def test_draw_a_transfer_see_it_and_undo_it(
    browse: PlanPage, engine: Engine, planner: tuple[str, str]
) -> None:
    a, b, _ = neighbours(engine)
    area, in_a, in_b = _drawing(engine, a, b)
    plan_id = _new_plan(engine, "画图划转")
    page = browse.page
    browse.open(plan_id)  # not signed in yet: no key box, a link to /login
    assert browse.attr("data-state", f"{PANEL} .gg-preview") == "signin"
    assert browse.count(f"{PANEL} [name=key]") == 0
    assert page.is_disabled(f"{PANEL} [name=submit]")
    link = f"{PANEL} .gg-signin a"
    assert browse.text(link) == "登录后编辑"
    assert browse.attr("href", link) == f"/login?next=%2Fmaps%2Fplans%2F{plan_id}"
    page.click(link)
    browse.log_in(planner)
    assert page.url == f"{browse.base}/maps/plans/{plan_id}"
    browse.ready()
    browse.preview_ready(edits=0)
    assert browse.count(f"{PANEL} .gg-signin") == 0
    assert browse.attr("data-valid", f"{PANEL} .gg-preview") == "true"
    assert browse.count(f"{PANEL} .gg-edits li[data-edit]") == 0
    page.fill(f"{PANEL} [name=comment]", "在地图上绘制")

    browse.fit(area)
    browse.pick(in_a)
    browse.pick(in_b)
    assert page.input_value(f"{PANEL} [name=from]") == a
    assert page.input_value(f"{PANEL} [name=to]") == b
    browse.draw("polygon", list(area.exterior.coords)[:-1])
    page.click(f"{PANEL} [name=submit]")
    assert browse.finished("edit") == "done", browse.text(f"{PANEL} .gg-result")
    edit_id = int(browse.attr("data-edit") or 0)
    stored = _edits(engine, plan_id)
    assert [(e.id, e.op) for e in stored] == [(edit_id, "transfer")]
    assert stored[0].params["from"] == a and stored[0].params["to"] == b

    # without a reload: the edit listed, the grids after it drawn, the preview's figures
    browse.preview_ready(edits=1)
    assert browse.text(f"{PANEL} .gg-edits li[data-edit='{edit_id}']").startswith(
        f"#{edit_id} 划转区域（transfer）：在地图上绘制"
    )
    assert browse.count(".leaflet-gg-focus-pane path") == 2
    assert browse.attr("data-touched") == f"{a},{b}"
    assert browse.count(f"{PANEL} .gg-figures tbody[data-grid]") == 2
    gained = browse.text(f"{PANEL} .gg-figures tbody[data-grid='{b}']")
    lost = browse.text(f"{PANEL} .gg-figures tbody[data-grid='{a}']")
    assert "面积 m²" in gained and "住户 households" in gained and "Polsby–Popper" in gained
    area_rows = [
        line for line in (gained, lost) for line in line.splitlines() if line.startswith("面积")
    ]
    assert "(+" in area_rows[0] and "(-" in area_rows[1]  # b grew by the strip a lost
    browse.screenshot("transfer")

    page.click(f"{PANEL} button[name=undo][data-edit='{edit_id}']")
    assert browse.finished("undo") == "done", browse.text(f"{PANEL} .gg-result")
    browse.preview_ready(edits=0)
    assert browse.count(f"{PANEL} .gg-edits li[data-edit]") == 0
    assert browse.count(".leaflet-gg-focus-pane path") == 0
    assert _edits(engine, plan_id) == []
    assert f"已撤销编辑 #{edit_id}" in browse.text(f"{PANEL} .gg-result")


def test_a_refused_edit_shows_why(
    browse: PlanPage, engine: Engine, planner: tuple[str, str]
) -> None:
    a, b, _ = neighbours(engine)
    area, in_a, _ = _drawing(engine, a, b)
    plan_id = _new_plan(engine, "被拒绝")
    page = browse.page
    browse.sign_in(planner, plan_id)
    browse.preview_ready(edits=0)
    browse.fit(area)
    browse.pick(in_a)
    page.fill(f"{PANEL} [name=to]", a)  # into the grid it comes from
    browse.draw("polygon", list(area.exterior.coords)[:-1])
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click(f"{PANEL} [name=submit]")
    assert answer.value.status == 422
    assert browse.finished("edit") == "error"
    shown = browse.text(f"{PANEL} .gg-result")
    assert "HTTP 422" in shown and answer.value.json()["detail"] in shown
    assert _edits(engine, plan_id) == []
    # the drawing stays, to be fixed and sent again
    assert browse.attr("data-drawn") == "polygon"


def test_draw_a_split_line(browse: PlanPage, engine: Engine, planner: tuple[str, str]) -> None:
    with engine.connect() as conn:
        layer = plans.base_layer(conn, current_release(conn).id)  # type: ignore[union-attr]
    code = max(
        (c for c in layer.grids if layer.grids[c]["kind"] == "resident"),
        key=lambda c: to_metric(layer.grids[c]["geometry"]).area,
    )
    grid = layer.grids[code]["geometry"]
    minx, _, maxx, _ = grid.bounds
    inside = grid.representative_point()
    margin = 0.0005  # drawn just across the grid, as a planner does
    line = [(minx - margin, inside.y), (maxx + margin, inside.y)]
    plan_id = _new_plan(engine, "画线拆分")
    page = browse.page
    browse.sign_in(planner, plan_id)
    browse.preview_ready(edits=0)
    page.select_option(f"{PANEL} [name=op]", "split")
    assert page.is_hidden(f"{PANEL} .gg-to")
    browse.fit(shapely.LineString(line))
    browse.pick(inside)
    assert page.input_value(f"{PANEL} [name=from]") == code
    browse.draw("polyline", line)
    page.click(f"{PANEL} [name=submit]")
    assert browse.finished("edit") == "done", browse.text(f"{PANEL} .gg-result")
    [edit] = _edits(engine, plan_id)
    assert edit.op == "split" and edit.params["grid"] == code
    browse.preview_ready(edits=1)
    touched = (browse.attr("data-touched") or "").split(",")
    assert code in touched and len(touched) >= 3  # the grid and its new parts
    assert browse.count(".leaflet-gg-focus-pane path") == len(touched) - 1
    assert "（新建 new）" in browse.text(f"{PANEL} .gg-figures")
    assert browse.text(f"{PANEL} .gg-edits").count("拆分网格（split）") == 1
    browse.screenshot("split")


def test_a_line_just_across_a_grid_splits_it(engine: Engine) -> None:
    with engine.connect() as conn:
        layer = plans.base_layer(conn, current_release(conn).id)  # type: ignore[union-attr]
    code = sorted(layer.grids)[0]
    grid = layer.grids[code]["geometry"]
    minx, _, maxx, _ = grid.bounds
    y = grid.representative_point().y
    line = {"type": "LineString", "coordinates": [[minx - 0.0005, y], [maxx + 0.0005, y]]}
    plan_id = _new_plan(engine, "短线拆分")
    with engine.begin() as conn:
        plans.add_edit(
            conn, plan_id, {"op": "split", "grid": code, "line": line, "crs": "cgcs2000"}, "test"
        )
    assert [e.op for e in _edits(engine, plan_id)] == ["split"]


def test_publish_and_a_conflicting_plan(
    browse: PlanPage, engine: Engine, planner: tuple[str, str]
) -> None:
    """Last in the module: it publishes a new release. The planner signs in, draws the
    transfer, reads its preview and publishes; a rival plan made through the API on the same
    base and grids is then refused."""
    a, b, strip = neighbours(engine)
    area, in_a, in_b = _drawing(engine, a, b)
    plan_id, rival_id = _new_plan(engine, "发布"), _new_plan(engine, "冲突")
    with engine.begin() as conn:
        plans.add_edit(conn, rival_id, transfer(a, b, strip), "test")
        base = current_release(conn).id  # type: ignore[union-attr]
    page = browse.page
    browse.sign_in(planner, plan_id)
    browse.preview_ready(edits=0)
    assert page.is_disabled(f"{PANEL} [name=publish]")  # nothing to publish yet
    browse.fit(area)
    browse.pick(in_a)
    browse.pick(in_b)
    browse.draw("polygon", list(area.exterior.coords)[:-1])
    page.click(f"{PANEL} [name=submit]")
    assert browse.finished("edit") == "done", browse.text(f"{PANEL} .gg-result")
    browse.preview_ready(edits=1)
    assert browse.attr("data-valid", f"{PANEL} .gg-preview") == "true"
    assert browse.count(f"{PANEL} .gg-figures tbody[data-grid]") == 2
    page.click(f"{PANEL} [name=publish]")
    assert browse.finished("publish") == "done", browse.text(f"{PANEL} .gg-result")
    with engine.connect() as conn:
        release = current_release(conn).id  # type: ignore[union-attr]
        assert plans.get_plan(conn, plan_id).status == "published"
    assert release == base + 1 and browse.attr("data-release") == str(release)
    assert f"已发布为边界版本 {release}" in browse.text(f"{PANEL} .gg-result")
    assert browse.attr("data-status") == "published"
    assert page.is_disabled(f"{PANEL} [name=publish]")
    assert page.is_disabled(f"{PANEL} [name=submit]")
    assert browse.count(f"{PANEL} button[name=undo]") == 0
    browse.screenshot("published")

    # the rival plan edits the same grids on the old base: 409, said on the page
    browse.open(rival_id)
    browse.preview_ready(edits=1)
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click(f"{PANEL} [name=publish]")
    assert answer.value.status == 409
    assert browse.finished("publish") == "error"
    shown = browse.text(f"{PANEL} .gg-result")
    assert "HTTP 409" in shown and answer.value.json()["detail"] in shown
    assert a in shown and b in shown
    with engine.connect() as conn:
        assert plans.get_plan(conn, rival_id).status == "open"
        assert current_release(conn).id == release  # type: ignore[union-attr]
