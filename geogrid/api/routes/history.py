"""Boundary history: the releases, the diff of two releases, and every geometry of a grid."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response

from geogrid.api.caching import with_etag
from geogrid.api.deps import ReleaseConnDep, needed_release
from geogrid.api.responses import content_crs
from geogrid.api.routes.collections import CrsQuery, GeoJSONResponse, geometry, release_geojson
from geogrid.api.schemas.lookup import (
    ChangeCollection,
    ChangedGridInfo,
    ChangeFeature,
    ChangeProperties,
    GridHistoryAnswer,
    GridVersionFeature,
    GridVersionProperties,
    ReleaseDiffAnswer,
    ReleaseInfo,
    UnitRef,
)
from geogrid.boundaries import history
from geogrid.limits import Id32, Word
from geogrid.moments import LOCAL

router = APIRouter(prefix="/v1", tags=["history"])


def moment(value: datetime) -> str:
    """ISO 8601 with the offset, in Asia/Shanghai (the zone ``at=`` assumes)."""
    return value.astimezone(LOCAL).isoformat()


@router.get("/releases", response_model=list[ReleaseInfo])
def list_releases(request: Request, conn: ReleaseConnDep) -> Response:
    """Every boundary release, oldest first, with its grids and what it changed."""
    found = [
        ReleaseInfo(
            id=s.release.id,
            published_at=moment(s.release.published_at),
            published_by=s.release.published_by,
            comment=s.release.comment,
            source=s.release.source,
            previous=s.previous,
            grids=s.grids,
            added=s.added,
            removed=s.removed,
            changed=s.changed,
        )
        for s in history.release_summaries(conn)
    ]
    newest = max((r.id for r in found), default=needed_release(request))
    body = b"[" + b",".join(r.model_dump_json().encode() for r in found) + b"]"
    return with_etag(request, _json(body), newest)


def _json(body: bytes) -> Response:
    return Response(body, media_type="application/json")


@router.get("/releases/{n}/diff/{m}", response_model=ReleaseDiffAnswer)
def diff_releases(
    request: Request, n: Id32, m: Id32, conn: ReleaseConnDep, crs: CrsQuery = "wgs84"
) -> Response:
    """Grids added, removed and changed from release n to m, changed areas as GeoJSON."""
    diff = history.release_diff(conn, n, m, crs)
    answer = ReleaseDiffAnswer(
        from_release=diff.from_release,
        to_release=diff.to_release,
        crs=diff.crs,
        added=[UnitRef(code=u.code, name=u.name) for u in diff.added],
        removed=[UnitRef(code=u.code, name=u.name) for u in diff.removed],
        changed=[ChangedGridInfo(**vars(c)) for c in diff.changed],
        changes=ChangeCollection(
            features=[
                ChangeFeature(
                    geometry=geometry(a.geometry),
                    properties=ChangeProperties(
                        code=a.code, name=a.name, change=a.change, area_m2=a.area_m2
                    ),
                )
                for a in diff.changes
            ]
        ),
    )
    response = _json(answer.model_dump_json().encode())
    response.headers["Content-Crs"] = content_crs(diff.crs)
    return with_etag(request, response, max(n, m))


@router.get(
    "/grids/{code}/history", response_model=GridHistoryAnswer, response_class=GeoJSONResponse
)
def read_grid_history(
    request: Request, code: Word, conn: ReleaseConnDep, crs: CrsQuery = "wgs84"
) -> Response:
    """Every geometry a grid has had, with its validity, as a GeoJSON FeatureCollection."""
    found = history.grid_history(conn, code, crs)
    return release_geojson(
        request,
        GridHistoryAnswer(
            code=found.code,
            name=found.name,
            kind=found.kind,  # type: ignore[arg-type]
            community=UnitRef(code=found.community.code, name=found.community.name),
            features=[
                GridVersionFeature(
                    id=v.geometry_id,
                    geometry=geometry(v.geometry),
                    properties=GridVersionProperties(
                        code=found.code,
                        geometry_id=v.geometry_id,
                        valid_from_release=v.valid_from_release,
                        valid_to_release=v.valid_to_release,
                        valid_from=moment(v.valid_from),
                        valid_to=None if v.valid_to is None else moment(v.valid_to),
                        current=v.current,
                        area_m2=v.area_m2,
                        made_by=v.made_by,
                        comment=v.comment,
                        plan=v.plan,
                    ),
                )
                for v in found.versions
            ],
        ),
        None,
        found.crs,
    )
