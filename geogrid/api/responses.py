"""The JSON answer the hot and the case routes send: orjson-encoded, no model validation."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """``body`` as ``application/json`` (orjson: datetimes, numpy scalars, fast)."""
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )
