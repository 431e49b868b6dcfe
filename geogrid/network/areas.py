"""Walking distances to any point from one origin over the network, and its service areas.

A walk from a station goes along the paths, and at the end leaves them for a door in a
straight line of at most ``access_m`` metres (the *access leg*: across a forecourt, into a
compound). The walking distance of a point is therefore

    min over the points p of the paths within access_m of it of  |point − p| + network(p),

where network(p) is the walk along the paths from the station to p (the station itself joins
the network at the nearest point of the nearest path, as :meth:`WalkingGraph.join` does). The
service area within ``metres`` is exactly the set of points whose walking distance is at most
``metres``: the reached paths, each point p of them buffered by the distance left there,
``min(access_m, metres − network(p))``. So a point is "within" exactly when it lies in the
polygon, up to the polygon's drawing of circles as 16-gons (inscribed): its edge lies at most
``access_m × (1 − cos π/16)`` (under 2 % of ``access_m``: 1.54 m at 80 m) inside the exact
edge (:func:`polygon_tolerance_m`). 32-gons would cut that to 0.39 m and double the time GEOS
takes to union the pieces (the cost of an area); 1.5 m is well inside what a planner reads
off a 15-minute area.

The access leg is capped so that the area does not leap a barrier the paths go round: a river
between its bank paths, a rail yard, a walled site wider than ``access_m`` stays outside until
a bridge or a gate brings the walk there. Narrower gaps are not seen.

Along one segment the distance is piecewise linear (from either end, or from the station on
its own segment), so the buffered segment is, piece by piece, the convex hull of the two end
discs (the radius changes by at most the distance moved, so the hull is the union of the
discs in between). Segments the walk passes whole with ``access_m`` to spare are buffered at
once. GEOS does the buffering and the union; only the arithmetic of where each piece starts
and ends is written here, since no routing library draws service areas this way (pgRouting's
``pgr_drivingDistance`` gives nodes, and hulls of nodes swallow rivers).
"""

from __future__ import annotations

import itertools
import math
import threading
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from geogrid.network.graph import Joint, WalkingGraph

#: Vertices per circle when drawing discs (GEOS's buffer with 4 per quarter).
_CIRCLE_VERTICES = 16


def polygon_tolerance_m(access_m: float) -> float:
    """How far inside the exact edge a service area's drawn edge may lie, in metres.

    Examples
    --------
    >>> round(polygon_tolerance_m(80.0), 2)
    1.54
    """
    return access_m * (1 - math.cos(math.pi / _CIRCLE_VERTICES))


@dataclass(frozen=True)
class Reach:
    """How far a walk from one origin gets over the network, up to ``limit`` metres."""

    graph: WalkingGraph
    origin: Joint
    limit: float
    #: Metres from the origin to every node (inf beyond ``limit`` or unreachable).
    node_m: Any

    @classmethod
    def from_origin(cls, graph: WalkingGraph, origin: Joint, limit: float) -> Reach:
        return cls(graph, origin, float(limit), graph.distances_from(origin, limit))

    def reached_segments(self) -> Any:
        """Indices of the segments the walk reaches at least in part."""
        g = self.graph
        near = np.minimum(self.node_m[g.seg_u], self.node_m[g.seg_v]) <= self.limit
        near[self.origin.segment] = self.origin.access <= self.limit
        return np.flatnonzero(near)


class Doors:
    """Points (doors) and the ways onto the network within ``access_m`` of each, worked out
    once: the walk from any number of origins to them is then a few array lookups each."""

    def __init__(self, graph: WalkingGraph, x: Any, y: Any, access_m: float) -> None:
        points = shapely.points(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
        points = np.atleast_1d(points)
        self.graph, self.count = graph, len(points)
        which, seg = graph.tree.query(points, predicate="dwithin", distance=access_m)
        px = shapely.get_x(points)[which]
        py = shapely.get_y(points)[which]
        ax, ay = graph.seg_a[seg, 0], graph.seg_a[seg, 1]
        length = graph.seg_length[seg]
        ux, uy = (graph.seg_b[seg, 0] - ax) / length, (graph.seg_b[seg, 1] - ay) / length
        t = (px - ax) * ux + (py - ay) * uy  # the point's foot along the segment
        h = np.abs((px - ax) * uy - (py - ay) * ux)  # and its distance from the segment's line
        half = np.sqrt(np.maximum(access_m * access_m - h * h, 0.0))
        lo, hi = np.maximum(0.0, t - half), np.minimum(length, t + half)
        ok = (h <= access_m) & (lo <= hi)
        which, seg, t, h, lo, hi, length = (a[ok] for a in (which, seg, t, h, lo, hi, length))
        # entering the segment at s and walking to its first end only grows with s (the
        # straight leg shrinks by at most what the walk along grows), so the best entry towards
        # an end is the nearest point of the segment within reach of the door; likewise for
        # the other end
        self.which, self.seg, self.t, self.h, self.lo, self.hi = which, seg, t, h, lo, hi
        self.to_u = np.hypot(h, lo - t) + lo
        self.to_v = np.hypot(h, hi - t) + (length - hi)
        self.u, self.v = graph.seg_u[seg], graph.seg_v[seg]

    def metres(self, reach: Reach) -> Any:
        """Walking metres from ``reach``'s origin to each door (inf beyond its limit, or
        where no path within the access leg is reached)."""
        out = np.full(self.count, np.inf)
        if not len(self.which):
            return out
        total = np.minimum(self.to_u + reach.node_m[self.u], self.to_v + reach.node_m[self.v])
        own = self.seg == reach.origin.segment  # on the origin's own segment: straight along
        if own.any():
            s0 = reach.origin.along
            s = np.clip(s0, self.lo[own], self.hi[own])
            straight = np.hypot(self.h[own], s - self.t[own]) + reach.origin.access
            total[own] = np.minimum(total[own], straight + np.abs(s - s0))
        np.minimum.at(out, self.which, total)
        out[out > reach.limit] = np.inf
        return out


def walking_metres(reach: Reach, x: Any, y: Any, access_m: float) -> Any:
    """Walking metres from the reach's origin to each point (metric x, y); inf beyond the
    reach's limit, or where no reached path lies within ``access_m``."""
    return Doors(reach.graph, x, y, access_m).metres(reach)


def _profile(reach: Reach, seg: int) -> list[tuple[float, float]]:
    """(s, metres) at the corners of the distance along segment ``seg`` (linear between)."""
    g = reach.graph
    length = float(g.seg_length[seg])
    du, dv = float(reach.node_m[g.seg_u[seg]]), float(reach.node_m[g.seg_v[seg]])
    stops = {0.0, length}
    if math.isfinite(du) and math.isfinite(dv):
        stops.add((dv + length - du) / 2)
    origin = reach.origin
    on_origin = seg == origin.segment
    if on_origin:
        a0, s0 = origin.access, origin.along
        stops.add(s0)
        if math.isfinite(du):
            stops.add((a0 + s0 - du) / 2)
        if math.isfinite(dv):
            stops.add((dv + length + s0 - a0) / 2)

    def metres(s: float) -> float:
        best = min(du + s, dv + length - s)
        if on_origin:
            best = min(best, origin.access + abs(s - origin.along))
        return best

    return [(s, metres(s)) for s in sorted(v for v in stops if 0.0 <= v <= length)]


def _with_level_crossings(
    corners: list[tuple[float, float]], levels: tuple[float, ...]
) -> list[tuple[float, float]]:
    """The corners with the points added where the (linear) distance crosses each level."""
    out = [corners[0]]
    for (s0, m0), (s1, m1) in itertools.pairwise(corners):
        cuts = []
        for level in levels:
            if (m0 - level) * (m1 - level) < 0:
                cuts.append(s0 + (level - m0) / (m1 - m0) * (s1 - s0))
        for s in sorted(cuts):
            out.append((s, m0 + (m1 - m0) * (s - s0) / (s1 - s0)))
        out.append((s1, m1))
    return out


def _hulls(e: Any) -> Any:
    """The convex hull of each pair of discs ``(x0, y0, r0, x1, y1, r1)`` (rows of ``e``), as
    polygons whose arcs are drawn with at most 2π/16 between vertices (inscribed).

    The hull is the arc of the second disc between the outer tangents' touching points, then
    the arc of the first disc round its far side. Where one disc holds the other the tangent
    angle is clipped to 0 or π, which leaves the larger disc whole and the other a point.
    """
    x0, y0, r0, x1, y1, r1 = e.T
    theta = np.arctan2(y1 - y0, x1 - x0)
    alpha = np.arccos(np.clip((r0 - r1) / np.hypot(x1 - x0, y1 - y0), -1.0, 1.0))
    k = np.linspace(0.0, 1.0, _CIRCLE_VERTICES + 1)[None, :]
    near = (theta - alpha)[:, None] + (2 * alpha)[:, None] * k  # on disc 1: θ-α .. θ+α
    far = (theta + alpha)[:, None] + (2 * np.pi - 2 * alpha)[:, None] * k  # disc 0, round
    xs = np.concatenate(
        [x1[:, None] + r1[:, None] * np.cos(near), x0[:, None] + r0[:, None] * np.cos(far)], 1
    )
    ys = np.concatenate(
        [y1[:, None] + r1[:, None] * np.sin(near), y0[:, None] + r0[:, None] * np.sin(far)], 1
    )
    ring = np.stack([xs, ys], axis=-1)
    return shapely.polygons(np.concatenate([ring, ring[:, :1]], axis=1))  # closed


#: Side of the square cells whose whole-walked segments are buffered and unioned once per
#: network and access leg, then reused by every station that walks the whole cell.
CELL_M = 250.0


class _Core:
    """Each segment buffered by the access leg, and unions of them by cell, made once.

    A service area is mostly its core: segments walked whole with the access leg to spare,
    each buffered by the full leg. Unioning hundreds of overlapping buffers per station and
    tier is what costs (GEOS); a cell whose every segment is in a station's core is the same
    union for every station, so it is made once and reused.
    """

    def __init__(self, graph: WalkingGraph, access_m: float) -> None:
        self.access_m = access_m
        lines = shapely.linestrings(np.stack([graph.seg_a, graph.seg_b], axis=1))
        self.buffers = shapely.buffer(lines, access_m, quad_segs=_CIRCLE_VERTICES // 4)
        middle = (graph.seg_a + graph.seg_b) / 2
        keys = np.floor(middle / CELL_M).astype(np.int64)
        _, self.cell_of, self.cell_size = np.unique(
            keys, axis=0, return_inverse=True, return_counts=True
        )
        self.cell_of = self.cell_of.reshape(-1)
        self._cells: dict[int, shapely.Geometry] = {}

    def cell(self, cell: int) -> shapely.Geometry:
        found = self._cells.get(cell)
        if found is None:  # two threads may both make it: the same shape, stored twice
            found = shapely.union_all(self.buffers[self.cell_of == cell])
            self._cells[cell] = found
        return found

    def pieces(self, segments: Any) -> list[shapely.Geometry]:
        """The buffers of ``segments`` (walked whole), whole cells as one piece each."""
        cells, counts = np.unique(self.cell_of[segments], return_counts=True)
        full = cells[counts == self.cell_size[cells]]
        loose = segments[~np.isin(self.cell_of[segments], full)]
        return [self.cell(int(c)) for c in full] + list(self.buffers[loose])


_cores: weakref.WeakKeyDictionary[WalkingGraph, dict[float, _Core]] = weakref.WeakKeyDictionary()
_cores_lock = threading.Lock()


def _core(graph: WalkingGraph, access_m: float) -> _Core:
    with _cores_lock:
        by_access = _cores.setdefault(graph, {})
        if access_m not in by_access:
            by_access[access_m] = _Core(graph, access_m)
        return by_access[access_m]


def service_area(reach: Reach, metres: float, access_m: float) -> shapely.Geometry:
    """The points whose walking distance from the origin is at most ``metres`` (a polygon in
    the graph's metric coordinates; empty when nothing is reached)."""
    if metres > reach.limit:
        raise ValueError(f"metres was {metres} but the reach only goes to {reach.limit}")
    g = reach.graph
    segs = reach.reached_segments()
    du, dv = reach.node_m[g.seg_u[segs]], reach.node_m[g.seg_v[segs]]
    farthest = (du + dv + g.seg_length[segs]) / 2  # the walk's farthest point on the segment
    whole = np.isfinite(farthest) & (farthest <= metres - access_m)
    whole &= segs != reach.origin.segment
    # each segment buffered alone: GEOS unions many small shapes far faster than it buffers
    # one many-lined shape (a sixth of the time on the demo)
    pieces = _core(g, access_m).pieces(segs[whole]) if whole.any() else []
    ends: list[tuple[float, float, float, float, float, float]] = []
    for seg in segs[~whole]:
        a, b = g.seg_a[seg], g.seg_b[seg]
        length = float(g.seg_length[seg])
        corners = _with_level_crossings(_profile(reach, int(seg)), (metres - access_m, metres))
        for (s0, m0), (s1, m1) in itertools.pairwise(corners):
            r0, r1 = min(access_m, metres - m0), min(access_m, metres - m1)
            # a piece under a micrometre long is its neighbours' end discs already
            if s1 - s0 < 1e-6 or r0 < 0 or r1 < 0 or (r0 == 0 and r1 == 0):
                continue
            p0, p1 = a + (b - a) * (s0 / length), a + (b - a) * (s1 / length)
            ends.append((p0[0], p0[1], r0, p1[0], p1[1], r1))
    if ends:
        pieces.extend(_hulls(np.asarray(ends)))
    if not pieces:
        return shapely.Polygon()
    return shapely.union_all(pieces)


__all__ = ["Doors", "Reach", "polygon_tolerance_m", "service_area", "walking_metres"]
