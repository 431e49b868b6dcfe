"""What the OGC API – Features routes share: links, content negotiation, parameters, bodies.

The routes (``api/routes/ogc.py``) stay one line each of work; here are the rules of the
standard they all follow:

- every document links to itself and to its other format (JSON and HTML, chosen by ``f=`` or
  the ``Accept`` header; GeoJSON for features);
- a parameter the operation does not define is a 400 (OGC API – Features Part 1 says so,
  where ``/v1`` ignores nothing either but answers 422);
- answers are written with orjson, and feature geometries, already GeoJSON text from GEOS, are
  embedded as they are (``orjson.Fragment``), never parsed and written again.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import Request
from fastapi.responses import JSONResponse, Response

from geogrid.errors import InvalidInputError
from geogrid.features import Feature
from geogrid.i18n import tr

JSON = "application/json"
GEOJSON = "application/geo+json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
FORMATS = ("json", "html")

#: The query parameters each kind of operation defines; any other is a 400.
COMMON = frozenset({"f"})
ITEMS = COMMON | {
    "limit",
    "offset",
    "bbox",
    "bbox-crs",
    "datetime",
    "crs",
    "properties",
    "sortby",
    "filter",
    "filter-lang",
    "filter-crs",
    "release",
}
ITEM = COMMON | {"crs", "release"}


class _Document(JSONResponse):
    """A body already written (orjson), documented under its media type in the OpenAPI.

    A JSONResponse, so that FastAPI documents the route's response model; never encoded twice.
    """

    def render(self, content: Any) -> bytes:
        return content if isinstance(content, bytes) else orjson.dumps(content)


class JSONDocument(_Document):
    media_type = JSON


class GeoJSONDocument(_Document):
    media_type = GEOJSON


class SchemaDocument(_Document):
    media_type = "application/schema+json"


def refuse_unknown(request: Request, allowed: Iterable[str]) -> None:
    """InvalidInputError (400 under /ogc) for any query parameter not in ``allowed``."""
    known = set(allowed)
    unknown = sorted({name for name in request.query_params if name not in known})
    if unknown:
        raise InvalidInputError(
            tr(
                "unknown query parameter(s) {unknown}; this operation takes {allowed}",
                unknown=unknown,
                allowed=sorted(known),
            )
        )


def wants_html(request: Request, f: str | None, feature_format: bool = False) -> bool:
    """Whether to answer HTML: ``f=html``, else an Accept header that prefers it over JSON."""
    if f is not None:
        allowed = (*FORMATS, "geojson") if feature_format else FORMATS
        if f not in allowed:
            raise InvalidInputError(
                tr('f was "{f}" but must be one of {allowed}', f=f, allowed=list(allowed))
            )
        return f == "html"
    accept = request.headers.get("accept", "")
    html_at, json_at = accept.find(HTML), accept.find("json")
    # browsers list text/html first; GDAL, OWSLib and fetch() ask for JSON
    return html_at >= 0 and (json_at < 0 or html_at < json_at)


def url(request: Request, path: str, **query: Any) -> str:
    """An absolute URL of this server (as the client reached it) with ``query``."""
    base = str(request.base_url).rstrip("/")
    kept = {k: v for k, v in query.items() if v is not None}
    return f"{base}{path}" + (f"?{urlencode(kept)}" if kept else "")


def link(href: str, rel: str, type_: str, title: str, **extra: Any) -> dict[str, Any]:
    return {"href": href, "rel": rel, "type": type_, "title": title, **extra}


def self_links(
    request: Request, path: str, title: str, json_type: str = JSON
) -> list[dict[str, Any]]:
    """``self`` (JSON) and ``alternate`` (HTML) links of the document at ``path``."""
    query = {k: v for k, v in request.query_params.items() if k != "f"}
    return [
        link(url(request, path, **query, f="json"), "self", json_type, f"{title} as JSON"),
        link(url(request, path, **query, f="html"), "alternate", HTML, f"{title} as HTML"),
    ]


def json_response(
    body: Mapping[str, Any], media_type: str = JSON, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(body), media_type=media_type, headers=dict(headers or {}))


def feature_body(feature: Feature) -> dict[str, Any]:
    """A GeoJSON Feature with its geometry embedded as GEOS wrote it."""
    return {
        "type": "Feature",
        "id": feature.id,
        "geometry": None if feature.geometry is None else orjson.Fragment(feature.geometry),
        "properties": feature.properties,
    }


# --- HTML --------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if isinstance(value, orjson.Fragment):
        return "<i>geometry</i>"
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return f'<a href="{html.escape(value)}">{html.escape(value)}</a>'
    if isinstance(value, Mapping):
        return (
            "<table>"
            + "".join(
                f"<tr><th>{html.escape(str(k))}</th><td>{_cell(v)}</td></tr>"
                for k, v in value.items()
            )
            + "</table>"
        )
    if isinstance(value, list | tuple):
        if value and all(isinstance(v, Mapping) and "href" in v for v in value):
            return (
                "<ul>"
                + "".join(
                    f'<li><a href="{html.escape(str(v["href"]))}">'
                    f"{html.escape(str(v.get('title') or v.get('rel') or v['href']))}</a> "
                    f"({html.escape(str(v.get('rel', '')))})</li>"
                    for v in value
                )
                + "</ul>"
            )
        return "<ul>" + "".join(f"<li>{_cell(v)}</li>" for v in value) + "</ul>"
    return html.escape("" if value is None else str(value))


def html_response(
    title: str,
    body: Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
    after: str = "",
) -> Response:
    """A plain HTML page of a JSON document: its members as nested tables and link lists."""
    rows = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{_cell(v)}</td></tr>" for k, v in body.items()
    )
    page = (
        '<!DOCTYPE html><html lang="zh"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        f"<table>{rows}</table>{after}</body></html>"
    )
    return Response(page, media_type="text/html; charset=utf-8", headers=dict(headers or {}))


def features_html(
    title: str,
    body: Mapping[str, Any],
    features: Sequence[Feature],
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Items as an HTML page: the page's members, then one table row per feature."""
    names = list(features[0].properties) if features else []
    head = "".join(f"<th>{html.escape(n)}</th>" for n in ["id", *names])
    rows = "".join(
        "<tr>"
        + "".join(f"<td>{_cell(v)}</td>" for v in [f.id, *(f.properties[n] for n in names)])
        + "</tr>"
        for f in features
    )
    summary = {k: v for k, v in body.items() if k not in ("features", "type")}
    return html_response(title, summary, headers, f"<table><tr>{head}</tr>{rows}</table>")
