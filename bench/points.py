"""Random query points: uniform in the district's bounding box, or inside the district."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Engine, text

F64 = npt.NDArray[np.float64]
#: In 恒通社区, inside the 恒通小区 compound (WGS84): the fixed point the HTTP figures use.
FIXED_POINT = (117.3370, 31.8920)


def district(engine: Engine) -> BaseGeometry:
    """The district polygon (storage lon/lat)."""
    with engine.connect() as conn:
        wkb = conn.execute(text("SELECT ST_AsBinary(ST_Union(geom)) FROM district")).scalar_one()
    return shapely.from_wkb(bytes(wkb))


def in_box(box: tuple[float, float, float, float], n: int, seed: int = 1) -> tuple[F64, F64]:
    """``n`` points uniform in ``box`` (minx, miny, maxx, maxy)."""
    rng = np.random.default_rng(seed)
    return rng.uniform(box[0], box[2], n), rng.uniform(box[1], box[3], n)


def in_polygon(polygon: BaseGeometry, n: int, seed: int = 2) -> tuple[F64, F64]:
    """``n`` points uniform inside ``polygon`` (rejection sampling in its box)."""
    shapely.prepare(polygon)
    xs: list[F64] = []
    ys: list[F64] = []
    found, round_ = 0, 0
    while found < n:
        x, y = in_box(polygon.bounds, max(2 * n, 1000), seed + 1000 * round_)
        keep = shapely.contains_xy(polygon, x, y)
        xs.append(x[keep])
        ys.append(y[keep])
        found += int(keep.sum())
        round_ += 1
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]
