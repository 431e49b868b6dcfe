"""GCJ-02 / BD-09 conversions: published forward formulas, iterative inverses."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geogrid.geo import datum

# Yaohai and a margin around it (the district spans about 117.29-117.43 E, 31.82-32.06 N).
lons = st.floats(min_value=117.20, max_value=117.50, allow_nan=False)
lats = st.floats(min_value=31.75, max_value=32.15, allow_nan=False)


def metres_between(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    a = datum.to_metric(shapely.Point(lon1, lat1))
    b = datum.to_metric(shapely.Point(lon2, lat2))
    return float(a.distance(b))


ROUND_TRIPS = {
    "gcj02": (datum.wgs84_to_gcj02, datum.gcj02_to_wgs84),
    "bd09": (datum.wgs84_to_bd09, datum.bd09_to_wgs84),
    "bd09 from gcj02": (datum.gcj02_to_bd09, datum.bd09_to_gcj02),
}


@pytest.mark.parametrize("pair", list(ROUND_TRIPS))
@settings(max_examples=300, deadline=None)
@given(lon=lons, lat=lats)
def test_round_trip_is_under_a_centimetre(pair: str, lon: float, lat: float) -> None:
    forward, inverse = ROUND_TRIPS[pair]
    x, y = forward(lon, lat)
    back_lon, back_lat = inverse(x, y)
    assert metres_between(lon, lat, float(back_lon), float(back_lat)) < 0.01


@settings(max_examples=100, deadline=None)
@given(lon=lons, lat=lats)
def test_storage_round_trip_through_every_crs(lon: float, lat: float) -> None:
    for crs in datum.CRS_NAMES:
        x, y = datum.from_storage(lon, lat, crs)
        back = datum.to_storage(x, y, crs)
        assert metres_between(lon, lat, float(back[0]), float(back[1])) < 0.01


def test_gcj02_offset_in_yaohai_is_about_570_m() -> None:
    lon, lat = 117.35, 31.90
    glon, glat = datum.wgs84_to_gcj02(lon, lat)
    offset = metres_between(lon, lat, float(glon), float(glat))
    assert 500 < offset < 650


def test_gcj02_is_identity_outside_china() -> None:
    lon, lat = datum.wgs84_to_gcj02(np.array([2.35]), np.array([48.85]))
    assert (lon[0], lat[0]) == (2.35, 48.85)


def test_vectorised_conversion_matches_scalar() -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(117.28, 117.44, 1000)
    y = rng.uniform(31.80, 32.07, 1000)
    vx, vy = datum.gcj02_to_wgs84(x, y)
    sx, sy = datum.gcj02_to_wgs84(x[17], y[17])
    assert (vx[17], vy[17]) == (float(sx), float(sy))


@pytest.mark.parametrize(
    "name, expected",
    [
        ("WGS84", "wgs84"),
        ("epsg:4326", "wgs84"),
        ("EPSG:4490", "cgcs2000"),
        ("gcj02", "gcj02"),
        ("bd09", "bd09"),
        ("EPSG:4548", "EPSG:4548"),
    ],
)
def test_crs_names(name: str, expected: str) -> None:
    assert datum.normalise_crs(name) == expected


@pytest.mark.parametrize("name", ["gcj-03", "mars", "EPSG:999999", ""])
def test_unknown_crs_is_named_with_the_allowed_set(name: str) -> None:
    with pytest.raises(datum.UnknownCRSError, match=r"wgs84|unknown"):
        datum.normalise_crs(name)


def test_geometry_conversion_keeps_shared_vertices_identical() -> None:
    a = shapely.Polygon([(117.30, 31.85), (117.31, 31.85), (117.31, 31.86)])
    b = shapely.Polygon([(117.31, 31.85), (117.32, 31.85), (117.31, 31.86)])
    ga, gb = datum.geometry_to_storage(np.array([a, b]), "gcj02")
    ca = {tuple(c) for c in shapely.get_coordinates(ga)}
    cb = {tuple(c) for c in shapely.get_coordinates(gb)}
    assert len(ca & cb) == 2
