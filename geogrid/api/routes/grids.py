"""Grids: the layer of a release, one grid, and the release's tiling check."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from geogrid.access.roles import Principal
from geogrid.api.deps import PrincipalDep, ReleaseConnDep
from geogrid.api.routes.collections import (
    BBoxQuery,
    CodeAfterQuery,
    CrsQuery,
    GeoJSONResponse,
    LimitQuery,
    ReleaseQuery,
    geometry,
    page_members,
    release_geojson,
)
from geogrid.api.schemas.lookup import (
    GridCollection,
    GridDetail,
    GridFeature,
    GridProperties,
    Person,
    TilingReport,
    UnitRef,
    ViolationCollection,
    ViolationFeature,
)
from geogrid.boundaries.grids import Grid, get_grid
from geogrid.geo.output import output_crs, output_geometries
from geogrid.limits import Word
from geogrid.lookup import collections as features

router = APIRouter(prefix="/v1", tags=["grids"], default_response_class=GeoJSONResponse)


def grid_feature(grid: Grid, principal: Principal) -> GridFeature:
    """``grid`` (geometry already in the answer's crs) as a Feature, masked for viewers."""
    grid = principal.visible(grid)
    assert grid.release is not None  # grids of collections and get_grid name their release
    return GridFeature(
        id=grid.code,
        geometry=geometry(grid.geometry),
        properties=GridProperties(
            code=grid.code,
            name=grid.name,
            kind=grid.kind,  # type: ignore[arg-type]
            dedicated_unit_name=grid.dedicated_unit_name,
            dedicated_unit_type=grid.dedicated_unit_type,
            community=UnitRef(code=grid.community.code, name=grid.community.name),
            street=UnitRef(code=grid.street.code, name=grid.street.name),
            leader=Person(name=grid.leader.name, phone=grid.leader.phone),
            party_branch=grid.party_branch,
            party_secretary=Person(
                name=grid.party_secretary.name, phone=grid.party_secretary.phone
            ),
            release=grid.release,
        ),
    )


@router.get("/grids", response_model=GridCollection)
def list_grids(
    request: Request,
    conn: ReleaseConnDep,
    principal: PrincipalDep,
    community: Annotated[Word | None, Query(description="Community code (12 digits)")] = None,
    street: Annotated[Word | None, Query(description="Street code (9 digits)")] = None,
    kind: Annotated[Word | None, Query(description="resident or dedicated")] = None,
    release: ReleaseQuery = None,
    bbox: BBoxQuery = None,
    crs: CrsQuery = "wgs84",
    limit: LimitQuery = features.DEFAULT_LIMIT,
    after: CodeAfterQuery = None,
) -> Response:
    """The grids of a release as a GeoJSON FeatureCollection, paged by code, people masked."""
    page = features.grids(
        conn,
        community=community,
        street=street,
        kind=kind,
        release=release,
        bbox=bbox,
        crs=crs,
        limit=limit,
        after=after,
    )
    assert page.release is not None
    return release_geojson(
        request,
        GridCollection(
            **page_members(request, page),
            release=page.release,
            features=[grid_feature(g, principal) for g in page.items],
        ),
        page.release,
        page.crs,
    )


@router.get("/grids/{code}", response_model=GridDetail)
def read_grid(
    request: Request,
    code: Word,
    conn: ReleaseConnDep,
    principal: PrincipalDep,
    release: ReleaseQuery = None,
    crs: CrsQuery = "wgs84",
    simplify: Annotated[
        float,
        Query(
            ge=0,
            le=10_000,
            description="Simplify the boundary by this many metres "
            "(topology-preserving, in EPSG:4548); 0 keeps every vertex",
        ),
    ] = 0.0,
) -> Response:
    """One grid as a GeoJSON Feature with its community, street and people (masked for viewers)."""
    name = output_crs(crs)
    grid = get_grid(conn, code, release)
    [shape] = output_geometries([features.simplified(grid.geometry, simplify)], name)
    feature = grid_feature(replace(grid, geometry=shape), principal)
    assert grid.release is not None
    detail = GridDetail(**feature.model_dump(), simplify_m=simplify)
    return release_geojson(request, detail, grid.release, name)


@router.get("/tiling", response_model=TilingReport)
def read_tiling(
    request: Request,
    conn: ReleaseConnDep,
    release: ReleaseQuery = None,
    crs: CrsQuery = "wgs84",
) -> Response:
    """The invariant check of a release: gaps, overlaps, spills and invalid grids as GeoJSON."""
    check = features.tiling_check(conn, release)
    found = features.violation_features(check, crs)
    return release_geojson(
        request,
        TilingReport(
            release=check.release,
            valid=check.valid,
            violations=len(check.violations),
            crs=output_crs(crs),
            features=ViolationCollection(
                features=[ViolationFeature.model_validate(f) for f in found]
            ),
        ),
        check.release,
        crs,
    )
