"""Loading a paths layer: published as a new walking network, or refused whole with the reason."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely import LineString
from shapely.affinity import translate
from sqlalchemy import Engine, create_engine, text

from geogrid.errors import LoadError
from geogrid.geo.datum import from_metric, to_metric
from geogrid.io import loading
from geogrid.io.files import write_layer
from geogrid.network import current_network, network_graph
from geogrid.settings import ServiceAreaSettings


@pytest.fixture
def engine(fresh_demo_url: str) -> Engine:
    return create_engine(fresh_demo_url)


def networks(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM walking_network")).scalar_one())


def river_and_bridge(engine: Engine) -> tuple[gpd.GeoDataFrame, tuple[float, float]]:
    """Two bank paths 100 m apart and a bridge between them, at the district's middle (storage
    lon/lat); and the metric origin they are drawn from."""
    with engine.connect() as conn:
        middle = shapely.from_wkb(
            bytes(
                conn.execute(
                    text("SELECT ST_AsBinary(ST_PointOnSurface(ST_Union(geom))) FROM district")
                ).scalar_one()
            )
        )
    o = to_metric(middle)
    lines = [
        LineString([(0, 50), (800, 50), (3000, 50)]),
        LineString([(0, -50), (800, -50), (3000, -50)]),
        LineString([(800, 50), (800, -50)]),
    ]
    storage = [from_metric(translate(line, o.x, o.y)) for line in lines]
    frame = gpd.GeoDataFrame(
        {"name": ["北岸步道", "南岸步道", "人行桥"], "kind": ["footway"] * 3},
        geometry=storage,
        crs=4490,
    )
    return frame, (o.x, o.y)


def load(engine: Engine, path: Path, crs: str | None) -> loading.LoadReport:
    with engine.begin() as conn:
        return loading.load_file(conn, path, "paths", crs, ServiceAreaSettings())


def test_a_gcj02_paths_file_is_published_and_walked_round_the_river(
    engine: Engine, tmp_path: Path
) -> None:
    frame, (ox, oy) = river_and_bridge(engine)
    path = write_layer(frame, tmp_path / "paths.geojson", "paths", crs="gcj02")
    report = load(engine, path, "gcj02")
    assert (report.layer, report.features, report.release) == ("paths", 3, 1)
    with engine.connect() as conn:
        network = current_network(conn)
        assert network is not None and network.id == 1 and network.paths == 3
        assert network.length_m == pytest.approx(3000 + 3000 + 100, abs=0.5)
        graph = network_graph(conn, network.id)
        names = conn.execute(text("SELECT name FROM walking_path ORDER BY id")).scalars().all()
    assert names == ["北岸步道", "南岸步道", "人行桥"]
    a, b = graph.join([ox + 100, ox + 100], [oy + 60, oy - 60])
    # GCJ-02 there and back costs millimetres, not metres
    assert graph.distance(a, b) == pytest.approx(10 + 700 + 100 + 700 + 10, abs=0.05)
    again = load(engine, path, "gcj02")  # a new load is a new network; the old one stays
    assert again.release == 2 and networks(engine) == 2


def test_a_path_that_crosses_itself_is_refused_naming_it(engine: Engine, tmp_path: Path) -> None:
    frame, (ox, oy) = river_and_bridge(engine)
    bowtie = from_metric(
        translate(LineString([(0, 0), (100, 100), (100, 0), (0, 100)]), ox + 5000, oy)
    )
    frame = gpd.GeoDataFrame(
        {"name": [*frame["name"], "绕圈"], "kind": ["footway"] * 4},
        geometry=[*frame.geometry, bowtie],
        crs=4490,
    )
    path = write_layer(frame, tmp_path / "paths.gpkg", "paths")
    with pytest.raises(LoadError, match="path 3 crosses itself") as refused:
        load(engine, path, None)
    assert "nothing was published" in str(refused.value)
    assert networks(engine) == 0


def test_a_layer_in_another_crs_than_it_says_is_refused(engine: Engine, tmp_path: Path) -> None:
    frame, _ = river_and_bridge(engine)
    path = write_layer(frame, tmp_path / "paths.gpkg", "paths", crs="EPSG:4548")
    # metres of the Gauss-Kruger zone read as web-mercator metres land near the equator
    with pytest.raises(LoadError, match="outside the district's extent") as refused:
        load(engine, path, "EPSG:3857")
    assert "pass --crs" in str(refused.value)
    assert networks(engine) == 0


def test_an_empty_layer_is_refused(engine: Engine, tmp_path: Path) -> None:
    empty = tmp_path / "paths.geojson"
    empty.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    with pytest.raises(LoadError, match="has no features"):
        load(engine, empty, "wgs84")
    assert networks(engine) == 0


DEMO_PATHS = Path(__file__).resolve().parents[2] / "data" / "yaohai_demo_paths.gpkg"


def test_the_demo_network_draws_every_service_area_on_it(engine: Engine) -> None:
    report = load(engine, DEMO_PATHS, None)
    assert "service areas drawn on it" in report.notes[1]
    with engine.connect() as conn:
        methods = dict(
            conn.execute(text("SELECT method, count(*) FROM service_area GROUP BY method")).all()
        )
        stations = int(conn.execute(text("SELECT count(*) FROM station")).scalar_one())
        graph = network_graph(conn, 1)
        station_id, wkb = conn.execute(
            text("SELECT id, ST_AsBinary(geom) FROM station ORDER BY id LIMIT 1")
        ).one()
        area = conn.execute(
            text(
                "SELECT ST_AsBinary(geom) FROM service_area WHERE station_id = :s AND minutes = 15"
            ),
            {"s": station_id},
        ).scalar_one()
    assert set(methods) == {"network"}
    assert methods["network"] > 0.9 * 3 * stations  # a station far from every path may lack one
    # the stored polygon (in storage lon/lat) agrees with the walk it was drawn from
    from geogrid.network.areas import Reach, polygon_tolerance_m, walking_metres

    access = ServiceAreaSettings().network_access_m
    station = to_metric(shapely.from_wkb(bytes(wkb)))
    reach = Reach.from_origin(graph, graph.join([station.x], [station.y])[0], 1000)
    polygon = to_metric(shapely.from_wkb(bytes(area)))
    rng = np.random.default_rng(7)
    x = station.x + rng.uniform(-1100, 1100, 1000)
    y = station.y + rng.uniform(-1100, 1100, 1000)
    inside = shapely.contains_xy(polygon, x, y)
    walked = walking_metres(reach, x, y, access)
    slack = polygon_tolerance_m(access) + 0.05  # and the round trip through lon/lat
    assert not (inside & (walked > 1000 + slack)).any()
    clear = walking_metres(reach, x, y, access - slack) <= 1000 - slack
    assert inside[clear].all() and clear.sum() > 20
