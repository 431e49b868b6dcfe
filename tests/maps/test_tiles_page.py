"""The vector tile page in Debian's Chromium: MapLibre draws the grids from geogrid's tiles,
on the offline district paper (WebMercatorQuad) and on AMap (GCJ02WebMercatorQuad; AMap's own
tiles cannot load offline, the grids still must)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import launched_chromium
from tests.conftest import LiveServer


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launched_chromium()


def _drawn(page: Any) -> int:
    """The grids MapLibre has drawn once the map is idle."""
    page.wait_for_function(
        "() => window.geogridMap && window.geogridMap.loaded() "
        "&& window.geogridMap.queryRenderedFeatures({layers: ['grids']}).length > 0",
        timeout=30_000,
    )
    return int(page.evaluate("window.geogridMap.queryRenderedFeatures({layers: ['grids']}).length"))


def test_the_grids_are_drawn_from_the_tiles_on_paper_and_on_amap(
    live_api: LiveServer, browser: Any
) -> None:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    tiles: list[str] = []
    page.on("response", lambda r: tiles.append(r.url) if "/ogc/tiles/" in r.url else None)
    page.goto(f"{live_api.base_url}/maps/tiles")
    paper = _drawn(page)
    assert paper > 50, paper
    assert any("/WebMercatorQuad/" in url and "release=1" in url for url in tiles)
    codes = page.evaluate(
        "window.geogridMap.queryRenderedFeatures({layers: ['grids']}).map(f => f.properties.code)"
    )
    assert all(len(code) == 15 for code in codes)
    assert (
        page.evaluate(
            "window.geogridMap.queryRenderedFeatures({layers: ['district-outline']}).length"
        )
        > 0
    )

    page.check("input[value=amap]")
    page.wait_for_function("() => window.geogridMap.getSource('amap') !== undefined")
    amap = _drawn(page)
    assert amap > 50, amap
    assert any("/GCJ02WebMercatorQuad/" in url for url in tiles)
    assert not errors, errors
    page.close()
