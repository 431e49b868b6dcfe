"""The tile matrix sets geogrid serves tiles in: ``WebMercatorQuad`` and its GCJ-02 twin.

Both have the matrices of OGC's WebMercatorQuad (OGC 17-083r4, annex D): 256-pixel tiles over
EPSG:3857 from zoom 0 to 24, origin at the top left corner. They differ in where the data is
drawn: ``WebMercatorQuad`` puts storage (CGCS2000, taken as WGS 84) coordinates on the Web
Mercator plane as any standard base map expects; ``GCJ02WebMercatorQuad`` first moves every
vertex by the exact GCJ-02 forward conversion (:func:`geogrid.geo.datum.wgs84_to_gcj02`), so
the layers sit on AMap/高德 and Tencent/腾讯 base maps, which are drawn in GCJ-02 (about 570 m
away in Yaohai). Nothing here knows of HTTP.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from geogrid.errors import InvalidInputError, NotFoundError
from geogrid.i18n import tr

#: Half the width of the Web Mercator square, metres (EPSG:3857's false easting bound).
HALF_WORLD = 20037508.342789244
#: The zoom levels (tile matrices) of both sets, as OGC's WebMercatorQuad defines them.
MAX_ZOOM = 24
TILE_SIZE = 256
#: The pixel size OGC tile matrix sets assume when they state scale denominators (0.28 mm).
_PIXEL_M = 0.00028


@dataclass(frozen=True)
class TileMatrixSet:
    """One tile matrix set: its id, words, CRS and the datum its data is drawn in."""

    id: str
    title: str
    description: str
    #: the OGC definition this set is, or None for geogrid's own (the GCJ-02 one)
    uri: str | None
    crs: str
    #: the datum vertices are put in before they are projected: "wgs84" or "gcj02"
    datum: Literal["wgs84", "gcj02"]


WEB_MERCATOR_QUAD = TileMatrixSet(
    "WebMercatorQuad",
    "Google Maps Compatible for the World",
    "OGC's WebMercatorQuad: the standard Web Mercator tiles of OpenStreetMap, 天地图 and most "
    "base maps.",
    "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad",
    "http://www.opengis.net/def/crs/EPSG/0/3857",
    "wgs84",
)
GCJ02_WEB_MERCATOR_QUAD = TileMatrixSet(
    "GCJ02WebMercatorQuad",
    "WebMercatorQuad over GCJ-02 (AMap, Tencent)",
    "The matrices of WebMercatorQuad, with the data moved by the exact GCJ-02 forward "
    "conversion before it is projected: it lines up with AMap/高德 and Tencent/腾讯 base maps.",
    None,
    "urn:x-geogrid:def:crs:GCJ-02:WebMercator",
    "gcj02",
)
TILE_MATRIX_SETS: tuple[TileMatrixSet, ...] = (WEB_MERCATOR_QUAD, GCJ02_WEB_MERCATOR_QUAD)
_BY_ID = {t.id: t for t in TILE_MATRIX_SETS}


@dataclass(frozen=True)
class Tile:
    """One tile: zoom (tile matrix), row (y, from the top) and column (x, from the left)."""

    zoom: int
    row: int
    col: int

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """The tile's extent in Web Mercator metres (min x, min y, max x, max y)."""
        size = 2 * HALF_WORLD / (1 << self.zoom)
        x0 = -HALF_WORLD + self.col * size
        y1 = HALF_WORLD - self.row * size
        return (x0, y1 - size, x0 + size, y1)


def tile_matrix_set(tms_id: str) -> TileMatrixSet:
    """The tile matrix set called ``tms_id``, or NotFoundError naming those that exist."""
    found = _BY_ID.get(tms_id)
    if found is None:
        raise NotFoundError(
            tr(
                'tile matrix set "{tms}" does not exist; the tile matrix sets are {ids}',
                tms=tms_id,
                ids=list(_BY_ID),
            )
        )
    return found


def tile(tile_matrix: str, row: int, col: int) -> Tile:
    """The tile named by OGC's path parameters, checked against the matrices.

    Raises
    ------
    InvalidInputError
        ``tile_matrix`` is not one of ``0`` .. ``24``, or the row or column lies outside
        ``0`` .. ``2**zoom - 1``.

    Examples
    --------
    >>> tile("14", 6712, 13529)
    Tile(zoom=14, row=6712, col=13529)
    """
    if not (tile_matrix.isascii() and tile_matrix.isdigit()) or int(tile_matrix) > MAX_ZOOM:
        raise InvalidInputError(
            tr(
                'tileMatrix was "{tile_matrix}" but must be a tile matrix of the set, 0 to {max}',
                tile_matrix=tile_matrix,
                max=MAX_ZOOM,
            )
        )
    zoom = int(tile_matrix)
    last = (1 << zoom) - 1
    for name, value in (("tileRow", row), ("tileCol", col)):
        if not 0 <= value <= last:
            raise InvalidInputError(
                tr(
                    "{name} was {value} but must be within [0, {last}] at tile matrix {zoom}",
                    name=name,
                    value=value,
                    last=last,
                    zoom=zoom,
                )
            )
    return Tile(zoom, row, col)


def lon_lat_to_mercator(lon: Any, lat: Any) -> tuple[Any, Any]:
    """Spherical Web Mercator (EPSG:3857) of longitudes and latitudes (numpy or floats)."""
    x = np.radians(lon) * (HALF_WORLD / math.pi)
    clipped = np.clip(lat, -85.06, 85.06)
    y = np.log(np.tan(np.pi / 4 + np.radians(clipped) / 2)) * (HALF_WORLD / math.pi)
    return x, y


def mercator_to_lon_lat(x: float, y: float) -> tuple[float, float]:
    """Longitude and latitude of a Web Mercator point."""
    lon = math.degrees(x / HALF_WORLD * math.pi)
    lat = math.degrees(2 * math.atan(math.exp(y / HALF_WORLD * math.pi)) - math.pi / 2)
    return lon, lat


def definition(tms: TileMatrixSet) -> dict[str, Any]:
    """The set as an OGC Two Dimensional Tile Matrix Set 2.0 document (JSON encoding)."""
    matrices = []
    for zoom in range(MAX_ZOOM + 1):
        cell = 2 * HALF_WORLD / TILE_SIZE / (1 << zoom)
        matrices.append(
            {
                "id": str(zoom),
                "scaleDenominator": cell / _PIXEL_M,
                "cellSize": cell,
                "cornerOfOrigin": "topLeft",
                "pointOfOrigin": [-HALF_WORLD, HALF_WORLD],
                "tileWidth": TILE_SIZE,
                "tileHeight": TILE_SIZE,
                "matrixWidth": 1 << zoom,
                "matrixHeight": 1 << zoom,
            }
        )
    body: dict[str, Any] = {
        "id": tms.id,
        "title": tms.title,
        "description": tms.description,
        "crs": tms.crs,
        "orderedAxes": ["X", "Y"],
        "tileMatrices": matrices,
    }
    if tms.uri is not None:
        body["uri"] = tms.uri
        body["wellKnownScaleSet"] = "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible"
    return body
