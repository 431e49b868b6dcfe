"""Vector tiles (Mapbox Vector Tiles) of the collections, per boundary release.

What OGC API – Tiles and TileJSON serve (``geogrid.api.routes.tiles``), without HTTP: the tile
matrix sets (:mod:`~geogrid.tiles.matrixsets`: WebMercatorQuad and its GCJ-02 twin), the
layers and the properties they carry (:mod:`~geogrid.tiles.layers`: never a personal one), one
tile drawn by PostGIS or, for GCJ-02, converted exactly in numpy
(:mod:`~geogrid.tiles.render`), and the per-release cache (:mod:`~geogrid.tiles.cache`).
"""

from geogrid.tiles.cache import CachedTile, TileCache, TileKey
from geogrid.tiles.layers import COLLECTION_LAYERS, LAYERS, Layer, LayerField, collection_layer
from geogrid.tiles.matrixsets import (
    GCJ02_WEB_MERCATOR_QUAD,
    MAX_ZOOM,
    TILE_MATRIX_SETS,
    WEB_MERCATOR_QUAD,
    Tile,
    TileMatrixSet,
    definition,
    tile,
    tile_matrix_set,
)
from geogrid.tiles.render import MEDIA_TYPE, district_bounds, render, render_release

__all__ = [
    "COLLECTION_LAYERS",
    "GCJ02_WEB_MERCATOR_QUAD",
    "LAYERS",
    "MAX_ZOOM",
    "MEDIA_TYPE",
    "TILE_MATRIX_SETS",
    "WEB_MERCATOR_QUAD",
    "CachedTile",
    "Layer",
    "LayerField",
    "Tile",
    "TileCache",
    "TileKey",
    "TileMatrixSet",
    "collection_layer",
    "definition",
    "district_bounds",
    "render",
    "render_release",
    "tile",
    "tile_matrix_set",
]
