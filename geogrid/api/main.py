"""The FastAPI application: ``create_app(settings)``; the lifespan owns the connection pool."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from fastapi import FastAPI
from sqlalchemy.exc import OperationalError

from geogrid import db
from geogrid.access.keys import KEYS_CHANNEL, KeyCache
from geogrid.api import errors, openapi
from geogrid.api.body_size import BodySizeLimit
from geogrid.api.routes import (
    case_queries,
    cases,
    collections,
    coverage,
    grids,
    health,
    history,
    keys,
    locate,
    maps,
    nearby,
    open311,
    plans,
)
from geogrid.errors import NotFoundError
from geogrid.lookup.snapshot import SnapshotStore
from geogrid.settings import ApiSettings, CaseSettings, DatabaseSettings, ServiceAreaSettings

log = logging.getLogger("geogrid.api")


@dataclass
class Settings:
    """Everything the app reads, split by concern."""

    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    service_areas: ServiceAreaSettings = field(default_factory=ServiceAreaSettings)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app. The database is resolved at start-up (the embedded one is started)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = db.resolve_url(settings.database)
        app.state.engine = db.make_engine(url, settings.database.pool_size)
        app.state.snapshots = SnapshotStore(app.state.engine)
        app.state.snapshots.listen(KEYS_CHANNEL, app.state.key_cache.clear)
        try:
            app.state.snapshots.refresh()
        except (OperationalError, NotFoundError):
            log.warning("no snapshot yet: database unreachable or no release published")
        app.state.snapshots.start_watching()
        try:
            yield
        finally:
            app.state.snapshots.stop()
            app.state.engine.dispose()

    app = FastAPI(
        title="geogrid",
        summary="Grid governance for Yaohai District, Hefei: grids, compounds, stations.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.case_settings = CaseSettings()
    app.state.key_cache = KeyCache(settings.api.key_cache_s)
    errors.install(app)
    app.add_middleware(
        BodySizeLimit,
        default=settings.api.max_body_bytes,
        routes={
            "POST /v1/locate": settings.api.max_locate_body_bytes,
            "POST /v1/plans/{plan_id}/edits": settings.api.max_plan_edit_body_bytes,
        },
    )
    # In this order: fixed paths first (/v1/stations/nearest before any /v1/stations/{id},
    # /v1/cases/counts before /v1/cases/{case_id}); then the web maps (HTML) and Open311
    # GeoReport v2 over cases.
    routers = [
        module.router
        for module in (
            locate,
            nearby,
            health,
            grids,
            collections,
            keys,
            coverage,
            history,
            plans,
            case_queries,
            cases,
            maps,
            open311,
        )
    ]
    for router in routers:
        app.include_router(router)
    # The vendored scripts, styles and fonts the maps load from this origin.
    app.mount(maps.STATIC_PATH, maps.static_files(), name="static")
    openapi.install(app, routers)
    return app
