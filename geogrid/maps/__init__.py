"""Folium rendering of geogrid's web maps: plain data in (geogrid.mapdata.views), HTML out.

No database access here: ``geogrid.mapdata.views`` gathers what a map shows, these functions
draw it, and :func:`page` turns a map into an HTML page whose scripts, styles, fonts and images
all come from ``maps/static`` (served by the API, or inlined for a file that opens offline).
"""

from geogrid.maps.assets import STATIC_DIR, ExternalAssetError, check_offline, external_references
from geogrid.maps.assets import render_page as page
from geogrid.maps.diff_map import release_diff_map
from geogrid.maps.plan_map import plan_layers, plan_map
from geogrid.maps.render import (
    case_map,
    coverage_map,
    grid_map,
    locate_map,
    overview_map,
    siting_map,
)
from geogrid.maps.tiles_page import tiles_page

__all__ = [
    "STATIC_DIR",
    "ExternalAssetError",
    "case_map",
    "check_offline",
    "coverage_map",
    "external_references",
    "grid_map",
    "locate_map",
    "overview_map",
    "page",
    "plan_layers",
    "plan_map",
    "release_diff_map",
    "siting_map",
    "tiles_page",
]
