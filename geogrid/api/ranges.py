"""Byte ranges of any GET answer (RFC 9110 §14): ``Range: bytes=...`` gets a 206.

GDAL reads a URL through ``/vsicurl/``, which asks for the size (HEAD), then reads the body
in byte ranges and refuses a server that answers a range with the whole body ("Range
downloading not supported by this server!"). So ``pyogrio.read_dataframe(url)`` and
``ogr2ogr out.gpkg URL`` need ranges of answers that are computed, not files. Starlette
serves ranges of static files only; this middleware serves them of any answer: it runs the
request as usual, keeps the body, and sends the asked slice. That is sound because an answer
is the same bytes for the same release and query (no timestamps in bodies), and each range
request is answered in full by one run of the route.

A range request is answered uncompressed (the ranges are of the identity bytes). Only single
ranges are served (a multi-range request gets the whole answer with 200, which
RFC 9110 allows); ``If-Range`` with a different validator gets the whole answer too; a range
past the end is a 416 naming the length. Requests without ``Range`` pass through untouched.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def byte_range(spec: str, length: int) -> tuple[int, int] | None:
    """The inclusive ``(first, last)`` bytes of ``spec`` in a body of ``length``, or None
    when it does not parse (serve the whole body); ``(length, length)`` when unsatisfiable.

    Examples
    --------
    >>> byte_range("bytes=0-99", 1000), byte_range("bytes=900-", 1000), byte_range("bytes=-10", 1000)
    ((0, 99), (900, 999), (990, 999))
    >>> byte_range("bytes=2000-", 1000), byte_range("bytes=0-1,5-9", 1000)
    ((1000, 1000), None)
    """
    found = _RANGE.match(spec)
    if found is None or (not found[1] and not found[2]):
        return None
    if not found[1]:  # the last n bytes
        suffix = int(found[2])
        if suffix == 0:
            return (length, length)
        return (max(0, length - suffix), length - 1)
    first = int(found[1])
    last = int(found[2]) if found[2] else length - 1
    if found[2] and last < first:
        return None
    if first >= length:
        return (length, length)
    return (first, min(last, length - 1))


class ByteRanges:
    """ASGI middleware answering ``Range`` requests on GET with 206 and ``Content-Range``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        spec = _header(scope, b"range")
        if spec is None:
            await self.app(scope, receive, send)
            return
        if_range = _header(scope, b"if-range")
        # Ranges of the identity bytes: a slice of a gzip stream is of no use to a client
        # that decodes what it receives, so the answer is not compressed (api/compression.py).
        scope = {**scope, "headers": [h for h in scope["headers"] if h[0] != b"accept-encoding"]}
        start: Message | None = None
        chunks: list[bytes] = []

        async def keep(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    await self._answer(start, b"".join(chunks), spec, if_range, send)
            else:
                await send(message)

        await self.app(scope, receive, keep)

    @staticmethod
    async def _answer(
        start: Message | None, body: bytes, spec: str, if_range: str | None, send: Send
    ) -> None:
        assert start is not None
        headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
        etag = next((v.decode("latin-1") for k, v in headers if k == b"etag"), None)
        wanted = None if start["status"] != 200 else byte_range(spec, len(body))
        if wanted is not None and if_range is not None and if_range != etag:
            wanted = None  # the client's copy is another version: the whole answer
        status, sliced = start["status"], body
        if wanted is not None:
            first, last = wanted
            if first >= len(body):
                status, sliced = 416, b""
                headers.append((b"content-range", f"bytes */{len(body)}".encode()))
            else:
                status, sliced = 206, body[first : last + 1]
                headers.append((b"content-range", f"bytes {first}-{last}/{len(body)}".encode()))
        if start["status"] == 200:
            headers.append((b"accept-ranges", b"bytes"))
        headers.append((b"content-length", str(len(sliced)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": sliced})
