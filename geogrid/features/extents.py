"""The spatial and temporal extent of a collection, as its description gives them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select, text

from geogrid.features.catalogue import Collection
from geogrid.features.catalogue import collection as find
from geogrid.features.items import Window, _parameters, _window_source, resolve_window


@dataclass(frozen=True)
class Extent:
    """``bbox`` in CRS84 (min lon, min lat, max lon, max lat); ``interval`` [start, end|None]."""

    bbox: tuple[float, float, float, float] | None
    interval: tuple[datetime | None, datetime | None] | None


def extent(conn: Connection, collection: Collection, current: int | None = None) -> Extent:
    """The extent of ``collection`` in its current release (storage lon/lat is CRS84's).

    ``current`` is the newest published release when the caller knows it.
    """
    # coverage gaps lie inside the grids: their extent is the grids', without computing them
    measured = find("grids") if collection.computed else collection
    window: Window = resolve_window(conn, measured, None, None, current)
    source = _window_source(measured, window)
    box = func.ST_Extent(source.c.geom)
    row = conn.execute(
        select(func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box)),
        _parameters(conn, measured, window),
    ).one()
    bbox = None if row[0] is None else (float(row[0]), float(row[1]), float(row[2]), float(row[3]))
    interval = None
    if collection.per_release:
        first = conn.execute(text("SELECT min(published_at) FROM boundary_release")).scalar()
        interval = (first, None)
    return Extent(bbox, interval)
