"""The text of OGC API – Features query parameters, read into what the engine takes.

``bbox`` (in ``bbox-crs``, with that CRS's axis order), ``datetime`` (an instant or an
interval, ``..`` for an open end), ``sortby`` (``+name,-code``) and ``properties``. Each bad
value is an InvalidInputError that names it and what is allowed.
"""

from __future__ import annotations

import math

import numpy as np
import shapely

from geogrid.errors import InvalidInputError
from geogrid.features.items import TimeWindow
from geogrid.geo.crs_uris import CRS84, crs_ref, unproject
from geogrid.geo.datum import geometry_to_storage
from geogrid.i18n import tr
from geogrid.moments import parse_moment

BBox = tuple[float, float, float, float]


def parse_bbox(text: str, bbox_crs: str | None = None) -> BBox:
    """``bbox`` (4 numbers, or 6 with heights) in ``bbox_crs`` as a storage envelope.

    The numbers follow the CRS's axis order: ``minlon,minlat,maxlon,maxlat`` for CRS84 and
    GCJ-02, ``minlat,minlon,maxlat,maxlon`` for EPSG:4326 and EPSG:4490.

    Examples
    --------
    >>> parse_bbox("117.30,31.85,117.40,31.90")
    (117.3, 31.85, 117.4, 31.9)
    >>> parse_bbox("31.85,117.30,31.90,117.40", "http://www.opengis.net/def/crs/EPSG/0/4326")
    (117.3, 31.85, 117.4, 31.9)
    >>> parse_bbox("117.40,31.85,117.30,31.90")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    geogrid.errors.InvalidInputError: bbox was "117.40,31.85,117.30,31.90" but its lower corner ...
    """
    ref = crs_ref(bbox_crs or CRS84, "bbox-crs")
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise InvalidInputError(
            tr(
                'bbox was "{bbox}" but must be four numbers (or six with heights): the lower '
                "corner, then the upper corner, in the axis order of bbox-crs",
                bbox=text,
            )
        )
    a, b, c, d = values
    if a > c or b > d:
        raise InvalidInputError(
            tr(
                'bbox was "{bbox}" but its lower corner must come first: {first} <= {third} '
                "and {second} <= {fourth} (axis order of {crs})",
                bbox=text,
                first=a,
                second=b,
                third=c,
                fourth=d,
                crs=ref.uri,
            )
        )
    if ref.geographic:
        lats, lons = ((a, c), (b, d)) if ref.swap_axes else ((b, d), (a, c))
        if not all(-90 <= v <= 90 for v in lats) or not all(-180 <= v <= 180 for v in lons):
            raise InvalidInputError(
                tr(
                    'bbox was "{bbox}" but latitudes must be within [-90, 90] and longitudes '
                    "within [-180, 180] in the axis order of {crs}; did you swap them?",
                    bbox=text,
                    crs=ref.uri,
                )
            )
    box = unproject(np.asarray([shapely.box(a, b, c, d)], dtype=object), ref)[0]
    minx, miny, maxx, maxy = geometry_to_storage(box, ref.datum).bounds
    return float(minx), float(miny), float(maxx), float(maxy)


def parse_datetime(text: str) -> TimeWindow:
    """``datetime``: an instant, or ``start/end`` with ``..`` (or nothing) for an open end.

    Examples
    --------
    >>> parse_datetime("2026-05-01T00:00:00Z").instant
    True
    >>> w = parse_datetime("../2026-05-01T08:00:00+08:00"); (w.start, w.end.isoformat())
    (None, '2026-05-01T08:00:00+08:00')
    """
    value = text.strip()
    if "/" not in value:
        moment = parse_moment(value, "datetime")
        return TimeWindow(moment, moment)
    parts = value.split("/")
    if len(parts) != 2 or (parts[0].strip() in ("", "..") and parts[1].strip() in ("", "..")):
        raise InvalidInputError(
            tr(
                'datetime was "{value}" but must be an instant or an interval start/end '
                "with at most one open end (..)",
                value=text,
            )
        )
    start, end = (None if p.strip() in ("", "..") else parse_moment(p, "datetime") for p in parts)
    if start is not None and end is not None and start > end:
        raise InvalidInputError(
            tr('datetime was "{value}" but its start comes after its end', value=text)
        )
    return TimeWindow(start, end)


def parse_sortby(text: str) -> tuple[tuple[str, bool], ...]:
    """``+name,-code`` as ``(("name", False), ("code", True))`` (True = descending).

    Examples
    --------
    >>> parse_sortby("-households, name")
    (('households', True), ('name', False))
    """
    keys = []
    for part in text.split(","):
        name = part.strip()
        descending = name.startswith("-")
        name = name.lstrip("+-").strip()
        if not name:
            raise InvalidInputError(
                tr('sortby was "{value}" but must list properties, e.g. +name,-code', value=text)
            )
        keys.append((name, descending))
    return tuple(keys)


def parse_names(text: str) -> tuple[str, ...]:
    """``properties``: comma-separated property names (empty: no properties)."""
    return tuple(n.strip() for n in text.split(",") if n.strip())
