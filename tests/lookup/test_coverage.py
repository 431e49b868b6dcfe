"""Coverage gaps: the library on the demo database, and GET /v1/coverage over real HTTP.

Figures are checked against independent PostGIS queries (the compound rule of docs/architecture.md: covered when
its point-on-surface lies in a counted service area, counted in the grid holding it). By default
each residents' service kind counts at its own tier (settings tier_by_kind: party_mass,
doorstep, happiness and mediation at 5 minutes, legal at 15) and courier rest stops not at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyproj
import pytest
import shapely
from shapely.geometry import shape
from sqlalchemy import Connection, Engine, create_engine, text

from geogrid.api.routes.coverage import CoverageAnswer, GapCollection, H3Answer
from geogrid.errors import InvalidInputError, NotFoundError
from geogrid.io import loading
from geogrid.lookup.coverage import CoverageCache, coverage_gaps, coverage_h3
from geogrid.lookup.service_areas import STATION_KINDS
from geogrid.settings import ServiceAreaSettings
from tests.conftest import LiveServer

EAST = ("340102100", "340102401")  # 大兴镇, 龙岗综合经济开发区

RESIDENT = ("party_mass", "doorstep", "happiness", "mediation", "legal")
#: The default tier of each kind (README, "The walking model").
OWN_TIER = {"party_mass": 5, "doorstep": 5, "happiness": 5, "mediation": 5, "legal": 15}
COURIER_TIER = {"courier_rest": 15}

#: The stored service areas counted: each kind's area of its tier (a JSON object kind -> tier).
COUNTED = """
    SELECT sa.geom FROM service_area sa JOIN station s ON s.id = sa.station_id
    WHERE sa.minutes = (CAST(:tiers AS jsonb) ->> s.kind)::int
"""
#: Where a compound is reached: at one of its gates when it has gates, else anywhere on its
#: footprint (the nearest point of it).
REACHED = """
    CASE WHEN EXISTS (SELECT 1 FROM compound_gate g WHERE g.compound_id = c.id)
         THEN EXISTS (SELECT 1 FROM compound_gate g
                      WHERE g.compound_id = c.id AND ST_Intersects(a.geom, g.geom))
         ELSE ST_Intersects(a.geom, c.geom) END
"""
#: Households of the compounds a counted service area reaches.
COVERED_HOUSEHOLDS = f"""
    SELECT coalesce(sum(c.households), 0) FROM compound c
    WHERE EXISTS (SELECT 1 FROM ({COUNTED}) a WHERE {REACHED})
"""


def tiers(kinds: Any = RESIDENT, minutes: int | None = None) -> str:
    """The kind -> tier object of COUNTED: each kind's own tier, or ``minutes`` for all."""
    return json.dumps({k: minutes or (OWN_TIER | COURIER_TIER)[k] for k in kinds})


@pytest.fixture
def conn(demo_engine: Engine) -> Iterator[Connection]:
    with demo_engine.connect() as connection:
        yield connection


def scalar(conn: Connection, sql: str, **params: Any) -> Any:
    return conn.execute(text(sql), params).scalar_one()


# --- the library ------------------------------------------------------------------------------


@pytest.mark.parametrize("minutes", [5, 10, 15])
def test_covered_households_match_an_independent_query(conn: Connection, minutes: int) -> None:
    report = coverage_gaps(conn, minutes=minutes, cache=CoverageCache())
    expected = scalar(conn, COVERED_HOUSEHOLDS, tiers=tiers(minutes=minutes))
    assert report.tally.households_covered == expected
    assert report.kinds == RESIDENT and report.method.tier_rule == "minutes"
    assert report.method.tiers == dict.fromkeys(RESIDENT, minutes)
    assert report.tally.households == scalar(conn, "SELECT sum(households) FROM compound")
    assert report.compounds_outside == 0
    assert report.release == 1 and report.level == "district" and len(report.units) == 1


def test_covered_area_matches_an_independent_overlay(conn: Connection) -> None:
    report = coverage_gaps(conn, level="street", code="340102014", cache=CoverageCache())
    expected = scalar(
        conn,
        f"""
        SELECT ST_Area(ST_Intersection(ST_Transform(st.geom, 4548),
                                       (SELECT ST_Transform(ST_Union(geom), 4548)
                                        FROM ({COUNTED}) a)))
        FROM street st WHERE code = '340102014'""",
        tiers=tiers(),
    )
    (unit,) = report.units
    assert unit.covered_area_m2 == pytest.approx(expected, abs=1.0)
    assert unit.area_m2 == pytest.approx(
        scalar(
            conn, "SELECT ST_Area(ST_Transform(geom, 4548)) FROM street WHERE code = '340102014'"
        ),
        abs=0.01,
    )


def test_totals_add_up_across_levels(conn: Connection) -> None:
    cache = CoverageCache()
    district = coverage_gaps(conn, cache=cache)
    for level, count in [("street", 13), ("community", 66), ("grid", 596)]:
        report = coverage_gaps(conn, level=level, cache=cache)
        assert len(report.units) == count
        assert report.tally == district.tally
        assert report.covered_area_m2 == pytest.approx(district.covered_area_m2, abs=1.0)
        assert report.area_m2 == pytest.approx(district.area_m2, abs=1.0)
        for unit in report.units:
            assert unit.covered_area_m2 + unit.gap_area_m2 == pytest.approx(unit.area_m2, abs=1)
            assert len(unit.uncovered_compounds) == unit.tally.compounds_uncovered
    per_grid: dict[str, int] = dict(
        conn.execute(
            text("""
        SELECT trim(gg.grid_code), count(*) FROM compound c
        JOIN grid_geometry gg ON ST_Covers(gg.geom, c.point) AND gg.valid_to_release IS NULL
        GROUP BY 1""")
        ).all()
    )
    grids = coverage_gaps(conn, level="grid", cache=cache)
    assert {
        u.code: u.tally.compounds_covered + u.tally.compounds_uncovered
        for u in grids.units
        if u.tally.compounds_covered + u.tally.compounds_uncovered
    } == per_grid


def test_the_east_is_covered_less_than_the_old_town(conn: Connection) -> None:
    units = {u.code: u for u in coverage_gaps(conn, level="street").units}
    east = [units.pop(code) for code in EAST]
    assert max(u.covered_share for u in east) < min(u.covered_share for u in units.values())
    shares = [u.tally.households_covered_share or 0.0 for u in [*east, *units.values()]]
    assert max(shares[:2]) < min(shares[2:]) and min(shares[:2]) > 0


def test_uncovered_compounds_are_the_ones_outside_every_area(conn: Connection) -> None:
    (unit,) = coverage_gaps(conn, level="street", code=EAST[0]).units
    listed = [c.id for c in unit.uncovered_compounds]
    households = [c.households for c in unit.uncovered_compounds]
    assert households == sorted(households, reverse=True)
    inside = scalar(
        conn,
        f"""
        SELECT count(*) FROM compound c WHERE c.id = ANY(:ids) AND EXISTS (
            SELECT 1 FROM ({COUNTED}) a WHERE {REACHED})
        """,
        ids=listed,
        tiers=tiers(),
    )
    assert listed and inside == 0
    points = shapely.points([(c.lon, c.lat) for c in unit.uncovered_compounds])
    assert shapely.covers(unit.gap.buffer(1e-6), points).all()


def test_station_kinds_filter_the_areas(conn: Connection) -> None:
    kinds = ["legal", "doorstep"]
    report = coverage_gaps(conn, kinds=kinds)
    assert report.kinds == ("doorstep", "legal")
    assert [k.kind for k in report.method.kinds] == ["doorstep", "legal"]
    assert [k.minutes for k in report.method.kinds] == [5, 15]  # each at its own tier
    expected = scalar(conn, COVERED_HOUSEHOLDS, tiers=tiers(kinds))
    assert report.tally.households_covered == expected
    assert expected < coverage_gaps(conn).tally.households_covered


def test_each_kind_counts_at_its_own_tier_unless_minutes_are_given(conn: Connection) -> None:
    own = coverage_gaps(conn)
    assert own.minutes is None and own.method.tier_rule == "per_kind"
    assert own.method.tiers == OWN_TIER and own.method.distance_m is None
    assert {(k.kind, k.minutes, k.distance_m) for k in own.method.kinds} == {
        (kind, tier, {5: 300.0, 15: 1000.0}[tier]) for kind, tier in OWN_TIER.items()
    }
    assert own.tally.households_covered == scalar(conn, COVERED_HOUSEHOLDS, tiers=tiers())
    five, fifteen = coverage_gaps(conn, minutes=5), coverage_gaps(conn, minutes=15)
    # The legal e-stations reach farther at their own tier; the rest reach less than at 15.
    hh = [r.tally.households_covered for r in (five, own, fifteen)]
    assert hh[0] < hh[1] < hh[2]
    assert fifteen.method.tiers == dict.fromkeys(RESIDENT, 15)
    # The table is a setting: every kind at 10 minutes is the same as minutes=10.
    ten = ServiceAreaSettings(tier_by_kind=dict.fromkeys(STATION_KINDS, 10))
    assert coverage_gaps(conn, settings=ten, cache=CoverageCache()).tally == (
        coverage_gaps(conn, minutes=10).tally
    )


def test_courier_rest_stops_count_only_when_asked_for(conn: Connection) -> None:
    assert "courier_rest" not in coverage_gaps(conn).kinds
    assert "courier_rest" not in coverage_gaps(conn, minutes=15).kinds
    everyone = coverage_gaps(conn, kinds=STATION_KINDS)
    assert everyone.method.tiers["courier_rest"] == 15
    assert everyone.tally.households_covered == scalar(
        conn, COVERED_HOUSEHOLDS, tiers=tiers(STATION_KINDS)
    )
    assert everyone.tally.households_covered > coverage_gaps(conn).tally.households_covered
    widened = ServiceAreaSettings(resident_kinds=STATION_KINDS)
    assert coverage_gaps(conn, settings=widened, cache=CoverageCache()).kinds == STATION_KINDS


def test_a_smaller_detour_factor_covers_at_least_as_many(conn: Connection) -> None:
    stored = coverage_gaps(conn)
    plain = coverage_gaps(conn, detour_factor=1.0)
    redrawn = coverage_gaps(conn, detour_factor=1.3)
    assert plain.tally.households_covered >= redrawn.tally.households_covered
    assert plain.tally.households_covered > stored.tally.households_covered
    assert plain.covered_area_m2 > stored.covered_area_m2
    # Drawing the stored circles again gives the stored figures.
    assert redrawn.tally == stored.tally
    assert redrawn.covered_area_m2 == pytest.approx(stored.covered_area_m2, rel=1e-9)
    assert (stored.method.source, plain.method.source) == ("stored", "drawn")
    assert plain.method.detour_factor == 1.0
    assert {k.kind: k.radius_m for k in plain.method.kinds} == {
        k: {5: 300.0, 15: 1000.0}[t] for k, t in OWN_TIER.items()
    }
    assert stored.method.detour_factor == 1.3 and stored.method.distance_m is None
    assert coverage_gaps(conn, minutes=15).method.distance_m == 1000.0


def test_h3_cells_hold_every_household(conn: Connection) -> None:
    cells = coverage_h3(conn, resolution=9).cells
    total = scalar(conn, "SELECT sum(households) FROM compound")
    assert sum(c.tally.households for c in cells) == total
    assert len({c.cell for c in cells}) == len(cells)
    one = coverage_h3(conn, resolution=9, level="street", code=EAST[1]).cells
    assert 0 < sum(c.tally.households for c in one) < total


def test_a_changed_compound_is_not_answered_from_the_cache(fresh_demo_url: str) -> None:
    engine = create_engine(fresh_demo_url)
    cache = CoverageCache()
    try:
        with engine.begin() as conn:
            before = coverage_gaps(conn, cache=cache).tally
            assert len(cache) == 1
            assert coverage_gaps(conn, cache=cache).tally == before and len(cache) == 1
            conn.execute(
                text(
                    "UPDATE compound SET households = households + 1000 WHERE id = ("
                    "SELECT min(id) FROM compound)"
                )
            )
            after = coverage_gaps(conn, cache=cache).tally
            assert after.households == before.households + 1000
            conn.execute(text("DELETE FROM station WHERE kind = 'party_mass'"))
            fewer = coverage_gaps(conn, cache=cache).tally
            assert fewer.households_covered < after.households_covered
            assert len(cache) == 3
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "call, message",
    [
        (dict(minutes=7), "5, 10, 15"),
        (dict(level="county"), "district, street, community, grid"),
        (dict(kinds=["doorstep", "bakery"]), "party_mass, doorstep"),
        (dict(detour_factor=4.0), "[0.5, 3.0]"),
        (dict(level="street", code="34010200"), "9 digits"),
    ],
)
def test_bad_input_names_what_is_allowed(
    conn: Connection, call: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message.replace("[", r"\[")):
        coverage_gaps(conn, **call)


def test_unknown_units_and_releases_are_not_found(conn: Connection) -> None:
    with pytest.raises(NotFoundError, match="community 340102999999"):
        coverage_gaps(conn, level="community", code="340102999999")
    with pytest.raises(NotFoundError, match="release 9"):
        coverage_gaps(conn, release=9)
    assert coverage_gaps(conn, release=1).tally == coverage_gaps(conn).tally


# --- over HTTP --------------------------------------------------------------------------------


def test_district_answer_names_release_method_and_totals(
    live_api: LiveServer, conn: Connection
) -> None:
    answer = live_api.client().get("/v1/coverage")
    assert answer.status_code == 200
    body = CoverageAnswer.model_validate(answer.json())
    assert (body.release, body.minutes, body.level) == (1, None, "district")
    assert body.method.method == "circle" and body.method.source == "stored"
    assert body.method.tier_rule == "per_kind" and body.method.tiers == OWN_TIER
    assert body.method.tiers_m == {"5": 300.0, "10": 500.0, "15": 1000.0}
    assert body.method.detour_factors == dict.fromkeys(RESIDENT, 1.3)
    (unit,) = body.units
    assert unit.code == "340102" and body.totals.units == 1
    expected = scalar(conn, COVERED_HOUSEHOLDS, tiers=tiers())
    assert unit.households.covered == body.totals.households.covered == expected
    assert len(unit.uncovered_compounds) == unit.compounds.uncovered > 0
    assert 0 < unit.covered_share < 1


def test_streets_add_up_to_the_district(live_api: LiveServer) -> None:
    client = live_api.client()
    district = CoverageAnswer.model_validate(client.get("/v1/coverage").json()).totals
    streets = CoverageAnswer.model_validate(
        client.get("/v1/coverage", params={"level": "street"}).json()
    )
    assert len(streets.units) == 13
    assert sum(u.households.covered for u in streets.units) == district.households.covered
    assert sum(u.households.uncovered for u in streets.units) == district.households.uncovered
    assert sum(u.compounds.covered for u in streets.units) == district.compounds.covered
    assert sum(u.covered_area_m2 for u in streets.units) == pytest.approx(
        district.covered_area_m2, abs=1.0
    )
    assert streets.totals.households == district.households
    communities = client.get("/v1/coverage", params={"level": "community", "minutes": 10})
    assert len(CoverageAnswer.model_validate(communities.json()).units) == 66


def test_geojson_gaps_and_covered_area_make_up_the_street(
    live_api: LiveServer, conn: Connection
) -> None:
    answer = live_api.client().get(
        "/v1/coverage", params={"level": "street", "code": EAST[0], "format": "geojson"}
    )
    assert answer.status_code == 200
    body = GapCollection.model_validate(answer.json())
    (feature,) = body.features
    assert feature.properties.code == EAST[0] and body.release == 1
    to_metres = pyproj.Transformer.from_crs(4490, 4548, always_xy=True)
    gap = shapely.transform(shape(feature.geometry), to_metres.transform, interleaved=False)
    area = scalar(
        conn, "SELECT ST_Area(ST_Transform(geom, 4548)) FROM street WHERE code = :c", c=EAST[0]
    )
    covered = live_api.client().get("/v1/coverage", params={"level": "street", "code": EAST[0]})
    covered_m2 = covered.json()["units"][0]["covered_area_m2"]
    # Answers round coordinates to 1e-7 degree (about 1 cm): the area moves by at most the
    # boundary's length times that.
    rounding = gap.length * 0.015
    assert gap.area + covered_m2 == pytest.approx(area, abs=1.0 + rounding)
    assert gap.area == pytest.approx(feature.properties.gap_area_m2, abs=1.0 + rounding)


def test_grid_gaps_leave_out_fully_covered_grids(live_api: LiveServer) -> None:
    answer = live_api.client().get("/v1/coverage", params={"level": "grid", "format": "geojson"})
    body = GapCollection.model_validate(answer.json())
    assert 0 < len(body.features) < 596
    assert all(f.geometry["type"] == "MultiPolygon" and len(f.id) == 15 for f in body.features)


def test_h3_households_add_up(live_api: LiveServer, conn: Connection) -> None:
    answer = live_api.client().get("/v1/coverage", params={"format": "h3", "res": 9})
    assert answer.status_code == 200
    body = H3Answer.model_validate(answer.json())
    assert body.resolution == 9 and body.release == 1
    total = scalar(conn, "SELECT sum(households) FROM compound")
    assert sum(c.households.covered + c.households.uncovered for c in body.cells) == total
    assert body.totals.households.covered == scalar(conn, COVERED_HOUSEHOLDS, tiers=tiers())
    assert all(c.cell.startswith("89") for c in body.cells)  # resolution-9 index prefix


def test_detour_factor_over_http(live_api: LiveServer) -> None:
    client = live_api.client()

    def covered(factor: float) -> int:
        body = CoverageAnswer.model_validate(
            client.get("/v1/coverage", params={"detour_factor": factor}).json()
        )
        assert body.method.source == "drawn" and body.method.detour_factor == factor
        return body.totals.households.covered

    assert covered(1.0) >= covered(1.3)
    too_big = client.get("/v1/coverage", params={"detour_factor": 5})
    assert too_big.status_code == 422 and "detour_factor" in too_big.json()["detail"]


@pytest.mark.parametrize(
    "params, named",
    [
        ({"minutes": 20}, "5, 10, 15"),
        ({"level": "province"}, "district, street, community, grid"),
        ({"kind": "doorstep,teahouse"}, ", ".join(STATION_KINDS)),
        ({"format": "kml"}, "json, geojson, h3"),
        ({"level": "grid", "code": "3401020"}, "15 digits"),
    ],
)
def test_bad_parameters_are_422_naming_the_allowed_values(
    live_api: LiveServer, params: dict[str, Any], named: str
) -> None:
    answer = live_api.client().get("/v1/coverage", params=params)
    assert answer.status_code == 422
    assert answer.json()["code"] == "invalid_input"
    assert named in answer.json()["detail"]
    assert str(next(iter(params.values()))).split(",")[-1] in answer.json()["detail"]


def test_unknown_code_or_release_is_404(live_api: LiveServer) -> None:
    client = live_api.client()
    for params in (
        {"level": "street", "code": "340102099"},
        {"level": "grid", "code": "340102006004999"},
        {"release": 42},
    ):
        answer = client.get("/v1/coverage", params=params)
        assert answer.status_code == 404, params
        assert answer.json()["code"] == "not_found"


def test_errors_in_chinese(live_api: LiveServer) -> None:
    answer = live_api.client(**{"Accept-Language": "zh"}).get("/v1/coverage", params={"minutes": 7})
    assert answer.json()["detail"] == "分钟数 7 无效：应为 5、10 或 15"


def test_kind_filter_over_http(live_api: LiveServer, conn: Connection) -> None:
    answer = live_api.client().get("/v1/coverage", params={"kind": "legal, doorstep"})
    body = CoverageAnswer.model_validate(answer.json())
    assert body.kinds == ["doorstep", "legal"]
    assert body.totals.households.covered == scalar(
        conn, COVERED_HOUSEHOLDS, tiers=tiers(["doorstep", "legal"])
    )


def test_minutes_over_http_count_every_kind_at_that_tier(
    live_api: LiveServer, conn: Connection
) -> None:
    answer = live_api.client().get("/v1/coverage", params={"minutes": 10})
    body = CoverageAnswer.model_validate(answer.json())
    assert body.minutes == 10 and body.method.tier_rule == "minutes"
    assert body.method.tiers == dict.fromkeys(RESIDENT, 10) and body.method.distance_m == 500.0
    assert body.totals.households.covered == scalar(
        conn, COVERED_HOUSEHOLDS, tiers=tiers(minutes=10)
    )


def test_compounds_with_gates_are_measured_from_them(fresh_demo_url: str) -> None:
    engine = create_engine(fresh_demo_url)
    paths = Path(__file__).resolve().parents[2] / "data" / "yaohai_demo_paths.gpkg"
    with engine.connect() as conn:
        before = coverage_gaps(conn)
    assert before.method.measured_from == {"gate": 0, "footprint": 640}
    with engine.begin() as conn:
        loading.load_file(conn, paths, "gates", None, ServiceAreaSettings())
    with engine.connect() as conn:
        after = coverage_gaps(conn)
        expected = scalar(conn, COVERED_HOUSEHOLDS, tiers=tiers())
    # the organised compounds have a main gate; scattered buildings are measured from their
    # footprint; a gate is one point of a footprint, so fewer households are reached
    assert after.method.measured_from == {"gate": 556, "footprint": 84}
    assert after.tally.households_covered == expected < before.tally.households_covered
    rules = {c.measured_from for u in after.units for c in u.uncovered_compounds}
    assert rules == {"gate", "footprint"}
