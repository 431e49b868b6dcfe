"""The one walking model: minutes read off the tiers, and "within" never contradicting them.

The model on its own (exact at the tiers, also one float either side of them), then on the
demo: 1,000 seeded random points in the district, whose nearest-station answers must agree
with themselves and with the stored service-area polygons.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from sqlalchemy import Engine, text

from geogrid.boundaries.releases import current_release
from geogrid.geo.datum import from_metric, to_metric
from geogrid.lookup import snapshot
from geogrid.lookup.service_areas import detour_factor
from geogrid.lookup.stations import nearest_stations
from geogrid.lookup.walking import WalkingModel, tier_of_kind
from geogrid.settings import ServiceAreaSettings

MODEL = WalkingModel.from_settings(ServiceAreaSettings())


def test_minutes_go_through_the_tiers_and_beyond_at_the_last_tiers_speed() -> None:
    distances = [0.0, 150.0, 300.0, 400.0, 500.0, 750.0, 1000.0, 2000.0]
    assert MODEL.minutes(distances).tolist() == [0.0, 2.5, 5.0, 7.5, 10.0, 12.5, 15.0, 30.0]
    for t, metres in MODEL.tiers:
        assert MODEL.minutes(metres) == t  # exactly, not approximately
        assert MODEL.shown_minutes(metres) == t
    with pytest.raises(ValueError, match="non-negative"):
        MODEL.minutes([-1.0])
    with pytest.raises(ValueError, match="non-negative"):
        MODEL.shown_minutes(math.nan)


def boundary_distances(model: WalkingModel) -> np.ndarray:
    # Each tier's distance and the floats either side of it, then seeded random walks.
    near = [
        x
        for _, d in model.tiers
        for x in (
            d,
            np.nextafter(d, 0.0),
            np.nextafter(d, math.inf),
            d - 1e-9,
            d + 1e-9,
            d + 0.004,
            d - 0.004,
        )
    ]
    spread = np.random.default_rng(16).uniform(0, 2.5 * model.tiers[-1][1], 20_000)
    return np.concatenate([near, spread])


@pytest.mark.parametrize(
    "tiers", [{5: 300.0, 10: 500.0, 15: 1000.0}, {5: 300.0, 10: 500.0, 15: 800.0}]
)
def test_within_a_tier_exactly_when_minutes_are_at_most_it(tiers: dict[int, float]) -> None:
    model = WalkingModel.from_settings(ServiceAreaSettings(tier_distances_m=tiers))
    distances = boundary_distances(model)
    minutes = model.minutes(distances)
    assert (np.diff(minutes[np.argsort(distances, kind="stable")]) >= 0).all()  # monotone
    for d, m in zip(distances.tolist(), minutes.tolist(), strict=True):
        within = model.within(d)
        shown = model.shown_minutes(d)
        assert m - 1e-9 <= shown <= m + 0.1 + 1e-9  # minutes() rounded up to 0.1
        for t, metres in model.tiers:
            assert (d <= metres) == (t in within) == (m <= t) == (shown <= t), (d, t, m, shown)


def test_tiers_come_from_the_settings_and_must_grow() -> None:
    model = WalkingModel.from_settings(ServiceAreaSettings(tier_distances_m={15: 800, 5: 300}))
    assert model.tiers == ((5, 300.0), (15, 800.0))
    assert model.minutes(550.0) == 10.0  # halfway between 300 m and 800 m
    with pytest.raises(ValueError, match="longer walk"):
        ServiceAreaSettings(tier_distances_m={5: 500.0, 10: 300.0})
    with pytest.raises(ValueError, match="no distance"):
        ServiceAreaSettings(tier_by_kind={"legal": 20})


def test_the_single_walking_speed_is_deprecated_and_unused() -> None:
    with pytest.warns(DeprecationWarning, match="read off the tiers"):
        assert ServiceAreaSettings().walking_speed_m_per_min is None


def test_every_kind_has_a_tier_and_courier_rest_stops_are_not_residents_services() -> None:
    settings = ServiceAreaSettings()
    assert tier_of_kind("party_mass", settings) == 5 and tier_of_kind("legal", settings) == 15
    assert "courier_rest" not in settings.resident_kinds
    assert tier_of_kind("bakery", settings) == 15  # a kind the table leaves out: the last tier


# --- on the demo: 1,000 random points ---------------------------------------------------------


@pytest.fixture(scope="module")
def demo(demo_engine: Engine) -> tuple[snapshot.Snapshot, shapely.Polygon]:
    with demo_engine.connect() as conn:
        release = current_release(conn)
        assert release is not None
        snap = snapshot.build(conn, release.id)
        wkb = conn.execute(text("SELECT ST_AsBinary(geom) FROM district")).scalar_one()
    return snap, to_metric(shapely.from_wkb(bytes(wkb)))


def random_points(district: shapely.Geometry, n: int) -> list[tuple[float, float]]:
    rng = np.random.default_rng(20180)
    x0, y0, x1, y1 = district.bounds
    found: list[tuple[float, float]] = []
    while len(found) < n:
        xy = rng.uniform((x0, y0), (x1, y1), size=(n, 2))
        inside = shapely.contains_xy(district, xy[:, 0], xy[:, 1])
        found.extend(map(tuple, xy[inside][: n - len(found)]))
    return found


def test_nearest_answers_agree_with_themselves_and_the_service_areas(
    demo: tuple[snapshot.Snapshot, shapely.Polygon],
) -> None:
    """On 1,000 points, the 6 nearest stations each: walk_minutes <= t exactly for the tiers t
    in within_minutes, and the point is in the station's stored tier-t polygon exactly then.

    Tolerance: the stored circles are 64-gons (PostGIS quad_segs 16) inscribed in the circle,
    so a point up to r (1 - cos(pi/64)) inside the circle can fall outside the polygon (0.93 m
    straight at r = 769 m); with the 0.1 m rounding of walk_distance_m and the storage CRS
    round trip, points whose walk is within 0.0013 x the tier's distance + 0.15 m of it are
    not judged."""
    snap, district = demo
    settings = ServiceAreaSettings()
    model = WalkingModel.from_settings(settings)
    judged = inside = 0
    for x, y in random_points(district, 1000):
        lon_lat = from_metric(shapely.Point(x, y))
        found = nearest_stations(snap, lon_lat.x, lon_lat.y, 6, None, settings)
        assert len(found) == 6
        for near in found:
            for t, _ in model.tiers:
                assert (near.walk_minutes <= t) == (t in near.within_minutes)
            assert near.walk_distance_m == pytest.approx(
                near.distance_m * detour_factor(near.station.kind, settings), abs=0.2
            )
            for t, metres in model.tiers:
                if abs(near.walk_distance_m - metres) <= metres * 0.0013 + 0.15:
                    continue
                covers = near.station.areas[t].covers(lon_lat)
                assert covers == (t in near.within_minutes), (near, t)
                judged += 1
                inside += covers
    assert judged > 17_000 and inside > 1_000  # the test looked at both sides
