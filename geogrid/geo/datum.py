"""Coordinate systems users send: WGS84, CGCS2000, GCJ-02 and BD-09, and the storage datum.

Geometries are stored in EPSG:4490 (CGCS2000). CGCS2000 and WGS84 agree to a few centimetres
in Hefei (pyproj's own 4326 -> 4490 transformation is the identity), so both are taken as-is.
GCJ-02 (AMap, Tencent, WeChat) and BD-09 (Baidu) have no EPSG code: they are computed here with
the published forward formulas and inverted by fixed-point iteration, vectorised with numpy so a
million points convert in well under a second. No maintained PyPI package offers a vectorised,
iterative inverse (the scalar ones are unmaintained one-file ports), hence this module.

Lengths and areas are measured in EPSG:4548 (CGCS2000 / 3-degree Gauss-Kruger CM 117E), which
covers Yaohai (117.29-117.43E) with negligible scale error.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pyproj
import shapely

STORAGE_SRID = 4490
METRIC_SRID = 4548

#: Names accepted wherever a client names a coordinate system.
CRS_NAMES = ("wgs84", "cgcs2000", "gcj02", "bd09")

_A = 6378245.0  # Krasovsky 1940 semi-major axis used by the GCJ-02 formula
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0

Array = npt.NDArray[np.float64]
G = TypeVar("G")


class UnknownCRSError(ValueError):
    """A coordinate system name that geogrid does not know."""


#: The one "inside China" box (min lon, min lat, max lon, max lat), as the published GCJ-02
#: formula defines it: outside it GCJ-02 equals WGS84, and geogrid refuses input points.
CHINA = (72.004, 0.8293, 137.8347, 55.8271)


def in_china(lon: Any, lat: Any) -> Any:
    """Whether points lie in :data:`CHINA` (floats or numpy arrays, elementwise).

    Examples
    --------
    >>> bool(in_china(117.3, 31.9)), bool(in_china(31.9, 117.3))
    (True, False)
    """
    return (lon >= CHINA[0]) & (lon <= CHINA[2]) & (lat >= CHINA[1]) & (lat <= CHINA[3])


def _offset_core(lon: Any, lat: Any, m: Any) -> tuple[Any, Any]:
    """The published GCJ-02 offset, written once for numpy arrays (m=np) and floats (m=math)."""
    x = lon - 105.0
    y = lat - 35.0
    sx = m.sqrt(m.fabs(x))
    pi = m.pi
    d_lat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * sx
        + (20.0 * m.sin(6.0 * x * pi) + 20.0 * m.sin(2.0 * x * pi)) * 2.0 / 3.0
        + (20.0 * m.sin(y * pi) + 40.0 * m.sin(y / 3.0 * pi)) * 2.0 / 3.0
        + (160.0 * m.sin(y / 12.0 * pi) + 320.0 * m.sin(y * pi / 30.0)) * 2.0 / 3.0
    )
    d_lon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * sx
        + (20.0 * m.sin(6.0 * x * pi) + 20.0 * m.sin(2.0 * x * pi)) * 2.0 / 3.0
        + (20.0 * m.sin(x * pi) + 40.0 * m.sin(x / 3.0 * pi)) * 2.0 / 3.0
        + (150.0 * m.sin(x / 12.0 * pi) + 300.0 * m.sin(x / 30.0 * pi)) * 2.0 / 3.0
    )
    rad_lat = lat / 180.0 * pi
    magic = 1.0 - _EE * m.sin(rad_lat) ** 2
    sqrt_magic = m.sqrt(magic)
    d_lat = d_lat * 180.0 / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * pi)
    d_lon = d_lon * 180.0 / (_A / sqrt_magic * m.cos(rad_lat) * pi)
    return d_lon, d_lat


def _gcj_offset(lon: Array, lat: Array) -> tuple[Array, Array]:
    d_lon, d_lat = _offset_core(lon, lat, np)
    inside = in_china(lon, lat)
    return np.where(inside, d_lon, 0.0), np.where(inside, d_lat, 0.0)


def _gcj_scalar(lon: float, lat: float) -> tuple[float, float]:
    if not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271):
        return lon, lat
    d_lon, d_lat = _offset_core(lon, lat, math)
    return lon + d_lon, lat + d_lat


def _bd_scalar(lon: float, lat: float) -> tuple[float, float]:
    x, y = _gcj_scalar(lon, lat)
    z = math.sqrt(x * x + y * y) + 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) + 0.000003 * math.cos(x * _X_PI)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def _invert_scalar(
    forward: Callable[[float, float], tuple[float, float]], lon: float, lat: float
) -> tuple[float, float]:
    p_lon, p_lat = lon, lat
    for _ in range(30):
        f_lon, f_lat = forward(p_lon, p_lat)
        e_lon, e_lat = f_lon - lon, f_lat - lat
        p_lon, p_lat = p_lon - e_lon, p_lat - e_lat
        if abs(e_lon) < 1e-11 and abs(e_lat) < 1e-11:
            break
    return p_lon, p_lat


def convert_point(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """One point from ``crs`` (a canonical name) to storage, unchecked, in plain floats.

    Client input goes through :func:`geogrid.geo.points.point_to_storage`, which checks it
    first; this is the fast conversion underneath.

    Examples
    --------
    >>> x, y = convert_point(117.355680, 31.878116, "gcj02")
    >>> (x, y) == tuple(float(v) for v in to_storage(117.355680, 31.878116, "gcj02"))
    True
    """
    if crs in ("wgs84", "cgcs2000"):
        return lon, lat
    if crs == "gcj02":
        return _invert_scalar(_gcj_scalar, lon, lat)
    if crs == "bd09":
        return _invert_scalar(_bd_scalar, lon, lat)
    x, y = to_storage(lon, lat, crs)
    return float(x), float(y)


def wgs84_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[Array, Array]:
    """Forward GCJ-02 transform (WGS84 -> GCJ-02), vectorised.

    Parameters
    ----------
    lon, lat : array_like
        WGS84 degrees.

    Returns
    -------
    tuple of ndarray
        GCJ-02 longitude and latitude.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(117.35, 31.88)
    >>> round(float(lon) - 117.35, 4), round(float(lat) - 31.88, 4)
    (0.0057, -0.0019)
    """
    lo = np.asarray(lon, dtype=np.float64)
    la = np.asarray(lat, dtype=np.float64)
    d_lon, d_lat = _gcj_offset(lo, la)
    return lo + d_lon, la + d_lat


def gcj02_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[Array, Array]:
    """Forward BD-09 transform (GCJ-02 -> BD-09), vectorised."""
    x = np.asarray(lon, dtype=np.float64)
    y = np.asarray(lat, dtype=np.float64)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def wgs84_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[Array, Array]:
    """Forward WGS84 -> BD-09 (via GCJ-02), vectorised."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def _invert(
    forward: Callable[[Array, Array], tuple[Array, Array]],
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    tolerance_deg: float = 1e-11,
    max_iterations: int = 30,
) -> tuple[Array, Array]:
    # Fixed-point iteration p <- p - (forward(p) - target). The offset varies by under 1e-5
    # per degree, so each step gains about five digits: three to four steps reach 1e-11 deg
    # (about 1 micrometre), far below the 0.01 m round-trip contract.
    t_lon = np.asarray(lon, dtype=np.float64)
    t_lat = np.asarray(lat, dtype=np.float64)
    p_lon = t_lon.copy()
    p_lat = t_lat.copy()
    for _ in range(max_iterations):
        f_lon, f_lat = forward(p_lon, p_lat)
        e_lon = f_lon - t_lon
        e_lat = f_lat - t_lat
        p_lon = p_lon - e_lon
        p_lat = p_lat - e_lat
        if np.all(np.abs(e_lon) < tolerance_deg) and np.all(np.abs(e_lat) < tolerance_deg):
            break
    return p_lon, p_lat


def gcj02_to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[Array, Array]:
    """Inverse GCJ-02 transform (GCJ-02 -> WGS84) by iteration; round trip < 1e-6 m."""
    return _invert(wgs84_to_gcj02, lon, lat)


def bd09_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[Array, Array]:
    """Inverse BD-09 transform (BD-09 -> GCJ-02) by iteration."""
    return _invert(gcj02_to_bd09, lon, lat)


def bd09_to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[Array, Array]:
    """Inverse BD-09 transform (BD-09 -> WGS84) by iteration over the composed forward."""
    return _invert(wgs84_to_bd09, lon, lat)


def normalise_crs(crs: str) -> str:
    """Return the canonical name of ``crs``: one of CRS_NAMES or ``EPSG:n``.

    Raises
    ------
    UnknownCRSError
        When the name is neither a known alias nor an EPSG code pyproj knows.
    """
    name = crs.strip().lower()
    aliases = {"epsg:4326": "wgs84", "4326": "wgs84", "epsg:4490": "cgcs2000", "4490": "cgcs2000"}
    name = aliases.get(name, name)
    if name in CRS_NAMES:
        return name
    if name.startswith("epsg:") and name[5:].isascii() and name[5:].isdigit():  # not "²"
        try:
            pyproj.CRS.from_epsg(int(name[5:]))
        except pyproj.exceptions.CRSError as exc:
            raise UnknownCRSError(f'crs was "{crs}" but EPSG:{name[5:]} is unknown') from exc
        return f"EPSG:{name[5:]}"
    raise UnknownCRSError(f'crs was "{crs}" but must be one of {sorted(CRS_NAMES)} or EPSG:<code>')


def point_from_storage(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """One storage point to ``crs`` (a canonical name), in plain floats (fast path)."""
    if crs in ("wgs84", "cgcs2000"):
        return lon, lat
    if crs == "gcj02":
        return _gcj_scalar(lon, lat)
    if crs == "bd09":
        return _bd_scalar(lon, lat)
    x, y = from_storage(lon, lat, crs)
    return float(x), float(y)


@lru_cache(maxsize=32)
def _transformer(source: str, target: str) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(source, target, always_xy=True)


def to_storage(lon: npt.ArrayLike, lat: npt.ArrayLike, crs: str) -> tuple[Array, Array]:
    """Convert x/y given in ``crs`` to storage lon/lat (EPSG:4490), vectorised.

    Examples
    --------
    >>> lon, lat = to_storage(117.355680, 31.878116, "gcj02")
    >>> round(float(lon), 5), round(float(lat), 5)
    (117.35, 31.88)
    """
    name = normalise_crs(crs)
    if name in ("wgs84", "cgcs2000"):
        return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    if name == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if name == "bd09":
        return bd09_to_wgs84(lon, lat)
    x, y = _transformer(name, f"EPSG:{STORAGE_SRID}").transform(
        np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    )
    return np.asarray(x), np.asarray(y)


def from_storage(lon: npt.ArrayLike, lat: npt.ArrayLike, crs: str) -> tuple[Array, Array]:
    """Convert storage lon/lat (EPSG:4490) to ``crs``, vectorised."""
    name = normalise_crs(crs)
    if name in ("wgs84", "cgcs2000"):
        return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    if name == "gcj02":
        return wgs84_to_gcj02(lon, lat)
    if name == "bd09":
        return wgs84_to_bd09(lon, lat)
    x, y = _transformer(f"EPSG:{STORAGE_SRID}", name).transform(
        np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    )
    return np.asarray(x), np.asarray(y)


def _apply(geom: Any, fn: Callable[[Array, Array], tuple[Array, Array]]) -> Any:
    def coords_fn(xy: Array) -> Array:
        x, y = fn(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, coords_fn)


def geometry_to_storage(geom: G, crs: str) -> G:
    """Return ``geom`` (a shapely geometry or array of them) converted from ``crs`` to storage."""
    return _apply(geom, lambda x, y: to_storage(x, y, crs))  # type: ignore[no-any-return]


def geometry_from_storage(geom: G, crs: str) -> G:
    """Return ``geom`` converted from storage (EPSG:4490) to ``crs``."""
    return _apply(geom, lambda x, y: from_storage(x, y, crs))  # type: ignore[no-any-return]


def to_metric(geom: G) -> G:
    """Project storage lon/lat geometries to metres (EPSG:4548)."""
    t = _transformer(f"EPSG:{STORAGE_SRID}", f"EPSG:{METRIC_SRID}")
    return _apply(geom, lambda x, y: t.transform(x, y))  # type: ignore[no-any-return]


def from_metric(geom: G) -> G:
    """Unproject EPSG:4548 metres back to storage lon/lat."""
    t = _transformer(f"EPSG:{METRIC_SRID}", f"EPSG:{STORAGE_SRID}")
    return _apply(geom, lambda x, y: t.transform(x, y))  # type: ignore[no-any-return]


class LocalMetric:
    """EPSG:4548 metres for single points near a place, without pyproj's per-call cost.

    A degree-4 polynomial in (lon, lat) is fitted to pyproj's own EPSG:4490 -> EPSG:4548
    transform over a box; its largest error on a dense check grid must stay under 1 mm (about
    1e-8 m over Yaohai) or the fit is refused. Points outside the box go through pyproj.

    Examples
    --------
    >>> frame = LocalMetric((117.28, 31.81, 117.43, 32.07))
    >>> x, y = frame.xy(117.35, 31.88)
    >>> px, py = _transformer("EPSG:4490", "EPSG:4548").transform(117.35, 31.88)
    >>> abs(x - px) < 1e-6 and abs(y - py) < 1e-6
    True
    """

    DEGREE = 4
    TOLERANCE_M = 0.001

    def __init__(self, bounds: tuple[float, float, float, float], margin: float = 0.05) -> None:
        minx, miny, maxx, maxy = bounds
        self.box = (minx - margin, miny - margin, maxx + margin, maxy + margin)
        self.lon0 = (self.box[0] + self.box[2]) / 2
        self.lat0 = (self.box[1] + self.box[3]) / 2
        self.terms = [(i, j) for i in range(self.DEGREE + 1) for j in range(self.DEGREE + 1 - i)]
        transform = _transformer(f"EPSG:{STORAGE_SRID}", f"EPSG:{METRIC_SRID}")
        u, v = (
            a.ravel()
            for a in np.meshgrid(
                np.linspace(self.box[0], self.box[2], 41) - self.lon0,
                np.linspace(self.box[1], self.box[3], 41) - self.lat0,
            )
        )
        x, y = transform.transform(u + self.lon0, v + self.lat0)
        design = np.column_stack([u**i * v**j for i, j in self.terms])
        self.cx = np.linalg.lstsq(design, x, rcond=None)[0].tolist()
        self.cy = np.linalg.lstsq(design, y, rcond=None)[0].tolist()
        check_u, check_v = (
            a.ravel()
            for a in np.meshgrid(
                np.linspace(self.box[0], self.box[2], 97) - self.lon0,
                np.linspace(self.box[1], self.box[3], 97) - self.lat0,
            )
        )
        tx, ty = transform.transform(check_u + self.lon0, check_v + self.lat0)
        check = np.column_stack([check_u**i * check_v**j for i, j in self.terms])
        self.max_error_m = float(
            max(np.abs(check @ self.cx - tx).max(), np.abs(check @ self.cy - ty).max())
        )
        if self.max_error_m > self.TOLERANCE_M:
            raise ValueError(
                f"box {bounds} is too large for a local metric fit ({self.max_error_m:.4f} m error)"
            )

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        """EPSG:4548 x, y in metres of one storage-CRS point."""
        if not (self.box[0] <= lon <= self.box[2] and self.box[1] <= lat <= self.box[3]):
            x, y = _transformer(f"EPSG:{STORAGE_SRID}", f"EPSG:{METRIC_SRID}").transform(lon, lat)
            return float(x), float(y)
        u, v = lon - self.lon0, lat - self.lat0
        x = y = 0.0
        for (i, j), a, b in zip(self.terms, self.cx, self.cy, strict=True):
            p = u**i * v**j
            x += a * p
            y += b * p
        return x, y
