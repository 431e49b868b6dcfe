"""Nearest service stations, with walking minutes and the tiers that reach a point."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from geogrid.api.queries import query_parameters, read_query
from geogrid.api.responses import json_response
from geogrid.api.schemas.lookup import NearestQuery, NearestStations
from geogrid.geo.datum import normalise_crs, point_from_storage
from geogrid.geo.points import point_to_storage
from geogrid.lookup.stations import nearest_stations, parse_kinds
from geogrid.lookup.walking import STRAIGHT_LINE, WalkingModel
from geogrid.settings import ServiceAreaSettings

router = APIRouter(prefix="/v1/stations", tags=["stations"])


@router.get(
    "/nearest",
    response_model=NearestStations,
    openapi_extra=query_parameters(NearestQuery),
)
async def stations_nearest(request: Request) -> Response:
    """The nearest service stations, with walking minutes and the circles that reach here."""
    # The query is read without FastAPI's parameters: see routes/locate.py.
    query = read_query(NearestQuery, request)
    x, y = point_to_storage(query.lon, query.lat, query.crs)
    crs = normalise_crs(query.crs)
    k, kind = query.k, query.kind
    settings = request.app.state.settings.service_areas
    snapshot = request.app.state.snapshots.current()  # no dependency: see routes/locate.py
    walks = request.app.state.walks.current()
    found = nearest_stations(
        snapshot, x, y, k, parse_kinds((kind or "").split(",")), settings, walks
    )
    stations = []
    for near in found:
        s = near.station
        out_lon, out_lat = point_from_storage(s.lon, s.lat, crs)
        stations.append(
            {
                "id": s.id,
                "name": s.name,
                "kind": s.kind,
                "lon": round(float(out_lon), 7),
                "lat": round(float(out_lat), 7),
                "distance_m": near.distance_m,
                "walk_distance_m": near.walk_distance_m,
                "walk_minutes": near.walk_minutes,
                "within_minutes": near.within_minutes,
                "method": near.method,
                "opening_hours": s.opening_hours,
            }
        )
    method = _method(request)
    if walks is not None:
        method = {
            **method,
            "method": "network",
            "network": walks.network_id,
            "access_m": walks.access_m,
            "fallback": STRAIGHT_LINE + " (a point farther than access_m from every path)",
        }
    body = {"stations": stations, "release": snapshot.release.id, "method": method}
    return json_response(body)


def _method(request: Request) -> dict[str, Any]:
    """How the answer was measured (made once per app: its settings never change)."""
    state = request.app.state
    method: dict[str, Any] | None = getattr(state, "nearest_method", None)
    if method is None:
        method = state.nearest_method = _describe(state.settings.service_areas)
    return method


def _describe(settings: ServiceAreaSettings) -> dict[str, Any]:
    return {
        "method": STRAIGHT_LINE,
        "distance": "straight line, EPSG:4548 metres",
        "detour_factor": settings.detour_factor,
        "detour_factor_by_kind": settings.detour_factor_by_kind,
        **WalkingModel.from_settings(settings).describe(),
    }
