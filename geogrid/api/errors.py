"""The one place that maps errors to HTTP status codes and each protocol's error shape.

Errors answer ``{"detail": ..., "code": ...}``, except under ``/open311``, where every error
(a domain error, bad input, an unknown path or method, a failure) answers GeoReport v2's
``[{"code", "description"}]``, in XML when the path ends in ``.xml``, and under ``/ogc``,
where errors take OGC API's exception body ``{"code", "description"}`` and bad input is a 400
(OGC API – Features requires it; ``/v1`` answers 422). ``detail`` is in Chinese
when the request says ``Accept-Language: zh``. No database message ever reaches a client; a
database that does not answer is a 503 with Retry-After.
"""

from __future__ import annotations

import logging
from html import escape
from urllib.parse import quote

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException

from geogrid import console
from geogrid.access.ratelimits import RateLimitedError
from geogrid.boundaries.validation import Violation
from geogrid.cases import open311
from geogrid.errors import (
    AuthenticationError,
    ConflictError,
    DatabaseUnavailableError,
    EmbeddedDatabaseError,
    GeogridError,
    InvalidInputError,
    LoadError,
    MethodNotAllowedError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
    TooLargeError,
    UnsupportedMediaTypeError,
    describe_validation,
)
from geogrid.plans.layer import EditRejectedError

log = logging.getLogger("geogrid.api")

STATUS: dict[type[GeogridError], int] = {
    InvalidInputError: 422,
    PreconditionFailedError: 412,
    MethodNotAllowedError: 405,
    LoadError: 422,
    NotFoundError: 404,
    AuthenticationError: 401,
    PermissionDeniedError: 403,
    TooLargeError: 413,
    UnsupportedMediaTypeError: 415,
    ConflictError: 409,
    DatabaseUnavailableError: 503,
    EmbeddedDatabaseError: 503,
    RateLimitedError: 429,
}

#: Open311 GeoReport v2 (api/routes/open311.py) lives under this path.
OPEN311_PATH = "/open311"
#: Open311 GeoReport v2 answers 400 for anything wrong with a request and 403 for a missing
#: or bad key, as the spec says.
OPEN311_STATUS: dict[type[GeogridError], int] = {
    InvalidInputError: 400,
    LoadError: 400,
    NotFoundError: 404,
    AuthenticationError: 403,
    PermissionDeniedError: 403,
    TooLargeError: 413,
    ConflictError: 409,
    DatabaseUnavailableError: 503,
    EmbeddedDatabaseError: 503,
    RateLimitedError: 429,
}

#: OGC API – Features (api/routes/ogc.py) lives under this path.
OGC_PATH = "/ogc"
#: Under /ogc bad input is a 400, as OGC API – Features requires.
OGC_STATUS: dict[type[GeogridError], int] = {
    **STATUS,
    InvalidInputError: 400,
    LoadError: 400,
    # a plan edit that breaks a rule is a 422 with the rule and its location (Part 4 writes)
    EditRejectedError: 422,
}
#: The ``code`` of OGC's exception body per status.
OGC_CODES = {
    400: "InvalidParameterValue",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    412: "PreconditionFailed",
    413: "PayloadTooLarge",
    422: "UnprocessableEntity",
    429: "TooManyRequests",
    500: "ServerError",
    503: "ServiceUnavailable",
}

#: Chinese detail per error code, used with Accept-Language: zh.
ZH = {
    "invalid_input": "输入无效：{detail}",
    "load_failed": "无法加载：{detail}",
    "not_found": "未找到：{detail}",
    "unauthenticated": "需要有效的 API 密钥（Authorization: Bearer <密钥>）：{detail}",
    "forbidden": "权限不足：{detail}",
    "csrf": "请求被拒绝（跨站请求防护）：{detail}",
    "locked": "账号已锁定：{detail}",
    "too_large": "请求过大：{detail}",
    "conflict": "冲突：{detail}",
    "edit_rejected": "编辑被拒绝：{detail}",
    "precondition_failed": "版本已变（If-Match 不符），请重新读取后再写：{detail}",
    "method_not_allowed": "不支持此方法：{detail}",
    "database_unavailable": "数据库暂时不可用，请稍后重试",
    "read_only": "本服务器只读（连接的是数据库热备库），写入请发往连接主库的服务器",
    "embedded_database": "数据库暂时不可用，请稍后重试",
    "validation_error": "请求参数无效：{detail}",
    "internal_error": "服务器内部错误",
    "http_error": "{detail}",
}
RETRY_AFTER_S = "5"
#: SQLSTATE of a write sent to a hot standby (read_only_sql_transaction): a read-only
#: deployment, whose GEOGRID_DATABASE_URL is a standby, was asked to write.
READ_ONLY = "25006"


def _wants_chinese(request: Request) -> bool:
    return request.headers.get("accept-language", "").strip().lower().startswith("zh")


def speaks_open311(request: Request) -> bool:
    """Whether the request is under the Open311 path, where errors take GeoReport's shape."""
    path = request.url.path
    return path == OPEN311_PATH or path.startswith(OPEN311_PATH + "/")


def speaks_ogc(request: Request) -> bool:
    """Whether the request is under the OGC API path, where errors take OGC's shape."""
    path = request.url.path
    return path == OGC_PATH or path.startswith(OGC_PATH + "/")


#: The staff console's paths, where errors are pages (or htmx fragments), in Chinese.
CONSOLE_PATHS = ("/console", "/login", "/logout")


def speaks_console(request: Request) -> bool:
    """Whether the request is one of the console's pages."""
    path = request.url.path
    return any(path == p or path.startswith(p + "/") for p in CONSOLE_PATHS)


def console_error(
    request: Request, status: int, detail: str, headers: dict[str, str] | None = None
) -> Response:
    """An error on a console page: not signed in (or the session ended) goes to /login and
    comes back; anything else is a page, or for an htmx request the alert it swaps in."""
    base = str(request.scope.get("root_path", "")).rstrip("/")
    if status == 401:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        login = f"{base}/login?next={quote(here, safe='')}"
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": login})
        return RedirectResponse(login, 303)
    if request.headers.get("hx-request"):
        fragment = f'<p class="alert error" role="alert">{escape(detail)}</p>'
        return HTMLResponse(fragment, status, headers=headers)
    titles = {403: "权限不足", 404: "未找到", 409: "操作冲突", 429: "请求过多", 503: "暂时不可用"}
    html = console.render(
        "error.html",
        title=titles.get(status, "出错了"),
        message=detail,
        user=None,
        nav=[],
        active="",
        role_zh="",
        root=base,
        static=f"{base}/static",
        asset_version=console.asset_version(),
    )
    return HTMLResponse(html, status, headers={**(headers or {}), "Cache-Control": "no-store"})


def error_response(
    request: Request,
    status: int,
    code: str,
    detail: str,
    headers: dict[str, str] | None = None,
    detail_zh: str | None = None,
    extra: dict[str, object] | None = None,
) -> Response:
    """The error in the request's protocol: GeoReport's list under /open311, else
    ``{"detail", "code"}`` (with ``extra``)."""
    if speaks_open311(request):
        return open311_error(request, status, detail, headers, detail_zh)
    if speaks_console(request):
        return console_error(request, status, detail_zh or detail, headers)
    if _wants_chinese(request):
        detail = detail_zh or ZH.get(code, "{detail}").format(detail=detail)
    if speaks_ogc(request):
        exception = {"code": OGC_CODES.get(status, "Error"), "description": detail, **(extra or {})}
        return JSONResponse(exception, status_code=status, headers=headers)
    body: dict[str, object] = {"detail": detail, "code": code, **(extra or {})}
    return JSONResponse(body, status_code=status, headers=headers)


def open311_error(
    request: Request,
    status: int,
    description: str,
    headers: dict[str, str] | None = None,
    description_zh: str | None = None,
) -> Response:
    """GeoReport v2's error list, in XML when the path ends in ``.xml``, else JSON."""
    if _wants_chinese(request) and description_zh:
        description = description_zh
    body = open311.errors_body(status, description)
    fmt = "xml" if request.url.path.endswith(".xml") else "json"
    root, item = open311.XML_ROOTS["errors"]
    content = orjson.dumps(body) if fmt == "json" else open311.to_xml(root, body, item)
    return Response(
        content,
        status_code=status,
        headers=headers,
        media_type=f"{open311.FORMATS[fmt]}; charset=utf-8",
    )


def _extra(details: object) -> dict[str, object] | None:
    """Violations travel as a GeoJSON FeatureCollection, a file's refused rows as
    ``refused``; other details as they are."""
    if isinstance(details, list) and details and all(isinstance(v, Violation) for v in details):
        return {
            "violations": {
                "type": "FeatureCollection",
                "features": [v.as_feature() for v in details],
            }
        }
    if isinstance(details, dict):
        return dict(details)
    if isinstance(details, list) and details and all(isinstance(d, dict) for d in details):
        # the rows an all-or-nothing file load refused ({"line", "reason"}): every one of
        # them (the message lists the first 20), as the case import lists its refused rows
        return {"refused": list(details)}
    return None


def status_for(exc: GeogridError, table: dict[type[GeogridError], int] = STATUS) -> int:
    """The HTTP status of a domain error (by its nearest class in ``table``)."""
    for kind in type(exc).__mro__:
        if kind in table:
            return table[kind]
    return 400


def database_unreachable(exc: Exception) -> bool:
    """Whether a database error means "not reachable now" (503) rather than a bug (500).

    Connection failures arrive as OperationalError, or as DBAPIError with
    connection_invalidated.
    """
    return isinstance(exc, OperationalError) or getattr(exc, "connection_invalidated", False)


def domain_response(request: Request, exc: GeogridError) -> Response:
    """The answer to a domain error, in the protocol's shape: GeoReport's under ``/open311``
    (JSON or XML by the path's suffix), ``{"detail", "code"}`` everywhere else.

    Routes raise and the handlers below call this; middleware that answers before any route
    (api/body_size.py) calls it directly.
    """
    if request.url.path.startswith("/open311/"):
        status = status_for(exc, OPEN311_STATUS)
        text = exc.message_zh if _wants_chinese(request) and exc.message_zh else exc.message
        body = open311.errors_body(status, text)
        if request.url.path.endswith(".xml"):
            root, item = open311.XML_ROOTS["errors"]
            content = open311.to_xml(root, body, item)
            return Response(content, status, media_type="text/xml; charset=utf-8")
        return JSONResponse(body, status)
    status = status_for(exc, OGC_STATUS if speaks_ogc(request) else STATUS)
    headers = None
    if status in (429, 503):
        headers = {"Retry-After": str(getattr(exc, "retry_after_s", RETRY_AFTER_S))}
    if status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    if isinstance(exc, MethodNotAllowedError):
        headers = {"Allow": ", ".join(exc.allow)}
    return error_response(
        request, status, exc.code, exc.message, headers, exc.message_zh, _extra(exc.details)
    )


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(GeogridError)
    async def domain_error(request: Request, exc: GeogridError) -> Response:
        return domain_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        status = 400 if speaks_open311(request) or speaks_ogc(request) else 422
        return error_response(
            request, status, "validation_error", describe_validation(exc.errors())
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        detail = str(exc.detail)
        if isinstance(exc.__cause__, RecursionError):  # FastAPI's 400 for a body json can't read
            detail = "the JSON body nests too deeply to read"
        return error_response(
            request, exc.status_code, "http_error", detail, dict(exc.headers or {})
        )

    @app.exception_handler(OperationalError)
    @app.exception_handler(DBAPIError)
    @app.exception_handler(PoolTimeoutError)
    async def database_down(request: Request, exc: Exception) -> Response:
        if database_unreachable(exc) or isinstance(exc, PoolTimeoutError):
            log.warning("database unavailable: %s", exc.__class__.__name__)
            return error_response(
                request,
                503,
                "database_unavailable",
                "the database is unavailable; retry shortly",
                {"Retry-After": RETRY_AFTER_S},
            )
        if getattr(getattr(exc, "orig", None), "pgcode", None) == READ_ONLY:
            return error_response(
                request,
                503,
                "read_only",
                "this server reads a hot standby of the database and cannot write; send "
                "writes to a server of the primary",
            )
        log.exception("database error")
        return error_response(request, 500, "internal_error", "internal error")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        return error_response(request, 500, "internal_error", "internal error")
