"""Answering "which grid holds this point?" for one point or a batch, from a snapshot."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from geogrid.boundaries.grids import Grid
from geogrid.geo.locator import OUTSIDE
from geogrid.lookup.snapshot import Snapshot


@dataclass(frozen=True)
class PointAnswer:
    """Everything a dispatcher needs about one point."""

    grid: Grid | None
    on_boundary: bool
    candidates: tuple[str, ...]
    boundary_distance_m: float | None
    compound: tuple[int, str] | None
    nearest: tuple[str, float] | None
    release: int


def locate_point(snapshot: Snapshot, lon: float, lat: float) -> PointAnswer:
    """Locate one point given in storage lon/lat (EPSG:4490).

    A point outside every grid gets ``grid=None`` and the nearest grid with its distance in
    metres. ``boundary_distance_m`` is the distance to the nearest *other* grid (0 on a shared
    edge), so a client can ask for confirmation near an edge.
    """
    where = snapshot.locate(lon, lat)
    metric_point = snapshot.metric_point(lon, lat)
    if where.grid == OUTSIDE:
        nearest, distance = snapshot.nearest_grid(metric_point)
        return PointAnswer(
            None,
            False,
            (),
            None,
            snapshot.compound_at(lon, lat),
            (snapshot.grids[nearest].code, round(distance, 2)),
            snapshot.release.id,
        )
    boundary: float | None = 0.0  # on a shared edge or vertex
    if not (where.on_boundary and len(where.candidates) > 1):
        found = snapshot.distance_to_other_grid(metric_point, where.grid)
        boundary = None if found is None else round(found, 2)
    return PointAnswer(
        grid=snapshot.grids[where.grid],
        on_boundary=where.on_boundary,
        candidates=tuple(snapshot.grids[c].code for c in where.candidates),
        boundary_distance_m=boundary,
        compound=snapshot.compound_at(lon, lat),
        nearest=None,
        release=snapshot.release.id,
    )


def locate_points(
    snapshot: Snapshot, lon: npt.ArrayLike, lat: npt.ArrayLike
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.bool_]]:
    """Grid index (-1 outside) and on-boundary flag per storage-CRS point."""
    return snapshot.index.locate_many(lon, lat)


def code_table(snapshot: Snapshot) -> npt.NDArray[np.bytes_]:
    """Grid codes as fixed-width bytes, with an empty code at the end for "outside" (-1)."""
    return np.array([g.code.encode() for g in snapshot.grids] + [b""], dtype="S15")
