"""Feature collections for GIS clients: the catalogue, the query engine, CQL2 filters.

What OGC API – Features serves (``geogrid.api.routes.ogc``), without HTTP: which collections
exist and what their features hold (:mod:`~geogrid.features.catalogue`), one page or one
feature read with parametrised SQL (:mod:`~geogrid.features.items`), CQL2 translated by
pygeofilter (:mod:`~geogrid.features.cql`), and extents (:mod:`~geogrid.features.extents`).
"""

from geogrid.features.catalogue import COLLECTIONS, Collection, Property, collection
from geogrid.features.cql import GEOMETRY, LANGUAGES, filter_expression, parse_filter
from geogrid.features.extents import Extent, extent
from geogrid.features.items import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Feature,
    FeaturePage,
    ItemsQuery,
    TimeWindow,
    Window,
    item,
    items,
)

__all__ = [
    "COLLECTIONS",
    "DEFAULT_LIMIT",
    "GEOMETRY",
    "LANGUAGES",
    "MAX_LIMIT",
    "Collection",
    "Extent",
    "Feature",
    "FeaturePage",
    "ItemsQuery",
    "Property",
    "TimeWindow",
    "Window",
    "collection",
    "extent",
    "filter_expression",
    "item",
    "items",
    "parse_filter",
]
