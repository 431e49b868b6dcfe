"""Web maps (HTML pages) and the vendored assets they load, served from this origin only."""

from __future__ import annotations

import gzip
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

from geogrid import console, maps
from geogrid.access.roles import Permission
from geogrid.access.sessions import SignedIn
from geogrid.api.deps import (
    ConnDep,
    LongConnDep,
    PrincipalDep,
    ReleaseConnDep,
    require,
    signed_in,
)
from geogrid.api.observability import csp_nonce, with_nonce
from geogrid.api.routes.case_queries import FilterDep
from geogrid.api.schemas.plans import PlanLayers
from geogrid.limits import Id32, Kinds, Latitude, Longitude, Word
from geogrid.lookup import siting
from geogrid.lookup.coverage import TIERS
from geogrid.mapdata import cases as mapdata_cases
from geogrid.mapdata import history as mapdata_history
from geogrid.mapdata import plans as mapdata_plans
from geogrid.mapdata import siting as mapdata_siting
from geogrid.mapdata import views as mapdata
from geogrid.settings import MapSettings

router = APIRouter(tags=["maps"], default_response_class=HTMLResponse)

#: The walking-time tiers a map draws, as the OpenAPI shows them (checked by the coverage).
TIER: dict[str, Any] = {"enum": list(TIERS)}

#: Where maps/static is mounted (api.main); pages refer to it relative to the app's root.
STATIC_PATH = "/static"
#: Vendored files are versioned by path and our own by a content hash in the query string.
IMMUTABLE = "public, max-age=31536000, immutable"


class CachedStaticFiles(StaticFiles):
    """maps/static with long cache headers: the page changes, its libraries do not."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = IMMUTABLE
        return response


def static_files() -> StaticFiles:
    return CachedStaticFiles(directory=maps.STATIC_DIR)


def console_static_files() -> StaticFiles:
    """The console's own CSS and JS (their URLs carry a content hash: ?v=)."""
    return CachedStaticFiles(directory=console.STATIC_DIR)


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def _html(request: Request, folium_map: object) -> Response:
    html = maps.page(folium_map, f"{_root(request)}{STATIC_PATH}")
    # The page's inline scripts run under this request's Content-Security-Policy nonce.
    page = with_nonce(html, csp_nonce(request)).encode("utf-8")
    # The page embeds data as of now and, for dispatchers, personal data: never share it.
    headers = {"Cache-Control": "private, no-cache", "Vary": "Accept-Encoding, Authorization"}
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        # The data compresses about six to one; only these pages are large enough to matter.
        headers["Content-Encoding"] = "gzip"
        page = gzip.compress(page, compresslevel=6)
    return Response(page, media_type="text/html; charset=utf-8", headers=headers)


def _settings() -> MapSettings:
    return MapSettings()


@router.get("/", include_in_schema=False)
@router.get("/maps/overview")
def overview_page(
    request: Request,
    conn: ReleaseConnDep,
    principal: PrincipalDep,
    minutes: Annotated[
        int | None,
        Query(
            description="Tier of the gaps and heat layer: 5, 10 or 15; default each station "
            "kind at its own tier",
            json_schema_extra=TIER,
        ),
    ] = None,
) -> Response:
    """The district map: streets, communities, grids, compounds, stations, circles, gaps."""
    data = mapdata.overview(conn, principal, minutes=minutes)
    return _html(
        request,
        maps.overview_map(
            data, grid_link=f"{_root(request)}/maps/grids/", tianditu_key=_settings().tianditu_key
        ),
    )


@router.get("/maps/grids/{code}")
def grid_page(
    code: Word, request: Request, conn: ReleaseConnDep, principal: PrincipalDep
) -> Response:
    """One grid with its neighbours, compounds, and the stations whose circles reach it."""
    data = mapdata.grid_view(conn, code, principal)
    return _html(
        request,
        maps.grid_map(
            data, grid_link=f"{_root(request)}/maps/grids/", tianditu_key=_settings().tianditu_key
        ),
    )


@router.get("/maps/coverage")
def coverage_page(
    request: Request,
    conn: ReleaseConnDep,
    minutes: Annotated[
        int | None,
        Query(
            description="5, 10 or 15; default each station kind at its own tier",
            json_schema_extra=TIER,
        ),
    ] = None,
    kind: Annotated[
        Kinds | None,
        Query(description="Station kinds, comma-separated; default the residents' services"),
    ] = None,
) -> Response:
    """Share of households covered per community, with the gap polygons on top."""
    kinds = [k for k in (kind or "").split(",") if k.strip()] or None
    data = mapdata.coverage_view(conn, minutes=minutes, kinds=kinds)
    return _html(request, maps.coverage_map(data, tianditu_key=_settings().tianditu_key))


@router.get("/maps/siting")
def siting_page(
    request: Request,
    conn: LongConnDep,  # solving takes seconds, as GET /v1/siting
    user: Annotated[SignedIn | None, Depends(signed_in)],
    minutes: Annotated[int, Query(description="5, 10 or 15", json_schema_extra=TIER)] = 15,
    kind: Annotated[Word, Query(description="The kind of station to build")] = "party_mass",
    k: Annotated[int, Query(ge=1, le=siting.MAX_SITES, description="How many sites")] = 5,
    candidates: Annotated[Word, Query(description="compounds, land or h3")] = "compounds",
) -> Response:
    """Where to build next, for planners: the tier's gaps, the compounds it leaves out, and k
    proposed sites with the area each would reach (GET /v1/siting on a map)."""
    if user is None:
        return RedirectResponse(
            f"{_root(request)}/login?next={quote(str(request.url.path) + '?' + request.url.query, safe='')}",
            303,
        )
    user.principal.require(Permission.edit_plans)
    data = mapdata_siting.siting_view(conn, minutes=minutes, kind=kind, k=k, candidates=candidates)
    return _html(request, maps.siting_map(data, tianditu_key=_settings().tianditu_key))


@router.get("/maps/locate")
def locate_page(
    request: Request,
    conn: ReleaseConnDep,
    lon: Annotated[Longitude | None, Query(description="Longitude of the first point")] = None,
    lat: Annotated[Latitude | None, Query(description="Latitude of the first point")] = None,
    crs: Annotated[Word, Query(description="wgs84, cgcs2000, gcj02 or bd09")] = "wgs84",
) -> Response:
    """A dispatcher's map: the point's grid and nearest stations; click to move the point."""
    data = mapdata.locate_view(conn, lon, lat, crs)
    return _html(
        request,
        maps.locate_map(
            data,
            api_root=_root(request),
            grid_link=f"{_root(request)}/maps/grids/",
            tianditu_key=_settings().tianditu_key,
        ),
    )


@router.get("/maps/cases")
def cases_page(
    request: Request,
    conn: ConnDep,
    found: FilterDep,
    resolution: Annotated[
        int,
        Query(
            description="H3 resolution of the heat layer: 8 or 9",
            json_schema_extra={"enum": list(mapdata_cases.CASE_HEX_RESOLUTIONS)},
        ),
    ] = 8,
) -> Response:
    """Cases per grid, per H3 cell and as clustered markers, filtered as /v1/cases is."""
    # No reporter data on any map page, whoever asks: the page may be left open on a wall.
    data = mapdata_cases.case_view(conn, found, hex_resolution=resolution)
    return _html(
        request,
        maps.case_map(
            data, grid_link=f"{_root(request)}/maps/grids/", tianditu_key=_settings().tianditu_key
        ),
    )


@router.get("/maps/tiles")
def tiles_page(request: Request) -> Response:
    """The grids drawn by MapLibre GL JS from the vector tiles, on the offline district paper
    or on AMap (the GCJ-02 tileset)."""
    page = maps.tiles_page(f"{_root(request)}{STATIC_PATH}", _root(request))
    # No data in the page itself (the tiles carry it): it may be cached like any static page.
    headers = {"Cache-Control": "public, max-age=300"}
    return Response(page, media_type="text/html; charset=utf-8", headers=headers)


@router.get("/maps/plans/{plan_id}")
def plan_page(
    plan_id: Id32,
    request: Request,
    conn: ConnDep,
    user: Annotated[SignedIn | None, Depends(signed_in)],
) -> Response:
    """A plan before and after: draw and submit edits, undo them, publish, read the preview."""
    # Open to anyone (grid outlines and the list of edits); a signed-in planner's page sends
    # the session cookie and its CSRF token with every call, anyone else is offered /login.
    data = mapdata_plans.plan_view(conn, plan_id)
    base = _root(request)
    response = _html(
        request,
        maps.plan_map(
            data,
            api_root=base,
            tianditu_key=_settings().tianditu_key,
            csrf_token=None if user is None else user.csrf_token,
            login_url=f"{base}/login?next={quote(f'/maps/plans/{plan_id}', safe='')}",
        ),
    )
    if user is not None:  # the page holds the session's CSRF token: keep it nowhere
        response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/maps/releases/{n}/diff/{m}")
def release_diff_page(n: Id32, m: Id32, request: Request, conn: ReleaseConnDep) -> Response:
    """What changed from boundary release n to m: grids added, removed and changed, and the
    area each changed grid gained and lost."""
    data = mapdata_history.release_diff_view(conn, n, m)
    return _html(request, maps.release_diff_map(data, tianditu_key=_settings().tianditu_key))


@router.get(
    "/maps/plans/{plan_id}/layers",
    response_class=JSONResponse,
    response_model=PlanLayers,
    dependencies=[require(Permission.edit_plans)],
)
def plan_page_layers(plan_id: Id32, conn: ConnDep) -> JSONResponse:
    """The plan map's status, edits and touched grids (GeoJSON), redrawn after each change."""
    data = mapdata_plans.plan_view(conn, plan_id, with_base=False)
    return JSONResponse(maps.plan_layers(data), headers={"Cache-Control": "no-store"})
