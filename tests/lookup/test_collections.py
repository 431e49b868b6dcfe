"""Feature collections, one grid with simplify/crs, and the tiling check, over real HTTP."""

from __future__ import annotations

import re
import secrets
from typing import Any

import httpx
import pytest
import shapely
from pydantic import BaseModel
from sqlalchemy import Engine, create_engine, text

from geogrid.access import keys
from geogrid.access.roles import Role
from geogrid.api.schemas.lookup import (
    CommunityCollection,
    CompoundCollection,
    GridCollection,
    GridDetail,
    StationCollection,
    StreetCollection,
    TilingReport,
)
from geogrid.boundaries import releases
from geogrid.geo import crs_uris
from geogrid.geo.datum import from_storage, point_from_storage, to_metric
from geogrid.lookup import collections as features
from geogrid.lookup.collections import MAX_LIMIT
from tests.conftest import LiveServer, start_api
from tests.helpers import count

COLLECTIONS: dict[str, type[BaseModel]] = {
    "grids": GridCollection,
    "communities": CommunityCollection,
    "streets": StreetCollection,
    "stations": StationCollection,
    "compounds": CompoundCollection,
}
#: A box over the middle of Yaohai (WGS84 lon/lat).
BOX = (117.33, 31.86, 117.37, 31.89)


def make_key(engine: Engine, role: Role) -> str:
    with engine.begin() as conn:
        _, secret = keys.create_key(conn, f"test-{role.name}-{secrets.token_hex(4)}", role)
    return secret


def fetch(client: httpx.Client, path: str, **params: Any) -> Any:
    answer = client.get(path, params=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/geo+json"
    return answer.json()


def follow(client: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every page of a collection, following next links; asserts each is requested once."""
    pages, seen = [], set()
    answer = client.get(path, params=params)
    while True:
        assert answer.status_code == 200, answer.text
        page = answer.json()
        pages.append(page)
        following = [link["href"] for link in page["links"] if link["rel"] == "next"]
        if not following:
            return pages
        assert following[0] not in seen
        seen.add(following[0])
        answer = client.get(following[0])


def geometries(page: dict[str, Any]) -> list[Any]:
    return [shapely.geometry.shape(f["geometry"]) for f in page["features"]]


def test_596_grids_come_in_three_pages_of_250(live_api: LiveServer) -> None:
    pages = follow(live_api.client(), "/v1/grids", limit=250)
    parsed = [GridCollection.model_validate(p) for p in pages]
    assert [p.numberReturned for p in parsed] == [250, 250, 96]
    assert {p.numberMatched for p in parsed} == {596}
    assert {p.release for p in parsed} == {1}
    codes = [f.id for p in parsed for f in p.features]
    assert codes == sorted(set(codes)) and len(codes) == 596
    assert all(
        f.properties.code == f.id
        and f.properties.community.code == f.id[:12]
        and f.properties.street.code == f.id[:9]
        for p in parsed
        for f in p.features
    )


@pytest.mark.parametrize(
    "path, expected",
    [
        ("/v1/communities", 66),
        ("/v1/streets", 13),
        ("/v1/compounds", 640),
        ("/v1/stations", "SELECT count(*) FROM station"),
    ],
)
def test_every_collection_counts_what_is_stored(
    live_api: LiveServer, demo_engine: Engine, path: str, expected: int | str
) -> None:
    if isinstance(expected, str):
        expected = count(demo_engine, expected)
    model = COLLECTIONS[path.rsplit("/", 1)[1]]
    pages = [model.model_validate(p) for p in follow(live_api.client(), path, limit=50)]
    ids = [f.id for p in pages for f in p.features]  # type: ignore[attr-defined]
    assert len(ids) == len(set(ids)) == expected
    assert ids == sorted(ids)
    assert all(p.numberMatched == expected for p in pages)  # type: ignore[attr-defined]
    first = pages[0].features[0].properties  # type: ignore[attr-defined]
    assert first.name and (path == "/v1/communities" or first.kind)


def test_a_limit_above_the_maximum_is_clamped_and_says_so(live_api: LiveServer) -> None:
    page = GridCollection.model_validate(fetch(live_api.client(), "/v1/grids", limit=50_000))
    assert (page.limit, page.limit_requested) == (MAX_LIMIT, 50_000)
    assert page.numberReturned == 596
    assert [link.rel for link in page.links] == ["self"]


def test_grid_filters(live_api: LiveServer, demo_engine: Engine) -> None:
    client = live_api.client()
    community = "340102001001"
    page = GridCollection.model_validate(fetch(client, "/v1/grids", community=community))
    assert (
        page.numberMatched
        == count(demo_engine, f"SELECT count(*) FROM grid WHERE community_code = '{community}'")
        > 0
    )
    assert {f.properties.community.code for f in page.features} == {community}
    street = GridCollection.model_validate(fetch(client, "/v1/grids", street="340102001"))
    assert {f.properties.street.code for f in street.features} == {"340102001"}
    assert street.numberMatched > page.numberMatched
    dedicated = GridCollection.model_validate(
        fetch(client, "/v1/grids", kind="dedicated", limit=10)
    )
    assert dedicated.numberMatched == 76 and dedicated.numberReturned == 10
    assert {f.properties.kind for f in dedicated.features} == {"dedicated"}
    assert GridCollection.model_validate(fetch(client, "/v1/grids", release=1)).release == 1
    missing = client.get("/v1/grids", params={"release": 99})
    assert missing.status_code == 404 and "99" in missing.json()["detail"]


def test_station_and_community_filters(live_api: LiveServer, demo_engine: Engine) -> None:
    client = live_api.client()
    legal = StationCollection.model_validate(fetch(client, "/v1/stations", kind="legal"))
    assert (
        legal.numberMatched
        == count(demo_engine, "SELECT count(*) FROM station WHERE kind = 'legal'")
        > 0
    )
    assert {f.properties.kind for f in legal.features} == {"legal"}
    assert all(f.geometry["type"] == "Point" for f in legal.features)
    served = StationCollection.model_validate(
        fetch(client, "/v1/stations", community="340102001001")
    )
    assert served.numberMatched > 0
    assert {
        f.properties.community.code
        for f in served.features  # type: ignore[union-attr]
    } == {"340102001001"}
    within = CommunityCollection.model_validate(
        fetch(client, "/v1/communities", street="340102001")
    )
    assert within.numberMatched == count(
        demo_engine, "SELECT count(*) FROM community WHERE street_code = '340102001'"
    )
    assert {f.properties.street.code for f in within.features} == {"340102001"}


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"smart_safe": "true"}, 613),
        ({"three_no": "true"}, 104),
        ({"smart_safe": "true", "three_no": "true"}, 104),
        ({"smart_safe": "false"}, 27),
        ({"kind": "scattered"}, 84),
        (
            {"kind": "organised", "smart_safe": "true"},
            "SELECT count(*) FROM compound WHERE kind = 'organised' AND smart_safe",
        ),
    ],
)
def test_compound_filters(
    live_api: LiveServer, demo_engine: Engine, params: dict[str, str], expected: int | str
) -> None:
    if isinstance(expected, str):
        expected = count(demo_engine, expected)
    page = CompoundCollection.model_validate(fetch(live_api.client(), "/v1/compounds", **params))
    assert page.numberMatched == page.numberReturned == expected
    for feature in page.features:
        for name, value in params.items():
            assert str(getattr(feature.properties, name)).lower() == value


def test_compounds_belong_to_the_grid_that_covers_their_point(
    live_api: LiveServer, demo_engine: Engine
) -> None:
    community = "340102006004"
    page = CompoundCollection.model_validate(
        fetch(live_api.client(), "/v1/compounds", community=community)
    )
    with demo_engine.connect() as conn:
        expected = {
            int(r.id): r.grid
            for r in conn.execute(
                text(
                    "SELECT cp.id, min(gg.grid_code) AS grid FROM compound cp "
                    "JOIN grid_geometry gg ON ST_Covers(gg.geom, cp.point) "
                    "WHERE gg.valid_to_release IS NULL GROUP BY cp.id"
                )
            )
        }
    assert page.numberMatched > 0
    assert page.numberMatched == sum(g.startswith(community) for g in expected.values())
    for feature in page.features:
        assert feature.properties.grid is not None and feature.properties.community is not None
        assert feature.properties.grid.code == expected[feature.id]
        assert feature.properties.community.code == community
        assert feature.properties.households >= 0


def test_compound_search_by_name_answers_each_point(
    live_api: LiveServer, demo_engine: Engine
) -> None:
    with demo_engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, name, ST_X(point) AS lon, ST_Y(point) AS lat FROM compound")
        ).all()
    points = {int(r.id): (r.lon, r.lat) for r in rows}
    for q in ("海棠", "新村", "号楼"):
        expected = {int(r.id) for r in rows if q in r.name}
        page = CompoundCollection.model_validate(
            fetch(live_api.client(), "/v1/compounds", q=f" {q} ", limit=MAX_LIMIT)
        )
        assert expected and page.numberMatched == len(expected)
        assert {f.id for f in page.features} == expected
        for feature in page.features[:20]:
            point = feature.properties.point
            assert (point.lon, point.lat) == pytest.approx(points[feature.id], abs=1e-7)
            outline = shapely.geometry.shape(feature.geometry)
            assert outline.distance(shapely.Point(point.lon, point.lat)) < 1e-6
    shifted = CompoundCollection.model_validate(
        fetch(live_api.client(), "/v1/compounds", q="海棠", crs="gcj02", limit=1)
    )
    [feature] = shifted.features
    assert (feature.properties.point.lon, feature.properties.point.lat) == pytest.approx(
        point_from_storage(*points[feature.id], "gcj02"), abs=2e-7
    )
    for literal in ("%", "_", "不存在的名字"):  # LIKE wildcards are plain text here
        nothing = fetch(live_api.client(), "/v1/compounds", q=literal)
        assert nothing["numberMatched"] == 0 and nothing["features"] == []
    too_long = live_api.client().get("/v1/compounds", params={"q": "楼" * 101})
    assert too_long.status_code == 422 and "q" in too_long.text


def test_compound_search_ignores_case(fresh_demo_url: str) -> None:
    engine = create_engine(fresh_demo_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE compound SET name = 'Jade Garden 翡翠园' WHERE id = 1"))
        found = features.compounds(conn, q="jADE gARDEN")
    engine.dispose()
    assert [c.id for c in found.items] == [1] and found.items[0].name == "Jade Garden 翡翠园"


@pytest.mark.parametrize("path", list(COLLECTIONS))
def test_bbox_keeps_exactly_what_intersects_it(live_api: LiveServer, path: str) -> None:
    client = live_api.client()
    everything = fetch(client, f"/v1/{path}", limit=MAX_LIMIT)
    box = shapely.box(*BOX)
    expected = {
        f["id"]
        for f, g in zip(everything["features"], geometries(everything), strict=True)
        if g.intersects(box)
    }
    inside = COLLECTIONS[path].model_validate(
        fetch(client, f"/v1/{path}", bbox=",".join(map(str, BOX)), limit=MAX_LIMIT)
    )
    found = {f.id for f in inside.features}  # type: ignore[attr-defined]
    assert 0 < len(found) < everything["numberMatched"]
    # Coordinates are rounded to 1 cm, so a feature grazing the box may differ.
    assert len(found ^ expected) <= 1, found ^ expected


def test_bbox_is_read_in_the_request_crs(live_api: LiveServer) -> None:
    client = live_api.client()
    station = fetch(client, "/v1/stations", limit=1, crs="gcj02")["features"][0]
    lon, lat = station["geometry"]["coordinates"]
    near = f"{lon - 0.0001},{lat - 0.0001},{lon + 0.0001},{lat + 0.0001}"
    assert station["id"] in {
        f["id"] for f in fetch(client, "/v1/stations", bbox=near, crs="gcj02")["features"]
    }
    # The same numbers read as WGS84 are ~570 m away from the station.
    assert station["id"] not in {
        f["id"] for f in fetch(client, "/v1/stations", bbox=near)["features"]
    }


@pytest.mark.parametrize(
    "path, params, named",
    [
        ("/v1/grids", {"kind": "village"}, ["village", "resident", "dedicated"]),
        ("/v1/grids", {"community": "340102999999"}, ["340102999999", "66 communities"]),
        ("/v1/grids", {"street": "12ab"}, ["12ab", "340102001"]),
        ("/v1/grids", {"crs": "mercator"}, ["mercator", "gcj02", "bd09"]),
        ("/v1/grids", {"bbox": "117.3,31.8,117.4"}, ["117.3,31.8,117.4", "minlon,minlat"]),
        ("/v1/grids", {"bbox": "31.8,117.3,31.9,117.4"}, ["31.8,117.3,31.9,117.4", "swap"]),
        ("/v1/grids", {"limit": "0"}, ["limit", "0"]),
        ("/v1/communities", {"street": "340102999"}, ["340102999", "340102001"]),
        ("/v1/stations", {"kind": "bank"}, ["bank", "party_mass", "legal"]),
        ("/v1/stations", {"community": "x"}, ['"x"', "12-digit"]),
        ("/v1/compounds", {"kind": "villa"}, ["villa", "organised", "scattered"]),
        ("/v1/compounds", {"smart_safe": "maybe"}, ["smart_safe", "maybe"]),
        ("/v1/streets", {"crs": "EPSG:3857"}, ["EPSG:3857", "wgs84"]),
        ("/v1/grids/340102001001001", {"simplify": "-1"}, ["simplify", "-1"]),
        ("/v1/tiling", {"crs": "utm"}, ["utm", "cgcs2000"]),
    ],
)
def test_bad_filters_are_422_naming_the_value_and_what_is_allowed(
    live_api: LiveServer, path: str, params: dict[str, str], named: list[str]
) -> None:
    answer = live_api.client().get(path, params=params)
    assert answer.status_code == 422
    body = answer.json()
    assert set(body) == {"detail", "code"}
    for word in named:
        assert word in body["detail"]


def test_bad_filters_speak_chinese_when_asked(live_api: LiveServer) -> None:
    answer = live_api.client(**{"Accept-Language": "zh"}).get(
        "/v1/grids", params={"crs": "mercator"}
    )
    assert answer.status_code == 422
    assert "坐标系" in answer.json()["detail"] and "mercator" in answer.json()["detail"]


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_shifted_crs_moves_coordinates_by_about_570_m(live_api: LiveServer, crs: str) -> None:
    client = live_api.client()
    plain_answer = client.get("/v1/grids", params={"limit": 20})
    shifted_answer = client.get("/v1/grids", params={"limit": 20, "crs": crs})
    plain = GridCollection.model_validate_json(plain_answer.content)
    shifted = GridCollection.model_validate_json(shifted_answer.content)
    assert plain_answer.headers["content-crs"] == f"<{crs_uris.CRS84}>"
    assert shifted_answer.headers["content-crs"] == f"<{crs_uris.lon_lat_uri(crs)}>"
    for a, b in zip(plain.features, shifted.features, strict=True):
        assert a.id == b.id
        ga, gb = shapely.geometry.shape(a.geometry), shapely.geometry.shape(b.geometry)
        assert shapely.get_num_coordinates(ga) == shapely.get_num_coordinates(gb)
        moved = to_metric(shapely.points(shapely.get_coordinates(ga)))
        landed = to_metric(shapely.points(shapely.get_coordinates(gb)))
        shift = shapely.distance(moved, landed)
        low, high = (500, 650) if crs == "gcj02" else (1000, 1400)
        assert low < shift.min() and shift.max() < high
        # And it is the datum's own forward transform, to the centimetre.
        source, target = shapely.get_coordinates(ga), shapely.get_coordinates(gb)
        x, y = from_storage(source[:, 0], source[:, 1], crs)
        assert abs(x - target[:, 0]).max() < 2e-7 and abs(y - target[:, 1]).max() < 2e-7


def test_coordinates_are_rounded_to_7_decimals(live_api: LiveServer) -> None:
    answer = live_api.client().get("/v1/grids", params={"limit": 5, "crs": "gcj02"})
    numbers = re.findall(r"\d+\.(\d+)", answer.text.split('"features"', 1)[1])
    assert numbers and max(len(n) for n in numbers) == 7


def test_viewers_see_masked_people_and_dispatchers_do_not(
    live_api: LiveServer, demo_engine: Engine
) -> None:
    viewer_text = live_api.client().get("/v1/grids", params={"limit": 50}).text
    viewer = GridCollection.model_validate_json(viewer_text)
    key = make_key(demo_engine, Role.dispatcher)
    dispatcher = GridCollection.model_validate(fetch(live_api.client(key), "/v1/grids", limit=50))
    checked = 0
    for masked, shown in zip(viewer.features, dispatcher.features, strict=True):
        for person in ("leader", "party_secretary"):
            hidden = getattr(masked.properties, person)
            plain = getattr(shown.properties, person)
            if plain.phone is None:
                continue
            checked += 1
            assert re.fullmatch(r".\*+", hidden.name) and "*" not in plain.name
            assert re.fullmatch(r"\d{3}\*{4}\d{4}", hidden.phone)
            assert re.fullmatch(r"1\d{10}", plain.phone)
            assert hidden.name[0] == plain.name[0] and hidden.phone[-4:] == plain.phone[-4:]
            assert plain.name not in viewer_text and plain.phone not in viewer_text
    assert checked > 0


def test_simplify_drops_vertices_and_stays_valid(live_api: LiveServer) -> None:
    client = live_api.client()
    code = "340102001001001"
    full = GridDetail.model_validate(fetch(client, f"/v1/grids/{code}"))
    simple = GridDetail.model_validate(fetch(client, f"/v1/grids/{code}", simplify=30))
    assert (full.simplify_m, simple.simplify_m) == (0, 30)
    a, b = shapely.geometry.shape(full.geometry), shapely.geometry.shape(simple.geometry)
    assert shapely.get_num_coordinates(b) < shapely.get_num_coordinates(a)
    assert b.is_valid and not b.is_empty
    # Within the tolerance of the original, and about the same area.
    assert shapely.hausdorff_distance(to_metric(a), to_metric(b)) <= 30.5
    assert abs(to_metric(b).area / to_metric(a).area - 1) < 0.1
    assert simple.properties.code == code and simple.properties.leader.name is not None


def test_one_grid_in_gcj02(live_api: LiveServer) -> None:
    client = live_api.client()
    plain = GridDetail.model_validate(fetch(client, "/v1/grids/340102001001001"))
    answer = client.get("/v1/grids/340102001001001", params={"crs": "gcj02", "simplify": 10})
    shifted = GridDetail.model_validate_json(answer.content)
    assert answer.headers["content-crs"] == "<urn:x-geogrid:def:crs:GCJ-02>"
    a = to_metric(shapely.geometry.shape(plain.geometry).centroid)
    b = to_metric(shapely.geometry.shape(shifted.geometry).centroid)
    assert 500 < a.distance(b) < 650


def test_the_demo_release_tiles_the_district(live_api: LiveServer) -> None:
    report = TilingReport.model_validate(fetch(live_api.client(), "/v1/tiling"))
    assert (report.release, report.valid, report.violations) == (1, True, 0)
    assert report.features.features == []
    answer = live_api.client().get("/v1/tiling", params={"release": 1, "crs": "gcj02"})
    again = TilingReport.model_validate_json(answer.content)
    assert again.valid and again.crs == "gcj02"
    assert answer.headers["content-crs"] == "<urn:x-geogrid:def:crs:GCJ-02>"


def test_a_release_with_a_hole_is_reported_where_the_hole_is(fresh_demo_url: str) -> None:
    engine = create_engine(fresh_demo_url)
    with engine.begin() as conn:
        layer = releases.grid_layer(conn, 1)
        layer["code"] = layer["code"].str.strip()
        removed = layer.iloc[100]
        releases.publish(conn, layer.drop(index=layer.index[100]), published_by="test")
    engine.dispose()
    process, base = start_api(fresh_demo_url)
    try:
        client = httpx.Client(base_url=base, timeout=30)
        broken = TilingReport.model_validate(client.get("/v1/tiling").json())
        assert (broken.release, broken.valid) == (2, False)
        assert broken.violations == len(broken.features.features) >= 1
        gaps = [f for f in broken.features.features if f.properties.rule == "gap"]
        assert gaps and gaps[0].geometry is not None
        hole = shapely.geometry.shape(gaps[0].geometry)
        assert hole.intersection(removed.geometry).area > 0.9 * removed.geometry.area
        earlier = TilingReport.model_validate(client.get("/v1/tiling?release=1").json())
        assert earlier.valid and earlier.release == 1
        # The layer of release 2 lacks the grid; release 1 still has it.
        assert GridCollection.model_validate(client.get("/v1/grids").json()).numberMatched == 595
        assert client.get(f"/v1/grids/{removed.code}").status_code == 404
        assert client.get(f"/v1/grids/{removed.code}?release=1").status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.mark.parametrize("crs", ["wgs84", "gcj02"])
def test_grid_polygons_are_wound_as_rfc_7946_says(live_api: LiveServer, crs: str) -> None:
    """Exterior rings counter-clockwise, holes clockwise, in every grid of the release."""
    page = GridCollection.model_validate(
        fetch(live_api.client(), "/v1/grids", limit=MAX_LIMIT, crs=crs)
    )
    [one] = [fetch(live_api.client(), "/v1/grids/340102001001001", crs=crs)["geometry"]]
    polygons = [
        p
        for geometry in [*(f.geometry for f in page.features), one]
        for p in shapely.get_parts(shapely.geometry.shape(geometry))
    ]
    assert len(polygons) >= len(page.features) > 100
    assert all(p.exterior.is_ccw for p in polygons)
    assert all(not ring.is_ccw for p in polygons for ring in p.interiors)


@pytest.mark.parametrize(
    ("path", "crs", "uri"),
    [
        ("/v1/grids", "wgs84", "http://www.opengis.net/def/crs/OGC/1.3/CRS84"),
        ("/v1/grids", "cgcs2000", "http://www.opengis.net/def/crs/OGC/1.3/CRS84"),
        ("/v1/streets", "gcj02", "urn:x-geogrid:def:crs:GCJ-02"),
        ("/v1/communities", "bd09", "urn:x-geogrid:def:crs:BD-09"),
        ("/v1/stations", "gcj02", "urn:x-geogrid:def:crs:GCJ-02"),
        ("/v1/compounds", "wgs84", "http://www.opengis.net/def/crs/OGC/1.3/CRS84"),
        ("/v1/grids/340102001001001", "bd09", "urn:x-geogrid:def:crs:BD-09"),
    ],
)
def test_no_crs_member_but_a_content_crs_header(
    live_api: LiveServer, path: str, crs: str, uri: str
) -> None:
    """RFC 7946 has no ``crs`` member (OpenLayers refuses the string form): the header says it."""
    answer = live_api.client().get(
        path, params={"crs": crs, "limit": 3} if path[-1] == "s" else {"crs": crs}
    )
    assert answer.status_code == 200, answer.text
    assert "crs" not in answer.json()
    assert answer.headers["content-crs"] == f"<{uri}>"


def test_coverage_gaps_are_storage_lon_lat_wound_and_rounded(live_api: LiveServer) -> None:
    answer = live_api.client().get("/v1/coverage", params={"format": "geojson", "level": "grid"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-crs"] == "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
    features = answer.json()["features"]
    assert features and "crs" not in answer.json()
    polygons = [
        p for f in features for p in shapely.get_parts(shapely.geometry.shape(f["geometry"]))
    ]
    assert all(p.exterior.is_ccw for p in polygons)
    assert all(not ring.is_ccw for p in polygons for ring in p.interiors)
    coordinates = shapely.get_coordinates(polygons)
    assert (coordinates.round(7) == coordinates).all()
