"""maps/ on tiny hand-made data: styles per kind, the GCJ-02 shift, escaping, masking, assets.

No database and no browser: geogrid.mapdata.views's plain dataclasses are built by hand, rendered,
and the HTML (and the data inside it) is read back.
"""

from __future__ import annotations

import dataclasses
import doctest
import json
import re
import shutil
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import folium
import numpy as np
import pytest
import shapely

from geogrid import maps
from geogrid.access.roles import Principal, Role
from geogrid.boundaries.grids import Grid, Person, Unit
from geogrid.geo.datum import wgs84_to_gcj02
from geogrid.lookup.collections import Compound
from geogrid.mapdata import views as mapdata
from geogrid.mapdata.types import (
    Area,
    CommunityCoverage,
    CompoundPlace,
    CoverageView,
    GridOrganisationPlace,
    GridPlace,
    GridView,
    HexCell,
    LocateView,
    OrganisationLayers,
    Overview,
    ServiceArea,
    StationPlace,
)
from geogrid.maps import assets, geojson, popups, styles
from geogrid.maps.elements import script_json

EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>&'
MAPS_JS = assets.STATIC_DIR / "geogrid" / "maps.js"


def box(x: float, y: float, size: float = 0.004) -> shapely.Polygon:
    return shapely.box(x, y, x + size, y + size)


def grid(
    code: str,
    kind: str = "resident",
    name: str = "网格",
    x: float = 117.30,
    leader: tuple[str | None, str | None] = ("张**", "138****0000"),
) -> GridPlace:
    return GridPlace(
        code,
        name,
        kind,
        "某医院" if kind == "dedicated" else None,
        "填海巷社区",
        "明光路街道",
        leader[0],
        leader[1],
        120,
        2,
        box(x, 31.85),
    )


def station(kind: str, name: str = "站点", x: float = 117.302) -> StationPlace:
    areas = tuple(
        ServiceArea(m, "circle", d / 1.3, d, 1.3, shapely.Point(x, 31.852).buffer(0.003))
        for m, d in ((5, 300.0), (10, 500.0), (15, 1000.0))
    )
    return StationPlace(
        7, name, kind, x, 31.852, "Mo-Fr 08:30-17:30", "铜陵北路1号", "填海巷社区", areas
    )


def compound(
    kind: str = "organised", smart_safe: bool = True, three_no: bool = False, name: str = "春晖城"
) -> CompoundPlace:
    return CompoundPlace(
        1,
        name,
        kind,
        402,
        smart_safe,
        three_no,
        "340102001001001",
        "第1网格",
        box(117.301, 31.851, 0.001),
    )


def overview(
    grids: list[GridPlace] | None = None,
    stations: list[StationPlace] | None = None,
    compounds: list[CompoundPlace] | None = None,
    personal: bool = False,
) -> Overview:
    district = Area("340102", "瑶海区", box(117.29, 31.84, 0.03))
    return Overview(
        release=3,
        district=district,
        streets=(Area("340102001", "明光路街道", district.geometry),),
        communities=(Area("340102001001", "填海巷社区", district.geometry, "明光路街道"),),
        grids=tuple(
            grids
            if grids is not None
            else [grid("340102001001001"), grid("340102001001002", "dedicated", x=117.304)]
        ),
        compounds=tuple(compounds if compounds is not None else [compound()]),
        stations=tuple(stations if stations is not None else [station("doorstep")]),
        gap_minutes=15,
        gap=box(117.31, 31.86, 0.002),
        gap_area_m2=40_000.0,
        hexes=(HexCell("89409b6a8b7ffff", 300, 120, box(117.30, 31.86, 0.002)),),
        personal_data=personal,
    )


def data_layers(html: str) -> list[dict[str, Any]]:
    """Every DataLayer's FeatureCollection, as the page holds it."""
    decoder = json.JSONDecoder()
    return [decoder.raw_decode(html, m.end())[0] for m in re.finditer(r"geogrid\.geoJSON\(", html)]


class Elements(HTMLParser):
    """Counts the start and end tags an HTML parser finds."""

    def __init__(self) -> None:
        super().__init__()
        self.starts: Counter[str] = Counter()
        self.ends: Counter[str] = Counter()

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self.starts[tag] += 1

    def handle_endtag(self, tag: str) -> None:
        self.ends[tag] += 1


def features_of(html: str) -> list[dict[str, Any]]:
    return [f for layer in data_layers(html) for f in layer["features"]]


# --- styles per kind ----------------------------------------------------------------------


def test_resident_and_dedicated_grids_are_styled_apart() -> None:
    found = maps.render.grid_features(
        [grid("340102001001001"), grid("340102001001002", "dedicated")]
    )
    keys = [f["properties"]["s"] for f in found["features"]]
    assert keys == ["resident", "dedicated"]
    resident, dedicated = styles.GRIDS["resident"], styles.GRIDS["dedicated"]
    assert resident["color"] != dedicated["color"]
    assert resident["fillOpacity"] < dedicated["fillOpacity"]
    assert "dashArray" in dedicated and "dashArray" not in resident


@pytest.mark.parametrize(
    "kind, smart_safe, three_no, expected",
    [
        ("organised", False, False, "plain"),
        ("organised", True, False, "smart_safe"),
        ("organised", True, True, "three_no"),
        ("scattered", True, True, "three_no_scattered"),
        ("scattered", False, False, "plain_scattered"),
    ],
)
def test_compounds_are_styled_by_smart_safe_and_three_no(
    kind: str, smart_safe: bool, three_no: bool, expected: str
) -> None:
    [f] = maps.render.compound_features([compound(kind, smart_safe, three_no)])["features"]
    assert f["properties"]["s"] == expected
    assert expected in styles.COMPOUNDS


def test_compound_classes_have_distinct_colours() -> None:
    fills = {styles.COMPOUNDS[k]["fillColor"] for k in ("plain", "smart_safe", "three_no")}
    assert len(fills) == 3


def test_each_station_kind_has_its_own_marker_and_circle_colour() -> None:
    icons = styles.station_icons()
    assert (
        set(icons)
        == set(styles.STATION_KINDS)
        == {"party_mass", "doorstep", "courier_rest", "happiness", "mediation", "legal"}
    )
    assert len({i["colour"] for i in icons.values()}) == 6
    assert len({i["icon"] for i in icons.values()}) == 6
    assert all("geogrid-station" in i["className"] for i in icons.values())
    for kind in styles.STATION_KINDS:
        assert (
            styles.CIRCLES[styles.circle_style(kind, 15)]["color"] == styles.STATION_KINDS[kind][1]
        )


def test_stations_are_drawn_one_layer_per_kind_with_circles_per_tier() -> None:
    m = maps.overview_map(
        overview(stations=[station("legal"), station("doorstep"), station("doorstep", x=117.31)])
    )
    html = maps.page(m, "/static")
    names = [
        layer.layer_name for layer in m._children.values() if isinstance(layer, folium.FeatureGroup)
    ]
    assert "站点：法治e站（1）" in names and "站点：家门口服务站（2）" in names
    circles = [f for f in features_of(html) if "r" in f["properties"]]
    assert len(circles) == 3 * 3
    assert {f["properties"]["s"] for f in circles} >= {"legal_5", "doorstep_15"}
    assert {f["properties"]["r"] for f in circles} == {
        round(d / 1.3, 1) for d in (300.0, 500.0, 1000.0)
    }


def test_legend_lists_every_kind() -> None:
    html = maps.page(maps.overview_map(overview()), "/static")
    for words in (
        "居民网格",
        "专属网格",
        "智慧平安小区",
        "三无小区",
        "左邻右舍党群服务站",
        "法治e站",
        "15 分钟生活圈未覆盖区域",
        "未覆盖住户",
    ):
        assert words in html


def test_gaps_counted_per_kind_say_so() -> None:
    # Coverage counts each station kind at its own tier by default (no one tier to name).
    data = dataclasses.replace(overview(), gap_minutes=None)
    html = maps.page(maps.overview_map(data), "/static")
    assert "生活圈（各类站点按其服务层级）未覆盖区域" in html
    assert "None 分钟" not in html


@pytest.mark.parametrize("uncovered, key", [(1, "h0"), (200, "h1"), (201, "h2"), (10_000, "h4")])
def test_heat_classes(uncovered: int, key: str) -> None:
    assert styles.hex_style(uncovered) == key


# --- the GCJ-02 shift ---------------------------------------------------------------------


def test_gcj02_bases_are_flagged_and_not_loaded_until_chosen() -> None:
    m = maps.overview_map(overview(), tianditu_key="test-key")
    html = maps.page(m, "/static")
    tiles = {
        layer.layer_name: layer
        for layer in m._children.values()
        if isinstance(layer, folium.TileLayer | maps.render.TileGroup)
    }
    assert set(tiles) == {"OpenStreetMap", "天地图", "高德地图（GCJ-02）", "腾讯地图（GCJ-02）"}
    datum = {
        name: (
            layer.options.get("datum")
            if isinstance(layer, folium.TileLayer)
            else layer.group_options["datum"]
        )
        for name, layer in tiles.items()
    }
    assert datum == {
        "OpenStreetMap": "wgs84",
        "天地图": "wgs84",
        "高德地图（GCJ-02）": "gcj02",
        "腾讯地图（GCJ-02）": "gcj02",
    }
    for layer in tiles.values():
        assert not layer.show
        assert f"{layer.get_name()}.addTo(" not in html
    assert "tk=test-key" in html
    # the layer control offers them after the offline base, which is the one shown
    [control] = [c for c in m._children.values() if isinstance(c, folium.LayerControl)]
    assert next(iter(control.base_layers)) == "离线底图（区界）"
    assert set(tiles) < set(control.base_layers)


def test_tianditu_is_offered_only_with_a_key() -> None:
    m = maps.overview_map(overview())
    names = {
        layer.layer_name for layer in m._children.values() if isinstance(layer, folium.map.Layer)
    }
    assert "天地图" not in names and "高德地图（GCJ-02）" in names
    assert "tianditu" not in maps.page(m, "/static")


@pytest.mark.skipif(
    shutil.which("node") is None,
    reason="node is not installed: the same check runs in Chromium in test_map_browser.py",
)
def test_the_page_shifts_like_geogrid_datum() -> None:
    rng = np.random.default_rng(4)
    lon = np.concatenate([rng.uniform(117.25, 117.45, 200), [2.35, 121.5, 87.6]])
    lat = np.concatenate([rng.uniform(31.80, 32.05, 200), [48.85, 31.2, 43.8]])
    script = (
        f"global.window = globalThis; global.document = {{}};\n{MAPS_JS.read_text()}\n"
        f"const lon = {json.dumps(lon.tolist())}, lat = {json.dumps(lat.tolist())};\n"
        "console.log(JSON.stringify(lon.map((x, i) => [geogrid.toGcj02(x, lat[i]),\n"
        "  geogrid.fromGcj02(...geogrid.toGcj02(x, lat[i]))])));"
    )
    out = json.loads(
        subprocess.run(
            ["node", "-e", script], capture_output=True, text=True, check=True, timeout=60
        ).stdout
    )
    forward = np.array([o[0] for o in out])
    back = np.array([o[1] for o in out])
    expected_lon, expected_lat = wgs84_to_gcj02(lon, lat)
    assert np.abs(forward[:, 0] - expected_lon).max() < 1e-9
    assert np.abs(forward[:, 1] - expected_lat).max() < 1e-9
    assert np.abs(back[:, 0] - lon).max() < 1e-9 and np.abs(back[:, 1] - lat).max() < 1e-9
    # about 570 m in Yaohai, nothing outside China
    assert np.allclose(forward[-3:-2], [[2.35, 48.85]])


# --- escaping -----------------------------------------------------------------------------


def test_popups_escape_html_in_names() -> None:
    g = grid("340102001001001", name=EVIL, leader=(EVIL, "138****0000"))
    for text in (
        popups.grid_popup(g),
        popups.grid_tooltip(g),
        popups.compound_popup(compound(name=EVIL)),
        popups.station_popup(station("legal", name=EVIL)),
        popups.station_tooltip(station("legal", name=EVIL)),
    ):
        assert "<script" not in text and "<img" not in text
        assert "&lt;script&gt;" in text or "&lt;img" in text


def test_the_page_carries_names_only_escaped() -> None:
    html = maps.page(
        maps.overview_map(
            overview(
                grids=[grid("340102001001001", name=EVIL)],
                stations=[station("legal", name=EVIL)],
                compounds=[compound(name=EVIL)],
            )
        ),
        "/static",
    )
    # Nothing in the data can close the script element early (every </ is escaped), so an
    # HTML parser sees exactly the page's own elements.
    parsed = Elements()
    parsed.feed(html)
    assert parsed.starts["script"] == parsed.ends["script"] == html.count("</script>")
    assert parsed.starts["img"] == 0
    for f in features_of(html):
        for key in ("tip", "pop"):
            if key in f["properties"]:
                assert "<script" not in f["properties"][key]
                assert "<img" not in f["properties"][key]
    # the search text keeps the raw name: maps.js sets it as text, never as HTML
    assert any(f["properties"].get("q", "").endswith(EVIL) for f in features_of(html))
    assert "textContent" in MAPS_JS.read_text()


def test_organisation_layers_are_off_escaped_and_borrow_the_grids_shapes() -> None:
    a, b = grid("340102001001001"), grid("340102001001002", "dedicated", x=117.304)
    layers = OrganisationLayers(
        grids=(
            GridOrganisationPlace(a.code, a.name, "resident", EVIL, "孟*", "151****1551", ()),
            GridOrganisationPlace(
                b.code, b.name, "dedicated", None, None, None, ((EVIL, "other"),)
            ),
        ),
        uncovered_compounds=(compound(name=EVIL),),
        communities_without_law_member=(),
    )
    html = maps.page(
        maps.overview_map(dataclasses.replace(overview(grids=[a, b]), organisations=layers)),
        "/static",
    )
    found = {f["properties"]["s"]: f for f in features_of(html) if "s" in f["properties"]}
    assert found["branch"]["geometry"] is None and found["branch"]["properties"]["code"] == a.code
    assert found["no_branch"]["properties"]["code"] == b.code
    # a resident grid without a platform stands out; a dedicated one with one does not
    assert found["p0_resident"]["properties"]["code"] == a.code
    assert found["p1"]["properties"]["code"] == b.code
    assert found["uncovered_compound"]["geometry"]["type"] == "Polygon"
    for f in features_of(html):
        assert "<script" not in f["properties"].get("pop", "")
    assert "孟*" in found["branch"]["properties"]["pop"]
    assert "党支部书记姓名、电话已脱敏" in html
    # in the layer control, not on the map until chosen
    names = re.findall(r'"((?:[^"\\]|\\.)*)" : (data_layer_\w+)', html)
    chosen = {json.loads(f'"{n}"'): v for n, v in names}
    assert "网格党支部（1 个网格有，1 个无）" in chosen
    assert "协商议事平台（每网格个数；1 个居民网格无平台）" in chosen
    ours = [
        v for n, v in chosen.items() if n.startswith(("网格党支部", "协商议事", "无小巷", "无政法"))
    ]
    assert len(ours) == 4 and not [v for v in ours if f"{v}.addTo(" in html]
    assert f"{chosen['网格（2）']}.addTo(" in html
    # the grid layers draw with the grid layer's shapes (maps.js borrowShapes)
    borrowing = re.findall(r'"table": "organisations"\}, (data_layer_\w+)\);', html)
    assert borrowing == [chosen["网格（2）"]] * 2


def test_script_json_cannot_end_a_script_element() -> None:
    text = script_json({"a": "</script><!--", "b": "网格"})
    assert "</" not in text and "<!--" not in text and "网格" in text
    assert json.loads(text) == {"a": "</script><!--", "b": "网格"}


def test_titles_and_legends_escape_names() -> None:
    view = GridView(
        3, grid("340102001001001", name=EVIL), (), Area("1", EVIL, box(117.3, 31.85)), (), (), False
    )
    html = maps.page(maps.grid_map(view), "/static")
    assert "<title>" + EVIL not in html
    assert "&lt;script&gt;" in html


# --- masking ------------------------------------------------------------------------------


def _db_grid(code: str) -> Grid:
    return Grid(
        code,
        "第1网格",
        "resident",
        Unit("340102001001", "填海巷社区"),
        Unit("340102001", "明光路街道"),
        Person("苏明春", "15959718518"),
        "党支部",
        Person("孟莉", "15181021551"),
        release=3,
        geometry=box(117.30, 31.85),
    )


def _db_compound(code: str) -> Compound:
    return Compound(
        1,
        "春晖城",
        "organised",
        402,
        1145,
        True,
        False,
        Unit(code, "第1网格"),
        Unit("340102001001", "填海巷社区"),
        box(117.301, 31.851, 0.001),
        shapely.Point(117.3015, 31.8515),
    )


@pytest.mark.parametrize(
    "show, name, phone", [(False, "苏**", "159****8518"), (True, "苏明春", "15959718518")]
)
def test_leaders_are_masked_for_viewers(show: bool, name: str, phone: str) -> None:
    code = "340102001001001"
    who = Principal("t", Role.dispatcher if show else Role.viewer)
    [place] = mapdata._grid_places([_db_grid(code)], [_db_compound(code)], who, None)
    assert (place.leader_name, place.leader_phone) == (name, phone)
    assert (place.households, place.compounds) == (402, 1)
    html = maps.page(maps.overview_map(overview(grids=[place], personal=show)), "/static")
    assert (name in html, phone in html) == (True, True)
    assert ("15959718518" in html) is show and ("苏明春" in html) is show
    assert ("已脱敏" in html) is not show


# --- assets -------------------------------------------------------------------------------


def test_every_vendored_file_is_there() -> None:
    for asset in assets.VENDORED.values():
        for path in (asset.path, *asset.extra):
            assert (assets.STATIC_DIR / asset.package.folder / path).is_file(), path
    for package in assets.PACKAGES:
        for path in package.licence_files:
            assert (assets.STATIC_DIR / package.folder / path).is_file()
    assert (assets.STATIC_DIR / "vendor" / "LICENSES.md").is_file()


def test_every_folium_default_is_vendored_or_deliberately_dropped() -> None:
    for _, url in [*folium.Map.default_js, *folium.Map.default_css]:
        assert url in assets.VENDORED or url in assets.DROPPED, url


def _assets_of(html: str) -> list[str]:
    return re.findall(r'<(?:script src|link rel="stylesheet" href)="([^"]+)"', html)


@pytest.mark.parametrize("build", ["overview", "grid", "coverage", "locate"])
def test_served_pages_load_only_from_the_static_path(build: str) -> None:
    html = maps.page(_tiny_map(build), "/root/static")
    found = _assets_of(html)
    assert found and all(u.startswith("/root/static/") for u in found)
    for url in found:
        assert (assets.STATIC_DIR / url.removeprefix("/root/static/").split("?")[0]).is_file()
    assert maps.external_references(html) == []
    assert "bootstrap-glyphicons" not in html


def test_files_inline_everything() -> None:
    html = maps.page(_tiny_map("overview"), None)
    assert _assets_of(html) == []
    assert "geogrid-inline:" not in html and "/static/" not in html
    assert "url(../webfonts" not in html and "data:font/woff2;base64," in html
    assert "L.AwesomeMarkers" in html and "geogrid.attach" in html


def test_an_unknown_cdn_asset_fails_loudly() -> None:
    m = maps.overview_map(overview())
    element = folium.plugins.MiniMap()  # its scripts are not vendored
    m.add_child(element)
    with pytest.raises(maps.ExternalAssetError, match="not vendored"):
        maps.page(m, "/static")


def test_an_external_reference_is_refused() -> None:
    with pytest.raises(maps.ExternalAssetError, match="other hosts"):
        maps.check_offline('<html><link rel="stylesheet" href="//cdn.example/x.css"></html>')
    maps.check_offline('<script src="/static/a.js"></script><img src="data:image/png;base64,">')


def _tiny_map(kind: str) -> folium.Map:
    data = overview()
    if kind == "overview":
        return maps.overview_map(data)
    if kind == "grid":
        return maps.grid_map(
            GridView(
                3,
                data.grids[0],
                data.grids[1:],
                data.communities[0],
                data.compounds,
                data.stations,
                False,
            )
        )
    if kind == "coverage":
        row = CommunityCoverage(
            "340102001001",
            "填海巷社区",
            "明光路街道",
            100,
            80,
            0.8,
            0.9,
            1000.0,
            box(117.30, 31.85),
            box(117.30, 31.85, 0.001),
        )
        return maps.coverage_map(
            CoverageView(
                3, 15, ("legal",), "circle 1000 m / 1.3", data.district, (row,), data.stations
            )
        )
    return maps.locate_map(
        LocateView(3, data.district, data.communities, data.grids, (117.301, 31.851))
    )


# --- geometry -----------------------------------------------------------------------------


def test_coverage_simplification_keeps_neighbours_meeting() -> None:
    # two grids sharing a zig-zag edge with many tiny wiggles (< 1 m)
    wiggle = [(117.31 + (0.000003 if i % 2 else 0.0), 31.85 + i * 0.0001) for i in range(101)]
    left = shapely.Polygon([(117.30, 31.85), *wiggle, (117.30, 31.86)])
    right = shapely.Polygon([(117.32, 31.85), (117.32, 31.86), *reversed(wiggle)])
    assert shapely.coverage_is_valid(np.array([left, right]))
    a, b = mapdata.simplify_coverage([left, right], 2.0)
    assert shapely.get_num_coordinates(a) < shapely.get_num_coordinates(left) / 5
    assert a.intersection(b).area < 1e-12
    assert abs(a.union(b).area - left.union(right).area) / left.union(right).area < 1e-4
    assert a.boundary.intersection(b.boundary).length > 0.009  # still one shared edge


def test_coordinates_are_rounded_to_about_ten_centimetres() -> None:
    shape = shapely.Point(117.123456789, 31.987654321)
    assert geojson.geometry(shape)["coordinates"] == (117.123457, 31.987654)


@pytest.mark.parametrize(
    "hours, zh",
    [
        ("Mo-Fr 08:30-17:30; Sa 09:00-12:00", "周一至周五 08:30-17:30；周六 09:00-12:00"),
        ("Mo-Su 00:00-24:00", "周一至周日 00:00-24:00"),
        ("24/7", "全天开放"),
    ],
)
def test_opening_hours_in_chinese(hours: str, zh: str) -> None:
    assert popups.opening_hours_zh(hours) == zh


def test_static_files_ship_with_the_package() -> None:
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert re.search(r'"geogrid\.maps"\s*=\s*\[.*static', pyproject)


@pytest.mark.parametrize("module", [assets, popups, styles, maps.elements])
def test_examples_in_the_docstrings(module: Any) -> None:
    # maps/ is outside pytest's doctest paths (tests, geogrid): run its examples here.
    failed, tried = doctest.testmod(module)
    assert tried > 0 and failed == 0
