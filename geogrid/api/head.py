"""HEAD wherever GET is: a HEAD request is answered as the GET would be, without the body.

FastAPI's routes answer only the methods they declare, so a HEAD to a GET route was a 405;
GDAL's /vsicurl (``pyogrio.read_dataframe(url)``) and link checkers send HEAD first. A pure
ASGI middleware runs the request as a GET and drops the body, so the status and every header,
``Content-Length`` (of the body as it would be sent, gzipped or not), ``ETag`` and
``Content-Crs`` included, are the GET's.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    """Answers ``HEAD`` as ``GET`` with no body; anything else goes straight to ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        # A copy: the server's own scope stays HEAD, so it writes no body either.
        as_get = {**scope, "method": "GET"}

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        try:
            await self.app(as_get, receive, without_body)
        finally:
            if "route" in as_get:  # the request's log line and metrics name the route
                scope["route"] = as_get["route"]


__all__ = ["HeadAsGet"]
