"""gzip for JSON and GeoJSON answers (Starlette's GZip, limited to those media types).

A page of grids is coordinates that gzip to a seventh (the demo: 167 KB to 22 KB). Only JSON and
GeoJSON are compressed: the map pages arrive gzipped already, binary locate answers and
files gain little. A request that does not accept gzip passes straight through, at no cost;
the hot GETs (locate, nearest station) are answered before this middleware (api/fastpath.py)
and leave a large answer (a big ``k=``) to this middleware.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.gzip import GZipResponder
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: The media types compressed.
COMPRESSED = frozenset({"application/json", "application/geo+json", "application/problem+json"})


class JsonGZip:
    """gzip for JSON answers of at least ``minimum_size`` bytes to clients that accept it."""

    def __init__(self, app: ASGIApp, minimum_size: int = 1024, compresslevel: int = 6) -> None:
        self.app = app
        self.minimum_size = minimum_size
        # zlib's default level: level 9 takes about twice as long for a page of grids and
        # saves a few per cent of it.
        self.compresslevel = compresslevel

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _accepts_gzip(scope):
            responder = _JsonResponder(self.app, self.minimum_size, self.compresslevel)
            await responder(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _accepts_gzip(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"accept-encoding":
            return b"gzip" in value
    return False


class _JsonResponder(GZipResponder):
    """Starlette's responder, passing on every answer that is not JSON as it is."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(scope, receive, _one_vary(send))

    async def send_with_compression(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            media = Headers(raw=message.get("headers", [])).get("content-type", "")
            if media.partition(";")[0].strip().lower() not in COMPRESSED:
                self.initial_message = message
                self.content_type_is_excluded = True  # its body messages go on as they are
                await self.send(message)
                return
        await super().send_with_compression(message)


def _one_vary(send: Send) -> Send:
    """``send`` with ``Vary`` naming each header once (an answer that already varies by
    Accept-Encoding gets it twice from the responder)."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(raw=message.setdefault("headers", []))
            values = headers.getlist("vary")
            if len(values) > 1 or (values and "," in values[0]):
                names: dict[str, str] = {}
                for value in values:
                    for name in value.split(","):
                        if name.strip():
                            names.setdefault(name.strip().lower(), name.strip())
                del headers["vary"]
                headers["vary"] = ", ".join(names.values())
        await send(message)

    return sending


__all__ = ["COMPRESSED", "JsonGZip"]
