"""Every station's service areas over the walking network, tier by tier.

One Dijkstra per station, to the farthest tier (SciPy's, in C), then one polygon per tier
(:func:`geogrid.network.areas.service_area`). GEOS and SciPy release the GIL, so stations are
drawn on a few threads at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import shapely

from geogrid.network.areas import Reach, service_area
from geogrid.network.graph import WalkingGraph


@dataclass(frozen=True)
class StationAreas:
    """One station's service areas (metric polygons, by tier in minutes; a tier the walk
    cannot reach at all is left out) and how far its door is from the nearest path."""

    access_m: float
    areas: dict[int, shapely.Geometry]


def station_areas(
    graph: WalkingGraph,
    points: Sequence[tuple[float, float]],
    tiers_m: Mapping[int, float],
    access_m: float,
    *,
    threads: int = 2,
) -> list[StationAreas]:
    """The service areas of stations at ``points`` (metric x, y), for every tier
    (minutes -> walking metres), with doors up to ``access_m`` from the paths."""
    if not points:
        return []
    xy = np.asarray(points, dtype=np.float64)
    joints = graph.join(xy[:, 0], xy[:, 1])
    farthest = max(tiers_m.values())

    def one(i: int) -> StationAreas:
        reach = Reach.from_origin(graph, joints[i], farthest)
        areas = {}
        for minutes, metres in sorted(tiers_m.items()):
            area = service_area(reach, metres, access_m)
            if not area.is_empty:
                areas[minutes] = area
        return StationAreas(joints[i].access, areas)

    with ThreadPoolExecutor(max(1, threads)) as pool:
        return list(pool.map(one, range(len(joints))))


__all__ = ["StationAreas", "station_areas"]
