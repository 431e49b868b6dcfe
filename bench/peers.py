"""The peers of ``GridIndex.locate_many``: the same answer (one grid index per point, the
smallest on ties, -1 outside) from a shapely STRtree, a geopandas sjoin and a PostGIS join."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from sqlalchemy import Engine, text

from geogrid.geo.locator import OUTSIDE

I64 = npt.NDArray[np.int64]


def first_hit(points: I64, grids: I64, n: int) -> I64:
    """One grid per point from (point, grid) pairs: the smallest grid index, -1 for none."""
    out = np.full(n, OUTSIDE, dtype=np.int64)
    order = np.lexsort((grids, points))
    points, grids = points[order], grids[order]
    first = np.ones(len(points), dtype=bool)
    first[1:] = points[1:] != points[:-1]
    out[points[first]] = grids[first]
    return out


def strtree_locate(tree: shapely.STRtree, x: np.ndarray, y: np.ndarray) -> I64:
    """Grid index per point from an STRtree of the grids (in code order)."""
    points, grids = tree.query(shapely.points(x, y), predicate="intersects")
    return first_hit(points, grids, len(x))


def sjoin_locate(grids: gpd.GeoDataFrame, x: np.ndarray, y: np.ndarray) -> I64:
    """Grid index per point from ``geopandas.sjoin`` (``grids`` has a "grid" column)."""
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=grids.crs)
    joined = gpd.sjoin(points, grids, how="inner", predicate="intersects")
    found = joined["grid"].groupby(level=0).min()
    out = np.full(len(x), OUTSIDE, dtype=np.int64)
    out[found.index.to_numpy()] = found.to_numpy()
    return out


_POSTGIS_JOIN = text("""
    SELECT p.i - 1 AS i, min(g.grid_code) AS code
    FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[])) WITH ORDINALITY AS p(x, y, i)
    JOIN grid_geometry g ON g.valid_to_release IS NULL
     AND ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(p.x, p.y), 4490))
    GROUP BY p.i
""")


def postgis_locate(engine: Engine, codes: list[str], x: np.ndarray, y: np.ndarray) -> I64:
    """Grid index per point from one PostGIS join (arrays in, ``ST_Covers``, GiST index)."""
    index = {c: i for i, c in enumerate(codes)}
    out = np.full(len(x), OUTSIDE, dtype=np.int64)
    with engine.connect() as conn:
        rows = conn.execute(_POSTGIS_JOIN, {"xs": x.tolist(), "ys": y.tolist()}).all()
    for i, code in rows:
        out[i] = index[code.strip()]
    return out
