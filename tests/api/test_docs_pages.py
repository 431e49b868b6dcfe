"""/docs and /redoc: served from this origin, under the pages' Content-Security-Policy, and
drawn by Chromium with every outside request refused."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import LiveServer
from tests.maps.test_map_browser import browser  # noqa: F401 (the fixture, by name)


@pytest.mark.parametrize(
    ("path", "drawn"),
    [
        ("/docs", ".opblock-summary-path[data-path='/v1/locate']"),
        ("/redoc", "[data-section-id^='tag/locate']"),
    ],
)
def test_the_api_docs_draw_offline_with_their_policy(
    live_api: LiveServer, request: pytest.FixtureRequest, path: str, drawn: str
) -> None:
    context = request.getfixturevalue("browser").new_context()
    outside: list[str] = []
    errors: list[str] = []

    def route(r: Any) -> None:
        address = urlsplit(r.request.url)
        if address.scheme in ("data", "blob") or address.hostname == "127.0.0.1":
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    try:
        answer = page.goto(live_api.base_url + path, wait_until="load")
        assert answer is not None and "nonce-" in answer.headers["content-security-policy"]
        page.wait_for_selector(drawn, timeout=30_000)
        assert outside == [], outside
        # ReDoc's one hard-coded outside address, its "by Redocly" logo, is refused by the
        # policy itself: nothing leaves the browser, and the console says so.
        errors = [e for e in errors if "cdn.redoc.ly/redoc/logo-mini.svg" not in e]
        assert errors == [], errors
    finally:
        context.close()
