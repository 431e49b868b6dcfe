"""Coordinate reference systems named by URI (OGC API – Features Part 2, "CRS by reference").

OGC clients name a CRS by URI: ``http://www.opengis.net/def/crs/OGC/1.3/CRS84`` for
longitude/latitude on WGS84, ``http://www.opengis.net/def/crs/EPSG/0/4326`` for the same datum
with the EPSG authority's axis order (latitude first), and so on. GCJ-02 (AMap, Tencent,
WeChat) and BD-09 (Baidu) have no EPSG code, so geogrid names them with URNs of its own that
say what they are; they are never labelled as EPSG:4326, which would put them ~570 m away.

Each :class:`CrsRef` says how to reach it from storage (EPSG:4490): first through one of
geogrid's datums (:data:`geogrid.geo.datum.CRS_NAMES`), then, for a projected CRS, through a
pyproj projection; and which axis comes first as the authority defines it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from geogrid.errors import InvalidInputError
from geogrid.i18n import tr

OGC = "http://www.opengis.net/def/crs/"
CRS84 = OGC + "OGC/1.3/CRS84"
GCJ02 = "urn:x-geogrid:def:crs:GCJ-02"
BD09 = "urn:x-geogrid:def:crs:BD-09"

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class CrsRef:
    """A CRS a client can name by URI.

    ``datum`` is the geogrid datum the coordinates are on (wgs84, cgcs2000, gcj02 or bd09);
    ``projection`` the EPSG code of a projected CRS on that datum (None for geographic ones);
    ``swap_axes`` is True where the authority's first axis is latitude or northing.
    """

    uri: str
    title: str
    datum: str
    projection: int | None = None
    swap_axes: bool = False
    #: decimals that keep about 1 cm: 7 for degrees, 2 for metres
    decimals: int = 7

    @property
    def geographic(self) -> bool:
        return self.projection is None


#: Every CRS geogrid reads and writes under /ogc, storage CRS first after CRS84.
CRS_REFS: tuple[CrsRef, ...] = (
    CrsRef(CRS84, "WGS 84 longitude/latitude (CRS84)", "wgs84"),
    CrsRef(OGC + "EPSG/0/4490", "CGCS2000 (EPSG:4490), latitude first", "cgcs2000", None, True),
    CrsRef(OGC + "EPSG/0/4326", "WGS 84 (EPSG:4326), latitude first", "wgs84", None, True),
    CrsRef(
        OGC + "EPSG/0/4548",
        "CGCS2000 / 3-degree Gauss-Kruger CM 117E (EPSG:4548), northing first, metres",
        "cgcs2000",
        4548,
        True,
        2,
    ),
    CrsRef(
        OGC + "EPSG/0/3857", "WGS 84 / Pseudo-Mercator (EPSG:3857), metres", "wgs84", 3857, False, 2
    ),
    CrsRef(GCJ02, "GCJ-02 longitude/latitude (AMap, Tencent, WeChat; no EPSG code)", "gcj02"),
    CrsRef(BD09, "BD-09 longitude/latitude (Baidu; no EPSG code)", "bd09"),
)
STORAGE_CRS = OGC + "EPSG/0/4490"
_BY_URI = {c.uri: c for c in CRS_REFS}
# Short forms clients also send: safe CURIEs ("[EPSG:4326]") and "EPSG:4326".
_ALIASES = {
    "http://www.opengis.net/def/crs/OGC/0/CRS84": CRS84,
    "https://www.opengis.net/def/crs/OGC/1.3/CRS84": CRS84,
    "OGC:CRS84": CRS84,
    "CRS84": CRS84,
    **{f"EPSG:{c.uri.rsplit('/', 1)[1]}": c.uri for c in CRS_REFS if "/EPSG/" in c.uri},
    **{f"https://{c.uri[len('http://') :]}": c.uri for c in CRS_REFS if c.uri.startswith(OGC)},
}
#: /v1 crs names -> the URI of the same coordinates in longitude, latitude order
LON_LAT_URIS = {"wgs84": CRS84, "cgcs2000": CRS84, "gcj02": GCJ02, "bd09": BD09}


def crs_ref(uri: str, name: str = "crs") -> CrsRef:
    """The CRS named by ``uri``, or InvalidInputError naming the URIs geogrid knows.

    Examples
    --------
    >>> crs_ref("http://www.opengis.net/def/crs/EPSG/0/4326").swap_axes
    True
    >>> crs_ref("[EPSG:4548]").projection
    4548
    """
    key = uri.strip()
    if key.startswith("[") and key.endswith("]"):
        key = key[1:-1]
    key = _ALIASES.get(key, key)
    found = _BY_URI.get(key)
    if found is None:
        raise InvalidInputError(
            tr(
                '{name} was "{uri}" but must be one of {allowed}',
                name=name,
                uri=uri,
                allowed=[c.uri for c in CRS_REFS],
            )
        )
    return found


def lon_lat_uri(datum: str) -> str:
    """The URI of ``datum``'s longitude/latitude coordinates (the Content-Crs of /v1 answers)."""
    return LON_LAT_URIS[datum]


@lru_cache(maxsize=8)
def _projection(epsg: int) -> pyproj.Transformer:
    # geographic lon/lat of the datum (taken as EPSG:4490 ~ 4326, see geo.datum) -> projected
    return pyproj.Transformer.from_crs(4490 if epsg == 4548 else 4326, epsg, always_xy=True)


def _swap(xy: Array) -> Array:
    return xy[:, ::-1].copy()


def project(geometries: npt.NDArray[np.object_], ref: CrsRef) -> npt.NDArray[np.object_]:
    """Geometries already on ``ref.datum`` (lon/lat) put in ``ref``: projected, axes ordered."""
    out = geometries
    if ref.projection is not None:
        transformer = _projection(ref.projection)

        def forward(xy: Array) -> Array:
            x, y = transformer.transform(xy[:, 0], xy[:, 1])
            return np.column_stack([x, y])

        out = shapely.transform(out, forward)
    if ref.swap_axes:
        out = shapely.transform(out, _swap)
    return out


def unproject(geometries: npt.NDArray[np.object_], ref: CrsRef) -> npt.NDArray[np.object_]:
    """Geometries in ``ref`` back to lon/lat on ``ref.datum`` (the inverse of :func:`project`)."""
    out = geometries
    if ref.swap_axes:
        out = shapely.transform(out, _swap)
    if ref.projection is not None:
        transformer = _projection(ref.projection)

        def inverse(xy: Array) -> Array:
            x, y = transformer.transform(xy[:, 0], xy[:, 1], direction="INVERSE")
            return np.column_stack([x, y])

        out = shapely.transform(out, inverse)
    return out


def unproject_geometry(geometry: BaseGeometry, ref: CrsRef) -> BaseGeometry:
    """One geometry in ``ref`` back to lon/lat on ``ref.datum``."""
    return unproject(np.asarray([geometry], dtype=object), ref)[0]
