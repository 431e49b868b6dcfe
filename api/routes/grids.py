"""Grids."""

from __future__ import annotations

from typing import Annotated

import shapely
from fastapi import APIRouter, Query

from api.deps import ConnDep, PrincipalDep
from api.schemas import GridFeature, GridProperties, Person, UnitRef
from geogrid.grids import get_grid

router = APIRouter(prefix="/v1/grids", tags=["grids"])


@router.get("/{code}")
def read_grid(
    code: str,
    conn: ConnDep,
    principal: PrincipalDep,
    release: Annotated[int | None, Query(ge=1, description="Boundary release; default current")]
    = None,
) -> GridFeature:
    """One grid as a GeoJSON Feature (EPSG:4490 lon/lat), people masked for viewers."""
    grid = get_grid(conn, code, release)
    if not principal.sees_personal_data:
        grid = grid.masked()
    return GridFeature(
        id=grid.code,
        geometry=shapely.geometry.mapping(grid.geometry),
        properties=GridProperties(
            code=grid.code, name=grid.name, kind=grid.kind,  # type: ignore[arg-type]
            dedicated_unit_name=grid.dedicated_unit_name,
            dedicated_unit_type=grid.dedicated_unit_type,
            community=UnitRef(code=grid.community.code, name=grid.community.name),
            street=UnitRef(code=grid.street.code, name=grid.street.name),
            leader=Person(name=grid.leader.name, phone=grid.leader.phone),
            party_branch=grid.party_branch,
            party_secretary=Person(name=grid.party_secretary.name,
                                   phone=grid.party_secretary.phone),
            release=grid.release,
        ),
    )
