"""Health and identity."""

from __future__ import annotations

from fastapi import APIRouter

from geogrid.api.deps import ConnDep, PrincipalDep
from geogrid.api.schemas.lookup import Health, Me
from geogrid.lookup import health

router = APIRouter(prefix="/v1", tags=["health"])


@router.get("/health")
def get_health(conn: ConnDep) -> Health:
    """Database reachability, PostGIS version and the current boundary release."""
    found = health.check(conn)
    return Health(
        status="ok",
        database=found.database,
        postgres_version=found.postgres_version,
        postgis_version=found.postgis_version,
        release=found.release,
    )


@router.get("/me")
def get_me(principal: PrincipalDep) -> Me:
    """Who the API takes the caller for (anonymous callers are viewers)."""
    return Me(
        name=principal.name,
        role=principal.role.name,  # type: ignore[arg-type]
        sees_personal_data=principal.sees_personal_data,
    )
