"""Security headers on every answer, and a Content-Security-Policy on the HTML pages.

The map pages carry inline scripts (Folium writes the map as a script in the page). The policy
allows exactly those by a nonce drawn for each request, never ``unsafe-inline``; everything
else must come from this origin, and images also from the base-map tile hosts the maps offer.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import MutableMapping
from typing import Any

from starlette.requests import Request

#: On every answer.
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"SAMEORIGIN"),
    # Tile hosts that check the Referer (Tianditu keys are bound to sites) get the origin only.
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
)

#: Hosts of the base-map tiles the maps offer (geogrid/maps/elements.py, base_layers).
TILE_HOSTS = (
    "https://tile.openstreetmap.org",
    "https://*.tianditu.gov.cn",
    "https://*.is.autonavi.com",
    "https://*.map.gtimg.com",
)

_STATE_KEY = "csp_nonce"


def csp_nonce(request: Request) -> str:
    """The nonce of this request's page (drawn on first use)."""
    nonce: str | None = getattr(request.state, _STATE_KEY, None)
    if nonce is None:
        nonce = secrets.token_urlsafe(16)
        setattr(request.state, _STATE_KEY, nonce)
    return nonce


def nonce_of(scope: MutableMapping[str, Any]) -> str | None:
    state = scope.get("state")
    nonce = state.get(_STATE_KEY) if isinstance(state, dict) else None
    return nonce if isinstance(nonce, str) else None


def content_security_policy(nonce: str | None) -> bytes:
    """The policy of an HTML answer: inline scripts only with ``nonce``."""
    scripts = f"'self' 'nonce-{nonce}'" if nonce else "'self'"
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src {scripts}",
            # Leaflet and Folium set styles inline (attributes and <style>), which no nonce
            # can cover; styles cannot run code.
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob: " + " ".join(TILE_HOSTS),
            "font-src 'self' data:",
            # MapLibre (/maps/tiles) fetches base-map tiles rather than loading <img> ones
            "connect-src 'self' " + " ".join(TILE_HOSTS),
            "worker-src 'self' blob:",  # ReDoc searches in a worker it makes from a blob
            "object-src 'none'",
            "base-uri 'self'",
            "frame-ancestors 'self'",
            "form-action 'self'",
        )
    ).encode()


_SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)


def with_nonce(page: str, nonce: str) -> str:
    """``page`` with ``nonce`` on every ``<script>`` tag (as its last attribute)."""
    return _SCRIPT_TAG.sub(lambda m: f'<script{m.group(1)} nonce="{nonce}">', page)


__all__ = [
    "SECURITY_HEADERS",
    "TILE_HOSTS",
    "content_security_policy",
    "csp_nonce",
    "nonce_of",
    "with_nonce",
]
