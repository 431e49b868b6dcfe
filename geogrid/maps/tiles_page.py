"""The vector tile map (``/maps/tiles``): MapLibre GL JS drawing geogrid's own tiles.

Two setups, switched on the page: the offline "district paper" (a plain background, the
district outline and the grids, all from ``/ogc/tiles/WebMercatorQuad``: nothing from another
host) and AMap/高德 (its raster tiles under the grids from ``/ogc/tiles/GCJ02WebMercatorQuad``,
drawn in GCJ-02 as AMap is). The page is static HTML: the script (``static/geogrid/tiles.js``)
reads the TileJSON documents, whose tile URLs pin the release current when the page loaded.
"""

from __future__ import annotations

import html

from geogrid.maps.assets import MAPLIBRE, _digest

#: AMap's raster tiles (as the Folium maps offer them, geogrid/maps/elements.py).
AMAP_TILES = tuple(
    f"https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
    "&x={x}&y={y}&z={z}"
    for s in "1234"
)
SCRIPT = "geogrid/tiles.js"


def tiles_page(static_url: str, api_root: str) -> str:
    """The page's HTML; ``static_url`` serves ``maps/static``, ``api_root`` is the app's root."""
    static = static_url.rstrip("/")
    maplibre = f"{static}/{MAPLIBRE.folder}/dist"
    amap = html.escape("|".join(AMAP_TILES))
    return (
        '<!DOCTYPE html><html lang="zh"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>瑶海区网格 · 矢量瓦片</title>"
        f'<link rel="stylesheet" href="{maplibre}/maplibre-gl.css">'
        "<style>html,body,#map{margin:0;height:100%;font-family:sans-serif}"
        "#bases{position:absolute;top:10px;left:10px;z-index:2;background:#fff;"
        "padding:6px 10px;border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3)}</style>"
        "</head><body>"
        '<form id="bases">'
        '<label><input type="radio" name="base" value="paper" checked> 区划纸图（离线）</label> '
        '<label><input type="radio" name="base" value="amap"> 高德地图（GCJ-02）</label>'
        "</form>"
        f'<div id="map" data-api="{html.escape(api_root)}" data-amap="{amap}"></div>'
        f'<script src="{maplibre}/maplibre-gl.js"></script>'
        f'<script src="{static}/{SCRIPT}?v={_digest(SCRIPT)}"></script>'
        "</body></html>"
    )
