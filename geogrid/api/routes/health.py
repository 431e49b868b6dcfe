"""Health and identity: liveness (the process answers), readiness (the database answers)."""

from __future__ import annotations

import os
import time

from fastapi import APIRouter, Request, Response

from geogrid.api.database import Database, Work
from geogrid.api.deps import ConnDep, PrincipalDep
from geogrid.api.openapi import problems
from geogrid.api.schemas.lookup import Health, Liveness, Me, Readiness
from geogrid.lookup import health

router = APIRouter(prefix="/v1", tags=["health"])
#: Probes for load balancers and orchestrators, at the root as they usually are.
probes = APIRouter(tags=["health"])
STARTED = time.monotonic()


#: Prometheus scrapes /metrics (text exposition format, not JSON: not in the OpenAPI).
metrics = APIRouter(include_in_schema=False)


@metrics.get("/metrics")
async def get_metrics(request: Request) -> Response:
    """Requests per route and their latencies, the database gate, the release served."""
    body, media_type = request.app.state.metrics.exposition()
    return Response(body, media_type=media_type)


@probes.get("/livez")
async def livez(request: Request) -> Liveness:
    """The process answers (from memory, never waiting on the database): 200 while it can
    serve locate, whatever the database does."""
    snapshot = request.app.state.snapshots.serving
    release = None if snapshot is None else snapshot.release
    return Liveness(
        status="ok",
        release=None if release is None else release.id,
        release_published_at=None if release is None else release.published_at,
        uptime_s=round(time.monotonic() - STARTED, 3),
        pid=os.getpid(),
    )


@probes.get("/readyz", responses=problems(503))
async def readyz(request: Request) -> Readiness:
    """The database answers within a second (503 otherwise): send this process traffic."""
    database: Database = request.app.state.database
    started = time.perf_counter()
    await database.run(health.ping, database.engine, kind=Work.probe)
    snapshot = request.app.state.snapshots.serving
    return Readiness(
        status="ready",
        database_ms=round((time.perf_counter() - started) * 1000, 2),
        release=None if snapshot is None else snapshot.release.id,
    )


@router.get("/health", responses=problems(503))
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
        department=principal.department,
    )
