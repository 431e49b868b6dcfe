"""Tiles drawn from the demo database: layers, properties, the GCJ-02 shift, the cache."""

from __future__ import annotations

import math
from collections.abc import Iterator

import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from shapely.geometry import shape
from sqlalchemy import Connection, Engine

from geogrid import tiles
from geogrid.geo.datum import wgs84_to_gcj02
from geogrid.tiles.matrixsets import lon_lat_to_mercator, mercator_to_lon_lat
from geogrid.tiles.render import EXTENT

#: A point in the middle of Yaohai's grids.
LON, LAT = 117.35, 31.87


def address(lon: float, lat: float, zoom: int) -> tiles.Tile:
    n = 2**zoom
    col = int((lon + 180) / 360 * n)
    rad = math.radians(lat)
    row = int((1 - math.log(math.tan(rad) + 1 / math.cos(rad)) / math.pi) / 2 * n)
    return tiles.tile(str(zoom), row, col)


@pytest.fixture
def conn(demo_engine: Engine) -> Iterator[Connection]:
    with demo_engine.connect() as c:
        yield c


def _grids(conn: Connection, tms: tiles.TileMatrixSet, tile: tiles.Tile) -> dict[str, object]:
    data = tiles.render(conn, tms, [tiles.collection_layer("grids")], 1, tile)
    decoded = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})
    return {f["properties"]["code"]: f for f in decoded["grids"]["features"]}


def test_dataset_tile_has_a_layer_per_collection_and_no_person(conn: Connection) -> None:
    data = tiles.render(conn, tiles.WEB_MERCATOR_QUAD, tiles.LAYERS, 1, address(LON, LAT, 13))
    decoded = mapbox_vector_tile.decode(data)
    assert set(decoded) == {layer.id for layer in tiles.LAYERS}
    for layer in tiles.LAYERS:
        allowed = {f.name for f in layer.fields}
        for feature in decoded[layer.id]["features"]:
            assert set(feature["properties"]) <= allowed
    grid = decoded["grids"]["features"][0]["properties"]
    assert (
        len(grid["code"]) == 15
        and grid["release"] == 1
        and grid["kind"] in ("resident", "dedicated")
    )
    assert "leader_name" not in grid and "leader_phone" not in grid


def test_a_tile_far_from_the_district_is_empty(conn: Connection) -> None:
    assert tiles.render(conn, tiles.WEB_MERCATOR_QUAD, tiles.LAYERS, 1, address(0, 0, 10)) == b""
    assert (
        tiles.render(conn, tiles.GCJ02_WEB_MERCATOR_QUAD, tiles.LAYERS, 1, address(0, 0, 10)) == b""
    )


def _to_lon_lat(geometry: object, tile: tiles.Tile) -> object:
    x0, _, x1, y1 = tile.bounds
    size = x1 - x0

    def back(xy: np.ndarray) -> np.ndarray:
        mx = x0 + xy[:, 0] / EXTENT * size
        my = y1 - xy[:, 1] / EXTENT * size
        return np.array([mercator_to_lon_lat(a, b) for a, b in zip(mx, my, strict=True)])

    return shapely.transform(geometry, back)


def test_gcj02_tiles_are_the_exact_forward_conversion_of_webmercator_ones(conn: Connection) -> None:
    tile = address(LON, LAT, 13)
    plain = _grids(conn, tiles.WEB_MERCATOR_QUAD, tile)
    shifted = _grids(conn, tiles.GCJ02_WEB_MERCATOR_QUAD, tile)
    inside = [
        code
        for code in set(plain) & set(shifted)
        if shapely.box(0, 0, EXTENT, EXTENT).contains(shape(plain[code]["geometry"]))
        and shapely.box(0, 0, EXTENT, EXTENT).contains(shape(shifted[code]["geometry"]))
    ]
    assert inside, "a grid drawn whole in both tiles"
    for code in inside:
        a = _to_lon_lat(shape(plain[code]["geometry"]).centroid, tile)
        b = _to_lon_lat(shape(shifted[code]["geometry"]).centroid, tile)
        # ~570 m in Yaohai, measured on the ground
        dx = (b.x - a.x) * 111_320 * math.cos(math.radians(a.y))
        dy = (b.y - a.y) * 110_574
        assert 450 < math.hypot(dx, dy) < 700
        # and where geogrid.geo.datum puts it, to about two pixels at z13 (a pixel is ~1.2 m)
        lon, lat = wgs84_to_gcj02(a.x, a.y)
        ex, ey = lon_lat_to_mercator(float(lon), float(lat))
        bx, by = lon_lat_to_mercator(b.x, b.y)
        assert math.hypot(float(ex) - float(bx), float(ey) - float(by)) < 2.5


def test_cache_is_bounded_in_bytes() -> None:
    cache = tiles.TileCache(10_000)
    for i in range(10):
        cache.put((1, "WebMercatorQuad", ("grids",), 14, 0, i), tiles.CachedTile.of(1, b"x" * 2000))
    assert cache.bytes_used <= 10_000 and 0 < len(cache) < 10
    assert cache.get((1, "WebMercatorQuad", ("grids",), 14, 0, 9)) is not None
    assert cache.get((1, "WebMercatorQuad", ("grids",), 14, 0, 0)) is None
    off = tiles.TileCache(0)
    off.put((1, "WebMercatorQuad", ("grids",), 14, 0, 0), tiles.CachedTile.of(1, b"x"))
    assert len(off) == 0
