"""Nearest stations on a walking network, over real HTTP: a running server switches to the
network once one is published, and its answers agree with the network's service areas."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from geogrid.io import loading
from geogrid.settings import ServiceAreaSettings
from tests.conftest import start_api

PATHS = Path(__file__).resolve().parents[2] / "data" / "yaohai_demo_paths.gpkg"


def test_a_published_network_is_walked_and_agrees_with_its_areas(fresh_demo_url: str) -> None:
    engine = create_engine(fresh_demo_url)
    with engine.connect() as conn:
        points = conn.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p "
                "FROM compound ORDER BY id LIMIT 12) c"
            )
        ).all()
    process, base = start_api(fresh_demo_url)
    try:
        nearest = f"{base}/v1/stations/nearest"
        ask = {"lon": points[0][0], "lat": points[0][1], "crs": "cgcs2000", "k": 3}
        before = httpx.get(nearest, params=ask).json()
        assert before["method"]["method"] == "straight_line_x_detour_factor"
        assert {s["method"] for s in before["stations"]} == {"straight_line_x_detour_factor"}

        with engine.begin() as conn:  # as `geogrid load … --layer paths` does
            loading.load_file(conn, PATHS, "paths", None, ServiceAreaSettings())
        deadline = time.monotonic() + 30
        while True:
            after = httpx.get(nearest, params=ask, timeout=30).json()
            if after["method"]["method"] == "network" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert after["method"]["method"] == "network" and after["method"]["network"] == 1

        checked = 0
        for lon, lat in points:
            answer = httpx.get(
                nearest, params={"lon": lon, "lat": lat, "crs": "cgcs2000", "k": 5}
            ).json()
            walks = [s["walk_distance_m"] for s in answer["stations"]]
            assert walks == sorted(walks)  # nearest by walking
            for station in answer["stations"]:
                if station["method"] != "network":
                    continue
                with engine.connect() as conn:
                    inside = dict(
                        conn.execute(
                            text(
                                "SELECT minutes, ST_Covers(geom, ST_SetSRID(ST_MakePoint(:x, :y), "
                                "4490)) FROM service_area WHERE station_id = :s"
                            ),
                            {"x": lon, "y": lat, "s": station["id"]},
                        ).all()
                    )
                for minutes, metres in ServiceAreaSettings().tier_distances_m.items():
                    if abs(station["walk_distance_m"] - metres) < 2:  # the drawing's tolerance
                        continue
                    assert (minutes in station["within_minutes"]) == inside.get(minutes, False)
                    checked += 1
        assert checked > 30
    finally:
        process.terminate()
        process.wait(timeout=20)
