"""Debian's Chromium under Playwright, for the browser tests (maps, docs pages, OpenLayers).

Never `playwright install`: the tests drive /usr/bin/chromium, which scripts/bootstrap.sh
installs with the test extra. Without it a test skips, or fails under CI.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launched_chromium() -> Iterator[Any]:
    """A headless Chromium for a module's tests (use with ``yield from`` in a fixture)."""
    if importlib.util.find_spec("playwright") is None or not CHROMIUM.exists():
        reason = (
            "browser tests need Playwright (the test extra) and Debian's chromium at "
            f"{CHROMIUM}; ./scripts/test installs both"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=ARGS, headless=True
        )
        yield browser
        browser.close()
