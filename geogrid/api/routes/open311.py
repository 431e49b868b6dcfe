"""Open311 GeoReport v2 at /open311/v2/: the case catalogue and cases, in JSON and XML.

Every path ends in ``.json`` or ``.xml``, which picks the format of the answer, errors
included: every error under /open311 uses the spec's shape (``[{"code", "description"}]`` or
``<errors><error>…``), not the rest of the API's; geogrid/api/errors.py writes them. GET is
public and shows no reporter data; ``POST requests`` takes a form, as the spec says (any other
body is a 400 that says so), and needs an ``api_key`` (form field, or ``Authorization:
Bearer``) with the dispatcher role. Mapping and rendering live in geogrid.cases.open311.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine

from geogrid import cases
from geogrid.access import keys
from geogrid.access.ratelimits import Budget
from geogrid.access.roles import Permission
from geogrid.api.deps import CaseSettingsDep, ConnDep, EngineDep, SnapshotsDep, limited
from geogrid.api.openapi import problems
from geogrid.api.schemas.open311 import (
    XML,
    XML_CREATED,
    Discovery,
    RequestCreated,
    Service,
    ServiceDefinition,
    ServiceRequest,
)
from geogrid.cases import open311
from geogrid.cases.categories import list_categories
from geogrid.errors import AuthenticationError, InvalidInputError, NotFoundError
from geogrid.i18n import tr
from geogrid.limits import ADDRESS, URL, WORD, IdempotencyKey, Word, ascii_digits, check_text
from geogrid.settings import CaseSettings


def _format(request: Request) -> str:
    return "xml" if request.url.path.endswith(".xml") else "json"


def _answer(
    request: Request,
    body: Any,
    status: int = 200,
    kind: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """``body`` as JSON or as XML (root and item element from ``kind``), by the path's suffix."""
    fmt = _format(request)
    if fmt == "json":
        content = orjson.dumps(body)
    elif kind in open311.XML_ROOTS:
        root, item = open311.XML_ROOTS[kind]
        content = open311.to_xml(root, body, item)
    else:
        content = open311.to_xml(kind or "response", body)
    return Response(
        content,
        status_code=status,
        headers=headers,
        media_type=f"{open311.FORMATS[fmt]}; charset=utf-8",
    )


#: The form fields of ``POST requests`` (application/x-www-form-urlencoded, per the spec).
REQUEST_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["service_code"],
                    "properties": {
                        name: {"type": "string", "maxLength": longest, "description": description}
                        for name, longest, description in (
                            (
                                "api_key",
                                WORD,
                                "a key with the dispatcher role (or a Bearer header)",
                            ),
                            ("service_code", WORD, "the category code, see services.json"),
                            ("jurisdiction_id", WORD, "optional; this endpoint's one jurisdiction"),
                            ("lat", 40, "WGS84 latitude (or give address_string)"),
                            ("long", 40, "WGS84 longitude"),
                            ("crs", 20, "geogrid's extension: wgs84, cgcs2000, gcj02 or bd09"),
                            ("address_string", ADDRESS, "text naming a compound, not a point"),
                            ("description", 2000, "what happened (default: the service's name)"),
                            ("first_name", 25, "the reporter"),
                            ("last_name", 25, "the reporter"),
                            ("phone", 20, "the reporter's phone"),
                            ("media_url", URL, "a photo, as an http(s) URL"),
                        )
                    },
                }
            }
        },
    }
}

router = APIRouter(prefix="/open311/v2", tags=["open311"])

#: The format of the answer, by the path's suffix (any other is a 404, as an unknown path).
Format = Annotated[
    Word, Path(description="json or xml", json_schema_extra={"enum": list(open311.FORMATS)})
]


def _checked_format(fmt: str) -> None:
    if fmt not in open311.FORMATS:
        raise NotFoundError(f'the format was "{fmt}" but must be json or xml')


@router.get("/discovery.{fmt}", response_model=Discovery, responses=XML)
def discovery(request: Request, conn: ConnDep, fmt: Format) -> Response:
    """Where the endpoint is, what it speaks, how to get a key."""
    _checked_format(fmt)
    code, name = open311.jurisdiction(conn)
    url = str(request.base_url).rstrip("/") + router.prefix
    return _answer(
        request, open311.discovery(url, f"{name} ({code}) 网格化服务管理中心"), 200, "discovery"
    )


@router.get("/services.{fmt}", response_model=list[Service], responses=XML)
def services(
    request: Request, conn: ConnDep, fmt: Format, jurisdiction_id: Word | None = None
) -> Response:
    """The services: the case category catalogue."""
    _checked_format(fmt)
    open311.check_jurisdiction(conn, jurisdiction_id)
    found = list_categories(conn)
    return _answer(request, [open311.service(c) for c in found], 200, "services")


@router.get("/services/{service_code}.{fmt}", response_model=ServiceDefinition, responses=XML)
def service_definition(
    request: Request,
    conn: ConnDep,
    service_code: Word,
    fmt: Format,
    jurisdiction_id: Word | None = None,
) -> Response:
    """A service's definition (its extra questions: none so far)."""
    _checked_format(fmt)
    open311.check_jurisdiction(conn, jurisdiction_id)
    category = open311.find_service(conn, service_code)
    return _answer(request, open311.service_definition(category), 200, "service_definition")


@router.post(
    "/requests.{fmt}",
    status_code=201,
    response_model=list[RequestCreated],
    responses={**XML_CREATED, **problems(403, 409)},
    openapi_extra=REQUEST_FORM,
    dependencies=[limited(Budget.writes)],
)
async def create_request(
    request: Request,
    engine: EngineDep,
    fmt: Format,
    snapshots: SnapshotsDep,
    case_settings: CaseSettingsDep,
    idempotency_key: Annotated[
        IdempotencyKey | None,
        Header(description="Retries with the same key create the case once"),
    ] = None,
) -> Response:
    """Report a case (form-encoded, per GeoReport v2); needs a dispatcher api_key."""
    _checked_format(fmt)
    _checked_form(request)
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    case, replayed = await run_in_threadpool(
        _submit, request, engine, snapshots, case_settings, fields, idempotency_key
    )
    headers = {"Location": f"{router.prefix}/requests/{case.id}.{fmt}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return _answer(request, open311.created_body(case), 201, "requests", headers)


#: The bodies ``POST requests`` reads: GeoReport v2's form (multipart works the same).
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _checked_form(request: Request) -> None:
    """Refuse a body that is not a form: its fields, api_key among them, would go unread."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media and media not in FORM_TYPES:
        raise InvalidInputError(
            tr(
                "the body was {media} but GeoReport v2 takes a form "
                "(application/x-www-form-urlencoded): send api_key and the other fields as "
                'form fields; the key may instead come as "Authorization: Bearer <key>"',
                media=media,
            )
        )


def _submit(
    request: Request,
    engine: Engine,
    snapshots: Any,
    case_settings: CaseSettings,
    form: Mapping[str, str],
    idempotency_key: str | None,
) -> tuple[cases.Case, bool]:
    for name in ("api_key", "service_code", "jurisdiction_id"):
        check_text(name, form.get(name) or "", WORD)  # the report's own fields: report_from_form
    key = form.get("api_key") or _bearer(request)
    if not key:
        raise AuthenticationError(tr("api_key is required to post a service request"))
    with engine.connect() as conn:
        principal = keys.authenticate(conn, key)
        principal.require(Permission.report_cases)
        open311.check_jurisdiction(conn, form.get("jurisdiction_id"))
        try:
            category = open311.find_service(conn, form.get("service_code"))
        except NotFoundError as exc:  # for POST the spec says 400: an invalid field
            raise InvalidInputError(exc.text) from None
    report = open311.report_from_form(form, category)
    return cases.submit_case(
        engine,
        snapshots.current(),
        report,
        principal.actor if principal.name else "open311",
        case_settings,
        idempotency_key,
        account=principal.account,
    )


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


@router.get("/requests.{fmt}", response_model=list[ServiceRequest], responses=XML)
def find_requests(request: Request, conn: ConnDep, fmt: Format) -> Response:
    """Service requests: by service_request_id, service_code, start_date/end_date, status."""
    _checked_format(fmt)
    # Lists may come comma separated or as repeated parameters; both mean the same.
    params = {k: ",".join(request.query_params.getlist(k)) for k in request.query_params}
    query = open311.RequestQuery.from_params(params)
    open311.check_jurisdiction(conn, request.query_params.get("jurisdiction_id"))
    found = open311.find_requests(conn, query)
    return _answer(request, [open311.request_body(r) for r in found], 200, "requests")


@router.get("/requests/{request_id}.{fmt}", response_model=list[ServiceRequest], responses=XML)
def read_request(
    request: Request,
    conn: ConnDep,
    request_id: Word,
    fmt: Format,
    jurisdiction_id: Word | None = None,
) -> Response:
    """One service request."""
    _checked_format(fmt)
    if not (ascii_digits(request_id) and len(request_id) <= 18):
        raise NotFoundError(
            tr(
                'service request "{request_id}" does not exist (ids are numbers)',
                request_id=request_id,
            ),
        )
    open311.check_jurisdiction(conn, jurisdiction_id)
    found = open311.get_request(conn, int(request_id))
    return _answer(request, [open311.request_body(found)], 200, "requests")
