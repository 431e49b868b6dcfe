"""Layer files in and out: reading and writing GeoPackage/GeoJSON/Shapefile, loading them as
releases.

Modules: ``files``, ``layers``, ``loading``.
"""

from geogrid.io.files import LAYERS, read_layer, write_layer
from geogrid.io.layers import read_layer_from_db

__all__ = ["LAYERS", "read_layer", "read_layer_from_db", "write_layer"]
