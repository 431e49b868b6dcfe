"""Checking points that clients send, before they are converted to storage coordinates.

A bad point gets an error that names the value and what is allowed; a point whose lon and lat
look swapped says so (lat 117.3 is out of range, but (31.9, 117.3) swapped is in Hefei).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from geogrid.errors import InvalidInputError
from geogrid.geo import datum
from geogrid.geo.datum import CHINA, in_china, normalise_crs, to_storage
from geogrid.i18n import tr


def _in_china(lon: float, lat: float) -> bool:
    return bool(in_china(lon, lat))


def check_point(lon: float, lat: float) -> None:
    """Raise InvalidInputError unless (lon, lat) is a finite point in or near China.

    Examples
    --------
    >>> check_point(117.35, 31.88)
    >>> try:
    ...     check_point(31.88, 117.35)
    ... except InvalidInputError as exc:
    ...     print(exc)
    lat must be within [-90, 90] but was 117.35; did you swap lon and lat?
    """
    for name, value in (("lon", lon), ("lat", lat)):
        if not math.isfinite(value):
            raise InvalidInputError(
                tr("{name} must be a finite number but was {value}", name=name, value=value),
            )
    swapped = "; did you swap lon and lat?" if _in_china(lat, lon) else ""
    swapped_zh = "；经纬度是否填反了？" if swapped else ""
    if not -90 <= lat <= 90:
        raise InvalidInputError(
            tr(
                "lat must be within [-90, 90] but was {lat}{swapped}",
                lat=lat,
                swapped=swapped,
                swapped_zh=swapped_zh,
            ),
        )
    if not -180 <= lon <= 180:
        raise InvalidInputError(
            tr(
                "lon must be within [-180, 180] but was {lon}{swapped}",
                lon=lon,
                swapped=swapped,
                swapped_zh=swapped_zh,
            ),
        )
    if not _in_china(lon, lat):
        raise InvalidInputError(
            tr(
                "point (lon {lon}, lat {lat}) is far outside China (lon "
                "{min_lon}..{max_lon}, lat {min_lat}..{max_lat}){swapped}",
                lon=lon,
                lat=lat,
                min_lon=CHINA[0],
                max_lon=CHINA[2],
                min_lat=CHINA[1],
                max_lat=CHINA[3],
                swapped=swapped,
                swapped_zh=swapped_zh,
            ),
        )


def point_to_storage(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """Check a client's point and convert it to storage lon/lat (EPSG:4490)."""
    name = _crs(crs)
    check_point(lon, lat)
    return datum.convert_point(lon, lat, name)


def _crs(crs: str) -> str:
    try:
        name = normalise_crs(crs)
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None
    if name.startswith("EPSG:") and name not in ("EPSG:4326", "EPSG:4490"):
        raise InvalidInputError(f'crs was "{crs}" but must be one of wgs84, cgcs2000, gcj02, bd09')
    return name


def points_to_storage(
    lon: npt.ArrayLike, lat: npt.ArrayLike, crs: str
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Check many points (naming the first bad one by index) and convert them to storage."""
    name = _crs(crs)
    x = np.asarray(lon, dtype=np.float64)
    y = np.asarray(lat, dtype=np.float64)
    good = (
        np.isfinite(x)
        & np.isfinite(y)
        & (x >= CHINA[0])
        & (x <= CHINA[2])
        & (y >= CHINA[1])
        & (y <= CHINA[3])
    )
    if not good.all():
        first = int(np.flatnonzero(~good)[0])
        try:
            check_point(float(x[first]), float(y[first]))
        except InvalidInputError as exc:
            raise InvalidInputError(
                tr(
                    "point {first}: {message}",
                    first=first,
                    message=exc.message,
                    message_zh=exc.message_zh,
                )
            ) from None
    return to_storage(x, y, name)
