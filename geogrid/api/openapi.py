"""The OpenAPI document tells the truth: error bodies, the Bearer scheme, stable operation ids.

FastAPI documents what it sees in a route's signature. What a route can answer besides, it
derives here, in one place, from the route's dependencies and parameters:

- a route that reads the caller (``PrincipalDep``) may send a Bearer key, so it is secured by
  the optional ``bearer`` scheme and can answer 401 (an unknown or malformed key);
- a route that requires a role (``deps.require``) answers 401 without a key and 403 below it;
- every route can answer 503 while the database is away (even the in-memory ones: a keyed
  caller is authenticated against it, and a process without a snapshot has nothing to say);
- a route with path parameters answers 404 for what does not exist;
- a route with parameters or a body answers 422 for bad input (400 under ``/open311`` and
  ``/ogc``);
- a route with a body answers 413 when it is too large (api/body_size.py) and 400 when it
  cannot be parsed at all (JSON nested too deep to read);
- a route declares any other status it can answer itself, with :func:`problems` (409, 413).

Every error status carries the protocol's body (``geogrid/api/errors.py`` sends them):
:class:`Problem` under ``/v1`` and the pages, a list of :class:`GeoReportError` under
``/open311``, :class:`OgcException` under ``/ogc``. FastAPI's own ``HTTPValidationError``
never reaches a client, so it is not documented. Operation ids are the route functions'
names, stable across refactors of paths.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from geogrid.api.deps import BUDGET, REQUIRED_PERMISSION, get_principal

_DESCRIPTIONS = {
    400: "Bad request: a parameter or the body is invalid (the body names it)",
    401: "No valid API key: send `Authorization: Bearer <key>`",
    403: "The key's role may not do this",
    404: "Not found",
    405: "This resource does not take the method (`Allow` lists those it takes)",
    409: "Conflict with the current state (the body says which)",
    412: "`If-Match` names a version that is no longer the current one",
    413: "The request is too large (the body says the limit)",
    415: "The upload is not of a type this takes (the body names the types it takes)",
    422: "Invalid input: the body names the bad value and what is allowed",
    429: "Too many requests from this key or address; retry after `Retry-After` seconds",
    503: "The database is unavailable; retry after `Retry-After` seconds",
}


class Problem(BaseModel):
    """The error body under ``/v1`` and the pages."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "detail": "lat was 95.0 but must be within [-90, 90]; did you swap lon "
                    "and lat?",
                    "code": "invalid_input",
                }
            ]
        },
    )

    detail: str = Field(
        description="What is wrong, naming the bad value and what is allowed "
        "(in Chinese with `Accept-Language: zh`)"
    )
    code: str = Field(
        description="A stable machine-readable code, e.g. invalid_input, "
        "validation_error, not_found, unauthenticated, forbidden, "
        "conflict, too_large, edit_rejected, database_unavailable"
    )
    violations: dict[str, Any] | None = Field(
        default=None,
        description="For a rejected plan edit or load: where each broken rule "
        "is, as a GeoJSON FeatureCollection",
    )
    refused: list[dict[str, Any]] | None = Field(
        default=None,
        description="For a file refused whole (a register, the departments): every bad row, "
        "each as {line, reason}; the header is line 1",
    )


class GeoReportError(BaseModel):
    """One error of an Open311 GeoReport v2 answer (the body is a list of them)."""

    code: int = Field(description="The HTTP status")
    description: str


class OgcException(BaseModel):
    """The error body under ``/ogc`` (OGC API's exception schema)."""

    model_config = ConfigDict(extra="allow")

    code: str = Field(description="e.g. InvalidParameterValue, NotFound")
    description: str


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that can also answer ``statuses`` (e.g. 409, 413)."""
    return {status: {"description": _DESCRIPTIONS[status], "model": Problem} for status in statuses}


#: Schemas that request bodies declared through :func:`request_body` refer to.
_BODY_SCHEMAS: dict[str, Any] = {}


def request_body(
    model: Any, examples: dict[str, Any], other_content: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``openapi_extra=`` for a route that reads its JSON body itself (e.g. JSON or multipart).

    ``model`` (a pydantic model or an annotated union) becomes the JSON body's schema, its
    definitions components of the document; ``other_content`` adds other media types.
    """
    schema = TypeAdapter(model).json_schema(ref_template="#/components/schemas/{model}")
    _BODY_SCHEMAS.update(schema.pop("$defs", {}))
    json_content = {"schema": schema, "examples": {k: {"value": v} for k, v in examples.items()}}
    content = {"application/json": json_content, **(other_content or {})}
    return {"requestBody": {"required": True, "content": content}}


def _dependencies(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _dependencies(sub)


def _keys(route: APIRoute) -> tuple[bool, bool, bool]:
    """Whether ``route`` reads the caller's key, whether it requires a role, and whether it
    spends from a rate-limit budget."""
    calls = list(_dependencies(route.dependant))
    required = any(hasattr(call, REQUIRED_PERMISSION) for call in calls)
    budget = any(hasattr(call, BUDGET) for call in calls)
    return required or get_principal in calls, required, budget


def _statuses(
    route: APIRoute, open311: bool, reads_key: bool, required: bool, budget: bool
) -> set[int]:
    found = {503}
    if reads_key or budget:
        found.add(429)  # too many wrong keys from an address, or a spent budget
    if reads_key:
        found.add(401)
    if required:
        found.add(403)
    dependant = route.dependant
    if dependant.path_params:
        found.add(404)
    declared = (route.openapi_extra or {}).get("parameters")  # api/queries.py
    if dependant.query_params or dependant.path_params or dependant.body_params or declared:
        found.add(400 if open311 else 422)
    if dependant.body_params or _reads_body(route):
        # Every body is bounded (api/body_size.py); one that cannot be parsed is a 400.
        found |= {400, 413}
    return found


def _reads_body(route: APIRoute) -> bool:
    """Whether ``route`` takes a body it reads itself (declared with :func:`request_body`)."""
    return "requestBody" in (route.openapi_extra or {})


def _error_content(open311: bool, ogc: bool = False) -> dict[str, Any]:
    schema: dict[str, Any]
    if ogc:
        schema = {"$ref": "#/components/schemas/OgcException"}
    elif open311:
        schema = {"type": "array", "items": {"$ref": "#/components/schemas/GeoReportError"}}
    else:
        schema = {"$ref": "#/components/schemas/Problem"}
    return {"application/json": {"schema": schema}}


def _nullable(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "null" or any(
        s.get("type") == "null" for s in schema.get("anyOf", ())
    )


def _restore_nulls(example: Any, schema: dict[str, Any], schemas: dict[str, Any]) -> None:
    """Put back the null members FastAPI's encoder drops from examples (exclude_none)."""
    if "$ref" in schema:
        schema = schemas.get(schema["$ref"].rsplit("/", 1)[-1], {})
    if not isinstance(example, dict):
        return
    for name, member in schema.get("properties", {}).items():
        if name not in example and name in schema.get("required", ()) and _nullable(member):
            example[name] = None
        elif name in example:
            for option in (member, *member.get("anyOf", ())):
                _restore_nulls(example[name], option, schemas)


def build(app: FastAPI, routers: Sequence[APIRouter]) -> dict[str, Any]:
    """The OpenAPI document of ``app``, with every error status and the security declared.

    ``routers`` are those the app includes (without a prefix of their own), whose routes the
    document describes.
    """
    doc = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(_BODY_SCHEMAS)
    for model in (Problem, GeoReportError, OgcException):
        schemas[model.__name__] = model.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
    doc["components"]["securitySchemes"] = {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key from `geogrid keys create`; without one you are a viewer",
        }
    }
    for route in (r for router in routers for r in router.routes):
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        open311 = route.path_format.startswith("/open311")
        ogc = route.path_format.startswith("/ogc")
        reads_key, required, budget = _keys(route)
        # Open311 and OGC API both answer 400 for bad input where /v1 answers 422
        statuses = _statuses(route, open311 or ogc, reads_key, required, budget)
        for method in sorted(route.methods or ()):
            operation = doc["paths"][route.path_format][method.lower()]
            responses = operation["responses"]
            responses.pop("422", None)  # FastAPI's HTTPValidationError: never sent
            for status in sorted(statuses | {int(s) for s in responses if s[0] in "45"}):
                entry = responses.setdefault(str(status), {})
                entry["description"] = _DESCRIPTIONS.get(status, entry.get("description", ""))
                entry["content"] = _error_content(open311, ogc)
            if reads_key:
                # Anonymous callers are viewers: the key is optional unless a role is required.
                operation["security"] = [{"bearer": []}] if required else [{"bearer": []}, {}]
            operation["operationId"] = route.name
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    for schema in schemas.values():
        for example in schema.get("examples", ()):
            _restore_nulls(example, schema, schemas)
    return doc


def install(app: FastAPI, routers: Sequence[APIRouter]) -> None:
    """Serve :func:`build`'s document at ``/openapi.json`` (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app, routers)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
