"""What the admin pages share: the redirect after a change and the message it shows."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse
from sqlalchemy import Connection

from geogrid.api.routes.console.pages import root
from geogrid.errors import ConflictError, GeogridError, InvalidInputError, NotFoundError

#: What a change may be refused with: shown on the page, not as an error page.
REFUSALS = (InvalidInputError, ConflictError, NotFoundError)


def done(request: Request, path: str, what: str, name: str, **keep: str) -> RedirectResponse:
    """303 to ``path`` (under /console/admin), which says that ``what`` happened to ``name``
    (and keeps the page's other parameters ``keep``, e.g. a filter, when they are set)."""
    query = urlencode({"done": what, "name": name, **{k: v for k, v in keep.items() if v}})
    return RedirectResponse(f"{root(request)}/console/admin{path}?{query}", 303)


def done_message(messages: dict[str, str], what: str | None, name: str | None) -> str:
    """The success message of ``?done=what&name=name``: only the page's own, never free text."""
    template = messages.get(what or "")
    return template.format(name=(name or "")[:100]) if template else ""


def refused(conn: Connection, exc: GeogridError) -> tuple[int, str]:
    """Undo whatever the refused change wrote (nothing is committed), and its status and text."""
    conn.rollback()
    status = 409 if exc.code == "conflict" else 404 if exc.code == "not_found" else 422
    return status, exc.message_zh or exc.message
