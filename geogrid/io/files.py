"""Reading users' layer files (GeoPackage, GeoJSON, Shapefile) and writing exports.

Every problem with a file becomes a LoadError that names the file, the column or the feature,
and what was expected, before anything touches the database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyogrio
import shapely

from geogrid.errors import LoadError
from geogrid.geo.datum import (
    STORAGE_SRID,
    geometry_from_storage,
    geometry_to_storage,
    normalise_crs,
)

#: Columns a file must have per layer, and the geometry types it may hold.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "grids": ("code", "name", "kind"),
    "compounds": ("name", "kind", "households"),
    "stations": ("name", "kind"),
    "paths": (),
    "gates": ("compound_id",),
    "land": (),
}
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "grids": (
        "dedicated_unit_name",
        "dedicated_unit_type",
        "leader_name",
        "leader_phone",
        "party_branch_name",
        "party_secretary_name",
        "party_secretary_phone",
    ),
    "compounds": ("id", "population", "smart_safe", "three_no"),
    "stations": ("id", "community_code", "opening_hours", "address"),
    "paths": ("name", "kind"),
    "gates": ("name",),
    "land": ("name",),
}
GEOMETRY_TYPES: dict[str, tuple[str, ...]] = {
    "grids": ("Polygon", "MultiPolygon"),
    "compounds": ("Polygon", "MultiPolygon"),
    "stations": ("Point",),
    "paths": ("LineString", "MultiLineString"),
    "gates": ("Point",),
    "land": ("Polygon", "MultiPolygon"),
}
LAYERS = tuple(REQUIRED_COLUMNS)
DRIVERS = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON", ".shp": "ESRI Shapefile"}


def _pick_layer(path: Path, layer: str) -> str | None:
    try:
        names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    except Exception as exc:  # pyogrio raises several error types for unreadable files
        raise LoadError(
            f"{path}: cannot be read as a GeoPackage, GeoJSON or Shapefile ({exc})"
        ) from exc
    if not names:
        raise LoadError(f"{path}: holds no layer")
    if layer in names:
        return layer
    if len(names) == 1:
        return names[0]
    raise LoadError(f'{path}: has layers {names}; none is called "{layer}"')


def _source_crs(frame: gpd.GeoDataFrame, path: Path, crs: str | None) -> str:
    """The coordinate system the file's numbers are in: --crs, else the file's own."""
    file_epsg = frame.crs.to_epsg() if frame.crs is not None else None
    if crs is not None:
        name = normalise_crs(crs)
        geographic = name in ("wgs84", "cgcs2000", "gcj02", "bd09")
        # GCJ-02/BD-09 files are routinely labelled EPSG:4326; a projected label is a real clash.
        if geographic and frame.crs is not None and not frame.crs.is_geographic:
            raise LoadError(
                f"{path}: the file says its coordinates are {frame.crs.name} "
                f"(EPSG:{file_epsg}) but --crs says {crs}; pass --crs EPSG:{file_epsg}"
            )
        return name
    if frame.crs is None:
        raise LoadError(
            f"{path}: the file names no coordinate system; pass --crs "
            f"wgs84|cgcs2000|gcj02|bd09|EPSG:n"
        )
    if file_epsg is None:
        raise LoadError(
            f"{path}: coordinate system {frame.crs.name!r} has no EPSG code; pass --crs"
        )
    return normalise_crs(f"EPSG:{file_epsg}")


def _check_degrees(frame: gpd.GeoDataFrame, path: Path, crs: str) -> None:
    minx, miny, maxx, maxy = frame.total_bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise LoadError(
            f"{path}: coordinates span x {minx:.3f}..{maxx:.3f}, y {miny:.3f}..{maxy:.3f}, "
            f"which are not degrees as --crs {crs} says; is the file projected? pass --crs EPSG:n"
        )


def read_layer(path: str | Path, layer: str, crs: str | None = None) -> gpd.GeoDataFrame:
    """Read ``layer`` (grids, compounds, stations, paths, gates or land) from a file into storage
    coordinates.

    Parameters
    ----------
    path : str or Path
        A GeoPackage, GeoJSON or Shapefile.
    layer : str
        Which geogrid layer the file holds: decides the required columns (REQUIRED_COLUMNS).
    crs : str, optional
        wgs84, cgcs2000, gcj02, bd09 or EPSG:n; defaults to the file's own.

    Returns
    -------
    GeoDataFrame
        In EPSG:4490, with the file's columns.

    Raises
    ------
    LoadError
        Naming what is wrong: missing file, no features, missing columns, wrong geometry type,
        coordinates that do not fit the coordinate system.
    """
    path = Path(path)
    if layer not in REQUIRED_COLUMNS:
        raise LoadError(f'layer was "{layer}" but must be one of {list(LAYERS)}')
    if not path.exists():
        raise LoadError(f"{path}: no such file")
    chosen = _pick_layer(path, layer)
    frame = gpd.read_file(path, layer=chosen, engine="pyogrio")
    if len(frame) == 0:
        raise LoadError(f"{path}: layer {chosen!r} has no features")
    # Shapefiles cut field names to 10 characters: give the known ones their names back.
    for column in (*REQUIRED_COLUMNS[layer], *OPTIONAL_COLUMNS[layer]):
        if column not in frame.columns and column[:10] in frame.columns:
            frame = frame.rename(columns={column[:10]: column})
    missing = [c for c in REQUIRED_COLUMNS[layer] if c not in frame.columns]
    if missing:
        present = [c for c in frame.columns if c != "geometry"]
        raise LoadError(
            f"{path}: a {layer} file needs columns {list(REQUIRED_COLUMNS[layer])}; "
            f"missing {missing} (it has {present})"
        )
    empty = frame.geometry.isna() | frame.geometry.is_empty
    if empty.any():
        raise LoadError(f"{path}: feature(s) {list(np.flatnonzero(empty)[:10])} have no geometry")
    bad_types = ~frame.geometry.geom_type.isin(GEOMETRY_TYPES[layer])
    if bad_types.any():
        first = int(np.flatnonzero(bad_types)[0])
        raise LoadError(
            f"{path}: feature {first} is a {frame.geometry.iloc[first].geom_type}; "
            f"{layer} must be {list(GEOMETRY_TYPES[layer])}"
        )
    source = _source_crs(frame, path, crs)
    values = frame.geometry.values
    if source in ("wgs84", "cgcs2000", "gcj02", "bd09"):
        _check_degrees(frame, path, source)
        geoms = geometry_to_storage(np.asarray(values), source)
    else:
        geoms = np.asarray(
            frame.set_crs(source, allow_override=True).to_crs(STORAGE_SRID).geometry.values
        )
    out = gpd.GeoDataFrame(frame.drop(columns="geometry"), geometry=list(geoms), crs=STORAGE_SRID)
    if layer in ("grids", "compounds"):
        out["geometry"] = [
            shapely.geometry.MultiPolygon([g]) if g.geom_type == "Polygon" else g
            for g in out.geometry
        ]
    return out


def write_layer(
    frame: gpd.GeoDataFrame, path: str | Path, layer: str, crs: str = "cgcs2000"
) -> Path:
    """Write a storage-CRS frame to GeoPackage/GeoJSON/Shapefile (by suffix) in ``crs``."""
    path = Path(path)
    driver = DRIVERS.get(path.suffix.lower())
    if driver is None:
        raise LoadError(f'export file "{path.name}" must end in one of {sorted(DRIVERS)}')
    name = normalise_crs(crs)
    out = frame.copy()
    if name in ("wgs84", "cgcs2000", "gcj02", "bd09"):
        out["geometry"] = geometry_from_storage(np.asarray(out.geometry.values), name)
        label: Any = 4326 if name in ("wgs84", "gcj02", "bd09") else STORAGE_SRID
        out = out.set_crs(label, allow_override=True)
    else:
        out = out.to_crs(name)
    for column in out.columns:
        if out[column].dtype == object and column != "geometry":
            out[column] = out[column].astype("string")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    out.to_file(path, layer=layer, driver=driver, engine="pyogrio")
    return path
