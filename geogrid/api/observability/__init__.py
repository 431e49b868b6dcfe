"""What a request leaves behind: its id, one log line, metrics, and the security headers of
its answer. One pure ASGI middleware does all four (``middleware.py``), since it runs on the
hot path; each concern keeps its own module."""

from geogrid.api.observability import logs
from geogrid.api.observability.headers import csp_nonce, with_nonce
from geogrid.api.observability.logs import configure_logging
from geogrid.api.observability.metrics import Metrics
from geogrid.api.observability.middleware import RequestMiddleware

__all__ = [
    "Metrics",
    "RequestMiddleware",
    "configure_logging",
    "csp_nonce",
    "logs",
    "with_nonce",
]
