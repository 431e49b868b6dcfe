"""geogrid's app plus the peers it is measured against, all served by the same process.

Run it as ``uvicorn bench.app:create_bench_app --factory`` with ``GEOGRID_DATABASE_URL`` set.
The peers answer the question of ``GET /v1/locate`` (or none at all, for the echoes):

* ``/bench/echo``: FastAPI's default idiom, a plain ``def`` that echoes its query parameters;
* ``/bench/echo-async``: the same as ``async def`` (no worker thread: the framework's ceiling);
* ``/bench/strtree``: the grid code from an in-memory shapely STRtree of the current grids;
* ``/bench/postgis``: the grid code from one ``ST_Covers`` query through the app's pool;
* ``POST /bench/insert``: the ceiling of a durable write on this stack, for ``POST /v1/cases``
  (bench.cases): the same body parsed into the same pydantic model, then the route's own
  INSERT (case + event) and a commit through the app's pool, in a plain ``def`` — no key, no
  write budget, no routing, no duplicates, no due time, no outbox.

Every pooled PostgreSQL backend is pinned to the server's cores (``BENCH_CPUS``, default 0),
so the server and the database it asks share the server's core budget.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import shapely
from fastapi import APIRouter, FastAPI, Request
from sqlalchemy import Engine, event, text

from bench.database import pin_postgres
from geogrid.api.deps import ConnDep
from geogrid.api.main import create_app
from geogrid.cases.report import CaseReport
from geogrid.db.sqlfiles import sql

peers = APIRouter(prefix="/bench", tags=["bench"])

_COVERS = text(
    "SELECT min(grid_code) FROM grid_geometry WHERE valid_to_release IS NULL "
    "AND ST_Covers(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4490))"
)


@peers.get("/echo")
def echo(lon: float, lat: float, crs: str = "wgs84") -> dict:  # type: ignore[type-arg]
    """Echo the query parameters (a plain def: FastAPI runs it in a worker thread)."""
    return {"lon": lon, "lat": lat, "crs": crs}


@peers.get("/echo-async")
async def echo_async(lon: float, lat: float, crs: str = "wgs84") -> dict:  # type: ignore[type-arg]
    """Echo the query parameters on the event loop: the framework's ceiling."""
    return {"lon": lon, "lat": lat, "crs": crs}


@peers.get("/strtree")
async def strtree(request: Request, lon: float, lat: float) -> dict[str, Any]:
    """The grid covering a WGS84 point, from a shapely STRtree (smallest code on ties)."""
    tree, codes = request.app.state.peer_tree
    found = tree.query(shapely.Point(lon, lat), predicate="covered_by")
    return {"code": codes[int(found.min())] if len(found) else None}


@peers.get("/postgis")
def postgis(conn: ConnDep, lon: float, lat: float) -> dict[str, Any]:
    """The grid covering a WGS84 point, from one PostGIS ST_Covers query."""
    code = conn.execute(_COVERS, {"lon": lon, "lat": lat}).scalar()
    return {"code": None if code is None else code.strip()}


_INSERT = text(sql("case_insert"))


@peers.post("/insert", status_code=201)
def insert(request: Request, report: CaseReport) -> dict[str, Any]:
    """Store the report as a case with one INSERT and a commit (the grid from the peer tree)."""
    tree, codes = request.app.state.peer_tree
    lon, lat = float(report.lon or 0), float(report.lat or 0)
    point = shapely.Point(lon, lat)
    found = tree.query(point, predicate="covered_by")  # (a GCJ-02 point near an edge: nearest)
    grid = codes[int(found.min())] if len(found) else codes[int(tree.nearest(point))]
    with request.app.state.engine.begin() as conn:
        row = conn.execute(
            _INSERT,
            {
                "category": report.category,
                "description": report.description,
                "channel": report.channel,
                "reporter_name": report.reporter_name,
                "reporter_phone": report.reporter_phone,
                "address": None,
                "photos": [],
                "input_lon": report.lon,
                "input_lat": report.lat,
                "input_crs": report.crs,
                "x": lon,
                "y": lat,
                "compound_id": None,
                "grid_code": grid,
                "department": None,
                "release_id": request.app.state.peer_release,
                "flags": [],
                "actor": "bench-insert",
                "key": None,
                "hash": report.fingerprint(),
                "urgency": "normal",
                "stage_started_at": None,
                "stage_yellow_at": None,
                "stage_due_at": None,
                "created_at": None,
                "account": None,
                "details": "{}",
            },
        ).one()
    return {"id": row.id}


def grid_tree(engine: Engine) -> tuple[shapely.STRtree, list[str]]:
    """An STRtree of the current grids, in code order, and their codes."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT grid_code, ST_AsBinary(geom) AS wkb FROM grid_geometry "
                "WHERE valid_to_release IS NULL ORDER BY grid_code"
            )
        ).all()
    return (
        shapely.STRtree(shapely.from_wkb([bytes(r.wkb) for r in rows])),
        [r.grid_code.strip() for r in rows],
    )


def _pin_backends(engine: Engine, cpus: set[int]) -> None:
    url = engine.url.render_as_string(hide_password=False)

    @event.listens_for(engine, "checkout")
    def pin(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if "bench_pinned" not in record.info:
            with dbapi_connection.cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                pid = cur.fetchone()[0]
            dbapi_connection.rollback()  # hand it back outside a transaction, as checked out
            record.info["bench_pinned"] = pin_postgres(url, int(pid), cpus)


def create_bench_app() -> FastAPI:
    """geogrid's app (geogrid.api.main.create_app) with the peer routes added."""
    app = create_app()
    inner = app.router.lifespan_context
    cpus = {int(c) for c in os.environ.get("BENCH_CPUS", "0").split(",")}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        async with inner(app) as state:
            _pin_backends(app.state.engine, cpus)
            app.state.peer_tree = grid_tree(app.state.engine)
            with app.state.engine.connect() as conn:
                release = conn.execute(text("SELECT max(id) FROM boundary_release")).scalar()
            app.state.peer_release = release
            yield state

    app.router.lifespan_context = lifespan
    app.include_router(peers)
    # Routes are matched in order, each one passed over costing about a microsecond: put the
    # peers where a bare app's first route would be, right after FastAPI's own /docs routes.
    app.router.routes.insert(len(FastAPI().router.routes), app.router.routes.pop())
    return app
