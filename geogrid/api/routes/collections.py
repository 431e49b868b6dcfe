"""Feature collections for web maps: communities, streets, stations and compounds (GeoJSON).

Shared by every collection route (grids too): the query parameters for paging, bbox and crs,
the ``links`` of a page, and a response that sends a model as ``application/geo+json`` with
its ``Content-Crs`` and an ETag of the release it was drawn from (api/caching.py).

No answer carries a ``crs`` member: RFC 7946 removed it (GeoJSON is longitude, latitude on
WGS84), and readers such as OpenLayers' refuse the string form. An answer in another datum
says so in ``Content-Crs`` (``<http://www.opengis.net/def/crs/OGC/1.3/CRS84>`` for wgs84 and
cgcs2000, ``<urn:x-geogrid:def:crs:GCJ-02>``, ``<urn:x-geogrid:def:crs:BD-09>``).
"""

from __future__ import annotations

from typing import Annotated, Any

import shapely
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from shapely.geometry.base import BaseGeometry

from geogrid.api.caching import with_etag
from geogrid.api.deps import ReleaseConnDep, needed_release
from geogrid.api.responses import content_crs
from geogrid.api.schemas.lookup import (
    CommunityCollection,
    CommunityFeature,
    CommunityProperties,
    CompoundCollection,
    CompoundFeature,
    CompoundProperties,
    Link,
    LonLat,
    StationCollection,
    StationFeature,
    StationProperties,
    StreetCollection,
    StreetFeature,
    StreetProperties,
    UnitRef,
)
from geogrid.boundaries.grids import Unit
from geogrid.limits import INT64_MAX, TITLE, Id32, Int64, Text, Word
from geogrid.lookup import collections as features

GEOJSON = "application/geo+json"


class GeoJSONResponse(JSONResponse):
    """A body already serialised by pydantic, sent as GeoJSON.

    A JSONResponse, so that the OpenAPI document shows the route's response model under
    ``application/geo+json``; the body is passed through as it is, never encoded twice.
    """

    media_type = GEOJSON

    def render(self, content: Any) -> bytes:
        return content if isinstance(content, bytes) else str(content).encode("utf-8")


def geojson(model: BaseModel) -> GeoJSONResponse:
    """``model`` serialised by pydantic's JSON encoder (the fast path) as application/geo+json."""
    return GeoJSONResponse(model.model_dump_json())


def release_geojson(request: Request, model: BaseModel, release: int | None, crs: str) -> Response:
    """``model`` as GeoJSON in ``crs`` (named in ``Content-Crs``) with the ETag of ``release``
    (default: the newest this process serves); 304 when the client has it already."""
    answer = geojson(model)
    answer.headers["Content-Crs"] = content_crs(crs)
    return with_etag(request, answer, needed_release(request) if release is None else release)


CrsQuery = Annotated[
    Word,
    Query(
        description="Coordinate system of the answer and of bbox: wgs84, cgcs2000, gcj02 "
        "(AMap, Tencent, WeChat) or bd09 (Baidu), longitude first. GeoJSON answers carry no crs "
        "member (RFC 7946): their Content-Crs header names it, "
        "<http://www.opengis.net/def/crs/OGC/1.3/CRS84> for wgs84 and cgcs2000, "
        "<urn:x-geogrid:def:crs:GCJ-02> or <urn:x-geogrid:def:crs:BD-09>"
    ),
]
BBoxQuery = Annotated[
    Annotated[str, Text(200)] | None,
    Query(
        description="minlon,minlat,maxlon,maxlat in crs: only features that intersect it",
        examples=["117.33,31.86,117.37,31.89"],
    ),
]
LimitQuery = Annotated[
    int,
    Query(
        ge=1,
        le=INT64_MAX,
        description=f"Page size (default {features.DEFAULT_LIMIT}); values above "
        f"{features.MAX_LIMIT} are clamped to it, and the answer says so",
    ),
]
CodeAfterQuery = Annotated[
    Word | None,
    Query(description="Continue after this code; follow the page's next link rather than set it"),
]
IdAfterQuery = Annotated[
    Int64 | None,
    Query(description="Continue after this id; follow the page's next link rather than set it"),
]
CommunityQuery = Annotated[Word | None, Query(description="Community code (12 digits)")]
ReleaseQuery = Annotated[Id32 | None, Query(description="Boundary release; default current")]

router = APIRouter(prefix="/v1", tags=["collections"], default_response_class=GeoJSONResponse)


def page_links(request: Request, page: features.Page[Any]) -> list[Link]:
    """``self``, and ``next`` while more features remain."""
    found = [Link(rel="self", href=str(request.url))]
    if page.next_after is not None:
        following = request.url.include_query_params(after=page.next_after, limit=page.limit)
        found.append(Link(rel="next", href=str(following)))
    return found


def page_members(request: Request, page: features.Page[Any]) -> dict[str, Any]:
    """The members every collection answer has besides its features."""
    return {
        "numberMatched": page.number_matched,
        "numberReturned": len(page.items),
        "limit": page.limit,
        "limit_requested": page.limit_requested,
        "links": page_links(request, page),
    }


def geometry(geom: BaseGeometry) -> dict[str, Any]:
    """A GeoJSON geometry object of a geometry already made an answer's
    (:func:`geogrid.geo.output.output_geometries`: in the caller's crs, rounded, RFC 7946
    winding)."""
    return shapely.geometry.mapping(geom)  # type: ignore[no-any-return]


def unit_ref(unit: Unit | None) -> UnitRef | None:
    return None if unit is None else UnitRef(code=unit.code, name=unit.name)


@router.get("/streets", response_model=StreetCollection)
def list_streets(
    request: Request,
    conn: ReleaseConnDep,
    bbox: BBoxQuery = None,
    crs: CrsQuery = "wgs84",
    limit: LimitQuery = features.DEFAULT_LIMIT,
    after: CodeAfterQuery = None,
) -> Response:
    """Streets, towns and development zones as a GeoJSON FeatureCollection, paged by code."""
    page = features.streets(conn, bbox=bbox, crs=crs, limit=limit, after=after)
    return release_geojson(
        request,
        StreetCollection(
            **page_members(request, page),
            features=[
                StreetFeature(
                    id=s.code,
                    geometry=geometry(s.geometry),
                    properties=StreetProperties(
                        code=s.code,
                        name=s.name,
                        kind=s.kind,  # type: ignore[arg-type]
                        district_code=s.district_code,
                    ),
                )
                for s in page.items
            ],
        ),
        page.release,
        page.crs,
    )


@router.get("/communities", response_model=CommunityCollection)
def list_communities(
    request: Request,
    conn: ReleaseConnDep,
    street: Annotated[Word | None, Query(description="Street code (9 digits)")] = None,
    bbox: BBoxQuery = None,
    crs: CrsQuery = "wgs84",
    limit: LimitQuery = features.DEFAULT_LIMIT,
    after: CodeAfterQuery = None,
) -> Response:
    """Communities as a GeoJSON FeatureCollection, paged by code, optionally of one street."""
    page = features.communities(conn, street=street, bbox=bbox, crs=crs, limit=limit, after=after)
    return release_geojson(
        request,
        CommunityCollection(
            **page_members(request, page),
            features=[
                CommunityFeature(
                    id=c.code,
                    geometry=geometry(c.geometry),
                    properties=CommunityProperties(
                        code=c.code,
                        name=c.name,
                        street=UnitRef(code=c.street.code, name=c.street.name),
                    ),
                )
                for c in page.items
            ],
        ),
        page.release,
        page.crs,
    )


@router.get("/stations", response_model=StationCollection)
def list_stations(
    request: Request,
    conn: ReleaseConnDep,
    kind: Annotated[
        Word | None, Query(description=f"One of {', '.join(features.STATION_KINDS)}")
    ] = None,
    community: CommunityQuery = None,
    bbox: BBoxQuery = None,
    crs: CrsQuery = "wgs84",
    limit: LimitQuery = features.DEFAULT_LIMIT,
    after: IdAfterQuery = None,
) -> Response:
    """Service stations as a GeoJSON FeatureCollection of points, paged by id."""
    page = features.stations(
        conn, kind=kind, community=community, bbox=bbox, crs=crs, limit=limit, after=after
    )
    return release_geojson(
        request,
        StationCollection(
            **page_members(request, page),
            features=[
                StationFeature(
                    id=s.id,
                    geometry=geometry(s.geometry),
                    properties=StationProperties(
                        id=s.id,
                        name=s.name,
                        kind=s.kind,  # type: ignore[arg-type]
                        community=unit_ref(s.community),
                        opening_hours=s.opening_hours,
                        address=s.address,
                    ),
                )
                for s in page.items
            ],
        ),
        page.release,
        page.crs,
    )


@router.get("/compounds", response_model=CompoundCollection)
def list_compounds(
    request: Request,
    conn: ReleaseConnDep,
    kind: Annotated[
        Word | None, Query(description=f"One of {', '.join(features.COMPOUND_KINDS)}")
    ] = None,
    smart_safe: Annotated[
        bool | None, Query(description="Only smart safe compounds (true) or only the others")
    ] = None,
    three_no: Annotated[
        bool | None, Query(description="Only three-no compounds (true) or only the others")
    ] = None,
    community: Annotated[
        Word | None,
        Query(description="Community code (12 digits) of the grid holding the compound's point"),
    ] = None,
    q: Annotated[
        Annotated[str, Text(TITLE)] | None,
        Query(
            description="Only compounds whose name contains this text, ignoring case "
            "(a search box)",
            examples=["海棠"],
        ),
    ] = None,
    release: ReleaseQuery = None,
    bbox: BBoxQuery = None,
    crs: CrsQuery = "wgs84",
    limit: LimitQuery = features.DEFAULT_LIMIT,
    after: IdAfterQuery = None,
) -> Response:
    """Compounds as a GeoJSON FeatureCollection, paged by id, each with its point and grid."""
    page = features.compounds(
        conn,
        kind=kind,
        smart_safe=smart_safe,
        three_no=three_no,
        community=community,
        q=q,
        release=release,
        bbox=bbox,
        crs=crs,
        limit=limit,
        after=after,
    )
    assert page.release is not None
    return release_geojson(
        request,
        CompoundCollection(
            **page_members(request, page),
            release=page.release,
            features=[
                CompoundFeature(
                    id=c.id,
                    geometry=geometry(c.geometry),
                    properties=CompoundProperties(
                        id=c.id,
                        name=c.name,
                        kind=c.kind,  # type: ignore[arg-type]
                        households=c.households,
                        population=c.population,
                        smart_safe=c.smart_safe,
                        three_no=c.three_no,
                        grid=unit_ref(c.grid),
                        community=unit_ref(c.community),
                        point=LonLat(lon=c.point.x, lat=c.point.y),
                    ),
                )
                for c in page.items
            ],
        ),
        page.release,
        page.crs,
    )
