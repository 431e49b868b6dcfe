"""The request middleware: request id, security headers, one log line and metrics per request.

A pure ASGI middleware rather than Starlette's ``BaseHTTPMiddleware``: it wraps ``send`` and
nothing else (no extra task, no body buffering), so it stays cheap on the hot path.
"""

from __future__ import annotations

import random
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from geogrid.api.observability import logs
from geogrid.api.observability.headers import (
    SECURITY_HEADERS,
    content_security_policy,
    nonce_of,
)
from geogrid.api.observability.logs import now_iso
from geogrid.api.observability.metrics import Metrics

REQUEST_ID = b"x-request-id"
#: A request id a client may choose: short and plain, so it is safe in any log.
_CLIENT_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
_SECRET_PARAM = re.compile(r"(api_key=)[^&]*", re.IGNORECASE)


def _request_id(scope: Scope) -> bytes:
    for name, value in scope["headers"]:
        if name == REQUEST_ID:
            if _CLIENT_ID.fullmatch(value):
                return bytes(value)
            break
    # An id, not a secret: the Mersenne Twister is enough and costs no system call.
    return b"%016x" % random.getrandbits(64)


class RequestMiddleware:
    """Gives every request an id (the client's ``X-Request-ID`` when it is plain, else a new
    one), answers it in ``X-Request-ID`` with the security headers, and records one access
    log line and one latency sample when the answer is sent."""

    def __init__(self, app: ASGIApp, metrics: Metrics, access_log: bool = True) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log
        self.log = logs.access_log()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        status = 500
        bound = logs.REQUEST_ID.set(request_id.decode())

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", ()), *SECURITY_HEADERS, (REQUEST_ID, request_id)]
                if _is_html(headers):
                    policy = content_security_policy(nonce_of(scope))
                    headers.append((b"content-security-policy", policy))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            seconds = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.observe(scope["method"], template, status, seconds)
            if self.access_log:
                self._log(scope, request_id, template, status, seconds)
            logs.REQUEST_ID.reset(bound)

    def _log(
        self, scope: Scope, request_id: bytes, template: str, status: int, seconds: float
    ) -> None:
        fields: dict[str, Any] = {
            "timestamp": now_iso(),
            "level": "info",
            "request_id": request_id.decode(),
            "method": scope["method"],
            "path": scope["path"][:512],
            "route": template,
            "status": status,
            "ms": round(seconds * 1000, 3),
        }
        query: bytes = scope.get("query_string", b"")
        if query:
            text = query[:1024].decode("latin-1")
            fields["query"] = _SECRET_PARAM.sub(r"\1***", text) if "api_key" in text else text
        client = scope.get("client")
        if client:
            fields["client"] = client[0]
        caller = scope.get("state", {}).get("caller")
        if caller:
            fields["caller"] = caller
        self.log.write(fields)


def _is_html(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"content-type":
            return value.startswith(b"text/html")
    return False


__all__ = ["REQUEST_ID", "RequestMiddleware"]
