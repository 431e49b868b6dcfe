"""Geometries as answers give them: in the caller's coordinate system, rounded to about 1 cm,
wound as RFC 7946 says.

Storage is EPSG:4490; an answer converts to one of :data:`geogrid.geo.datum.CRS_NAMES` with
:mod:`geogrid.geo.datum`, rounds to :data:`COORDINATE_DECIMALS` decimals and orients every
polygon's exterior ring counter-clockwise and its holes clockwise (RFC 7946, 3.1.6; d3-geo
and some renderers draw a clockwise exterior as the whole world minus the polygon).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from geogrid.errors import InvalidInputError
from geogrid.geo.datum import CRS_NAMES, UnknownCRSError, geometry_from_storage, normalise_crs
from geogrid.i18n import tr

#: 1e-7 degree is about 1 cm on the ground: finer digits only make the answer longer.
COORDINATE_DECIMALS = 7
#: The coordinate systems answers can be given in (geogrid.geo.datum.CRS_NAMES).
CrsName = Literal["wgs84", "cgcs2000", "gcj02", "bd09"]


def output_crs(crs: str) -> CrsName:
    """The canonical name of an output coordinate system, one of CRS_NAMES.

    Examples
    --------
    >>> output_crs("GCJ02"), output_crs("EPSG:4326")
    ('gcj02', 'wgs84')
    """
    try:
        name = normalise_crs(crs)
    except UnknownCRSError:
        name = ""
    if name not in CRS_NAMES:
        raise InvalidInputError(
            tr(
                'crs was "{crs}" but must be one of {CRS_NAMES}', crs=crs, CRS_NAMES=list(CRS_NAMES)
            ),
        )
    return cast(CrsName, name)


def _round(xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.round(xy, COORDINATE_DECIMALS)


def output_geometries(
    geometries: Sequence[BaseGeometry] | npt.NDArray[Any], crs: str
) -> list[BaseGeometry]:
    """Storage geometries converted to ``crs`` (one of CRS_NAMES), rounded and wound
    counter-clockwise (holes clockwise), vectorised.

    Examples
    --------
    >>> from shapely.geometry import Polygon
    >>> [square] = output_geometries([Polygon([(117, 31), (117, 32), (118, 32), (118, 31)])],
    ...                              "cgcs2000")
    >>> square.exterior.is_ccw
    True
    """
    array = np.asarray(geometries, dtype=object)
    if array.size == 0:
        return []
    converted = geometry_from_storage(array, crs)
    # Oriented after rounding: the rings as sent are the ones oriented.
    return list(shapely.orient_polygons(shapely.transform(converted, _round)))
