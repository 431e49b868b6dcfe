"""Walks from every station, held in memory, so that any point's walking distance to each
station is a few array lookups (the nearest-station answers on a walking network).

One Dijkstra per station over the whole network (SciPy, in C) at build time; the metres to
every node are kept as a stations × nodes float32 matrix (the demo: 172 × 6,084, 4 MB; a
district's OpenStreetMap paths, some 30,000 nodes and 200 stations: 24 MB). A point then joins
the network through :class:`geogrid.network.areas.Doors` (every path within the access leg),
exactly as the service areas are drawn, so an answer's distance and the areas always agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.sparse.csgraph import dijkstra

from geogrid.network.areas import Doors
from geogrid.network.graph import WalkingGraph


class StationWalks:
    """Walking metres from each of a set of stations to every node of a network."""

    def __init__(
        self, graph: WalkingGraph, points: Sequence[tuple[float, float]], access_m: float
    ) -> None:
        self.graph, self.access_m = graph, access_m
        xy = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        self.joints = graph.join(xy[:, 0], xy[:, 1]) if len(xy) else []
        self.segments = np.array([j.segment for j in self.joints], dtype=np.int64)
        self.node_m = np.full((len(self.joints), graph.nodes), np.inf, dtype=np.float32)
        if self.joints:
            ends = np.array([[graph.seg_u[j.segment], graph.seg_v[j.segment]] for j in self.joints])
            rows = dijkstra(graph.matrix, directed=False, indices=ends.reshape(-1))
            rows = rows.reshape(len(self.joints), 2, graph.nodes)
            for i, j in enumerate(self.joints):
                to_u = j.access + j.along
                to_v = j.access + graph.seg_length[j.segment] - j.along
                self.node_m[i] = np.minimum(rows[i, 0] + to_u, rows[i, 1] + to_v)

    def metres_to(self, x: float, y: float) -> Any:
        """Walking metres from every station to the point (metric x, y); inf where the point
        is farther than the access leg from every path, or on a part of the network the
        station's is not joined to."""
        out = np.full(len(self.joints), np.inf)
        if not self.joints:
            return out
        doors = Doors(self.graph, [x], [y], self.access_m)
        if not len(doors.which):
            return out
        via_u = self.node_m[:, doors.u] + doors.to_u[None, :]
        via_v = self.node_m[:, doors.v] + doors.to_v[None, :]
        out = np.minimum(via_u, via_v).min(axis=1).astype(np.float64)
        # a station on one of the point's own paths may walk straight along it (rare: looked
        # for among those stations only)
        for i in np.flatnonzero(np.isin(self.segments, doors.seg)).tolist():
            joint = self.joints[i]
            for k in np.flatnonzero(doors.seg == joint.segment).tolist():
                s = np.clip(joint.along, doors.lo[k], doors.hi[k])
                straight = np.hypot(doors.h[k], s - doors.t[k]) + joint.access
                out[i] = min(out[i], straight + abs(s - joint.along))
        return out


__all__ = ["StationWalks"]
