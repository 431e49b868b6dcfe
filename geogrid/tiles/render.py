"""Mapbox Vector Tiles from PostGIS: one tile of one or more layers, for one release.

``WebMercatorQuad`` tiles are one parametrised statement: per layer, the rows whose storage
envelope meets the tile (the spatial index), put on the tile by ``ST_AsMVTGeom`` (clipped to
the tile and a 64-pixel buffer, snapped to the 4096 grid, made valid) and encoded by
``ST_AsMVT``; the layers are concatenated, which the MVT format allows.

``GCJ02WebMercatorQuad`` tiles need the GCJ-02 forward conversion, which PostGIS cannot do:
``ST_Transform`` knows only PROJ's CRSs, and GCJ-02 is an obfuscation formula, not a datum
(no EPSG code, no PROJ pipeline). Writing the formula in SQL would mean dumping every vertex
(``ST_DumpPoints``) and rebuilding each ring, slower than Python and easy to get wrong. So the
rows are read with the same SQL (their WKB and properties), every vertex is converted exactly,
vectorised, by :func:`geogrid.geo.datum.wgs84_to_gcj02` (the one implementation the rest of
geogrid uses, so a tile agrees with every other GCJ-02 answer to the centimetre), projected
and scaled to tile pixels in numpy, clipped and snapped by GEOS (``clip_by_rect`` and
``set_precision``, which keeps polygons valid as ``ST_AsMVTGeom`` does), and encoded by the
``mapbox-vector-tile`` package. The district's data is small (the densest tile holds a few
thousand vertices), so this costs milliseconds, and tiles are cached anyway.

Nothing here knows of HTTP; values are bound parameters, identifiers quoted.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import mapbox_vector_tile
import numpy as np
import numpy.typing as npt
import shapely
from sqlalchemy import Connection, text
from sqlalchemy.sql.elements import TextClause

from geogrid.boundaries.releases import current_release, get_release
from geogrid.db import quote_ident
from geogrid.db.sqlfiles import sql
from geogrid.errors import NotFoundError
from geogrid.features.gaps import gap_rows
from geogrid.geo.datum import gcj02_to_wgs84, wgs84_to_gcj02
from geogrid.i18n import tr
from geogrid.tiles.layers import Layer
from geogrid.tiles.matrixsets import (
    Tile,
    TileMatrixSet,
    lon_lat_to_mercator,
    mercator_to_lon_lat,
)

#: Tile coordinates run 0 .. EXTENT; geometries are kept BUFFER pixels beyond the tile so
#: that lines and fills join seamlessly across tile edges.
EXTENT = 4096
BUFFER = 64
MEDIA_TYPE = "application/vnd.mapbox-vector-tile"


def render(
    conn: Connection,
    tms: TileMatrixSet,
    layers: Sequence[Layer],
    release: int,
    tile: Tile,
) -> bytes:
    """One tile of ``layers`` drawn from ``release`` (b"" when no feature meets it).

    Parameters
    ----------
    conn : Connection
        An open connection.
    tms : TileMatrixSet
        Where the data is drawn: Web Mercator, or Web Mercator over GCJ-02.
    layers : sequence of Layer
        One MVT layer each, named by the layer's id, in this order.
    release : int
        The boundary release the per-release layers read (a published one).
    tile : Tile
        Zoom, row and column, already checked against the matrices.

    Returns
    -------
    bytes
        The tile, Mapbox Vector Tile 2.1 (protobuf).
    """
    parameters = _parameters(conn, layers, release, tile, tms)
    if tms.datum == "wgs84":
        statement = _mercator_statement(tuple(layers))
        return bytes(conn.execute(statement, parameters).scalar_one())
    return _gcj02_tile(conn, layers, tile, parameters)


def _parameters(
    conn: Connection,
    layers: Sequence[Layer],
    release: int,
    tile: Tile,
    tms: TileMatrixSet,
) -> dict[str, Any]:
    x0, y0, x1, y1 = storage_envelope(tile, tms)
    parameters: dict[str, Any] = {
        "z": tile.zoom,
        "x": tile.col,
        "y": tile.row,
        "x0": x0,
        "y0": y0,
        "x1": x1,
        "y1": y1,
        "release": release,
    }
    if any(layer.computed for layer in layers):
        parameters.update(gap_rows(conn, release))
    for i, layer in enumerate(layers):
        parameters[f"layer_{i}"] = layer.id
    return parameters


def storage_envelope(tile: Tile, tms: TileMatrixSet) -> tuple[float, float, float, float]:
    """The storage (EPSG:4490) lon/lat box holding every vertex the tile and its buffer draw.

    For GCJ-02 the tile's edge points are converted back (GCJ-02 to WGS 84, exact inverse) and
    the box widened by about a metre: the GCJ-02 offset changes by well under that across a
    tile, so no vertex drawn in the tile lies outside the box.
    """
    x0, y0, x1, y1 = tile.bounds
    margin = (x1 - x0) * BUFFER / EXTENT
    x0, y0, x1, y1 = x0 - margin, y0 - margin, x1 + margin, y1 + margin
    if tms.datum == "wgs84":
        lon0, lat0 = mercator_to_lon_lat(x0, y0)
        lon1, lat1 = mercator_to_lon_lat(x1, y1)
        return lon0, lat0, lon1, lat1
    xs = np.array([x0, (x0 + x1) / 2, x1] * 3)
    ys = np.repeat([y0, (y0 + y1) / 2, y1], 3)
    corners = [mercator_to_lon_lat(x, y) for x, y in zip(xs, ys, strict=True)]
    lon, lat = gcj02_to_wgs84([c[0] for c in corners], [c[1] for c in corners])
    pad = 1e-5
    return (
        float(lon.min()) - pad,
        float(lat.min()) - pad,
        float(lon.max()) + pad,
        float(lat.max()) + pad,
    )


def _columns(layer: Layer) -> str:
    return ", ".join(f"f.{quote_ident(field.name)}" for field in layer.fields)


def _rows(layer: Layer) -> str:
    """The layer's rows that meet the tile's storage envelope (``:x0`` .. ``:y1``)."""
    return (
        f"FROM (\n{sql(layer.sql)}\n) f\nWHERE f.geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4490)"
    )


@cache
def _mercator_statement(layers: tuple[Layer, ...]) -> TextClause:
    """One statement drawing every layer of a Web Mercator tile, built once per layer list.

    There is no ``WHERE geom IS NOT NULL`` on ``ST_AsMVTGeom``'s result (a feature that
    vanishes at this zoom): PostgreSQL flattens the subquery and would compute
    ``ST_AsMVTGeom`` twice, a third of a whole-district tile's time, and ``ST_AsMVT`` skips
    rows whose geometry is null anyway (the demo's tiles at z11, z14 and z16 came out byte
    for byte the same with and without the filter).
    """
    parts = []
    for i, layer in enumerate(layers):
        parts.append(
            f"COALESCE((SELECT ST_AsMVT(t, :layer_{i}, {EXTENT}, 'geom') FROM (\n"
            f"SELECT {_columns(layer)}, ST_AsMVTGeom(ST_Transform(f.geom, 3857), "
            f"ST_TileEnvelope(:z, :x, :y), {EXTENT}, {BUFFER}, true) AS geom\n"
            f"{_rows(layer)}\n) t), ''::bytea)"
        )
    return text("SELECT " + "\n|| ".join(parts))


@cache
def _rows_statement(layer: Layer) -> TextClause:
    """The rows of one layer with their storage WKB, for tiles drawn in Python."""
    return text(f"SELECT {_columns(layer)}, ST_AsBinary(f.geom) AS wkb\n{_rows(layer)}")


def _gcj02_tile(
    conn: Connection, layers: Sequence[Layer], tile: Tile, parameters: dict[str, Any]
) -> bytes:
    encoded = []
    for layer in layers:
        rows = conn.execute(_rows_statement(layer), parameters).all()
        if not rows:
            continue
        shapes = to_tile_pixels(shapely.from_wkb([bytes(r.wkb) for r in rows]), tile, datum="gcj02")
        names = [field.name for field in layer.fields]
        features = []
        for row, shape in zip(rows, shapes, strict=True):
            if shape is None or shape.is_empty:
                continue
            properties = {
                name: value
                for name, value in zip(names, row[: len(names)], strict=True)
                if value is not None
            }
            features.append({"geometry": shape, "properties": properties})
        if features:
            encoded.append({"name": layer.id, "features": features})
    if not encoded:
        return b""
    options = {"extents": EXTENT, "y_coord_down": True, "quantize_bounds": None}
    return bytes(mapbox_vector_tile.encode(encoded, default_options=options))


def to_tile_pixels(
    shapes: npt.NDArray[np.object_], tile: Tile, datum: str
) -> npt.NDArray[np.object_]:
    """Storage geometries as ``tile`` pixels (0 .. EXTENT, y down), clipped to the tile and
    its buffer and snapped to whole pixels; None where nothing is left.

    ``datum`` ``"gcj02"`` moves every vertex by the exact GCJ-02 forward conversion first.
    """
    x0, _, x1, y1 = tile.bounds
    scale = EXTENT / (x1 - x0)

    def pixels(xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        lon, lat = xy[:, 0], xy[:, 1]
        if datum == "gcj02":
            lon, lat = wgs84_to_gcj02(lon, lat)
        mx, my = lon_lat_to_mercator(lon, lat)
        return np.column_stack(((mx - x0) * scale, (y1 - my) * scale))

    moved = shapely.transform(shapes, pixels)
    clipped = shapely.clip_by_rect(moved, -BUFFER, -BUFFER, EXTENT + BUFFER, EXTENT + BUFFER)
    # snapping to whole pixels as ST_AsMVTGeom does; GEOS keeps polygons valid while it snaps
    snapped = shapely.set_precision(clipped, 1.0)
    out = np.empty(len(snapped), dtype=object)
    for i, shape in enumerate(snapped):
        out[i] = None if shape is None or shape.is_empty else _polygonal_or_point(shape)
    return out


def _polygonal_or_point(shape: Any) -> Any:
    """A clip may leave a collection (a polygon touching the buffer's edge in a line): keep
    its polygons, as ST_AsMVTGeom keeps a polygon layer's polygons only."""
    if shape.geom_type != "GeometryCollection":
        return shape
    polygons = [p for p in shapely.get_parts(shape) if p.geom_type in ("Polygon", "MultiPolygon")]
    if not polygons:
        return None
    return shapely.union_all(polygons)


def render_release(conn: Connection, release: int | None, current: int | None) -> int:
    """The release a tile is drawn from: ``release`` if published (NotFoundError if not),
    else ``current`` (the newest the process knows of), else the newest in the database."""
    if release is not None:
        return release if release == current else get_release(conn, release).id
    if current is not None:
        return current
    newest = current_release(conn)
    if newest is None:
        raise NotFoundError(tr("no boundary release is published yet"))
    return newest.id


def district_bounds(conn: Connection) -> tuple[float, float, float, float] | None:
    """The district's lon/lat bounds (storage, taken as CRS84), None before it is loaded."""
    row = conn.execute(
        text(
            "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) "
            "FROM (SELECT ST_Extent(geom) AS b FROM district) e"
        )
    ).one()
    if row[0] is None:
        return None
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))
