"""geogrid's app plus one route under /open311 that fails as a bug would.

Served by uvicorn (``tests.conftest.start_api(url, factory=FACTORY)``) to see what a client
gets from an unexpected error: the handlers are geogrid's own, only the bug is planted.
"""

from __future__ import annotations

from fastapi import FastAPI

from geogrid.api.main import create_app

FACTORY = "tests.api.failing_app:create_failing_app"
#: Text of the planted bug; it must never reach a client.
SECRET = "internal detail of a bug"


def create_failing_app() -> FastAPI:
    app = create_app()

    @app.get("/open311/v2/failing.{fmt}")
    def failing(fmt: str) -> None:
        raise RuntimeError(SECRET)

    return app
