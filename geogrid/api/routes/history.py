"""Boundary history: the releases, the diff of two releases, and every geometry of a grid."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response

from geogrid.api.deps import ReleaseConnDep
from geogrid.api.routes.collections import CrsQuery, GeoJSONResponse, geojson, geometry
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


@router.get("/releases")
def list_releases(conn: ReleaseConnDep) -> list[ReleaseInfo]:
    """Every boundary release, oldest first, with its grids and what it changed."""
    return [
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


@router.get("/releases/{n}/diff/{m}")
def diff_releases(
    n: Id32, m: Id32, conn: ReleaseConnDep, crs: CrsQuery = "wgs84"
) -> ReleaseDiffAnswer:
    """Grids added, removed and changed from release n to m, changed areas as GeoJSON."""
    diff = history.release_diff(conn, n, m, crs)
    return ReleaseDiffAnswer(
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


@router.get(
    "/grids/{code}/history", response_model=GridHistoryAnswer, response_class=GeoJSONResponse
)
def read_grid_history(code: Word, conn: ReleaseConnDep, crs: CrsQuery = "wgs84") -> Response:
    """Every geometry a grid has had, with its validity, as a GeoJSON FeatureCollection."""
    found = history.grid_history(conn, code, crs)
    return geojson(
        GridHistoryAnswer(
            code=found.code,
            name=found.name,
            kind=found.kind,  # type: ignore[arg-type]
            community=UnitRef(code=found.community.code, name=found.community.name),
            crs=found.crs,
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
        )
    )
