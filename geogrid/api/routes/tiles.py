"""OGC API – Tiles and TileJSON at ``/ogc``: Mapbox Vector Tiles of every collection.

``/ogc/tiles`` lists the dataset's tilesets (every collection as one layer each, plus the
district outline), ``/ogc/collections/{id}/tiles`` one collection's; each tileset is offered in
``WebMercatorQuad`` and ``GCJ02WebMercatorQuad`` (``/ogc/tileMatrixSets``). A tile is drawn
from one boundary release: ``?release=N`` pins it (and the answer is immutable), else the
newest the process serves (a short max-age and an ETag). TileJSON's tile URLs pin the current
release, so a map's tiles never mix two releases. Tiles never carry a personal field, so one
tile serves every caller and is cached once (``geogrid.tiles.cache``).

Errors take OGC's exception body (``api/errors.py``): a tile outside the matrices, a bad
``f`` are 400; an unknown tile matrix set, collection or release 404. A tile with no feature
is ``204 No Content``, as OGC API – Tiles allows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import Connection

from geogrid import tiles
from geogrid.api import caching, ogc
from geogrid.api.deps import ReleaseConnDep, SnapshotsDep, read_release
from geogrid.api.schemas.tiles import (
    TileJSON,
    TileMatrixSetDefinition,
    TileMatrixSetList,
    TileSetList,
)
from geogrid.api.schemas.tiles import TileSet as TileSetDocument
from geogrid.errors import InvalidInputError
from geogrid.features import COLLECTIONS
from geogrid.geo.crs_uris import CRS84
from geogrid.i18n import tr
from geogrid.limits import Id32, Word
from geogrid.lookup.snapshot import SnapshotStore
from geogrid.tiles import Layer, TileCache, TileMatrixSet

router = APIRouter(prefix="/ogc", tags=["OGC API - Tiles"])

SPEC = "http://www.opengis.net/spec/"
REL = "http://www.opengis.net/def/rel/ogc/1.0/"
#: The conformance classes of what is built here, declared at /ogc/conformance.
CONFORMANCE = (
    SPEC + "ogcapi-tiles-1/1.0/conf/core",
    SPEC + "ogcapi-tiles-1/1.0/conf/tileset",
    SPEC + "ogcapi-tiles-1/1.0/conf/tilesets-list",
    SPEC + "ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    SPEC + "ogcapi-tiles-1/1.0/conf/dataset-tilesets",
    SPEC + "ogcapi-tiles-1/1.0/conf/mvt",
    SPEC + "tms/2.0/conf/tilematrixset",
    SPEC + "tms/2.0/conf/json-tilematrixset",
)
TILESETS_VECTOR = REL + "tilesets-vector"
TILING_SCHEMES = REL + "tiling-schemes"
TILEJSON_TYPE = "application/vnd.mapbox.tile+json"
#: A tile of a pinned release never changes; the newest release's may, once a newer one is
#: published: clients revalidate it (ETag) after a few seconds.
IMMUTABLE = "public, max-age=31536000, immutable"
UNPINNED = "public, max-age=5"
METADATA_CACHE = "public, max-age=5"
TILE = frozenset({"f", "release"})

TmsPath = Annotated[
    Word,
    Path(description="Tile matrix set: " + ", ".join(t.id for t in tiles.TILE_MATRIX_SETS)),
]
CollectionPath = Annotated[Word, Path(description=f"One of {', '.join(c.id for c in COLLECTIONS)}")]
MatrixPath = Annotated[Word, Path(description=f"Zoom level, 0 to {tiles.MAX_ZOOM}")]
RowPath = Annotated[int, Path(ge=0, le=2**31 - 1, description="Tile row (y), from the top")]
ColPath = Annotated[int, Path(ge=0, le=2**31 - 1, description="Tile column (x), from the left")]
ReleaseParam = Annotated[
    Id32 | None,
    Query(description="Boundary release to draw (default: the newest); pinned tiles are immutable"),
]
MetaF = Annotated[Word | None, Query(description="Format: json, html or tilejson")]
TileF = Annotated[Word | None, Query(description="Format: mvt (the only one)")]


# --- links, shared with /ogc's landing page and collections (api/routes/ogc.py) ---------------


def landing_links(request: Request) -> list[dict[str, Any]]:
    """The landing page's links to the dataset's tilesets and the tile matrix sets."""
    return [
        ogc.link(ogc.url(request, "/ogc/tiles"), TILESETS_VECTOR, ogc.JSON, "Vector tilesets"),
        ogc.link(
            ogc.url(request, "/ogc/tileMatrixSets"), TILING_SCHEMES, ogc.JSON, "Tile matrix sets"
        ),
    ]


def collection_links(request: Request, collection_id: str) -> list[dict[str, Any]]:
    """A collection's link to its own tilesets."""
    href = ogc.url(request, f"/ogc/collections/{collection_id}/tiles")
    return [ogc.link(href, TILESETS_VECTOR, ogc.JSON, "Vector tilesets")]


# --- what a path names -------------------------------------------------------------------------


def _layers(collection_id: str | None) -> tuple[Layer, ...]:
    if collection_id is None:
        return tiles.LAYERS
    return (tiles.collection_layer(collection_id),)


def _base(collection_id: str | None) -> str:
    return "/ogc/tiles" if collection_id is None else f"/ogc/collections/{collection_id}/tiles"


def _title(collection_id: str | None) -> str:
    if collection_id is None:
        return "Yaohai grid governance"
    return tiles.collection_layer(collection_id).title


def _format(f: str | None, allowed: Sequence[str]) -> str | None:
    if f is not None and f not in allowed:
        raise InvalidInputError(
            tr('f was "{f}" but must be one of {allowed}', f=f, allowed=list(allowed))
        )
    return f


def _as_html(request: Request, f: str | None) -> bool:
    """``f=html``, or no ``f`` and an Accept header that prefers HTML."""
    return f == "html" or (f is None and ogc.wants_html(request, None))


def _document(
    request: Request, title: str, body: dict[str, Any], f: str | None, media: str = ogc.JSON
) -> Response:
    if _as_html(request, f):
        return ogc.html_response(title, body)
    return ogc.json_response(body, media)


# --- tile matrix sets --------------------------------------------------------------------------


@router.get("/tileMatrixSets", response_model=TileMatrixSetList, response_class=ogc.JSONDocument)
def list_tile_matrix_sets(request: Request, f: Annotated[Word | None, Query()] = None) -> Response:
    """The tile matrix sets tiles are offered in."""
    ogc.refuse_unknown(request, ogc.COMMON)
    _format(f, ogc.FORMATS)
    body = {
        "links": ogc.self_links(request, "/ogc/tileMatrixSets", "Tile matrix sets"),
        "tileMatrixSets": [
            {
                "id": t.id,
                "title": t.title,
                **({"uri": t.uri} if t.uri else {}),
                "links": [
                    ogc.link(
                        ogc.url(request, f"/ogc/tileMatrixSets/{t.id}"),
                        "self",
                        ogc.JSON,
                        t.title,
                    )
                ],
            }
            for t in tiles.TILE_MATRIX_SETS
        ],
    }
    return _document(request, "Tile matrix sets", body, f)


@router.get(
    "/tileMatrixSets/{tileMatrixSetId}",
    response_model=TileMatrixSetDefinition,
    response_class=ogc.JSONDocument,
)
def describe_tile_matrix_set(
    request: Request, tileMatrixSetId: TmsPath, f: Annotated[Word | None, Query()] = None
) -> Response:
    """A tile matrix set's definition (OGC 2D Tile Matrix Set 2.0, JSON)."""
    ogc.refuse_unknown(request, ogc.COMMON)
    _format(f, ogc.FORMATS)
    tms = tiles.tile_matrix_set(tileMatrixSetId)
    body = {
        **tiles.definition(tms),
        "links": ogc.self_links(request, f"/ogc/tileMatrixSets/{tms.id}", tms.title),
    }
    return _document(request, tms.title, body, f)


# --- tilesets ----------------------------------------------------------------------------------


def _tiling_scheme_link(request: Request, tms: TileMatrixSet) -> dict[str, Any]:
    return ogc.link(
        ogc.url(request, f"/ogc/tileMatrixSets/{tms.id}"),
        REL + "tiling-scheme",
        ogc.JSON,
        f"Tile matrix set {tms.id}",
    )


def _tilesets(request: Request, collection_id: str | None, f: str | None) -> Response:
    ogc.refuse_unknown(request, ogc.COMMON)
    _format(f, ("json", "html"))
    title = _title(collection_id)
    base = _base(collection_id)
    body = {
        "links": ogc.self_links(request, base, f"{title}: vector tilesets"),
        "tilesets": [
            {
                "title": f"{title} ({tms.id})",
                "dataType": "vector",
                "crs": tms.crs,
                **({"tileMatrixSetURI": tms.uri} if tms.uri else {}),
                "links": [
                    ogc.link(ogc.url(request, f"{base}/{tms.id}"), "self", ogc.JSON, tms.title),
                    _tiling_scheme_link(request, tms),
                ],
            }
            for tms in tiles.TILE_MATRIX_SETS
        ],
    }
    return _document(request, f"{title}: vector tilesets", body, f)


@router.get("/tiles", response_model=TileSetList, response_class=ogc.JSONDocument)
def dataset_tilesets(request: Request, f: MetaF = None) -> Response:
    """The dataset's vector tilesets: every collection, one layer each, and the district."""
    return _tilesets(request, None, f)


@router.get(
    "/collections/{collectionId}/tiles",
    response_model=TileSetList,
    response_class=ogc.JSONDocument,
)
def collection_tilesets(
    request: Request, collectionId: CollectionPath, f: MetaF = None
) -> Response:
    """One collection's vector tilesets."""
    tiles.collection_layer(collectionId)
    return _tilesets(request, collectionId, f)


def _tile_template(
    request: Request, collection_id: str | None, tms: TileMatrixSet, release: int | None
) -> str:
    url = ogc.url(request, f"{_base(collection_id)}/{tms.id}")
    template = url + "/{tileMatrix}/{tileRow}/{tileCol}"
    return template if release is None else f"{template}?release={release}"


def _layer_schema(layer: Layer) -> dict[str, Any]:
    return {
        "id": layer.id,
        "title": layer.title,
        "dataType": "vector",
        "geometryDimension": 0 if layer.geometry == "point" else 2,
        "propertiesSchema": {
            "type": "object",
            "properties": {
                field.name: {
                    "type": "string" if field.type == "String" else "number",
                    "description": field.description,
                }
                for field in layer.fields
            },
        },
    }


def _tileset(
    request: Request,
    conn: Connection,
    snapshots: SnapshotStore,
    collection_id: str | None,
    tms_id: str,
    release: int | None,
    f: str | None,
) -> Response:
    ogc.refuse_unknown(request, {"f", "release"})
    _format(f, ("json", "html", "tilejson"))
    tms = tiles.tile_matrix_set(tms_id)
    layers = _layers(collection_id)
    drawn = tiles.render_release(conn, release, snapshots.newest)
    bounds = tiles.district_bounds(conn) or (-180.0, -85.0, 180.0, 85.0)
    if f == "tilejson":
        return _tilejson(request, collection_id, tms, layers, drawn, bounds)
    title = f"{_title(collection_id)} ({tms.id})"
    base = f"{_base(collection_id)}/{tms.id}"
    body: dict[str, Any] = {
        "title": title,
        "description": tms.description,
        "dataType": "vector",
        "crs": tms.crs,
        **({"tileMatrixSetURI": tms.uri} if tms.uri else {}),
        "boundingBox": {
            "lowerLeft": [bounds[0], bounds[1]],
            "upperRight": [bounds[2], bounds[3]],
            "crs": CRS84,
        },
        "centerPoint": {
            "coordinates": [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2],
            "tileMatrix": "12",
            "crs": CRS84,
        },
        "links": [
            *ogc.self_links(request, base, title),
            _tiling_scheme_link(request, tms),
            ogc.link(
                _tile_template(request, collection_id, tms, release),
                "item",
                tiles.MEDIA_TYPE,
                "Tiles as Mapbox Vector Tiles",
                templated=True,
            ),
            ogc.link(
                ogc.url(request, f"{base}/tilejson.json"),
                "describedby",
                TILEJSON_TYPE,
                "TileJSON (pins the current release)",
            ),
        ],
        "layers": [_layer_schema(layer) for layer in layers],
    }
    headers = {"X-Boundary-Release": str(drawn), "Cache-Control": METADATA_CACHE}
    if _as_html(request, f):
        return caching.with_etag(request, ogc.html_response(title, body, headers), drawn)
    return caching.with_etag(request, ogc.json_response(body, ogc.JSON, headers), drawn)


def _tilejson(
    request: Request,
    collection_id: str | None,
    tms: TileMatrixSet,
    layers: Sequence[Layer],
    release: int,
    bounds: tuple[float, float, float, float],
) -> Response:
    """TileJSON 3.0.0 whose tile URLs pin ``release`` (MapLibre's ``{z}/{y}/{x}``)."""
    template = _tile_template(request, collection_id, tms, release)
    tile_url = (
        template.replace("{tileMatrix}", "{z}")
        .replace("{tileRow}", "{y}")
        .replace("{tileCol}", "{x}")
    )
    body = {
        "tilejson": "3.0.0",
        "name": f"{_title(collection_id)} ({tms.id})",
        "description": tms.description,
        "version": "1.0.0",
        "attribution": "geogrid — Yaohai District, Hefei",
        "scheme": "xyz",
        "tiles": [tile_url],
        "minzoom": 0,
        "maxzoom": tiles.MAX_ZOOM,
        "bounds": list(bounds),
        "center": [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, 12],
        "vector_layers": [
            {
                "id": layer.id,
                "description": layer.title,
                "fields": {field.name: field.type for field in layer.fields},
                "minzoom": 0,
                "maxzoom": tiles.MAX_ZOOM,
            }
            for layer in layers
        ],
    }
    headers = {
        "X-Boundary-Release": str(release),
        "Cache-Control": METADATA_CACHE,
    }
    response = Response(orjson.dumps(body), media_type=ogc.JSON, headers=headers)
    return caching.with_etag(request, response, release)


@router.get(
    "/tiles/{tileMatrixSetId}", response_model=TileSetDocument, response_class=ogc.JSONDocument
)
def dataset_tileset(
    request: Request,
    conn: ReleaseConnDep,
    snapshots: SnapshotsDep,
    tileMatrixSetId: TmsPath,
    release: ReleaseParam = None,
    f: MetaF = None,
) -> Response:
    """The dataset tileset's metadata (``f=tilejson``: TileJSON 3.0.0)."""
    return _tileset(request, conn, snapshots, None, tileMatrixSetId, release, f)


@router.get(
    "/tiles/{tileMatrixSetId}/tilejson.json",
    response_model=TileJSON,
    response_class=ogc.JSONDocument,
)
def dataset_tilejson(
    request: Request,
    conn: ReleaseConnDep,
    snapshots: SnapshotsDep,
    tileMatrixSetId: TmsPath,
    release: ReleaseParam = None,
) -> Response:
    """TileJSON 3.0.0 of the dataset tileset, its tile URLs pinned to the current release."""
    ogc.refuse_unknown(request, {"release"})
    return _tileset(request, conn, snapshots, None, tileMatrixSetId, release, "tilejson")


@router.get(
    "/collections/{collectionId}/tiles/{tileMatrixSetId}",
    response_model=TileSetDocument,
    response_class=ogc.JSONDocument,
)
def collection_tileset(
    request: Request,
    conn: ReleaseConnDep,
    snapshots: SnapshotsDep,
    collectionId: CollectionPath,
    tileMatrixSetId: TmsPath,
    release: ReleaseParam = None,
    f: MetaF = None,
) -> Response:
    """One collection's tileset metadata (``f=tilejson``: TileJSON 3.0.0)."""
    tiles.collection_layer(collectionId)
    return _tileset(request, conn, snapshots, collectionId, tileMatrixSetId, release, f)


@router.get(
    "/collections/{collectionId}/tiles/{tileMatrixSetId}/tilejson.json",
    response_model=TileJSON,
    response_class=ogc.JSONDocument,
)
def collection_tilejson(
    request: Request,
    conn: ReleaseConnDep,
    snapshots: SnapshotsDep,
    collectionId: CollectionPath,
    tileMatrixSetId: TmsPath,
    release: ReleaseParam = None,
) -> Response:
    """TileJSON 3.0.0 of one collection's tileset, pinned to the current release."""
    ogc.refuse_unknown(request, {"release"})
    tiles.collection_layer(collectionId)
    return _tileset(request, conn, snapshots, collectionId, tileMatrixSetId, release, "tilejson")


# --- tiles -------------------------------------------------------------------------------------

_TILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A Mapbox Vector Tile",
        "content": {tiles.MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    },
    204: {"description": "No feature in this tile"},
}


def tile_cache(request: Request) -> TileCache:
    """The process's tile cache (made by api.main)."""
    cache: TileCache = request.app.state.tile_cache
    return cache


def _answer(request: Request, entry: tiles.CachedTile, release: int, pinned: bool) -> Response:
    headers = {
        "ETag": entry.etag,
        "Cache-Control": IMMUTABLE if pinned else UNPINNED,
        "Vary": "Accept-Encoding",
        "X-Boundary-Release": str(release),
        "Access-Control-Expose-Headers": "X-Boundary-Release",
    }
    if caching.not_modified(request, entry.etag) is not None:
        return Response(status_code=304, headers=headers)
    if not entry.data:
        return Response(status_code=204, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        headers["Content-Encoding"] = "gzip"
        return Response(entry.gzipped, media_type=tiles.MEDIA_TYPE, headers=headers)
    return Response(entry.data, media_type=tiles.MEDIA_TYPE, headers=headers)


async def _tile(
    request: Request,
    snapshots: SnapshotStore,
    collection_id: str | None,
    tms_id: str,
    tile_matrix: str,
    row: int,
    col: int,
    release: int | None,
    f: str | None,
) -> Response:
    ogc.refuse_unknown(request, TILE)
    _format(f, ("mvt",))
    tms = tiles.tile_matrix_set(tms_id)
    layers = _layers(collection_id)
    tile = tiles.tile(tile_matrix, row, col)
    cache = tile_cache(request)
    current = snapshots.newest
    names = tuple(layer.id for layer in layers)
    # A warm tile of a release known to exist is answered without a database connection.
    known = release if release is not None else current
    if known is not None and (known == current or cache.knows_release(known)):
        warm = cache.get((known, tms.id, names, tile.zoom, tile.row, tile.col))
        if warm is not None:
            return _answer(request, warm, known, release is not None)

    def draw(conn: Connection) -> tuple[tiles.CachedTile, int]:
        drawn = tiles.render_release(conn, release, current)
        cache.add_release(drawn)
        key = (drawn, tms.id, names, tile.zoom, tile.row, tile.col)
        found = cache.get(key)
        if found is None:
            found = tiles.CachedTile.of(drawn, tiles.render(conn, tms, layers, drawn, tile))
            cache.put(key, found)
        return found, drawn

    entry, drawn = await read_release(request, draw)
    return _answer(request, entry, drawn, release is not None)


@router.get(
    "/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
    response_class=Response,
    responses=_TILE_RESPONSES,
)
async def dataset_tile(
    request: Request,
    snapshots: SnapshotsDep,
    tileMatrixSetId: TmsPath,
    tileMatrix: MatrixPath,
    tileRow: RowPath,
    tileCol: ColPath,
    release: ReleaseParam = None,
    f: TileF = None,
) -> Response:
    """One tile of the dataset: a layer per collection, and the district outline."""
    return await _tile(
        request, snapshots, None, tileMatrixSetId, tileMatrix, tileRow, tileCol, release, f
    )


@router.get(
    "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
    response_class=Response,
    responses=_TILE_RESPONSES,
)
async def collection_tile(
    request: Request,
    snapshots: SnapshotsDep,
    collectionId: CollectionPath,
    tileMatrixSetId: TmsPath,
    tileMatrix: MatrixPath,
    tileRow: RowPath,
    tileCol: ColPath,
    release: ReleaseParam = None,
    f: TileF = None,
) -> Response:
    """One tile of one collection: one layer, named by the collection's id."""
    return await _tile(
        request, snapshots, collectionId, tileMatrixSetId, tileMatrix, tileRow, tileCol, release, f
    )
