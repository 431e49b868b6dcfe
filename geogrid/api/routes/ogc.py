"""OGC API – Features (Parts 1, 2 and 3) at ``/ogc``: what QGIS, GDAL, OWSLib and web maps read.

Landing page, conformance, collections, items and single features, queryables; JSON or HTML by
``f=`` or ``Accept``; features as GeoJSON in any CRS of ``geogrid.geo.crs_uris`` (named by
``Content-Crs``), with personal fields masked for viewers as everywhere. Errors take OGC's
exception body and bad input is a 400 (``api/errors.py``).
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import Connection

from geogrid import features, plans
from geogrid.access.roles import Permission
from geogrid.api import caching, ogc, openapi30
from geogrid.api.deps import PrincipalDep, ReleaseConnDep, SnapshotsDep, read_release
from geogrid.api.routes import ogc_plans
from geogrid.api.routes import tiles as tiles_routes
from geogrid.api.schemas.ogc import (
    CollectionInfo,
    CollectionList,
    ConformanceClasses,
    LandingPage,
    OgcFeature,
    OgcFeatureCollection,
    Queryables,
)
from geogrid.features.params import parse_bbox, parse_datetime, parse_names, parse_sortby
from geogrid.geo.crs_uris import CRS84, CRS_REFS, STORAGE_CRS, CrsRef, crs_ref
from geogrid.limits import Id32, Text, Word
from geogrid.lookup.snapshot import SnapshotStore

router = APIRouter(prefix="/ogc", tags=["OGC API - Features"])

SPEC = "http://www.opengis.net/spec/"
CONFORMANCE = (
    SPEC + "ogcapi-features-1/1.0/conf/core",
    SPEC + "ogcapi-features-1/1.0/conf/geojson",
    SPEC + "ogcapi-features-1/1.0/conf/html",
    SPEC + "ogcapi-features-1/1.0/conf/oas30",
    SPEC + "ogcapi-features-2/1.0/conf/crs",
    SPEC + "ogcapi-features-3/1.0/conf/filter",
    SPEC + "ogcapi-features-3/1.0/conf/features-filter",
    SPEC + "ogcapi-features-3/1.0/conf/queryables",
    # Part 4, on the collections of open plans (api/routes/ogc_plans.py)
    SPEC + "ogcapi-features-4/1.0/conf/create-replace-delete",
    SPEC + "ogcapi-features-4/1.0/conf/update",
    SPEC + "ogcapi-features-4/1.0/conf/features",
    SPEC + "cql2/1.0/conf/cql2-text",
    SPEC + "cql2/1.0/conf/cql2-json",
    SPEC + "cql2/1.0/conf/basic-cql2",
    SPEC + "cql2/1.0/conf/advanced-comparison-operators",
    SPEC + "cql2/1.0/conf/basic-spatial-functions",
    SPEC + "cql2/1.0/conf/spatial-functions",
    SPEC + "cql2/1.0/conf/property-property",
    *tiles_routes.CONFORMANCE,
)
TRS = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"

FQuery = Annotated[Word | None, Query(description="Format: json or html (default: by Accept)")]
CollectionPath = Annotated[
    Word, Path(description=f"One of {', '.join(c.id for c in features.COLLECTIONS)}")
]
CrsParam = Annotated[
    Annotated[str, Text(200)] | None,
    Query(
        description="CRS of the answer by URI (default CRS84): "
        + ", ".join(c.uri for c in CRS_REFS)
    ),
]
ReleaseParam = Annotated[
    Id32 | None,
    Query(description="Boundary release (grids, compounds, coverage gaps); next links pin it"),
]


def _tagged(request: Request, response: Response, release: int | None) -> Response:
    """``response`` with an ETag of its release and body (304 when the client has it)."""
    return caching.with_etag(request, response, release or 0)


def _collection_link(request: Request, collection: features.Collection) -> dict[str, Any]:
    return ogc.link(
        ogc.url(request, f"/ogc/collections/{collection.id}"),
        "collection",
        ogc.JSON,
        collection.title,
    )


def _features_answer(
    request: Request,
    title: str,
    body: dict[str, Any],
    shown: list[features.Feature],
    ref: CrsRef,
    window: features.Window,
    snapshots: SnapshotStore,
    as_html: bool,
) -> Response:
    """Features as GeoJSON, or HTML when asked: the CRS and release in headers, an ETag."""
    headers = {"Content-Crs": f"<{ref.uri}>"}
    if window.release is not None:
        headers["X-Boundary-Release"] = str(window.release)
    tag = window.release or snapshots.newest
    if as_html:
        return _tagged(request, ogc.features_html(title, body, shown, headers), tag)
    return _tagged(request, ogc.json_response(body, ogc.GEOJSON, headers), tag)


@router.get("", include_in_schema=False)
@router.get("/", response_model=LandingPage, response_class=ogc.JSONDocument)
def landing(request: Request, f: FQuery = None) -> Response:
    """The landing page: links to the API description, conformance and the collections."""
    ogc.refuse_unknown(request, ogc.COMMON)
    body = {
        "title": "geogrid — Yaohai grid governance (OGC API – Features)",
        "description": "Grids, communities, streets, compounds, service stations, service "
        "areas and coverage gaps of Yaohai District, Hefei, by boundary release.",
        "links": [
            *ogc.self_links(request, "/ogc/", "This document"),
            ogc.link(
                ogc.url(request, "/ogc/api"), "service-desc", ogc.OPENAPI, "The API definition"
            ),
            ogc.link(ogc.url(request, "/docs"), "service-doc", ogc.HTML, "The API documentation"),
            ogc.link(
                ogc.url(request, "/ogc/conformance"), "conformance", ogc.JSON, "Conformance classes"
            ),
            ogc.link(ogc.url(request, "/ogc/collections"), "data", ogc.JSON, "The collections"),
            *tiles_routes.landing_links(request),
        ],
    }
    if ogc.wants_html(request, f):
        return ogc.html_response(body["title"], body)  # type: ignore[arg-type]
    return ogc.json_response(body)


@router.get("/api", include_in_schema=False)
def api_definition(request: Request) -> Response:
    """The API definition of /ogc in OpenAPI 3.0 (the landing page's service-desc)."""
    ogc.refuse_unknown(request, ogc.COMMON)
    state = request.app.state
    if getattr(state, "ogc_openapi", None) is None:
        state.ogc_openapi = orjson.dumps(openapi30.ogc_document(request.app.openapi()))
    return Response(state.ogc_openapi, media_type=ogc.OPENAPI)


@router.get("/conformance", response_model=ConformanceClasses, response_class=ogc.JSONDocument)
def conformance(request: Request, f: FQuery = None) -> Response:
    """The conformance classes geogrid implements."""
    ogc.refuse_unknown(request, ogc.COMMON)
    body = {"conformsTo": list(CONFORMANCE)}
    if ogc.wants_html(request, f):
        return ogc.html_response("Conformance", body)
    return ogc.json_response(body)


def _collection(
    request: Request, conn: Any, collection: features.Collection, current: int | None
) -> dict[str, Any]:
    found = features.extent(conn, collection, current)
    extent: dict[str, Any] = {}
    if found.bbox is not None:
        extent["spatial"] = {"bbox": [list(found.bbox)], "crs": CRS84}
    if found.interval is not None:
        start, end = found.interval
        extent["temporal"] = {
            "interval": [
                [
                    None if start is None else start.isoformat(),
                    None if end is None else end.isoformat(),
                ]
            ],
            "trs": TRS,
        }
    path = f"/ogc/collections/{collection.id}"
    return {
        "id": collection.id,
        "title": collection.title,
        "description": collection.description,
        "keywords": list(collection.keywords),
        "itemType": "feature",
        "crs": [c.uri for c in CRS_REFS],
        "storageCrs": STORAGE_CRS,
        "extent": extent,
        "links": [
            *ogc.self_links(request, path, collection.title),
            ogc.link(
                ogc.url(request, path + "/items", f="json"),
                "items",
                ogc.GEOJSON,
                "Items as GeoJSON",
            ),
            ogc.link(
                ogc.url(request, path + "/items", f="html"), "items", ogc.HTML, "Items as HTML"
            ),
            ogc.link(
                ogc.url(request, path + "/queryables"),
                "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                "application/schema+json",
                "Queryables",
            ),
            *tiles_routes.collection_links(request, collection.id),
        ],
    }


@router.get("/collections", response_model=CollectionList, response_class=ogc.JSONDocument)
def list_collections(
    request: Request,
    conn: ReleaseConnDep,
    snapshots: SnapshotsDep,
    principal: PrincipalDep,
    f: FQuery = None,
) -> Response:
    """Every collection, with its extent and the CRSs it can be read in; for planners, every
    open plan as an editable collection too."""
    ogc.refuse_unknown(request, ogc.COMMON)
    collections = [_collection(request, conn, c, snapshots.newest) for c in features.COLLECTIONS]
    if principal.may(Permission.edit_plans):
        grids = collections[0]["extent"].get("spatial", {}).get("bbox", [None])[0]
        collections += [
            ogc_plans.plan_info(request, plan.id, plan.comment, grids)
            for plan in plans.open_plans(conn)
        ]
    body = {
        "links": ogc.self_links(request, "/ogc/collections", "The collections"),
        "collections": collections,
        "crs": [c.uri for c in CRS_REFS],
    }
    if ogc.wants_html(request, f):
        return _tagged(request, ogc.html_response("Collections", body), snapshots.newest)
    return _tagged(request, ogc.json_response(body), snapshots.newest)


@router.get(
    "/collections/{collection_id}", response_model=CollectionInfo, response_class=ogc.JSONDocument
)
def describe_collection(
    request: Request,
    conn: ReleaseConnDep,
    snapshots: SnapshotsDep,
    collection_id: CollectionPath,
    f: FQuery = None,
) -> Response:
    """One collection: extent, item type, CRSs and links."""
    ogc.refuse_unknown(request, ogc.COMMON)
    body = _collection(request, conn, features.collection(collection_id), snapshots.newest)
    if ogc.wants_html(request, f):
        return _tagged(request, ogc.html_response(body["title"], body), snapshots.newest)
    return _tagged(request, ogc.json_response(body), snapshots.newest)


@router.get(
    "/collections/{collection_id}/queryables",
    response_model=Queryables,
    response_class=ogc.SchemaDocument,
)
def queryables(request: Request, collection_id: CollectionPath, f: FQuery = None) -> Response:
    """The properties a filter or sortby may name (JSON Schema)."""
    ogc.refuse_unknown(request, ogc.COMMON)
    collection = features.collection(collection_id)
    geometry = "Point" if collection.geometry == "point" else "MultiPolygon"
    properties: dict[str, Any] = {
        features.GEOMETRY: {
            "title": "Geometry",
            "format": f"geometry-{'point' if geometry == 'Point' else 'multipolygon'}",
            "$ref": f"https://geojson.org/schema/{geometry}.json",
        }
    }
    for prop in collection.queryables:
        schema: dict[str, Any] = {"title": prop.title}
        if prop.type == "date-time":
            schema.update(type="string", format="date-time")
        else:
            schema["type"] = prop.type
        if prop.enum:
            schema["enum"] = list(prop.enum)
        properties[prop.name] = schema
    body = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": ogc.url(request, f"/ogc/collections/{collection.id}/queryables"),
        "type": "object",
        "title": collection.title,
        "properties": properties,
        "additionalProperties": False,
    }
    if ogc.wants_html(request, f):
        return ogc.html_response(f"{collection.title}: queryables", body)
    return ogc.json_response(body, "application/schema+json")


@router.get(
    "/collections/{collection_id}/items",
    response_model=OgcFeatureCollection,
    response_class=ogc.GeoJSONDocument,
)
async def list_items(
    request: Request,
    principal: PrincipalDep,
    snapshots: SnapshotsDep,
    collection_id: CollectionPath,
    limit: Annotated[
        int,
        Query(
            ge=1,
            le=2**31 - 1,
            description=f"Page size; above {features.MAX_LIMIT} it is {features.MAX_LIMIT}",
        ),
    ] = features.DEFAULT_LIMIT,
    offset: Annotated[
        int, Query(ge=0, le=2**31 - 1, description="Features to skip; follow next links")
    ] = 0,
    bbox: Annotated[
        Annotated[str, Text(200)] | None,
        Query(description="Lower corner, upper corner in bbox-crs axis order"),
    ] = None,
    bbox_crs: Annotated[
        Annotated[str, Text(200)] | None,
        Query(alias="bbox-crs", description="CRS of bbox (default CRS84)"),
    ] = None,
    datetime_: Annotated[
        Annotated[str, Text(100)] | None,
        Query(alias="datetime", description="An instant, or an interval start/end (.. = open)"),
    ] = None,
    crs: CrsParam = None,
    properties: Annotated[
        Annotated[str, Text(2000)] | None, Query(description="Comma-separated properties to return")
    ] = None,
    sortby: Annotated[
        Annotated[str, Text(2000)] | None, Query(description="e.g. +name,-code")
    ] = None,
    filter_: Annotated[
        Annotated[str, Text(20000)] | None, Query(alias="filter", description="A CQL2 filter")
    ] = None,
    filter_lang: Annotated[
        Word | None, Query(alias="filter-lang", description="cql2-text (default) or cql2-json")
    ] = None,
    filter_crs: Annotated[
        Annotated[str, Text(200)] | None,
        Query(alias="filter-crs", description="CRS of the filter's geometries (default CRS84)"),
    ] = None,
    release: ReleaseParam = None,
    f: Annotated[Word | None, Query(description="Format: geojson/json or html")] = None,
) -> Response:
    """One page of a collection's features as GeoJSON, with numberMatched and a next link."""
    ogc.refuse_unknown(request, ogc.ITEMS)
    collection = features.collection(collection_id)
    as_html = ogc.wants_html(request, f, feature_format=True)
    ref = crs_ref(crs or CRS84)
    query = features.ItemsQuery(
        limit=limit,
        offset=offset,
        bbox=None if bbox is None else parse_bbox(bbox, bbox_crs),
        datetime=None if datetime_ is None else parse_datetime(datetime_),
        release=release,
        properties=None if properties is None else parse_names(properties),
        sortby=() if sortby is None else parse_sortby(sortby),
        filter=None
        if filter_ is None
        else features.parse_filter(filter_, filter_lang or "cql2-text"),
        filter_crs=filter_crs,
        crs=ref,
    )
    if bbox_crs is not None and bbox is None:
        crs_ref(bbox_crs, "bbox-crs")

    def answer(conn: Connection) -> Response:
        page = features.items(
            conn,
            collection,
            query,
            personal=principal.sees_personal_data,
            current=snapshots.newest,
        )
        path = f"/ogc/collections/{collection.id}/items"
        kept = {
            k: v for k, v in request.query_params.items() if k not in ("f", "offset", "release")
        }
        pin = {"release": page.window.release} if page.window.release is not None else {}
        links = ogc.self_links(request, path, collection.title, ogc.GEOJSON)
        step = min(limit, features.MAX_LIMIT)
        for rel, offset in (
            ("next", page.next_offset),
            ("prev", max(0, query.offset - step) if query.offset > 0 else None),
        ):
            if offset is not None:
                href = ogc.url(request, path, **kept, **pin, offset=offset, f="json")
                links.append(ogc.link(href, rel, ogc.GEOJSON, f"{rel.title()} page"))
        body = {
            "type": "FeatureCollection",
            "numberMatched": page.number_matched,
            "numberReturned": len(page.features),
            "links": [*links, _collection_link(request, collection)],
            "features": [ogc.feature_body(feature) for feature in page.features],
        }
        title = collection.title
        return _features_answer(
            request, title, body, page.features, ref, page.window, snapshots, as_html
        )

    return await read_release(request, answer)


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    response_model=OgcFeature,
    response_class=ogc.GeoJSONDocument,
)
async def get_item(
    request: Request,
    principal: PrincipalDep,
    snapshots: SnapshotsDep,
    collection_id: CollectionPath,
    feature_id: Annotated[Word, Path(description="Feature id (grids: code, or code@release)")],
    crs: CrsParam = None,
    release: ReleaseParam = None,
    f: Annotated[Word | None, Query(description="Format: geojson/json or html")] = None,
) -> Response:
    """One feature by id, as GeoJSON."""
    ogc.refuse_unknown(request, ogc.ITEM)
    collection = features.collection(collection_id)
    as_html = ogc.wants_html(request, f, feature_format=True)
    ref = crs_ref(crs or CRS84)

    def answer(conn: Connection) -> Response:
        feature, window = features.item(
            conn,
            collection,
            feature_id,
            crs=ref,
            release=release,
            personal=principal.sees_personal_data,
            current=snapshots.newest,
        )
        path = f"/ogc/collections/{collection.id}/items/{feature_id}"
        title = f"{collection.title} {feature_id}"
        body = {
            **ogc.feature_body(feature),
            "links": [
                *ogc.self_links(request, path, title, ogc.GEOJSON),
                _collection_link(request, collection),
            ],
        }
        return _features_answer(request, title, body, [feature], ref, window, snapshots, as_html)

    return await read_release(request, answer)
