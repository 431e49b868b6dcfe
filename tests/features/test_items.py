"""The feature engine against the demo in PostGIS: paging, filters, sorting, time, CRS, masking.

Counts are checked against plain SQL on the same tables, so a filter that the engine
translated wrongly cannot agree with them by accident. The time tests use a database with a
real release 2 (a strip moved between two grids, tests.helpers.publish_transfer).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
import shapely
from geoalchemy2 import Geometry
from sqlalchemy import Connection, Engine, column, text

from geogrid import features
from geogrid.errors import InvalidInputError, NotFoundError
from geogrid.features import ItemsQuery, TimeWindow, collection, item, items, parse_filter
from geogrid.features.params import parse_bbox
from geogrid.geo.crs_uris import GCJ02, crs_ref
from geogrid.geo.datum import point_from_storage
from tests.helpers import Transferred, count, publish_transfer

if TYPE_CHECKING:
    from tests.conftest import TestServer

GRIDS = collection("grids")
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


@pytest.fixture
def conn(demo_engine: Engine) -> Iterator[Connection]:
    with demo_engine.connect() as connection:
        yield connection


def _ids(page: features.FeaturePage) -> list[Any]:
    return [f.id for f in page.features]


def test_pages_cover_every_grid_once_in_code_order(conn: Connection, demo_engine: Engine) -> None:
    seen: list[str] = []
    offset: int | None = 0
    while offset is not None:
        page = items(conn, GRIDS, ItemsQuery(limit=100, offset=offset), personal=False)
        assert page.number_matched == 596
        seen += _ids(page)
        offset = page.next_offset
    assert len(seen) == len(set(seen)) == count(demo_engine, "SELECT count(*) FROM grid")
    assert seen == sorted(seen)


@pytest.mark.parametrize(
    ("cql", "sql"),
    [
        ("kind = 'dedicated'", "kind = 'dedicated'"),
        (
            "kind <> 'dedicated' AND community_code = '340102001001'",
            "kind <> 'dedicated' AND community_code = '340102001001'",
        ),
        ("name LIKE '%第1网格'", "name LIKE '%第1网格'"),
        (
            "street_code IN ('340102001', '340102003')",
            "left(code, 9) IN ('340102001', '340102003')",
        ),
        (
            "NOT (kind = 'resident') OR dedicated_unit_type = 'school'",
            "kind <> 'resident' OR dedicated_unit_type = 'school'",
        ),
    ],
)
def test_cql2_text_filters_match_sql(
    conn: Connection, demo_engine: Engine, cql: str, sql: str
) -> None:
    page = items(conn, GRIDS, ItemsQuery(limit=1000, filter=parse_filter(cql)), personal=False)
    expected = count(demo_engine, f"SELECT count(*) FROM grid WHERE {sql}")
    assert page.number_matched == len(page.features) == expected > 0


def test_cql2_json_is_the_same_filter(conn: Connection) -> None:
    text_page = items(
        conn,
        GRIDS,
        ItemsQuery(limit=1000, filter=parse_filter("kind = 'dedicated'")),
        personal=False,
    )
    json_filter = parse_filter(
        '{"op": "=", "args": [{"property": "kind"}, "dedicated"]}', "cql2-json"
    )
    json_page = items(conn, GRIDS, ItemsQuery(limit=1000, filter=json_filter), personal=False)
    assert _ids(json_page) == _ids(text_page) and len(text_page.features) == 76


def test_a_spatial_filter_finds_the_grid_that_locate_finds(conn: Connection) -> None:
    code = conn.execute(
        text(
            "SELECT grid_code FROM grid_geometry WHERE valid_to_release IS NULL "
            "AND ST_Covers(geom, ST_SetSRID(ST_MakePoint(117.35, 31.87), 4490))"
        )
    ).scalar_one()
    found = items(
        conn,
        GRIDS,
        ItemsQuery(filter=parse_filter("S_INTERSECTS(geometry, POINT(117.35 31.87))")),
        personal=False,
    )
    assert _ids(found) == [code]
    # The same point, latitude first in EPSG:4326, and shifted into GCJ-02
    lat_first = items(
        conn,
        GRIDS,
        ItemsQuery(
            filter=parse_filter("S_INTERSECTS(geometry, POINT(31.87 117.35))"),
            filter_crs=EPSG + "4326",
        ),
        personal=False,
    )
    lon, lat = point_from_storage(117.35, 31.87, "gcj02")
    shifted = items(
        conn,
        GRIDS,
        ItemsQuery(
            filter=parse_filter(f"S_INTERSECTS(geometry, POINT({lon} {lat}))"), filter_crs=GCJ02
        ),
        personal=False,
    )
    assert _ids(lat_first) == _ids(shifted) == [code]


@pytest.mark.parametrize(
    ("cql", "words"),
    [
        ("kind = ", "not valid cql2-text"),
        ("leader_name = 'x'", "not queryables"),
        ("nope > 3", "not queryables"),
        ("DWITHIN(geometry, POINT(117.35 31.87), 100, meters)", "not valid"),
        ("S_INTERSECTS(geometry, POLYGON((0 0, 1 1, 0 0)))", "not valid"),
    ],
)
def test_bad_filters_are_named_before_any_sql(cql: str, words: str) -> None:
    # plain columns, no connection: a bad filter is refused while it is translated
    fields = {p.name: column(p.name) for p in GRIDS.queryables}
    fields["geometry"] = column("geom", Geometry(srid=4490))
    with pytest.raises(InvalidInputError, match=words):
        features.filter_expression(parse_filter(cql), fields)


def test_an_injection_in_a_literal_is_only_a_value(conn: Connection, demo_engine: Engine) -> None:
    payload = '{"op": "=", "args": [{"property": "name"}, "x\'; DROP TABLE grid; --"]}'
    page = items(conn, GRIDS, ItemsQuery(filter=parse_filter(payload, "cql2-json")), personal=False)
    assert page.number_matched == 0
    assert count(demo_engine, "SELECT count(*) FROM grid") == 596


def test_sortby_and_properties(conn: Connection) -> None:
    page = items(
        conn,
        collection("compounds"),
        ItemsQuery(limit=5, sortby=(("households", True),), properties=("name", "households")),
        personal=False,
    )
    households = [f.properties["households"] for f in page.features]
    assert households == sorted(households, reverse=True)
    assert all(set(f.properties) == {"name", "households"} for f in page.features)
    with pytest.raises(InvalidInputError, match="sortby names"):
        items(conn, GRIDS, ItemsQuery(sortby=(("leader_phone", False),)), personal=True)
    with pytest.raises(InvalidInputError, match="properties names"):
        items(conn, GRIDS, ItemsQuery(properties=("nope",)), personal=True)


def test_viewers_see_masked_people(conn: Connection) -> None:
    masked = items(conn, GRIDS, ItemsQuery(limit=1), personal=False).features[0].properties
    full = items(conn, GRIDS, ItemsQuery(limit=1), personal=True).features[0].properties
    assert full["leader_name"] and masked["leader_name"] != full["leader_name"]
    assert masked["leader_name"].startswith(full["leader_name"][0]) and "*" in masked["leader_name"]
    assert "****" in masked["leader_phone"] and "*" not in full["leader_phone"]


def test_bbox_is_read_in_bbox_crs_not_in_the_output_crs(conn: Connection) -> None:
    box = "117.33,31.86,117.37,31.89"
    wgs = items(conn, GRIDS, ItemsQuery(limit=1000, bbox=parse_bbox(box)), personal=False)
    as_gcj = items(
        conn,
        GRIDS,
        ItemsQuery(limit=1000, bbox=parse_bbox(box), crs=crs_ref(GCJ02)),
        personal=False,
    )
    assert _ids(wgs) == _ids(as_gcj) and wgs.number_matched > 10
    # the same box named in GCJ-02 is ~570 m away: other grids
    shifted = items(
        conn, GRIDS, ItemsQuery(limit=1000, bbox=parse_bbox(box, GCJ02)), personal=False
    )
    assert _ids(shifted) != _ids(wgs)


def test_geometries_in_every_crs_are_the_same_place(conn: Connection) -> None:
    code = "340102001001001"
    base, _ = item(conn, GRIDS, code, crs=crs_ref("CRS84"), personal=False)
    plain = shapely.from_geojson(base.geometry)
    lat_first, _ = item(conn, GRIDS, code, crs=crs_ref(EPSG + "4326"), personal=False)
    swapped = shapely.transform(shapely.from_geojson(lat_first.geometry), lambda xy: xy[:, ::-1])
    assert swapped.equals(plain)
    metres, _ = item(conn, GRIDS, code, crs=crs_ref(EPSG + "4548"), personal=False)
    northing, easting = shapely.from_geojson(metres.geometry).centroid.coords[0]
    assert 3_500_000 < northing < 3_600_000 and 500_000 < easting < 560_000  # N first, CM 117E
    gcj, _ = item(conn, GRIDS, code, crs=crs_ref(GCJ02), personal=False)
    offset = shapely.from_geojson(gcj.geometry).centroid.distance(plain.centroid) * 111_000
    assert 300 < offset < 800  # GCJ-02 sits ~570 m away in Hefei, never labelled as 4326
    # RFC 7946: exterior rings counter-clockwise
    assert all(shapely.is_ccw(p.exterior) for p in shapely.get_parts(plain))


def test_item_not_found_and_integer_ids(conn: Connection) -> None:
    with pytest.raises(NotFoundError):
        item(conn, GRIDS, "340102999999999", crs=crs_ref("CRS84"), personal=False)
    with pytest.raises(NotFoundError):
        item(conn, collection("stations"), "abc", crs=crs_ref("CRS84"), personal=False)
    station, _ = item(conn, collection("stations"), "1", crs=crs_ref("CRS84"), personal=False)
    assert station.id == 1 and station.properties["kind"]


def test_every_collection_reads(conn: Connection) -> None:
    expected = {
        "communities": 66,
        "streets": 13,
        "compounds": 640,
        "stations": 172,
        "service-areas": 516,
    }
    for collection_id, number in expected.items():
        page = items(conn, collection(collection_id), ItemsQuery(limit=2), personal=False)
        assert page.number_matched == number and len(page.features) == 2
    gaps = items(
        conn,
        collection("coverage-gaps"),
        ItemsQuery(limit=1000, filter=parse_filter("minutes = 5")),
        personal=False,
    )
    assert gaps.number_matched > 0 and all(f.properties["minutes"] == 5 for f in gaps.features)
    assert all(0 <= f.properties["covered_share"] < 1 for f in gaps.features)


# --- time --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def published(
    server: TestServer, demo_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Transferred]:
    found = publish_transfer(server, demo_template, "ogctime", tmp_path_factory.mktemp("ogctime"))
    yield found
    found.engine.dispose()


def test_datetime_instants_read_the_release_valid_then(published: Transferred) -> None:
    with published.engine.connect() as conn:
        times = dict(conn.execute(text("SELECT id, published_at FROM boundary_release")).all())
        at_1 = TimeWindow(times[1], times[1])
        before = TimeWindow(times[1] - timedelta(days=1), times[1] - timedelta(days=1))
        first = items(conn, GRIDS, ItemsQuery(datetime=at_1, limit=1000), personal=False)
        now = items(conn, GRIDS, ItemsQuery(limit=1000), personal=False)
        nothing = items(conn, GRIDS, ItemsQuery(datetime=before), personal=False)
    assert first.window.release == 1 and now.window.release == 2
    assert nothing.number_matched == 0 and nothing.features == []
    old = {f.id: f.geometry for f in first.features}
    new = {f.id: f.geometry for f in now.features}
    assert {c for c in old if old[c] != new[c]} == {published.gainer, published.loser}


def test_a_datetime_interval_reads_every_version_with_its_validity(published: Transferred) -> None:
    with published.engine.connect() as conn:
        page = items(
            conn, GRIDS, ItemsQuery(datetime=TimeWindow(None, None), limit=1000), personal=False
        )
        gainer, _ = item(conn, GRIDS, f"{published.gainer}@2", crs=crs_ref("CRS84"), personal=False)
    assert page.window.versions is not None and page.number_matched == 598
    versions = sorted(
        (f.properties["valid_from_release"], f.properties["valid_to_release"])
        for f in page.features
        if f.properties["code"] == published.gainer
    )
    assert versions == [(1, 2), (2, None)]
    assert gainer.id == f"{published.gainer}@2" and gainer.properties["valid_to"] is None


def test_statements_kept_for_the_next_request_never_mix_up_values(conn: Connection) -> None:
    def at(lon: float) -> list[Any]:
        tree = parse_filter(f"S_INTERSECTS(geometry, POINT({lon} 31.87))")
        return _ids(items(conn, GRIDS, ItemsQuery(filter=tree), personal=False, current=1))

    def boxed(box: str) -> int:
        query = ItemsQuery(limit=1000, bbox=parse_bbox(box))
        return items(conn, GRIDS, query, personal=False, current=1).number_matched

    for _ in range(3):  # planned, then prepared, then executed again
        assert at(117.35) == ["340102100005002"] and at(117.36) != at(117.35)
        assert boxed("117.33,31.86,117.37,31.89") == 68
        assert boxed("117.30,31.86,117.37,31.89") == 193
