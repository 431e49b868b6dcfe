"""A walking network as a graph, and walking distances over it.

Paths meet where they share a vertex, as in OpenStreetMap: two lines that merely cross (a
footbridge over a road, a road over the rail yard) do not meet, so the graph never invents a
level crossing. Nodes are the vertices of the paths (coordinates equal to the centimetre are
one node); each segment between two consecutive vertices is an edge weighted by its length in
metres (EPSG:4548). Shortest paths are SciPy's Dijkstra over a compressed sparse graph (in C);
written here is only the glue a sparse-graph library does not know about: reaching the network
from a point that is not on it.

A point joins the network at the nearest point of the nearest segment (the *access* leg, walked
in a straight line: from a door to the path), then walks along that segment to either of its
ends. So the walking distance between two points is

    access(a) + along(a → an end of its segment) + network(end → end) + along + access(b),

or, when both join the same segment, the walk along it between them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

#: Coordinates equal to this many metres are one node.
NODE_TOLERANCE_M = 0.01


@dataclass(frozen=True)
class Joint:
    """Where a point joins the network: on ``segment``, ``along`` metres from its first end,
    ``access`` metres from the point."""

    segment: int
    along: float
    access: float


class WalkingGraph:
    """The walking network's graph (metric coordinates, EPSG:4548)."""

    def __init__(self, lines: Iterable[shapely.LineString]) -> None:
        starts: list[Any] = []
        ends: list[Any] = []
        for line in lines:
            xy = np.asarray(line.coords, dtype=np.float64)[:, :2]
            if len(xy) >= 2:
                starts.append(xy[:-1])
                ends.append(xy[1:])
        a = np.concatenate(starts) if starts else np.empty((0, 2))
        b = np.concatenate(ends) if ends else np.empty((0, 2))
        keep = np.hypot(*(b - a).T) > 0
        a, b = a[keep], b[keep]
        if not len(a):
            raise ValueError("a walking network needs at least one path with a length")
        keys = np.round(np.concatenate([a, b]) / NODE_TOLERANCE_M).astype(np.int64)
        _, first, nodes = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        nodes = nodes.reshape(-1)
        self.node_xy = np.concatenate([a, b])[first]
        self.seg_a, self.seg_b = a, b
        self.seg_u, self.seg_v = nodes[: len(a)], nodes[len(a) :]
        self.seg_length = np.hypot(*(b - a).T)
        n = len(self.node_xy)
        # both directions; where two segments join the same nodes, the sparse matrix would add
        # their lengths, so keep the shortest of each pair first
        u = np.concatenate([self.seg_u, self.seg_v])
        v = np.concatenate([self.seg_v, self.seg_u])
        w = np.concatenate([self.seg_length, self.seg_length])
        order = np.lexsort((w, v, u))
        u, v, w = u[order], v[order], w[order]
        first_of_pair = np.ones(len(u), dtype=bool)
        first_of_pair[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
        self.matrix = coo_matrix(
            (w[first_of_pair], (u[first_of_pair], v[first_of_pair])), shape=(n, n)
        ).tocsr()
        self._segments = shapely.linestrings(np.stack([a, b], axis=1))
        #: The segments indexed, for finding the paths near a point.
        self.tree = shapely.STRtree(self._segments)

    @property
    def nodes(self) -> int:
        return len(self.node_xy)

    @property
    def segments(self) -> int:
        return len(self.seg_a)

    def join(self, x: Any, y: Any) -> list[Joint]:
        """Where each point (metric x, y) joins the network."""
        points = shapely.points(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
        points = np.atleast_1d(points)
        _, nearest = self.tree.query_nearest(points, return_distance=False, all_matches=False)
        found = []
        for point, segment in zip(points, nearest, strict=True):
            line = self._segments[segment]
            along = float(shapely.line_locate_point(line, point))
            found.append(Joint(int(segment), along, float(shapely.distance(line, point))))
        return found

    def distances_from(self, joint: Joint, limit: float = np.inf) -> Any:
        """Walking metres from ``joint`` to every node (inf beyond ``limit`` or unreachable)."""
        s = joint.segment
        rows = dijkstra(
            self.matrix, directed=False, indices=[self.seg_u[s], self.seg_v[s]], limit=limit
        )
        to_u = joint.access + joint.along
        to_v = joint.access + self.seg_length[s] - joint.along
        out = np.minimum(rows[0] + to_u, rows[1] + to_v)
        out[out > limit] = np.inf
        return out

    def distance(self, a: Joint, b: Joint) -> float:
        """Walking metres from ``a`` to ``b`` (inf when the network does not link them)."""
        return float(self.distances_to(a, [b])[0])

    def distances_to(self, a: Joint, targets: Sequence[Joint], limit: float = np.inf) -> Any:
        """Walking metres from ``a`` to each of ``targets`` (inf beyond ``limit``)."""
        from_a = self.distances_from(a, limit)
        out = np.empty(len(targets))
        for i, b in enumerate(targets):
            s = b.segment
            via_u = from_a[self.seg_u[s]] + b.along
            via_v = from_a[self.seg_v[s]] + self.seg_length[s] - b.along
            best = min(via_u, via_v) + b.access
            if s == a.segment:  # both on one segment: walk along it between them
                best = min(best, a.access + abs(a.along - b.along) + b.access)
            out[i] = best if best <= limit else np.inf
        return out


__all__ = ["NODE_TOLERANCE_M", "Joint", "WalkingGraph"]
