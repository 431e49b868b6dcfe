"""The case map (/maps/cases) over real HTTP on a private demo database with 2,000+ cases:
its layers, the filters, the summary, no reporter data in the page, and one visit in headless
Chromium (network off) that counts the drawn grids, clusters and markers."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, create_engine, text

from geogrid import cases, maps
from geogrid.access import keys
from geogrid.access.roles import Role
from geogrid.cases.report import CaseReport
from geogrid.lookup import snapshot
from geogrid.settings import CaseSettings
from tests.conftest import ARTIFACTS, start_api
from tests.maps import test_map_browser as browsing
from tests.maps.test_map_browser import Visit, assert_clean

# Chromium with the network off, as the other maps' browser tests run it.
browser = browsing.browser
visit = browsing.visit

#: Who reported the cases made through geogrid.cases.records, and what they wrote: never on a map.
REPORTER = ("王小明", "13812345678")
DESCRIPTION = "张三家楼下垃圾堆放三天无人清理"
BULK = 2_000
#: The bulk cases' reporter, and the statuses they cycle through.
BULK_REPORTER = ("赵六", "13900002222")
BULK_STATUSES = ("reported", "accepted", "dispatched", "closed", "void")
BULK_CATEGORIES = ("E0102", "E0503", "C0105", "E0601")

CURRENT = """
    SELECT gg.grid_code, gg.geom FROM grid_geometry gg
    WHERE gg.valid_to_release IS NULL
"""


@dataclass
class Site:
    url: str
    base: str
    dispatcher: str

    def get(self, path: str, key: str | None = None, **params: Any) -> httpx.Response:
        headers = {} if key is None else {"Authorization": f"Bearer {key}"}
        return httpx.get(f"{self.base}{path}", params=params, headers=headers, timeout=60)

    def scalar(self, sql: str, **params: Any) -> Any:
        engine = create_engine(self.url)
        with engine.connect() as conn:
            found = conn.execute(text(sql), params).scalar_one()
        engine.dispose()
        return found


def _seed_reported(conn: Connection) -> None:
    """A dozen cases made as the API makes them, moved through their life."""
    release = conn.execute(text("SELECT max(id) FROM boundary_release")).scalar_one()
    snap = snapshot.build(conn, release)
    points = conn.execute(
        text(
            "SELECT ST_X(p) AS x, ST_Y(p) AS y FROM (SELECT ST_PointOnSurface(geom) AS p "
            f"FROM ({CURRENT}) g ORDER BY grid_code LIMIT 12) s"
        )
    ).all()
    paths = [
        (),
        ("accepted",),
        ("accepted", "dispatched"),
        ("void",),
        ("accepted", "dispatched", "in_progress", "handled", "verified", "closed"),
    ]
    for i, point in enumerate(points):
        report = CaseReport.from_mapping(
            {
                "category": BULK_CATEGORIES[i % 4],
                "description": DESCRIPTION,
                "lon": point.x,
                "lat": point.y,
                "crs": "cgcs2000",
                "channel": "hotline",
                "reporter": {"name": REPORTER[0], "phone": REPORTER[1]},
            }
        )
        case, _ = cases.create_case(conn, snap, report, "seed", CaseSettings())
        for to in paths[i % len(paths)]:
            cases.transition(conn, case.id, to, "seed", "重复上报" if to == "void" else "")


def _seed_bulk(conn: Connection) -> None:
    """BULK cases spread over every grid (a random point inside each), an hour apart; those
    accepted run on the calendar clock (due their category's hours after acceptance, which is
    also when the stage they are in runs out)."""
    conn.execute(
        text(f"""
        WITH g AS (SELECT grid_code, geom, row_number() OVER (ORDER BY grid_code) - 1 AS n,
                          count(*) OVER () AS total FROM ({CURRENT}) c),
             i AS (SELECT i, :now - make_interval(hours => i) AS created
                   FROM generate_series(1, :bulk) i)
        INSERT INTO civic_case (category, description, channel, reporter_name, reporter_phone,
                                location, grid_code, release_id, status, accepted_at,
                                closed_at, created_at, created_by, clock, clock_due_at,
                                stage_due_at, stage_yellow_at)
        SELECT (CAST(:categories AS text[]))[1 + i.i % 4], :description, 'hotline', :name,
               :phone, ST_SetSRID(ST_GeometryN(ST_GeneratePoints(g.geom, 1, i.i), 1), 4490),
               g.grid_code, (SELECT max(id) FROM boundary_release), s.status,
               CASE WHEN s.status IN ('reported', 'void') THEN NULL ELSE i.created END,
               CASE WHEN s.status = 'closed' THEN i.created + interval '2 hours' END,
               i.created, 'bulk',
               CASE WHEN s.status IN ('reported', 'void') THEN NULL ELSE 'calendar' END,
               d.due, d.due, d.due
        FROM i JOIN g ON g.n = (i.i * 7) % g.total
        CROSS JOIN LATERAL (SELECT (CAST(:statuses AS text[]))[1 + i.i % 5] AS status) s
        CROSS JOIN LATERAL (SELECT CASE WHEN s.status IN ('reported', 'void') THEN NULL
            ELSE i.created + make_interval(secs => 3600 * (SELECT k.handling_hours
                FROM case_category k WHERE k.code = (CAST(:categories AS text[]))[1 + i.i % 4]))
            END AS due) d
    """),
        {
            "now": datetime.now(UTC),
            "bulk": BULK,
            "categories": list(BULK_CATEGORIES),
            "statuses": list(BULK_STATUSES),
            "description": DESCRIPTION,
            "name": BULK_REPORTER[0],
            "phone": BULK_REPORTER[1],
        },
    )


@pytest.fixture(scope="module")
def site(server: Any, demo_template: str) -> Iterator[Site]:
    url = server.database("casemap", template=demo_template)
    engine = create_engine(url)
    with engine.begin() as conn:
        _seed_reported(conn)
        _seed_bulk(conn)
        _, dispatcher = keys.create_key(conn, "casemap-dispatcher", Role.dispatcher)
    engine.dispose()
    process, base = start_api(url)
    yield Site(url, base, dispatcher)
    process.terminate()
    process.wait(timeout=20)


def call_args(html: str, function: str) -> Any:
    """The first argument (JSON) of the page's first call of ``function``."""
    start = html.index(f"{function}(") + len(function) + 1
    value, _ = json.JSONDecoder().raw_decode(html, start)
    return value


def data_layers(html: str) -> dict[str, dict[str, Any]]:
    """Every geogrid.geoJSON layer of the page by its style table."""
    found = {}
    for match in re.finditer(r"geogrid\.geoJSON\(", html):
        data, end = json.JSONDecoder().raw_decode(html, match.end())
        options, _ = json.JSONDecoder().raw_decode(html, html.index("{", end))
        found[options["table"]] = data
    return found


def overlays(html: str) -> list[str]:
    """Names of the layer control's overlays (folium writes them as JSON strings)."""
    block = html[html.index("overlays :") :]
    block = block[: block.index("}")]
    return [json.loads(name) for name in re.findall(r'^\s*("(?:[^"\\]|\\.)*") :', block, re.M)]


def summary(html: str) -> dict[str, int]:
    # geogrid.panel(map_x, "<html>", "topright", ...): the second argument
    start = html.index(",", html.index("geogrid.panel(")) + 1
    panel, _ = json.JSONDecoder().raw_decode(
        html, len(html[start:]) - len(html[start:].lstrip()) + start
    )
    return {k: int(v.replace(",", "")) for k, v in re.findall(r'data-n="(\w+)">([\d,]+)<', panel)}


# --- the page ------------------------------------------------------------------------------


def test_the_case_map_has_its_three_layers_and_loads_only_from_here(site: Site) -> None:
    answer = site.get("/maps/cases")
    assert answer.status_code == 200, answer.text[:300]
    html = answer.text
    assert maps.external_references(html) == []
    assets = re.findall(r'<(?:script src|link rel="stylesheet" href)="([^"]+)"', html)
    assert any("leaflet.markercluster.js" in a for a in assets)
    assert any("MarkerCluster.Default.css" in a for a in assets)
    for url in assets:
        assert site.get(url).status_code == 200, url
    layers = data_layers(html)
    grids = site.scalar(f"SELECT count(*) FROM ({CURRENT}) c")
    assert len(layers["caseGrids"]["features"]) == grids
    assert sum(f["properties"]["n"] for f in layers["caseGrids"]["features"]) == BULK + 12
    hexes = layers["caseHexes"]["features"]
    assert hexes and sum(f["properties"]["n"] for f in hexes) == BULK + 12
    assert len(call_args(html, "geogrid.caseCluster")) == BULK + 12
    # every layer can be switched in the layer control
    names = overlays(html)
    assert any(n.startswith("网格案件数（") for n in names)
    assert any(n.startswith("案件热力（H3 第 8 级") for n in names)
    assert "案件点位（2,012）" in names


def test_the_summary_counts_total_open_and_overdue(site: Site) -> None:
    found = summary(site.get("/maps/cases").text)
    assert found == {
        "total": site.scalar("SELECT count(*) FROM case_view"),
        "open": site.scalar(
            "SELECT count(*) FROM case_view WHERE status NOT IN ('closed', 'void')"
        ),
        "overdue": site.scalar("SELECT count(*) FROM case_view WHERE overdue"),
    }
    assert found["open"] > found["overdue"] > 0


FILTERS: list[tuple[dict[str, str], str]] = [
    ({"status": "closed"}, "status = 'closed'"),
    ({"status": "accepted,dispatched"}, "status IN ('accepted', 'dispatched')"),
    ({"category": "E0503"}, "category = 'E0503'"),
    ({"category": "市容环境"}, "category_major = '市容环境'"),
    ({"open": "true"}, "status NOT IN ('closed', 'void')"),
    ({"overdue": "true"}, "overdue"),
    # a date without an offset is a day in Asia/Shanghai
    ({"from": "SHDAY"}, "created_at >= CAST(:day AS date) - interval '8 hours'"),
    ({"to": "SHDAY"}, "created_at < CAST(:day AS date) + interval '16 hours'"),
]


@pytest.mark.parametrize(("params", "where"), FILTERS)
def test_filters_select_what_the_list_selects(
    site: Site, params: dict[str, str], where: str
) -> None:
    day = (datetime.now(UTC) - timedelta(days=20)).astimezone().date().isoformat()
    given = {k: day if v == "SHDAY" else v for k, v in params.items()}
    expected = site.scalar(f"SELECT count(*) FROM case_view WHERE {where}", day=day)
    assert 0 < expected < BULK + 12, where
    html = site.get("/maps/cases", **given).text
    assert summary(html)["total"] == expected
    rows = call_args(html, "geogrid.caseCluster")
    assert len(rows) == expected
    grids = data_layers(html)["caseGrids"]["features"]
    assert sum(f["properties"]["n"] for f in grids) == expected
    assert "筛选：全部案件" not in html
    if given.get("status") == "closed":
        assert all("结案" in r[3] and r[2] == "done" for r in rows)
    if given.get("overdue") == "true":
        assert all(r[2] == "overdue" and "超期" in r[3] for r in rows)


def test_street_and_community_filters_and_their_names(site: Site) -> None:
    street, street_name = site.scalar(
        "SELECT ARRAY[street_code, street_name] FROM case_view GROUP BY 1 ORDER BY count(*) "
        "DESC LIMIT 1"
    )
    html = site.get("/maps/cases", street=street.strip()).text
    assert summary(html)["total"] == site.scalar(
        "SELECT count(*) FROM case_view WHERE street_code = :s", s=street
    )
    assert f"街道：{street.strip()} {street_name}" in html
    community = site.scalar("SELECT min(community_code) FROM case_view")
    both = site.get("/maps/cases", community=community.strip(), status="reported").text
    assert summary(both)["total"] == site.scalar(
        "SELECT count(*) FROM case_view WHERE community_code = :c AND status = 'reported'",
        c=community,
    )
    # the choropleth still draws every grid, with zero where nothing was selected
    grids = data_layers(both)["caseGrids"]["features"]
    assert len(grids) == site.scalar(f"SELECT count(*) FROM ({CURRENT}) c")
    assert {f["properties"]["s"] for f in grids if f["properties"]["n"] == 0} == {"k0"}


def test_the_heat_layer_takes_resolution_8_or_9(site: Site) -> None:
    coarse = data_layers(site.get("/maps/cases").text)["caseHexes"]["features"]
    fine_html = site.get("/maps/cases", resolution="9").text
    fine = data_layers(fine_html)["caseHexes"]["features"]
    assert len(fine) > len(coarse)
    assert any(n.startswith("案件热力（H3 第 9 级") for n in overlays(fine_html))
    answer = site.get("/maps/cases", resolution="7")
    assert answer.status_code == 422 and "8, 9" in answer.text


@pytest.mark.parametrize(
    "params",
    [
        {"status": "lost"},
        {"from": "yesterday"},
        {"street": "12"},
        {"open": "maybe"},
        {"category": "X9999"},
    ],
)
def test_bad_filters_are_refused_by_name(site: Site, params: dict[str, str]) -> None:
    answer = site.get("/maps/cases", **params)
    assert answer.status_code == 422
    assert next(iter(params.values())) in answer.json()["detail"]


@pytest.mark.parametrize("as_dispatcher", [False, True])
def test_no_reporter_data_on_the_map_whoever_asks(site: Site, as_dispatcher: bool) -> None:
    html = site.get("/maps/cases", key=site.dispatcher if as_dispatcher else None).text
    for secret in (*REPORTER, *BULK_REPORTER, DESCRIPTION, "138****5678", "王**", "赵*"):
        assert secret not in html
    rows = call_args(html, "geogrid.caseCluster")
    popup = rows[0][3]
    for label in ("案件", "类别", "状态", "上报时间", "网格"):
        assert label in popup
    assert "地图不显示报告人姓名、电话及案件描述" in html


def test_an_empty_selection_draws_an_empty_map(site: Site) -> None:
    html = site.get("/maps/cases", **{"from": "2001-01-01", "to": "2001-01-31"}).text
    assert summary(html) == {"total": 0, "open": 0, "overdue": 0}
    assert call_args(html, "geogrid.caseCluster") == []
    assert "无案件" in html


# --- in Chromium -----------------------------------------------------------------------------

CLUSTERED = """() => {
    let group = null;
    geogrid.map.eachLayer((l) => { if (l instanceof L.MarkerClusterGroup) group = l; });
    const clusters = [...document.querySelectorAll('.leaflet-marker-pane .marker-cluster')];
    return {
        markers: group.getLayers().length,
        clustered: clusters.reduce((n, c) => n + parseInt(c.textContent, 10), 0),
        single: document.querySelectorAll('.leaflet-marker-pane .gg-case').length,
        ready: geogrid.readyMs,
    };
}"""


def test_chromium_draws_the_choropleth_and_every_case_in_a_cluster(site: Site, visit: Any) -> None:
    page: Visit = visit(f"{site.base}/maps/cases")
    grids = site.scalar(f"SELECT count(*) FROM ({CURRENT}) c")
    assert page.count(".leaflet-gg-choropleth-pane path") == grids
    assert page.count(".leaflet-marker-pane .marker-cluster") > 0
    shown = page.page.evaluate(CLUSTERED)
    # the whole district is in view: every case is in a cluster or drawn on its own
    assert shown["markers"] == BULK + 12
    assert shown["clustered"] + shown["single"] == BULK + 12
    assert "共 2,012 件" in page.page.inner_text(".geogrid-case-summary")
    assert "每网格案件数" in page.page.inner_text(".geogrid-legend")
    assert page.count(".leaflet-gg-hexes-pane path") == 0  # off until chosen
    page.page.hover(".leaflet-control-layers")
    page.page.get_by_text(re.compile("案件热力")).click()
    answer = httpx.get(f"{site.base}/maps/cases", timeout=60)
    hexes = data_layers(answer.text)["caseHexes"]
    assert page.count(".leaflet-gg-hexes-pane path") == len(hexes["features"])
    page.screenshot("cases")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "cases-render.txt").write_text(
        f"/maps/cases with {BULK + 12} cases: {len(answer.content):,} bytes, answered in "
        f"{answer.elapsed.total_seconds() * 1000:.0f} ms; first render "
        f"{shown['ready']:.0f} ms after navigation start (headless Chromium)\n"
    )
    # nothing outside 127.0.0.1, no console error (a failed load logs one), and every
    # request of the page answers
    assert_clean(page)
    for url in set(page.requests):
        if url.startswith(site.base):
            assert httpx.get(url, timeout=60).status_code == 200, url
