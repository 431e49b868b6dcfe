"""Coordinates and geometry: the four datums, input points, snapping, the point-in-grid index,
output geometries.

Modules: ``datum``, ``locator`` (with ``rings`` and ``raster`` behind it), ``output``, ``points``,
``snapping``.
"""

from geogrid.geo.datum import (
    CRS_NAMES,
    METRIC_SRID,
    STORAGE_SRID,
    LocalMetric,
    from_metric,
    from_storage,
    geometry_from_storage,
    geometry_to_storage,
    normalise_crs,
    point_from_storage,
    to_metric,
    to_storage,
    wgs84_to_gcj02,
)
from geogrid.geo.locator import OUTSIDE, GridIndex, Location
from geogrid.geo.output import CrsName, output_crs, output_geometries
from geogrid.geo.points import point_to_storage, points_to_storage
from geogrid.geo.snapping import snap_layer

__all__ = [
    "CRS_NAMES",
    "METRIC_SRID",
    "OUTSIDE",
    "STORAGE_SRID",
    "CrsName",
    "GridIndex",
    "LocalMetric",
    "Location",
    "from_metric",
    "from_storage",
    "geometry_from_storage",
    "geometry_to_storage",
    "normalise_crs",
    "output_crs",
    "output_geometries",
    "point_from_storage",
    "point_to_storage",
    "points_to_storage",
    "snap_layer",
    "to_metric",
    "to_storage",
    "wgs84_to_gcj02",
]
