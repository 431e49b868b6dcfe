"""Structured logs: one JSON object per line on standard output, with the request id.

structlog renders them (orjson for the per-request access line, which is on the hot path);
the standard library's loggers (geogrid's own, uvicorn's, SQLAlchemy's) go through the same
renderer, so every line of a process is JSON and every line written while a request is being
served names its ``request_id``.
"""

from __future__ import annotations

import contextvars
import logging
import sys
from typing import Any

import orjson
import structlog

#: The access logger's name; one line per request, written by the request middleware.
ACCESS = "geogrid.access"

#: The id of the request being served (set by the request middleware). One context variable
#: read by one processor: structlog's general ``merge_contextvars`` copies the whole context
#: on every line, which the hot path cannot afford.
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "geogrid_request_id", default=None
)


def add_request_id(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    """Name the request being served, if any, in the line."""
    request_id = REQUEST_ID.get()
    if request_id is not None:
        event.setdefault("request_id", request_id)
    return event


def _shared() -> list[Any]:
    return [
        add_request_id,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def configure_logging(level: str = "info", fmt: str = "json") -> None:
    """Send every log line of this process to standard output as JSON (or, with ``fmt=
    "console"``, as readable text for a terminal)."""
    numeric = logging.getLevelNamesMapping()[level.upper()]
    if fmt == "console":
        renderer: Any = structlog.dev.ConsoleRenderer(colors=False)
        access_renderer: Any = renderer
        factory: Any = structlog.PrintLoggerFactory(sys.stdout)
    else:
        renderer = structlog.processors.JSONRenderer()
        access_renderer = structlog.processors.JSONRenderer(serializer=orjson.dumps)
        factory = structlog.BytesLoggerFactory(sys.stdout.buffer)
    structlog.configure(
        processors=[*_shared(), access_renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=factory,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                renderer,
            ],
            foreign_pre_chain=[*_shared(), structlog.stdlib.add_logger_name],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_geogrid", False)]:
        root.removeHandler(old)
    handler._geogrid = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(numeric)
    # uvicorn's own access log would be a second, slower line per request.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True


def access_logger() -> Any:
    return structlog.get_logger(ACCESS)


__all__ = ["ACCESS", "REQUEST_ID", "access_logger", "add_request_id", "configure_logging"]
