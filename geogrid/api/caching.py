"""ETags of answers that come from a boundary release, and 304 Not Modified.

An answer drawn from a release is named by the release, the full query and the caller's role
(viewers see people masked): ``release_etag`` makes that validator, ``not_modified`` answers
a matching ``If-None-Match`` with 304 and no body. Grid attributes (names, leaders), stations,
compounds and street names can change without a new release (a layer file loaded again
updates them in place), so a route whose answer holds any of them also passes a digest of its
body among the ``parts``; a route whose answer is fixed by its release and query alone may
pass none and skip its work on a 304.

The validator is weak (``W/"..."``): the same answer may go out gzipped or not
(api/compression.py), byte for byte different, yet equivalent.
"""

from __future__ import annotations

import hashlib

from starlette.requests import Request
from starlette.responses import Response

#: The request headers an answer of these routes depends on: the key (role and masking), the
#: encoding (gzip) and the language (error messages, the tiling check's).
VARY = "Authorization, Accept-Encoding, Accept-Language"


def caller_role(request: Request) -> str:
    """The caller's role as ``get_principal`` found it (``viewer`` for anonymous callers)."""
    role = getattr(request.state, "role", None)
    return role if isinstance(role, str) else "viewer"


def release_etag(request: Request, release: int, *parts: str | bytes) -> str:
    """A weak ETag of an answer drawn from ``release``: the release, the path and full query,
    the caller's role and ``parts`` (anything else the answer depends on).

    Examples
    --------
    An ETag looks like ``W/"r3-5f0c2a..."``: release 3, then a digest.
    """
    digest = hashlib.blake2b(digest_size=16)
    for part in (
        str(release),
        request.url.path,
        request.url.query,
        caller_role(request),
        request.headers.get("accept-language", "")[:64],
        *parts,
    ):
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\x00")
    return f'W/"r{release}-{digest.hexdigest()}"'


def _matches(header: str, etag: str) -> bool:
    """Whether If-None-Match ``header`` names ``etag`` (weak comparison, RFC 9110 13.1.2)."""
    if header.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == opaque for tag in header.split(","))


def not_modified(request: Request, etag: str) -> Response | None:
    """304 with no body when the request's ``If-None-Match`` names ``etag``, else None."""
    header = request.headers.get("if-none-match")
    if header is None or not _matches(header, etag):
        return None
    return Response(status_code=304, headers={"ETag": etag, "Vary": VARY})


def with_etag(request: Request, response: Response, release: int, *parts: str | bytes) -> Response:
    """``response`` with its ETag (of ``release``, the query, the role, ``parts`` and its body)
    and ``Vary``, or 304 when the client already has it."""
    etag = release_etag(request, release, *parts, bytes(response.body))
    unchanged = not_modified(request, etag)
    if unchanged is not None:
        for name in ("content-crs",):
            if name in response.headers:
                unchanged.headers[name] = response.headers[name]
        return unchanged
    response.headers["ETag"] = etag
    response.headers["Vary"] = VARY
    return response


__all__ = ["VARY", "caller_role", "not_modified", "release_etag", "with_etag"]
