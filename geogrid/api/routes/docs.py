"""The API's documentation pages, Swagger UI at /docs and ReDoc at /redoc, from this origin.

FastAPI's own pages load their scripts from a CDN, which a district's offline network cannot
reach and the pages' Content-Security-Policy would refuse anyway: these are the same pages with
the vendored copies (geogrid/maps/assets.py) and this answer's nonce on their inline script.
ReDoc shows a "by Redocly" logo from cdn.redoc.ly, hard-coded in its bundle: the policy refuses
it (the browser logs that), so nothing leaves for another host.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

from geogrid.api.observability import csp_nonce, with_nonce
from geogrid.api.routes.maps import STATIC_PATH
from geogrid.maps.assets import VENDORED

router = APIRouter(include_in_schema=False)

SWAGGER_JS = VENDORED["https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"]
SWAGGER_CSS = VENDORED["https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css"]
REDOC_JS = VENDORED["https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js"]
FAVICON = f"{SWAGGER_CSS.package.folder}/favicon-32x32.png"


def _page(request: Request, page: HTMLResponse) -> HTMLResponse:
    html = with_nonce(bytes(page.body).decode("utf-8"), csp_nonce(request))
    return HTMLResponse(html)


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI: try every route from the browser."""
    static = _root(request) + STATIC_PATH
    return _page(
        request,
        get_swagger_ui_html(
            openapi_url=_root(request) + "/openapi.json",
            title="geogrid API",
            swagger_js_url=f"{static}/{SWAGGER_JS.local}",
            swagger_css_url=f"{static}/{SWAGGER_CSS.local}",
            swagger_favicon_url=f"{static}/{FAVICON}",
        ),
    )


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    """ReDoc: the API reference on one page."""
    static = _root(request) + STATIC_PATH
    return _page(
        request,
        get_redoc_html(
            openapi_url=_root(request) + "/openapi.json",
            title="geogrid API",
            redoc_js_url=f"{static}/{REDOC_JS.local}",
            redoc_favicon_url=f"{static}/{FAVICON}",
            with_google_fonts=False,
        ),
    )
