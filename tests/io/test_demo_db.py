"""The Yaohai demo as loaded into PostGIS: exact counts, codes, invariants, idempotent reload."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, create_engine, text

from geogrid.boundaries.validation import check_release
from geogrid.io import loading
from geogrid.settings import DemoSettings, ServiceAreaSettings


def scalar(engine: Engine, sql: str) -> object:
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar_one()


@pytest.mark.parametrize(
    "sql, expected",
    [
        ("SELECT count(*) FROM district", 1),
        ("SELECT count(*) FROM street", 13),
        ("SELECT count(*) FROM community", 66),
        ("SELECT count(*) FROM grid", 596),
        ("SELECT count(*) FROM grid WHERE kind = 'resident'", 520),
        ("SELECT count(*) FROM grid WHERE kind = 'dedicated'", 76),
        ("SELECT count(*) FROM grid_geometry WHERE valid_to_release IS NULL", 596),
        ("SELECT count(*) FROM compound", 640),
        ("SELECT count(*) FROM compound WHERE kind = 'organised'", 556),
        ("SELECT count(*) FROM compound WHERE kind = 'scattered'", 84),
        ("SELECT count(*) FROM compound WHERE smart_safe", 613),
        ("SELECT count(*) FROM compound WHERE smart_safe AND three_no", 104),
        ("SELECT count(*) FROM compound WHERE three_no", 104),
        ("SELECT count(*) FROM boundary_release", 1),
        ("SELECT count(DISTINCT kind) FROM station", 6),
        ("SELECT count(DISTINCT community_code) FROM station WHERE kind = 'party_mass'", 66),
        ("SELECT count(*) = 3 * (SELECT count(*) FROM station) FROM service_area", True),
    ],
)
def test_exact_counts(demo_engine: Engine, sql: str, expected: object) -> None:
    assert scalar(demo_engine, sql) == expected


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT count(*) FROM street WHERE code !~ '^340102[0-9]{3}$'",
        "SELECT count(*) FROM community WHERE code !~ '^[0-9]{12}$' OR left(code, 9) <> street_code",
        "SELECT count(*) FROM grid WHERE code !~ '^[0-9]{15}$' OR left(code, 12) <> community_code",
        "SELECT count(*) - count(DISTINCT code) FROM grid",
        # sequences within a community run 001, 002, ... without holes
        "SELECT count(*) FROM (SELECT community_code, max(right(code, 3)::int) AS top, count(*) AS n "
        "FROM grid GROUP BY community_code) s WHERE top <> n",
    ],
)
def test_code_formats_and_uniqueness(demo_engine: Engine, sql: str) -> None:
    assert scalar(demo_engine, sql) == 0


def test_the_named_places_are_where_the_report_puts_them(demo_engine: Engine) -> None:
    with demo_engine.connect() as conn:

        def community_of_compound(name: str) -> str:
            return str(
                conn.execute(
                    text(
                        "SELECT g.community_code FROM compound c JOIN grid_geometry gg "
                        "ON gg.valid_to_release IS NULL AND ST_Covers(gg.geom, c.point) "
                        "JOIN grid g ON g.code = gg.grid_code WHERE c.name = :n"
                    ),
                    {"n": name},
                ).scalar_one()
            )

        def community_of_station(name: str) -> str:
            return str(
                conn.execute(
                    text("SELECT community_code FROM station WHERE name = :n"), {"n": name}
                ).scalar_one()
            )

        assert community_of_compound("恒通小区") == "340102006004"
        assert community_of_compound("长春都市花园") == "340102011007"
        assert community_of_compound("窑湾村").startswith("340102003")
        assert community_of_compound("淮北新村") == "340102004004"
        assert community_of_station("暖宝幸福驿站") == "340102006004"
        assert community_of_station("左邻右舍百姓说事点") == "340102004005"
        assert community_of_station("红星为民法治e站").startswith("340102010")
        assert community_of_station("胜利社区家门口服务站") == "340102011002"


def test_every_invariant_holds_on_the_loaded_demo(demo_engine: Engine) -> None:
    with demo_engine.connect() as conn:
        assert check_release(conn, 1) == []


def test_postgis_agrees_the_grids_tile_the_district(demo_engine: Engine) -> None:
    # An independent check in PostGIS, in metres (EPSG:4548).
    with demo_engine.connect() as conn:
        row = conn.execute(
            text("""
            WITH g AS (SELECT ST_Transform(geom, 4548) AS geom FROM grid_geometry
                       WHERE valid_to_release IS NULL),
                 u AS (SELECT ST_Union(geom) AS geom FROM g),
                 d AS (SELECT ST_Transform(geom, 4548) AS geom FROM district)
            SELECT ST_Area(ST_SymDifference(u.geom, d.geom)) AS diff,
                   (SELECT bool_and(ST_IsValid(geom)) FROM g) AS valid,
                   (SELECT max(ST_Area(ST_Intersection(a.geom, b.geom)))
                    FROM g a JOIN g b ON a.geom && b.geom AND ST_Intersects(a.geom, b.geom)
                    AND a.geom::text < b.geom::text) AS overlap
            FROM u, d""")
        ).one()
    assert row.diff < 1.0
    assert row.valid is True
    assert row.overlap < 0.01


def test_every_geometry_is_stored_in_cgcs2000(demo_engine: Engine) -> None:
    with demo_engine.connect() as conn:
        srids = conn.execute(
            text("SELECT f_table_name, srid FROM geometry_columns WHERE f_table_schema = 'public'")
        ).all()
    assert srids and {srid for _, srid in srids} == {4490}


def test_resident_grids_mostly_hold_300_to_700_households(demo_engine: Engine) -> None:
    share = scalar(
        demo_engine,
        """
        SELECT avg((coalesce(h, 0) BETWEEN 300 AND 700)::int)
        FROM grid g JOIN grid_geometry gg ON gg.grid_code = g.code AND gg.valid_to_release IS NULL
        LEFT JOIN LATERAL (SELECT sum(c.households) AS h FROM compound c
                           WHERE ST_Covers(gg.geom, c.point)) s ON true
        WHERE g.kind = 'resident'""",
    )
    assert float(share) >= 0.9  # type: ignore[arg-type]


def test_fifteen_minute_circles_have_the_configured_radius(demo_engine: Engine) -> None:
    with demo_engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT min(ST_Area(ST_Transform(geom, 4548))) AS lo, "
                "max(ST_Area(ST_Transform(geom, 4548))) AS hi, min(distance_m) AS d, "
                "min(detour_factor) AS f, min(method) AS m FROM service_area WHERE minutes = 15"
            )
        ).one()
    radius = 1000 / 1.3
    assert (row.d, row.f, row.m) == (1000, 1.3, "circle")
    assert 0.99 * 3.14159 * radius**2 < row.lo <= row.hi < 1.001 * 3.14159 * radius**2


def test_fifteen_minute_circles_leave_real_gaps(demo_engine: Engine) -> None:
    share = scalar(
        demo_engine,
        """
        SELECT sum(c.households) FILTER (WHERE EXISTS (
                   SELECT 1 FROM service_area a WHERE a.minutes = 15
                   AND ST_Covers(a.geom, c.point)))::float / sum(c.households)
        FROM compound c""",
    )
    assert 0.6 < float(share) < 0.97  # type: ignore[arg-type]


def test_reloading_the_demo_changes_nothing(fresh_demo_url: str) -> None:
    engine = create_engine(fresh_demo_url)
    fingerprint = """SELECT md5(string_agg(t, '|' ORDER BY t)) FROM (
        SELECT concat_ws(',', grid_code, valid_from_release, ST_AsText(geom)) AS t
        FROM grid_geometry
        UNION ALL SELECT concat_ws(',', id, name, households, ST_AsText(geom)) FROM compound
        UNION ALL SELECT concat_ws(',', id, name, ST_AsText(geom)) FROM station
        UNION ALL SELECT concat_ws(',', station_id, minutes, ST_AsText(geom))
        FROM service_area) s"""
    before = scalar(engine, fingerprint)
    with engine.begin() as conn:
        reports = loading.load_demo(conn, DemoSettings().demo_path, ServiceAreaSettings())
    assert reports[0].release == 1 and reports[0].new_release is False
    assert scalar(engine, "SELECT count(*) FROM boundary_release") == 1
    assert scalar(engine, fingerprint) == before
    engine.dispose()
