"""The JSON answer the hot and the case routes send (orjson-encoded, no model validation), and
the header naming an answer's coordinate system."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response

from geogrid.geo.crs_uris import lon_lat_uri
from geogrid.geo.output import output_crs


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """``body`` as ``application/json`` (orjson: datetimes, numpy scalars, fast)."""
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


def content_crs(crs: str) -> str:
    """The ``Content-Crs`` header of an answer whose coordinates are ``crs`` (a /v1 crs name),
    longitude first: the URI in angle brackets, as OGC API – Features Part 2 writes it."""
    return f"<{lon_lat_uri(output_crs(crs))}>"
