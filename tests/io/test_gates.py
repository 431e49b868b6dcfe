"""Compound gates: the demo's load whole; a bad layer is refused naming each bad gate."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely import Point
from sqlalchemy import Engine, create_engine, text

from geogrid.errors import LoadError
from geogrid.io import loading
from geogrid.io.files import write_layer
from geogrid.io.layers import read_layer_from_db
from geogrid.settings import ServiceAreaSettings

DEMO = Path(__file__).resolve().parents[2] / "data" / "yaohai_demo_paths.gpkg"


@pytest.fixture
def engine(fresh_demo_url: str) -> Engine:
    return create_engine(fresh_demo_url)


def gates(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM compound_gate")).scalar_one())


def load(engine: Engine, path: Path) -> loading.LoadReport:
    with engine.begin() as conn:
        return loading.load_file(conn, path, "gates", None, ServiceAreaSettings())


def test_the_demo_gates_load_and_export(engine: Engine, tmp_path: Path) -> None:
    report = load(engine, DEMO)
    assert (report.layer, report.features) == ("gates", 556)
    with engine.connect() as conn:
        exported = read_layer_from_db(conn, "gates")
        organised = conn.execute(
            text("SELECT count(*) FROM compound WHERE kind = 'organised'")
        ).scalar_one()
    assert len(exported) == organised == 556
    assert set(exported.columns) >= {"compound_id", "name", "geometry"}
    # what is exported loads back as the same gates
    path = write_layer(exported, tmp_path / "gates.gpkg", "gates")
    assert load(engine, path).features == 556


def test_a_bad_gate_refuses_the_layer_naming_each(engine: Engine, tmp_path: Path) -> None:
    load(engine, DEMO)
    good = gpd.read_file(DEMO, layer="gates").head(3)
    far = good.geometry.iloc[0]
    bad = gpd.GeoDataFrame(
        {
            "compound_id": [*good["compound_id"], 999_999, int(good["compound_id"].iloc[0])],
            "name": ["a", "b", "c", "ghost", "far"],
        },
        geometry=[*good.geometry, far, Point(far.x + 0.01, far.y)],  # ~950 m east
        crs=4490,
    )
    path = write_layer(bad, tmp_path / "gates.geojson", "gates")
    with pytest.raises(LoadError) as refused:
        load(engine, path)
    message = str(refused.value)
    assert "gate 3: compound 999999 does not exist" in message
    assert "gate 4 of compound" in message and "m from it" in message
    assert "nothing was changed" in message
    assert gates(engine) == 556  # the demo's gates are still there
