"""Loading users' grid files: a good file publishes release 2, bad files change nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from sqlalchemy import Engine, create_engine

from geogrid.boundaries import releases
from geogrid.boundaries.validation import check_release
from geogrid.errors import LoadError
from geogrid.geo.datum import to_metric
from geogrid.io import loading
from geogrid.io.files import read_layer, write_layer
from geogrid.io.layers import read_layer_from_db
from geogrid.settings import ServiceAreaSettings
from tests.helpers import count, fingerprint


@pytest.fixture
def engine(fresh_demo_url: str) -> Iterator[Engine]:
    engine = create_engine(fresh_demo_url)
    yield engine
    engine.dispose()


@pytest.fixture
def release_1(engine: Engine) -> gpd.GeoDataFrame:
    with engine.connect() as conn:
        return read_layer_from_db(conn, "grids", 1)


def load(engine: Engine, path: Path, crs: str | None = "cgcs2000") -> loading.LoadReport:
    with engine.begin() as conn:
        return loading.load_file(conn, path, "grids", crs, ServiceAreaSettings())


def transfer(grids: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, str, str]:
    """Move a ~20 m strip along a long shared edge from one grid to its neighbour in the same
    community, choosing a pair where both grids stay in one piece."""
    metric = [to_metric(g) for g in grids.geometry]
    tree = shapely.STRtree(metric)
    left, right = tree.query(metric, predicate="intersects")
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i >= j or grids["community_code"].iloc[i] != grids["community_code"].iloc[j]:
            continue
        if metric[i].intersection(metric[j]).length < 300:
            continue
        edge = grids.geometry.iloc[i].intersection(grids.geometry.iloc[j])
        strip = grids.geometry.iloc[j].intersection(edge.buffer(0.0002))
        gained = shapely.union(grids.geometry.iloc[i], strip)
        lost = shapely.difference(grids.geometry.iloc[j], strip)
        if (
            shapely.get_num_geometries(gained) == 1 == shapely.get_num_geometries(lost)
            and to_metric(gained).is_valid
            and to_metric(lost).is_valid
        ):
            geoms = list(grids.geometry)
            geoms[i] = shapely.MultiPolygon(shapely.get_parts(gained))
            geoms[j] = shapely.MultiPolygon(shapely.get_parts(lost))
            out = grids.set_geometry(geoms, crs=grids.crs)
            return out, str(grids["code"].iloc[i]), str(grids["code"].iloc[j])
    raise AssertionError("no pair of neighbours fits")


def test_a_good_grids_file_publishes_release_2_and_keeps_release_1(
    engine: Engine, release_1: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    changed, gainer, loser = transfer(release_1)
    path = write_layer(changed, tmp_path / "grids.gpkg", "grids")
    report = load(engine, path)
    assert (report.release, report.new_release) == (2, True)
    with engine.connect() as conn:
        assert check_release(conn, 2) == []
        assert check_release(conn, 1) == []
        new = read_layer_from_db(conn, "grids", 2).set_index("code")
        old = read_layer_from_db(conn, "grids", 1).set_index("code")
    assert count(engine, "SELECT count(*) FROM grid_geometry WHERE valid_from_release = 2") <= 10
    assert to_metric(new.geometry[gainer]).area > to_metric(old.geometry[gainer]).area + 1000
    assert to_metric(new.geometry[loser]).area < to_metric(old.geometry[loser]).area - 1000
    assert old.geometry[gainer].equals(release_1.set_index("code").geometry[gainer])


def test_reloading_the_current_layer_publishes_nothing(
    engine: Engine, release_1: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    path = write_layer(release_1, tmp_path / "same.gpkg", "grids")
    before = fingerprint(engine)
    report = load(engine, path)
    assert (report.release, report.new_release) == (1, False)
    assert fingerprint(engine) == before


def test_a_gcj02_file_loads_to_within_a_centimetre(
    engine: Engine, release_1: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    path = write_layer(release_1, tmp_path / "amap.geojson", "grids", crs="gcj02")
    report = load(engine, path, crs="gcj02")
    assert report.release == 2
    with engine.connect() as conn:
        new = read_layer_from_db(conn, "grids", 2).set_index("code")
    old = release_1.set_index("code")
    worst = max(
        to_metric(new.geometry[c]).hausdorff_distance(to_metric(old.geometry[c]))
        for c in old.index[:50]
    )
    assert worst < 0.01


# ---- bad files: each fails with a clear message and the database stays as it was -----------


def bowtie(grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = grids.copy()
    minx, miny, maxx, maxy = out.geometry.iloc[5].bounds
    geoms = list(out.geometry)
    geoms[5] = shapely.MultiPolygon(
        [shapely.Polygon([(minx, miny), (maxx, maxy), (maxx, miny), (minx, maxy)])]
    )
    return out.set_geometry(geoms, crs=grids.crs)


def shifted_to_gcj02_but_called_wgs84(grids: gpd.GeoDataFrame, tmp_path: Path) -> Path:
    return write_layer(grids, tmp_path / "gcj.geojson", "grids", crs="gcj02")


BAD_FILES = {
    "projected file called wgs84": (
        lambda g, d: write_layer(g, d / "metric.gpkg", "grids", crs="EPSG:4548"),
        "wgs84",
        "EPSG:4548",
    ),
    "metres labelled as degrees": (
        lambda g, d: write_layer(
            g.set_geometry([to_metric(x) for x in g.geometry], crs=4490),
            d / "m.geojson",
            "grids",
            crs="cgcs2000",
        ),
        "wgs84",
        "not degrees",
    ),
    "gcj02 coordinates taken as wgs84 (570 m off)": (
        shifted_to_gcj02_but_called_wgs84,
        "wgs84",
        "invariant",
    ),
    "self-intersecting polygon": (
        lambda g, d: write_layer(bowtie(g), d / "bowtie.gpkg", "grids"),
        "cgcs2000",
        "invalid",
    ),
    "missing columns": (
        lambda g, d: write_layer(g.drop(columns=["kind", "name"]), d / "cols.gpkg", "grids"),
        "cgcs2000",
        "missing ['name', 'kind']",
    ),
    "empty file": (
        lambda g, d: _write_text(
            d / "empty.geojson", json.dumps({"type": "FeatureCollection", "features": []})
        ),
        "wgs84",
        "no features",
    ),
    "a layer that leaves a gap": (
        lambda g, d: write_layer(g.drop(index=g.index[10]), d / "gap.gpkg", "grids"),
        "cgcs2000",
        "gap",
    ),
    "not a geodata file": (
        lambda g, d: _write_text(d / "notes.geojson", "this is not json"),
        "wgs84",
        "cannot be read",
    ),
}


def _write_text(path: Path, content: str) -> Path:
    path.write_text(content)
    return path


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_files_fail_clearly_and_change_nothing(
    case: str, engine: Engine, release_1: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    make, crs, expected = BAD_FILES[case]
    path = make(release_1, tmp_path)
    before = fingerprint(engine)
    with pytest.raises(LoadError) as caught:
        load(engine, path, crs=crs)
    text_and_details = caught.value.message + " ".join(
        v.message + v.rule for v in (caught.value.details or [])
    )
    assert expected in text_and_details
    assert str(path) in caught.value.message or caught.value.details
    assert fingerprint(engine) == before
    with engine.connect() as conn:
        current = releases.current_release(conn)
    assert current is not None and current.id == 1


def test_a_gap_is_reported_with_its_location(
    engine: Engine, release_1: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    dropped = release_1.iloc[10]
    path = write_layer(release_1.drop(index=release_1.index[10]), tmp_path / "gap.gpkg", "grids")
    with pytest.raises(LoadError) as caught:
        load(engine, path)
    gaps = [v for v in caught.value.details if v.rule == "gap"]
    assert len(gaps) == 1
    assert gaps[0].location is not None
    assert gaps[0].location.buffer(1e-7).covers(dropped.geometry.representative_point())
    assert gaps[0].area_m2 == pytest.approx(to_metric(dropped.geometry).area, rel=1e-6)


def test_small_mismatches_are_snapped(
    engine: Engine, release_1: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    # Nudge every vertex of one grid by ~0.2 m: a desktop-GIS drawing that almost fits.
    moved = release_1.copy()
    geoms = list(moved.geometry)
    geoms[3] = shapely.transform(geoms[3], lambda xy: xy + np.array([2e-6, -1.5e-6]))
    moved = moved.set_geometry(geoms, crs=release_1.crs)
    path = write_layer(moved, tmp_path / "nudged.gpkg", "grids")
    report = load(engine, path)
    assert report.snapped >= 1
    with engine.connect() as conn:
        assert check_release(conn, report.release or 0) == []


def test_read_layer_names_the_allowed_layers(tmp_path: Path) -> None:
    with pytest.raises(
        LoadError,
        match=r"must be one of \['grids', 'compounds', 'stations', 'paths', 'gates', 'land'\]",
    ):
        read_layer(tmp_path / "x.gpkg", "roads")


# ---- compounds and stations ------------------------------------------------------------------


def load_layer(
    engine: Engine, path: Path, layer: str, crs: str | None = None
) -> loading.LoadReport:
    with engine.begin() as conn:
        return loading.load_file(conn, path, layer, crs, ServiceAreaSettings())


def test_a_stations_file_replaces_the_layer_and_redraws_service_areas(
    engine: Engine, tmp_path: Path
) -> None:
    with engine.connect() as conn:
        stations = read_layer_from_db(conn, "stations")
    kept = stations[stations["kind"] != "courier_rest"].drop(columns=["community_code"])
    path = write_layer(kept, tmp_path / "stations.geojson", "stations", crs="gcj02")
    report = load_layer(engine, path, "stations", crs="gcj02")
    assert report.features == len(kept)
    assert count(engine, "SELECT count(*) FROM station") == len(kept)
    assert count(engine, "SELECT count(*) FROM station WHERE community_code IS NULL") == 0
    assert count(engine, "SELECT count(*) FROM service_area") == 3 * len(kept)
    assert count(engine, "SELECT count(*) FROM station WHERE kind = 'courier_rest'") == 0


@pytest.mark.parametrize(
    "column, value, expected",
    [
        ("households", -5, "whole number >= 0"),
        ("kind", "tower", "allowed: ['organised', 'scattered']"),
    ],
)
def test_a_bad_compounds_file_changes_nothing(
    engine: Engine, tmp_path: Path, column: str, value: object, expected: str
) -> None:
    with engine.connect() as conn:
        compounds = read_layer_from_db(conn, "compounds")
    compounds[column] = compounds[column].astype(object)
    compounds.loc[compounds.index[3], column] = value
    path = write_layer(compounds, tmp_path / "compounds.gpkg", "compounds")
    before = fingerprint(engine)
    with pytest.raises(LoadError, match=re.escape(expected)):
        load_layer(engine, path, "compounds")
    assert fingerprint(engine) == before


def test_a_compounds_file_keeps_ids(engine: Engine, tmp_path: Path) -> None:
    with engine.connect() as conn:
        compounds = read_layer_from_db(conn, "compounds")
    path = write_layer(compounds, tmp_path / "compounds.gpkg", "compounds")
    assert load_layer(engine, path, "compounds").features == 640
    assert count(engine, "SELECT count(*) FROM compound WHERE name = '恒通小区'") == 1
    assert count(engine, "SELECT max(id) FROM compound") == int(compounds["id"].max())
