"""The FastAPI application: ``create_app(settings)``; the lifespan owns the connection pool."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from starlette.middleware.cors import CORSMiddleware

from geogrid import db
from geogrid.access.keys import KEYS_CHANNEL, KeyCache
from geogrid.access.ratelimits import Budget, PostgresStorage, RateLimits
from geogrid.api import errors, observability, openapi
from geogrid.api.body_size import BodySizeLimit
from geogrid.api.compression import JsonGZip
from geogrid.api.database import Database, Replica
from geogrid.api.fastpath import GZIP_MINIMUM, FastPath
from geogrid.api.head import HeadAsGet
from geogrid.api.ranges import ByteRanges
from geogrid.api.routes import (
    case_photos,
    case_queries,
    case_supervision,
    cases,
    collections,
    console,
    coverage,
    departments,
    docs,
    grids,
    health,
    history,
    keys,
    locate,
    maps,
    nearby,
    notifications,
    ogc,
    ogc_plans,
    open311,
    organisations,
    plans,
    registers,
    signin,
    siting,
    tiles,
)
from geogrid.errors import NotFoundError
from geogrid.lookup.snapshot import SnapshotStore
from geogrid.lookup.walks import NETWORK_CHANNEL, NetworkWalks
from geogrid.organisations.serving import CHANNEL as ORGANISATIONS_CHANNEL
from geogrid.settings import (
    ApiSettings,
    AuthSettings,
    CaseSettings,
    DatabaseSettings,
    PhotoSettings,
    RateLimitSettings,
    ServiceAreaSettings,
    TileSettings,
)
from geogrid.tiles import TileCache

log = logging.getLogger("geogrid.api")

#: CORS (GEOGRID_CORS_ORIGINS): what a page of an allowed origin may send and read.
CORS_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
CORS_REQUEST_HEADERS = [
    "Authorization",
    "Content-Type",
    "Accept",
    "Accept-Language",
    "If-None-Match",
    "X-Request-Id",
]
CORS_EXPOSED_HEADERS = ["ETag", "Content-Crs", "Link", "Retry-After", "X-Request-Id", "Location"]


@dataclass
class Settings:
    """Everything the app reads, split by concern."""

    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    service_areas: ServiceAreaSettings = field(default_factory=ServiceAreaSettings)
    rate_limits: RateLimitSettings = field(default_factory=RateLimitSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app. The database is resolved at start-up (the embedded one is started)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = db.resolve_url(settings.database)
        # Room for every slot, the release watcher's connection and one snapshot build.
        app.state.engine = db.make_engine(
            url,
            settings.database.pool_size + 2,
            settings.database.connect_timeout_s,
            settings.database.prepared_statements,
        )
        app.state.database = Database(app.state.engine, settings.database)
        app.state.replica = _replica(settings.database)
        app.state.rate_limits = _rate_limits(app.state.engine, settings.rate_limits)
        app.state.snapshots = SnapshotStore(app.state.engine)
        app.state.snapshots.listen(KEYS_CHANNEL, app.state.key_cache.clear)
        app.state.walks = NetworkWalks(app.state.engine, settings.service_areas.network_access_m)
        app.state.snapshots.listen(NETWORK_CHANNEL, app.state.walks.invalidate)
        app.state.snapshots.listen(ORGANISATIONS_CHANNEL, app.state.snapshots.reload_serving)
        try:
            app.state.snapshots.refresh()
        except (OperationalError, NotFoundError):
            log.warning("no snapshot yet: database unreachable or no release published")
        app.state.snapshots.start_watching()
        # What start-up built (the snapshot, the app, imported modules) lives as long as the
        # process: out of the collector's sight, so a full collection walks only what requests
        # allocate (on the demo a full collection of all of it takes 0.13 s).
        gc.freeze()
        sampler = asyncio.create_task(_sample_metrics(app))
        try:
            yield
        finally:
            sampler.cancel()
            observability.logs.flush()
            app.state.snapshots.stop()
            app.state.engine.dispose()
            if app.state.replica is not None:
                app.state.replica.database.engine.dispose()

    app = FastAPI(
        # Metrics are Prometheus' (/metrics); FastAPI's OpenTelemetry hooks would cost every
        # request a check.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        # /docs and /redoc are api/routes/docs.py: the same pages, from this origin.
        docs_url=None,
        redoc_url=None,
        title="geogrid",
        summary="Grid governance for Yaohai District, Hefei: grids, compounds, stations.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.case_settings = CaseSettings()
    app.state.photo_settings = photo_settings = PhotoSettings()
    app.state.auth_settings = settings.auth
    app.state.tile_cache = TileCache(int(TileSettings().tile_cache_mb * 2**20))
    app.state.key_cache = KeyCache(settings.api.key_cache_s, settings.api.key_outage_s)
    app.state.replica = None  # the lifespan makes it when GEOGRID_DATABASE_REPLICA_URL is set
    errors.install(app)
    app.add_middleware(
        BodySizeLimit,
        default=settings.api.max_body_bytes,
        routes={
            "POST /v1/locate": settings.api.max_locate_body_bytes,
            "POST /v1/plans/{plan_id}/edits": settings.api.max_plan_edit_body_bytes,
            # a photo, its caption and the multipart framing around them
            "POST /v1/cases/{case_id}/photos": photo_settings.photo_max_bytes + 64 * 1024,
            "POST /console/cases/{case_id}/photos": photo_settings.photo_max_bytes + 64 * 1024,
        },
    )
    # Outside the body limit, so a 413 in JSON is compressed like any answer; inside the fast
    # path, so locate and nearest station never go through it.
    app.add_middleware(JsonGZip, minimum_size=GZIP_MINIMUM)
    # Outside gzip: a HEAD's Content-Length is that of the GET's body as sent.
    app.add_middleware(HeadAsGet)
    # locate and nearest station, straight from the ASGI stack (api/fastpath.py).
    app.add_middleware(
        FastPath, routes=[_route(locate.router, ""), _route(nearby.router, "/nearest")]
    )
    # Ranges of any GET answer (api/ranges.py): GDAL's /vsicurl reads URLs in byte ranges.
    app.add_middleware(ByteRanges)
    if settings.api.cors_origins:
        # Outside the fast path, so its answers carry the CORS headers too; a preflight is
        # answered here, before any route, key or database is asked.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api.cors_origins,
            allow_credentials=False,  # keys travel in Authorization, never in cookies
            allow_methods=CORS_METHODS,
            allow_headers=CORS_REQUEST_HEADERS,
            expose_headers=CORS_EXPOSED_HEADERS,
            max_age=600,
        )
    observability.configure_logging(settings.api.log_level, settings.api.log_format)
    app.state.metrics = observability.Metrics()
    # Added last, so outermost: a 413 from the body limit and a CORS preflight have an id,
    # headers and a log line.
    app.add_middleware(
        observability.RequestMiddleware,
        metrics=app.state.metrics,
        access_log=settings.api.access_log,
    )
    # In this order: the hot paths first (routes are matched in turn, each match costing
    # some microseconds: creating a case went through some forty routes before its own);
    # fixed paths before parameters (/v1/stations/nearest before any /v1/stations/{id},
    # /v1/cases/counts before /v1/cases/{case_id}); then the web maps (HTML) and Open311
    # GeoReport v2 over cases.
    routers = [locate.router, nearby.router, health.probes, health.metrics] + [
        module.router
        for module in (
            case_queries,
            cases,
            health,
            grids,
            collections,
            keys,
            notifications,
            coverage,
            siting,
            history,
            plans,
            case_photos,
            case_supervision,
            departments,
            organisations,
            registers,
            maps,
            open311,
            # before ogc: its /collections/plan-{id}/... are more specific than ogc's
            ogc_plans,
            ogc,
            tiles,
        )
    ]
    routers += [docs.router, signin.router, console.router]
    for router in routers:
        app.include_router(router)
    # The vendored scripts, styles and fonts the maps load from this origin.
    # The console's own CSS and JS (mounted first: /static/console is more specific).
    app.mount(f"{maps.STATIC_PATH}/console", maps.console_static_files(), name="console-static")
    app.mount(maps.STATIC_PATH, maps.static_files(), name="static")
    openapi.install(app, routers)
    return app


def _replica(settings: DatabaseSettings) -> Replica | None:
    """The hot standby's engine and gate, when GEOGRID_DATABASE_REPLICA_URL names one."""
    if not settings.database_replica_url:
        return None
    url = db.normalise_url(settings.database_replica_url)
    engine = db.make_engine(
        url, settings.pool_size, settings.connect_timeout_s, settings.prepared_statements
    )
    return Replica(Database(engine, settings))


def _rate_limits(engine: Engine, settings: RateLimitSettings) -> RateLimits | None:
    if not settings.rate_limits:
        return None
    rates = {
        Budget.writes: settings.rate_writes,
        Budget.batches: settings.rate_batches,
        Budget.failed_authentication: settings.rate_failed_authentication,
        Budget.failed_sign_in: settings.rate_failed_sign_in,
    }
    return RateLimits(PostgresStorage(engine), rates)


async def _sample_metrics(app: FastAPI) -> None:
    """Once a second: refresh the gauges of /metrics, and ask a database that failed whether it
    is back. Hourly: drop spent rate-limit counters."""
    ticks = 0
    while True:
        with contextlib.suppress(Exception):  # a gauge must never take the process down
            app.state.metrics.sample(app.state)
            observability.logs.flush()
        await app.state.database.probe_if_down()
        if app.state.replica is not None:
            await app.state.replica.database.probe_if_down()
        if ticks % 3600 == 0 and app.state.rate_limits is not None:
            with contextlib.suppress(Exception):
                await app.state.database.run(app.state.rate_limits.storage.forget_expired)
        ticks += 1
        await asyncio.sleep(1.0)


def _route(router: APIRouter, path: str) -> APIRoute:
    """The GET route at ``router.prefix + path``."""
    full = router.prefix + path
    for route in router.routes:
        if isinstance(route, APIRoute) and route.path == full and "GET" in (route.methods or ()):
            return route
    raise LookupError(f"no GET route at {full}")
