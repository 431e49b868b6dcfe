"""Tile matrix sets: the matrices, the checks on a tile's address, the definition document."""

from __future__ import annotations

import pytest

from geogrid import tiles
from geogrid.errors import InvalidInputError, NotFoundError
from geogrid.tiles.layers import LAYERS
from geogrid.tiles.matrixsets import HALF_WORLD, lon_lat_to_mercator, mercator_to_lon_lat


def test_tiles_outside_the_matrices_are_refused_naming_the_range() -> None:
    with pytest.raises(InvalidInputError, match=r"0 to 24"):
        tiles.tile("25", 0, 0)
    with pytest.raises(InvalidInputError, match=r"tileMatrix"):
        tiles.tile("-1", 0, 0)
    with pytest.raises(InvalidInputError, match=r"tileRow was 4 but must be within \[0, 3\]"):
        tiles.tile("2", 4, 0)
    with pytest.raises(InvalidInputError, match=r"tileCol was 2 but must be within \[0, 1\]"):
        tiles.tile("1", 0, 2)
    assert tiles.tile("0", 0, 0).bounds == pytest.approx(
        (-HALF_WORLD, -HALF_WORLD) * 1 + (HALF_WORLD, HALF_WORLD)
    )


def test_unknown_tile_matrix_set_names_those_that_exist() -> None:
    with pytest.raises(NotFoundError, match="WebMercatorQuad"):
        tiles.tile_matrix_set("WorldCRS84Quad")


def test_definitions_follow_ogc_webmercatorquad() -> None:
    body = tiles.definition(tiles.WEB_MERCATOR_QUAD)
    assert body["uri"] == "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
    zero, fourteen = body["tileMatrices"][0], body["tileMatrices"][14]
    # the figures of OGC 17-083r4 annex D
    assert zero["scaleDenominator"] == pytest.approx(559082264.028717, rel=1e-9)
    assert fourteen["cellSize"] == pytest.approx(9.554628535647032, rel=1e-9)
    assert fourteen["matrixWidth"] == 2**14 and len(body["tileMatrices"]) == 25
    gcj = tiles.definition(tiles.GCJ02_WEB_MERCATOR_QUAD)
    assert gcj["tileMatrices"] == body["tileMatrices"] and "uri" not in gcj


def test_mercator_round_trips() -> None:
    x, y = lon_lat_to_mercator(117.35, 31.87)
    lon, lat = mercator_to_lon_lat(float(x), float(y))
    assert (lon, lat) == pytest.approx((117.35, 31.87), abs=1e-9)


def test_no_layer_names_a_personal_property() -> None:
    names = {f.name for layer in LAYERS for f in layer.fields}
    assert not names & {
        "leader_name",
        "leader_phone",
        "party_secretary_name",
        "party_secretary_phone",
    }
    assert tiles.collection_layer("grids").id == "grids"
    with pytest.raises(NotFoundError):
        tiles.collection_layer("cases")
