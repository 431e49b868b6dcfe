"""Nearest service stations and the 5/10/15-minute circles that reach a point."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from geogrid.api.responses import json_response
from geogrid.api.schemas.lookup import NearestStations
from geogrid.geo.datum import normalise_crs, point_from_storage
from geogrid.geo.points import point_to_storage
from geogrid.limits import Kinds, Latitude, Longitude, Word
from geogrid.lookup.stations import nearest_stations, parse_kinds

router = APIRouter(prefix="/v1/stations", tags=["stations"])


@router.get("/nearest", response_model=NearestStations)
async def stations_nearest(
    request: Request,
    lon: Annotated[Longitude, Query(description="Longitude, in the crs given")],
    lat: Annotated[Latitude, Query(description="Latitude, in the crs given")],
    crs: Annotated[
        Word, Query(description="wgs84, cgcs2000, gcj02 or bd09; answers use it too")
    ] = "wgs84",
    k: Annotated[int, Query(ge=1, le=50, description="How many stations")] = 3,
    kind: Annotated[Kinds | None, Query(description="Station kinds, comma-separated")] = None,
) -> Response:
    """The nearest service stations, with walking minutes and the circles that reach here."""
    x, y = point_to_storage(lon, lat, crs)
    crs = normalise_crs(crs)
    settings = request.app.state.settings.service_areas
    snapshot = request.app.state.snapshots.current()  # no dependency: see routes/locate.py
    found = nearest_stations(snapshot, x, y, k, parse_kinds((kind or "").split(",")), settings)
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
                "walk_minutes": near.walk_minutes,
                "within_minutes": near.within_minutes,
                "opening_hours": s.opening_hours,
            }
        )
    body = {
        "stations": stations,
        "release": snapshot.release.id,
        "method": {
            "distance": "straight line, EPSG:4548 metres",
            "walking_speed_m_per_min": settings.walking_speed_m_per_min,
            "detour_factor": settings.detour_factor,
            "detour_factor_by_kind": settings.detour_factor_by_kind,
            "within_minutes": "stored 5/10/15-minute service areas covering the point",
        },
    }
    return json_response(body)
