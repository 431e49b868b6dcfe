"""GET/POST /v1/locate and /v1/stations/nearest over real HTTP on the demo."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest
import shapely
from sqlalchemy import Engine, create_engine, text

from geogrid.access import keys
from geogrid.access.roles import Role
from geogrid.api.schemas.lookup import BatchLocateAnswer, LocateAnswer, NearestStations
from geogrid.geo import datum
from geogrid.io import loading
from geogrid.io.files import write_layer
from geogrid.io.layers import read_layer_from_db
from geogrid.lookup.walking import WalkingModel
from geogrid.settings import ServiceAreaSettings
from tests.conftest import LiveServer, start_api
from tests.io.test_loading import transfer

HENGTONG = (117.3370, 31.8920)  # in 恒通社区 (WGS84), inside the 恒通小区 compound


def get(live: LiveServer, path: str, **params: object) -> httpx.Response:
    return live.client().get(path, params=params)


def test_a_point_names_its_grid_community_street_and_leader(live_api: LiveServer) -> None:
    answer = get(live_api, "/v1/locate", lon=HENGTONG[0], lat=HENGTONG[1])
    assert answer.status_code == 200
    body = LocateAnswer.model_validate(answer.json())
    assert body.grid is not None
    assert body.grid.code.startswith("340102006004")
    assert body.grid.community.name == "恒通社区居委会"
    assert body.grid.street.code == "340102006"
    assert body.grid.leader.name is not None and body.grid.leader.name.endswith("*")
    assert body.candidates == [body.grid.code] and body.on_boundary is False
    assert body.boundary_distance_m is not None and body.boundary_distance_m > 0
    assert body.compound is not None and body.compound.name == "恒通小区"
    assert body.nearest is None and body.release == 1


def test_dispatchers_see_the_leader(live_api: LiveServer, demo_engine: Engine) -> None:
    with demo_engine.begin() as conn:
        _, key = keys.create_key(conn, "locate-dispatcher", Role.dispatcher)
    body = (
        live_api.client(key)
        .get("/v1/locate", params={"lon": HENGTONG[0], "lat": HENGTONG[1]})
        .json()
    )
    assert "*" not in body["grid"]["leader"]["name"]
    assert body["grid"]["leader"]["phone"].isdigit()


def test_the_same_place_in_every_datum_is_the_same_grid(live_api: LiveServer) -> None:
    rng = np.random.default_rng(5)
    lon = rng.uniform(117.30, 117.40, 25)
    lat = rng.uniform(31.84, 32.00, 25)
    for crs in ("gcj02", "bd09", "cgcs2000"):
        x, y = datum.from_storage(lon, lat, crs)
        for i in range(len(lon)):
            plain = get(live_api, "/v1/locate", lon=lon[i], lat=lat[i]).json()
            shifted = get(live_api, "/v1/locate", lon=float(x[i]), lat=float(y[i]), crs=crs).json()
            assert (shifted["grid"] or {}).get("code") == (plain["grid"] or {}).get("code")


def test_a_point_outside_gets_the_nearest_grid(live_api: LiveServer) -> None:
    body = get(live_api, "/v1/locate", lon=117.45, lat=31.90).json()
    assert body["grid"] is None and body["candidates"] == []
    assert body["nearest"]["code"].startswith("340102")
    assert 100 < body["nearest"]["distance_m"] < 20_000


def test_a_shared_vertex_has_every_candidate_and_the_tie_break(
    live_api: LiveServer, demo_engine: Engine
) -> None:
    with demo_engine.connect() as conn:
        row = conn.execute(
            text("""
            WITH v AS (SELECT grid_code, (ST_DumpPoints(geom)).geom AS p FROM grid_geometry
                       WHERE valid_to_release IS NULL)
            SELECT ST_X(p) AS x, ST_Y(p) AS y, array_agg(DISTINCT trim(grid_code)) AS codes
            FROM v GROUP BY p HAVING count(DISTINCT grid_code) >= 3 LIMIT 1""")
        ).one()
    body = get(live_api, "/v1/locate", lon=row.x, lat=row.y, crs="cgcs2000").json()
    assert body["on_boundary"] is True
    assert body["candidates"] == sorted(row.codes)
    assert body["grid"]["code"] == min(row.codes)
    assert body["boundary_distance_m"] == 0


@pytest.mark.parametrize(
    "params, status, words",
    [
        ({"lon": 117.3, "lat": 95}, 422, "lat must be within [-90, 90] but was 95"),
        ({"lon": 31.9, "lat": 117.3}, 422, "did you swap lon and lat?"),
        ({"lon": 200, "lat": 31.9}, 422, "lon must be within [-180, 180]"),
        ({"lon": "nan", "lat": 31.9}, 422, "finite"),
        ({"lon": 2.35, "lat": 48.85}, 422, "far outside China"),
        ({"lon": 117.3, "lat": 31.9, "crs": "mars"}, 422, "gcj02"),
        ({"lon": "east", "lat": 31.9}, 422, "lon"),
        ({"lon": 117.3, "lat": 31.9, "at": "yesterday"}, 422, "ISO 8601"),
        ({"lon": 117.3, "lat": 31.9, "at": "1999-01-01"}, 404, "no boundary release"),
    ],
)
def test_bad_points_are_named(
    live_api: LiveServer, params: dict[str, object], status: int, words: str
) -> None:
    answer = get(live_api, "/v1/locate", **params)
    assert answer.status_code == status
    assert words in answer.json()["detail"]


# ---- batches ---------------------------------------------------------------------------------


def batch_points(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(117.29, 117.43, n), rng.uniform(31.82, 32.06, n)])


def test_a_json_batch_answers_in_input_order(live_api: LiveServer) -> None:
    points = batch_points(500)
    answer = live_api.client().post("/v1/locate", json={"crs": "wgs84", "points": points.tolist()})
    assert answer.status_code == 200
    body = BatchLocateAnswer.model_validate(answer.json())
    assert len(body.results) == 500
    for i in (0, 17, 499):
        one = get(live_api, "/v1/locate", lon=points[i, 0], lat=points[i, 1]).json()
        assert body.results[i].grid == (one["grid"] or {}).get("code")


def test_csv_and_binary_batches_agree_with_json(live_api: LiveServer) -> None:
    points = batch_points(2000, seed=2)
    client = live_api.client()
    as_json = client.post("/v1/locate", json={"points": points.tolist()}).json()["results"]
    lines = "id,lon,lat\n" + "".join(f"p{i},{x},{y}\n" for i, (x, y) in enumerate(points))
    as_csv = client.post("/v1/locate", content=lines, headers={"content-type": "text/csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [r["id"] for r in rows] == [f"p{i}" for i in range(2000)]
    assert [r["grid"] or None for r in rows] == [r["grid"] for r in as_json]
    binary = client.post(
        "/v1/locate",
        content=points.astype("<f8").tobytes(),
        headers={"content-type": "application/octet-stream"},
    )
    decoded = np.frombuffer(binary.content, dtype=[("code", "S15"), ("on_boundary", "u1")])
    assert [c.decode() or None for c in decoded["code"]] == [r["grid"] for r in as_json]
    assert binary.headers["x-geogrid-release"] == "1"


def test_csv_ids_come_back_as_one_field_and_never_as_formulas(live_api: LiveServer) -> None:
    sent = ["a,1", "=cmd|' /C calc'!A0", "+1", "-2", "@SUM(A1)", "\tx", 'say "hi"', "p-1"]
    body = io.StringIO()
    writer = csv.writer(body)
    writer.writerow(["id", "lon", "lat"])
    writer.writerows([i, *HENGTONG] for i in sent)
    answer = live_api.client().post(
        "/v1/locate", content=body.getvalue(), headers={"content-type": "text/csv"}
    )
    assert answer.status_code == 200, answer.text
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0] == ["id", "grid", "on_boundary"]
    assert all(len(row) == 3 for row in rows)
    # OWASP: text a spreadsheet would run gets an apostrophe; other text comes back as sent
    assert [row[0] for row in rows[1:]] == [
        "a,1",
        "'=cmd|' /C calc'!A0",
        "'+1",
        "'-2",
        "'@SUM(A1)",
        "'\tx",
        'say "hi"',
        "p-1",
    ]
    [grid] = {row[1] for row in rows[1:]}
    assert grid.startswith("340102006004") and {row[2] for row in rows[1:]} == {"false"}


def test_a_batch_in_gcj02_matches_wgs84(live_api: LiveServer) -> None:
    points = batch_points(300, seed=3)
    gx, gy = datum.from_storage(points[:, 0], points[:, 1], "gcj02")
    client = live_api.client()
    plain = client.post("/v1/locate", json={"points": points.tolist()}).json()["results"]
    shifted = client.post(
        "/v1/locate", json={"crs": "gcj02", "points": np.column_stack([gx, gy]).tolist()}
    ).json()["results"]
    assert plain == shifted


def test_more_than_a_million_points_is_413_with_the_limit(live_api: LiveServer) -> None:
    body = np.zeros((1_000_001, 2), dtype="<f8").tobytes()
    answer = live_api.client().post(
        "/v1/locate", content=body, headers={"content-type": "application/octet-stream"}
    )
    assert answer.status_code == 413
    assert "1,000,000" in answer.json()["detail"]


@pytest.mark.parametrize(
    "body, words",
    [
        ({"points": [[117.3, 95.0]]}, "point 0: lat must be within"),
        ({"points": [[117.3]]}, "[lon, lat]"),
        ({"pts": []}, '"points"'),
    ],
)
def test_bad_batches_name_the_problem(live_api: LiveServer, body: object, words: str) -> None:
    answer = live_api.client().post("/v1/locate", json=body)
    assert answer.status_code == 422
    assert words in answer.json()["detail"]


# ---- nearest stations ------------------------------------------------------------------------


def test_nearest_stations_in_the_request_crs(live_api: LiveServer) -> None:
    gx, gy = datum.from_storage(*HENGTONG, "gcj02")
    answer = get(live_api, "/v1/stations/nearest", lon=float(gx), lat=float(gy), crs="gcj02", k=5)
    assert answer.status_code == 200
    body = NearestStations.model_validate(answer.json())
    distances = [s.distance_m for s in body.stations]
    assert len(distances) == 5 and distances == sorted(distances)
    plain = get(live_api, "/v1/stations/nearest", lon=HENGTONG[0], lat=HENGTONG[1], k=5).json()
    assert [s["id"] for s in plain["stations"]] == [s.id for s in body.stations]
    shift = datum.to_metric(shapely.Point(body.stations[0].lon, body.stations[0].lat)).distance(
        datum.to_metric(shapely.Point(plain["stations"][0]["lon"], plain["stations"][0]["lat"]))
    )
    assert 500 < shift < 650  # answered in GCJ-02, ~570 m from the WGS84 figures
    settings = ServiceAreaSettings()
    model = WalkingModel.from_settings(settings)
    for s in body.stations:
        # One walking model: walking distance = straight line x 1.3, minutes read off the tiers
        # (300 m 5 min, 500 m 10, 1000 m 15), within tier t exactly when minutes <= t.
        assert s.walk_distance_m == pytest.approx(s.distance_m * 1.3, abs=0.2)
        assert s.walk_minutes == pytest.approx(float(model.minutes(s.walk_distance_m)), abs=0.1)
        assert s.within_minutes == [t for t in (5, 10, 15) if s.walk_minutes <= t]
        assert s.within_minutes == [
            t for t, d in settings.tier_distances_m.items() if s.walk_distance_m <= d
        ] or any(abs(s.walk_distance_m - d) < 0.1 for d in settings.tier_distances_m.values())
    assert body.method["method"] == "straight_line_x_detour_factor"
    assert body.method["tiers_m"] == {"5": 300.0, "10": 500.0, "15": 1000.0}


def test_nearest_stations_of_one_kind(live_api: LiveServer) -> None:
    body = get(
        live_api,
        "/v1/stations/nearest",
        lon=HENGTONG[0],
        lat=HENGTONG[1],
        kind="happiness,legal",
        k=4,
    ).json()
    assert {s["kind"] for s in body["stations"]} <= {"happiness", "legal"}
    bad = get(live_api, "/v1/stations/nearest", lon=HENGTONG[0], lat=HENGTONG[1], kind="spa")
    assert bad.status_code == 422 and "party_mass" in bad.json()["detail"]


# ---- releases: at= and the snapshot swap ----------------------------------------------------


@pytest.fixture
def own_api(fresh_demo_url: str) -> Iterator[tuple[LiveServer, Engine]]:
    process, base = start_api(fresh_demo_url)
    engine = create_engine(fresh_demo_url)
    yield LiveServer(base, fresh_demo_url), engine
    engine.dispose()
    process.terminate()
    process.wait(timeout=20)


def test_a_new_release_is_served_without_restart_and_at_answers_from_the_old(
    own_api: tuple[LiveServer, Engine], tmp_path: Path
) -> None:
    live, engine = own_api
    with engine.connect() as conn:
        grids = read_layer_from_db(conn, "grids", 1)
    changed, gainer, loser = transfer(grids)
    moved = (
        changed.set_index("code")
        .geometry[gainer]
        .difference(grids.set_index("code").geometry[gainer])
    )
    point = moved.representative_point()
    before = get(live, "/v1/locate", lon=point.x, lat=point.y, crs="cgcs2000").json()
    assert before["grid"]["code"] == loser and before["release"] == 1
    published_before = datetime.now(UTC) - timedelta(seconds=1)
    time.sleep(1.1)
    path = write_layer(changed, tmp_path / "grids.gpkg", "grids")
    with engine.begin() as conn:
        loading.load_file(conn, path, "grids", "cgcs2000", ServiceAreaSettings())
    deadline = time.monotonic() + 10
    while True:
        now = get(live, "/v1/locate", lon=point.x, lat=point.y, crs="cgcs2000").json()
        if now["release"] == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert now["release"] == 2 and now["grid"]["code"] == gainer
    then = get(
        live,
        "/v1/locate",
        lon=point.x,
        lat=point.y,
        crs="cgcs2000",
        at=published_before.isoformat(),
    ).json()
    assert then["release"] == 1 and then["grid"]["code"] == loser
    naive_local = published_before.astimezone(datum_tz()).replace(tzinfo=None).isoformat()
    assert (
        get(live, "/v1/locate", lon=point.x, lat=point.y, crs="cgcs2000", at=naive_local).json()[
            "release"
        ]
        == 1
    )


def datum_tz():  # type: ignore[no-untyped-def]
    from geogrid.moments import LOCAL

    return LOCAL


def test_the_fast_path_answers_as_the_ordinary_one(live_api: LiveServer) -> None:
    # at= needs the database, so it goes the ordinary way through FastAPI (api/fastpath.py);
    # a moment after the newest release names the same release: the answers must be equal.
    rng = np.random.default_rng(11)
    with live_api.client() as client:
        lons, lats = rng.uniform(117.30, 117.40, 20), rng.uniform(31.84, 31.92, 20)
        for lon, lat in zip(lons, lats, strict=True):
            fast = client.get("/v1/locate", params={"lon": lon, "lat": lat})
            ordinary = client.get("/v1/locate", params={"lon": lon, "lat": lat, "at": "2100-01-01"})
            assert fast.status_code == ordinary.status_code == 200
            assert fast.json() == ordinary.json()
            assert fast.headers["content-type"] == ordinary.headers["content-type"]
