"""Layer files in and out: reading and writing GeoPackage/GeoJSON/Shapefile, loading them as
releases; and tables as spreadsheets open them safely.

Modules: ``files``, ``layers``, ``loading``, ``spreadsheets``.
"""

from geogrid.io.files import LAYERS, read_layer, write_layer
from geogrid.io.layers import read_layer_from_db
from geogrid.io.spreadsheets import cell_text, csv_cell, text_cell

__all__ = [
    "LAYERS",
    "cell_text",
    "csv_cell",
    "read_layer",
    "read_layer_from_db",
    "text_cell",
    "write_layer",
]
