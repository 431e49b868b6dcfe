"""Request bodies of bounded size, refused before they are read: a pure ASGI middleware.

A request whose ``Content-Length`` is over its route's limit is answered 413 at once: before
routing, dependencies, a key lookup or a database connection, and without reading a byte of
its body. A body without a length (``Transfer-Encoding: chunked``) is counted as it streams in
and answered 413 as soon as it passes the limit; the route then sees the client disconnect.
Either answer says ``Connection: close``, so the server reads no more of the body.

Limits are per route, by method and path template (``POST /v1/plans/{plan_id}/edits``), with
one default for every other request; the app takes them from :class:`ApiSettings`
(``GEOGRID_MAX_BODY_BYTES`` and the others). A pure ASGI middleware, not Starlette's
``BaseHTTPMiddleware``: it is on the path of every request, and a request with a small
``Content-Length`` passes through untouched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as AsgiMessage

from geogrid.api import errors
from geogrid.errors import TooLargeError
from geogrid.i18n import tr


def _pattern(template: str) -> re.Pattern[str]:
    """A path template (``/v1/plans/{plan_id}/edits``) as a regular expression."""
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile(
        "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts if p) + "$"
    )


class BodySizeLimit:
    """Refuse request bodies over their route's limit with 413, without reading them.

    ``routes`` maps ``"METHOD /path/{template}"`` to a limit in bytes; ``default`` is the limit
    of every other request.
    """

    def __init__(self, app: ASGIApp, default: int, routes: Mapping[str, int]) -> None:
        self.app = app
        self.default = default
        self.routes = []
        for route, limit in routes.items():
            method, _, template = route.partition(" ")
            self.routes.append((method.upper(), _pattern(template), limit))

    def limit(self, method: str, path: str) -> int:
        """The largest body ``method path`` takes, in bytes."""
        for route_method, pattern, limit in self.routes:
            if route_method == method and pattern.match(path):
                return limit
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope["method"], scope["path"])
        length = _content_length(scope)
        if length is not None:
            if length > limit:
                message = tr(
                    "the request body is {length} bytes but {method} {path} takes at most "
                    "{limit} bytes",
                    length=length,
                    method=scope["method"],
                    path=scope["path"],
                    limit=limit,
                )
                await _refuse(scope, receive, send, message, limit)
                return
            # The HTTP server reads no more than Content-Length bytes: nothing to count.
            await self.app(scope, receive, send)
            return
        await self._counted(scope, receive, send, limit)

    async def _counted(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """Pass a body of unknown length on while counting it; refuse it past ``limit``."""
        received = 0
        refused = started = False

        async def receive_counted() -> AsgiMessage:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    if not started:
                        text = tr(
                            "the request body is over {limit} bytes, the most {method} {path} "
                            "takes",
                            limit=limit,
                            method=scope["method"],
                            path=scope["path"],
                        )
                        await _refuse(scope, receive, send, text, limit)
                    return {"type": "http.disconnect"}
            return message

        async def send_unless_refused(message: AsgiMessage) -> None:
            nonlocal started
            if refused:
                return  # the 413 is the answer
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive_counted, send_unless_refused)
        except Exception:
            if not refused:
                raise
            # The route failed for want of the body it was refused: the 413 stands.


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(scope: Scope, receive: Receive, send: Send, message: object, limit: int) -> None:
    request = Request(scope, receive)
    response = errors.domain_response(
        request,
        TooLargeError(message, details={"limit_bytes": limit}),  # type: ignore[arg-type]
    )
    response.headers["Connection"] = "close"
    await response(scope, receive, send)
