"""Open plans as editable collections under ``/ogc`` (OGC API – Features Part 4), for planners.

``/ogc/collections/plan-{id}`` is plan ``id``'s working grids. A desktop GIS reads it like any
collection; ``OPTIONS`` on its items lists ``POST`` (QGIS enables editing only then) and on an
item ``PUT``, ``PATCH`` and ``DELETE``. Each write becomes one plan edit, checked like every
edit (geogrid.plans.collection): a refused write is a 422 naming the rule and where it breaks.
Geometries come in the CRS the ``Content-Crs`` header names (CRS84 without one), in that CRS's
axis order, as Part 2 says. ``ETag`` on every feature; ``If-Match`` honoured, never required.

The published collections (grids, communities ...) are read-only: a write to them is a 405
that says where edits go.
"""

from __future__ import annotations

from typing import Annotated, Any

import shapely
from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import Connection

from geogrid import features, plans
from geogrid.access.ratelimits import Budget
from geogrid.access.roles import Permission, Principal
from geogrid.api import ogc
from geogrid.api.deps import ConnDep, PrincipalDep, limited
from geogrid.api.schemas.ogc import (
    CollectionInfo,
    FeatureBody,
    FeaturePatch,
    OgcFeature,
    OgcFeatureCollection,
    Queryables,
)
from geogrid.errors import AuthenticationError, InvalidInputError, MethodNotAllowedError
from geogrid.features.items import geometries_json
from geogrid.features.params import parse_bbox
from geogrid.geo.crs_uris import CRS84, CRS_REFS, STORAGE_CRS, CrsRef, crs_ref, unproject_geometry
from geogrid.i18n import tr
from geogrid.limits import Text, Word
from geogrid.plans import collection as plan_collection
from geogrid.plans.collection import PlanFeature

# OWSLib sends its PUT bodies without a Content-Type: read such a body as the JSON it is.
router = APIRouter(prefix="/ogc", tags=["OGC API - Features"], strict_content_type=False)

#: What the items of an open plan's collection take, and one of its items.
ITEMS_ALLOW = ("GET", "HEAD", "POST", "OPTIONS")
ITEM_ALLOW = ("GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS")
#: What the published collections take.
READ_ALLOW = ("GET", "HEAD", "OPTIONS")
#: Query parameters of a plan's items (no CQL2: a plan is a few hundred grids).
PLAN_ITEMS = ogc.COMMON | {"limit", "offset", "bbox", "bbox-crs", "crs"}

PlanPath = Annotated[int, Path(ge=1, le=2**31 - 1, description="The plan's id")]
CodePath = Annotated[Word, Path(description="Grid code (15 digits)")]
CrsParam = Annotated[
    Annotated[str, Text(200)] | None,
    Query(description="CRS of the answer by URI (default CRS84)"),
]
ContentCrs = Annotated[
    Annotated[str, Text(200)] | None,
    Header(alias="Content-Crs", description="CRS of the body's geometry (default CRS84)"),
]
IfMatch = Annotated[
    Annotated[str, Text(1000)] | None,
    Header(alias="If-Match", description="The ETag the write expects (optional)"),
]
WRITES = limited(Budget.writes)
#: What a write may answer besides its success (api/openapi.py gives them OGC's error body).
WRITE_ANSWERS: dict[int | str, dict[str, Any]] = {
    403: {"description": "Not a planner's key"},
    409: {"description": "The plan is published or discarded"},
    412: {"description": "If-Match names a version that is no longer current"},
    422: {"description": "The edit breaks a rule; `violations` locates it"},
}


async def planner(principal: PrincipalDep) -> Principal:
    """The caller, who must be a planner: 401 without a key, 403 with a lesser one."""
    if principal.kind == "anonymous":
        raise AuthenticationError(
            tr("plans are for planners: send a planner's key (Authorization: Bearer <key>)")
        )
    principal.require(Permission.edit_plans)
    return principal


PlannerDep = Annotated[Principal, Depends(planner)]


def _actor(principal: Principal) -> str:
    return principal.actor


def _path(plan_id: int) -> str:
    return f"/ogc/collections/{plan_collection.collection_id(plan_id)}"


def _as_feature(found: PlanFeature, ref: CrsRef) -> features.Feature:
    [geometry] = geometries_json([shapely.to_wkb(found.geometry)], ref)
    return features.Feature(found.code, dict(found.properties), geometry)


def _feature_response(
    request: Request, plan_id: int, found: PlanFeature, ref: CrsRef, status: int = 200
) -> Response:
    path = f"{_path(plan_id)}/items/{found.code}"
    body = {
        **ogc.feature_body(_as_feature(found, ref)),
        "links": [
            ogc.link(ogc.url(request, path), "self", ogc.GEOJSON, f"Grid {found.code}"),
            ogc.link(ogc.url(request, _path(plan_id)), "collection", ogc.JSON, "The plan"),
        ],
    }
    headers = {"Content-Crs": f"<{ref.uri}>", "ETag": found.etag}
    return (
        ogc.json_response(body, ogc.GEOJSON, headers)
        if status == 200
        else Response(status_code=status, headers=headers)
    )


# ---- reading ---------------------------------------------------------------------------------


@router.get(
    "/collections/plan-{plan_id}", response_model=CollectionInfo, response_class=ogc.JSONDocument
)
def describe_plan(
    request: Request, conn: ConnDep, principal: PlannerDep, plan_id: PlanPath
) -> Response:
    """An open plan's working grids as a collection (planners)."""
    ogc.refuse_unknown(request, ogc.COMMON)
    plan, found = plan_collection.plan_features(conn, plan_id)
    box = shapely.union_all([f.geometry for f in found]).bounds if found else None
    return ogc.json_response(plan_info(request, plan.id, plan.comment, box))


def plan_info(
    request: Request, plan_id: int, comment: str, bbox: tuple[float, ...] | None
) -> dict[str, Any]:
    """The collection document of an open plan (also listed in /ogc/collections)."""
    path = _path(plan_id)
    extent: dict[str, Any] = {}
    if bbox is not None:
        extent["spatial"] = {"bbox": [list(bbox)], "crs": CRS84}
    return {
        "id": plan_collection.collection_id(plan_id),
        "title": f"Plan {plan_id}: {comment}" if comment else f"Plan {plan_id}",
        "description": "The working grids of an open boundary plan; editable by planners "
        "(OGC API – Features Part 4). Each write is a plan edit, checked before it is kept.",
        "itemType": "feature",
        "crs": [c.uri for c in CRS_REFS],
        "storageCrs": STORAGE_CRS,
        "extent": extent,
        "links": [
            *ogc.self_links(request, path, f"Plan {plan_id}"),
            ogc.link(ogc.url(request, path + "/items", f="json"), "items", ogc.GEOJSON, "Items"),
        ],
    }


@router.get(
    "/collections/plan-{plan_id}/queryables",
    response_model=Queryables,
    response_class=ogc.SchemaDocument,
)
def plan_queryables(
    request: Request, conn: ConnDep, principal: PlannerDep, plan_id: PlanPath
) -> Response:
    """No property of a plan is queryable: a client filters its few hundred grids itself."""
    ogc.refuse_unknown(request, ogc.COMMON)
    plans.require_open(plans.get_plan(conn, plan_id))
    body = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": ogc.url(request, f"{_path(plan_id)}/queryables"),
        "type": "object",
        "title": f"Plan {plan_id}",
        "properties": {},
        "additionalProperties": False,
    }
    return ogc.json_response(body, "application/schema+json")


@router.get(
    "/collections/plan-{plan_id}/items",
    response_model=OgcFeatureCollection,
    response_class=ogc.GeoJSONDocument,
)
def list_plan_items(
    request: Request,
    conn: ConnDep,
    principal: PlannerDep,
    plan_id: PlanPath,
    limit: Annotated[
        int, Query(ge=1, le=2**31 - 1, description=f"Page size (at most {features.MAX_LIMIT})")
    ] = features.DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    bbox: Annotated[Annotated[str, Text(200)] | None, Query()] = None,
    bbox_crs: Annotated[Annotated[str, Text(200)] | None, Query(alias="bbox-crs")] = None,
    crs: CrsParam = None,
    f: Annotated[Word | None, Query(description="Format: geojson/json")] = None,
) -> Response:
    """The plan's working grids, by code, as GeoJSON."""
    ogc.refuse_unknown(request, PLAN_ITEMS)
    ogc.wants_html(request, f, feature_format=True)
    ref = crs_ref(crs or CRS84)
    window = None if bbox is None else shapely.box(*parse_bbox(bbox, bbox_crs))
    _, found = plan_collection.plan_features(conn, plan_id)
    if window is not None:
        found = [g for g in found if g.geometry.intersects(window)]
    step = min(limit, features.MAX_LIMIT)
    page = found[offset : offset + step]
    path = _path(plan_id) + "/items"
    links = ogc.self_links(request, path, f"Plan {plan_id}", ogc.GEOJSON)
    if offset + step < len(found):
        kept = {k: v for k, v in request.query_params.items() if k not in ("f", "offset")}
        href = ogc.url(request, path, **kept, offset=offset + step, f="json")
        links.append(ogc.link(href, "next", ogc.GEOJSON, "Next page"))
    body = {
        "type": "FeatureCollection",
        "numberMatched": len(found),
        "numberReturned": len(page),
        "links": links,
        "features": [ogc.feature_body(_as_feature(g, ref)) for g in page],
    }
    return ogc.json_response(body, ogc.GEOJSON, {"Content-Crs": f"<{ref.uri}>"})


@router.get(
    "/collections/plan-{plan_id}/items/{code}",
    response_model=OgcFeature,
    response_class=ogc.GeoJSONDocument,
)
def get_plan_item(
    request: Request,
    conn: ConnDep,
    principal: PlannerDep,
    plan_id: PlanPath,
    code: CodePath,
    crs: CrsParam = None,
    f: Annotated[Word | None, Query(description="Format: geojson/json")] = None,
) -> Response:
    """One grid of the plan, with its ETag."""
    ogc.refuse_unknown(request, ogc.COMMON | {"crs"})
    ogc.wants_html(request, f, feature_format=True)
    ref = crs_ref(crs or CRS84)
    found = plan_collection.plan_feature(conn, plan_id, code)
    return _feature_response(request, plan_id, found, ref)


@router.options("/collections/plan-{plan_id}/items", status_code=204)
def plan_items_options(conn: ConnDep, plan_id: PlanPath) -> Response:
    """What the items of an open plan take: reading, and POST for a new dedicated grid."""
    plans.require_open(plans.get_plan(conn, plan_id))
    return Response(status_code=204, headers={"Allow": ", ".join(ITEMS_ALLOW)})


@router.options("/collections/plan-{plan_id}/items/{code}", status_code=204)
def plan_item_options(conn: ConnDep, plan_id: PlanPath, code: CodePath) -> Response:
    """What one grid of an open plan takes: reading, PUT, PATCH and DELETE."""
    plans.require_open(plans.get_plan(conn, plan_id))
    return Response(status_code=204, headers={"Allow": ", ".join(ITEM_ALLOW)})


# ---- writing ---------------------------------------------------------------------------------


def _incoming(geometry: Any, content_crs: str | None) -> tuple[dict[str, Any] | None, str]:
    """The body's geometry in lon/lat order on its datum, and the datum's name."""
    ref = crs_ref((content_crs or CRS84).strip().removeprefix("<").removesuffix(">"), "Content-Crs")
    if geometry is None:
        return None, ref.datum
    try:
        shape = shapely.geometry.shape(geometry.model_dump())
    except Exception:  # shapely raises several types for malformed GeoJSON
        raise InvalidInputError(tr("the feature's geometry is not valid GeoJSON")) from None
    if ref.swap_axes or ref.projection is not None:
        shape = unproject_geometry(shape, ref)
    return dict(shapely.geometry.mapping(shape)), ref.datum


@router.post(
    "/collections/plan-{plan_id}/items",
    status_code=201,
    dependencies=[WRITES],
    response_model=OgcFeature,
    response_class=ogc.GeoJSONDocument,
    responses={201: {"description": "Created; Location names the new grid"}, **WRITE_ANSWERS},
)
async def create_plan_item(
    request: Request,
    conn: ConnDep,
    principal: PlannerDep,
    plan_id: PlanPath,
    body: Annotated[FeatureBody, Body(media_type=ogc.GEOJSON)],
    content_crs: ContentCrs = None,
) -> Response:
    """A new feature: a dedicated grid carved out of the resident grids it covers."""
    geometry, datum = _incoming(body.geometry, content_crs)
    written = await run_in_threadpool(
        plan_collection.create_feature,
        conn,
        plan_id,
        geometry,
        dict(body.properties or {}),
        datum,
        _actor(principal),
    )
    assert written.feature is not None
    location = ogc.url(request, f"{_path(plan_id)}/items/{written.feature.code}")
    response = _feature_response(request, plan_id, written.feature, crs_ref(CRS84))
    response.status_code = 201
    response.headers["Location"] = location
    return response


def _write(
    conn: Connection,
    request: Request,
    principal: Principal,
    plan_id: int,
    code: str,
    body: FeatureBody | FeaturePatch,
    content_crs: str | None,
    if_match: str | None,
    replace: bool,
) -> Response:
    if body.id is not None and str(body.id) != code:
        raise InvalidInputError(
            tr("the feature's id {id} is not {code}, the item written", id=body.id, code=code)
        )
    geometry, datum = _incoming(body.geometry, content_crs)
    written = plan_collection.write_feature(
        conn,
        plan_id,
        code,
        geometry,
        dict(body.properties or {}),
        datum,
        _actor(principal),
        replace=replace,
        if_match=if_match,
    )
    assert written.feature is not None
    response = _feature_response(request, plan_id, written.feature, crs_ref(CRS84))
    response.headers["X-Plan-Edit"] = "none" if written.edit_id is None else str(written.edit_id)
    return response


@router.put(
    "/collections/plan-{plan_id}/items/{code}",
    dependencies=[WRITES],
    response_model=OgcFeature,
    response_class=ogc.GeoJSONDocument,
    responses=WRITE_ANSWERS,
)
def replace_plan_item(
    request: Request,
    conn: ConnDep,
    principal: PlannerDep,
    plan_id: PlanPath,
    code: CodePath,
    body: Annotated[FeatureBody, Body(media_type=ogc.GEOJSON)],
    content_crs: ContentCrs = None,
    if_match: IfMatch = None,
) -> Response:
    """Replace a grid: neighbours give and take the difference; as read, a 200 no-op."""
    return _write(conn, request, principal, plan_id, code, body, content_crs, if_match, True)


@router.patch(
    "/collections/plan-{plan_id}/items/{code}",
    dependencies=[WRITES],
    response_model=OgcFeature,
    response_class=ogc.GeoJSONDocument,
    responses=WRITE_ANSWERS,
)
def update_plan_item(
    request: Request,
    conn: ConnDep,
    principal: PlannerDep,
    plan_id: PlanPath,
    code: CodePath,
    body: Annotated[FeaturePatch, Body(media_type="application/merge-patch+json")],
    content_crs: ContentCrs = None,
    if_match: IfMatch = None,
) -> Response:
    """Update a grid's geometry or properties (JSON merge patch)."""
    return _write(conn, request, principal, plan_id, code, body, content_crs, if_match, False)


@router.delete("/collections/plan-{plan_id}/items/{code}", status_code=204, dependencies=[WRITES])
def delete_plan_item(
    request: Request,
    conn: ConnDep,
    principal: PlannerDep,
    plan_id: PlanPath,
    code: CodePath,
    if_match: IfMatch = None,
) -> Response:
    """Give a grid to its neighbour (its merge_into, else the longest shared edge)."""
    written = plan_collection.delete_feature(conn, plan_id, code, _actor(principal), if_match)
    assert written.feature is not None
    merged = ogc.url(request, f"{_path(plan_id)}/items/{written.feature.code}")
    return Response(status_code=204, headers={"Link": f'<{merged}>; rel="related"'})


# ---- the published collections are read-only ---------------------------------------------------


@router.api_route(
    "/collections/{collection_id}/items",
    methods=["POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
)
@router.api_route(
    "/collections/{collection_id}/items/{feature_id}",
    methods=["POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
)
def refuse_write(request: Request, collection_id: Word) -> Response:
    """A write to a published collection: 405, naming where edits go."""
    features.collection(collection_id)  # 404 for an unknown one
    raise MethodNotAllowedError(
        tr(
            "collection {collection} is a published boundary release and is read-only; "
            "edit a plan instead: open one with POST /v1/plans, then write to "
            "/ogc/collections/plan-<id>/items",
            collection=collection_id,
        ),
        allow=READ_ALLOW,
    )


@router.options("/collections/{collection_id}/items", include_in_schema=False)
@router.options("/collections/{collection_id}/items/{feature_id}", include_in_schema=False)
def read_only_options(collection_id: Word) -> Response:
    """A published collection takes reads only."""
    features.collection(collection_id)
    return Response(status_code=204, headers={"Allow": ", ".join(READ_ALLOW)})
