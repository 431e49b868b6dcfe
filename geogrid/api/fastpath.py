"""The hottest GETs (locate, nearest station) called straight from the ASGI stack.

Routing, the dependency solver, the exception and exit-stack layers cost a FastAPI request
about 30 µs before a route runs, more than locating a point (measured in-process: a bare
``async def`` route that returns a prepared Response takes 33 µs of CPU, an ASGI callable 0.5
µs). For these two GETs this middleware calls the route's own function with a Request of its
own and sends the Response it returns. Nothing is answered differently: the function is the
route's (its query model, key, snapshot and answer), the request id, headers, log line and
metrics of the request middleware outside still apply, and whenever the function raises
(bad input, a wrong key, a database needed for ``at=``) the request goes the ordinary way
through FastAPI, whose handlers answer the error. A GET has no body, so nothing is lost by
going round twice. Only calls that need nothing but memory take this path: no ``at=`` (an
older release is looked up in the database) and no key unless the process verified it within
seconds, so nothing the function does (a key lookup, a wrong key counted against its
address) can happen twice.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]


class FastPath:
    """Answers ``GET <path>`` with ``routes[path]``'s endpoint; anything else, or any error,
    goes on to ``app``."""

    def __init__(self, app: ASGIApp, routes: list[APIRoute]) -> None:
        self.app = app
        self.routes: dict[str, tuple[APIRoute, Endpoint]] = {
            route.path: (route, route.endpoint) for route in routes
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self.routes.get(scope["path"]) if scope["type"] == "http" else None
        if found is None or scope["method"] != "GET" or not _from_memory(scope):
            await self.app(scope, receive, send)
            return
        route, endpoint = found
        try:
            response = await endpoint(Request(scope, receive))
        except Exception:  # the ordinary way answers it, through the error handlers
            await self.app(scope, receive, send)
            return
        if len(response.body) >= GZIP_MINIMUM and _accepts_gzip(scope):
            # gzip sits behind this path: a large answer (a big k=) goes the ordinary way,
            # so that GET is compressed as its HEAD is
            await self.app(scope, receive, send)
            return
        scope["route"] = route  # for the request's log line and metrics
        await response(scope, receive, send)


_AT = re.compile(rb"(?:^|&)at=")
#: Answers this large are gzipped by the ordinary stack (api/compression.py, main.py).
GZIP_MINIMUM = 1024


def _accepts_gzip(scope: Scope) -> bool:
    return any(name == b"accept-encoding" and b"gzip" in value for name, value in scope["headers"])


def _from_memory(scope: Scope) -> bool:
    """Whether the call needs nothing but memory: no ``at=``, no key or a freshly verified one."""
    if _AT.search(scope["query_string"]):
        return False
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return False
            known = scope["app"].state.key_cache.get(token)
            return known is not None and known.fresh
    return True


__all__ = ["FastPath"]
