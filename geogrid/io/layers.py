"""Whole layers read back from the database as GeoDataFrames (EPSG:4490), e.g. for export."""

from __future__ import annotations

import geopandas as gpd
from sqlalchemy import Connection, text

from geogrid.boundaries.releases import current_release, get_release, grid_layer
from geogrid.errors import InvalidInputError, NotFoundError

_QUERIES = {
    "district": "SELECT code, name, geom AS geometry FROM district ORDER BY code",
    "streets": "SELECT code, name, kind, district_code, geom AS geometry FROM street ORDER BY code",
    "communities": "SELECT code, name, street_code, geom AS geometry FROM community ORDER BY code",
    "compounds": "SELECT id, name, kind, households, population, smart_safe, three_no, "
    "geom AS geometry FROM compound ORDER BY id",
    "stations": "SELECT id, name, kind, community_code, opening_hours, address, "
    "geom AS geometry FROM station ORDER BY id",
    "service_areas": "SELECT station_id, minutes, method, distance_m, detour_factor, "
    "geom AS geometry FROM service_area ORDER BY station_id, minutes",
    # the current walking network (geogrid/network)
    "paths": "SELECT id, name, kind, geom AS geometry FROM walking_path "
    "WHERE network_id = (SELECT max(id) FROM walking_network) ORDER BY id",
    "gates": "SELECT compound_id, name, geom AS geometry FROM compound_gate "
    "ORDER BY compound_id, id",
    "land": "SELECT id, name, geom AS geometry FROM vacant_land ORDER BY id",
}
LAYER_NAMES = ("grids", *_QUERIES)


def read_layer_from_db(
    conn: Connection, layer: str, release: int | None = None
) -> gpd.GeoDataFrame:
    """Layer ``layer`` (grids as of ``release``, default current) as a GeoDataFrame."""
    if layer == "grids":
        chosen = get_release(conn, release) if release else current_release(conn)
        if chosen is None:
            raise NotFoundError("no boundary release is published yet")
        frame = grid_layer(conn, chosen.id)
        frame["code"] = frame["code"].str.strip()
        return frame
    if layer not in _QUERIES:
        raise InvalidInputError(f'layer was "{layer}" but must be one of {list(LAYER_NAMES)}')
    if release is not None:
        raise InvalidInputError("--release applies to the grids layer only")
    return gpd.read_postgis(text(_QUERIES[layer]), conn, geom_col="geometry")
