"""Point-in-grid for one point or millions, answering exactly as PostGIS ``ST_Covers``.

The grids of one release are indexed on a uniform cell raster (about 25 m cells, in storage
lon/lat, where PostGIS compares):

* a *pure* cell meets no grid edge (not even within 1e-9 degrees), so every point in it has the
  cell's label, found once at build time: one array lookup per point;
* a *mixed* cell keeps the ring segments that meet it and the grid labels along its west border.
  A point is located by walking west-to-east from the border to the point: the last segment
  crossed tells the grid on its east side (the segment's own grid when its interior lies east;
  otherwise the grid whose coincident segment does, since neighbours share edges);
* a point so close to a segment that floating-point rounding could decide the answer (on an
  edge or vertex, at a vertex's latitude, within about 1e-12 of an edge) is answered by the
  reference algorithm: PostGIS's own point-in-ring test (the winding number of
  ``itree_point_in_ring``, the same ``side`` expression compared with exactly 0.0) on every grid
  whose box holds the point. Its answer is PostGIS's by construction.

**Tie-break rule**: a point that ``ST_Covers`` puts in several grids (on a shared edge or vertex)
goes to the grid with the smallest code; the answer says ``on_boundary`` and lists every
candidate.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

OUTSIDE = -1
_MIXED = -2
#: Points nearer than this to a cell's edges count as touching it (degrees, ~0.1 mm).
_MARGIN = 1e-9
#: |side| below this many ulps of its terms is too close to call in floating point.
_SIDE_EPS = 1e-12
_INTERCEPT_EPS = 1e-12
_KEY_EPS = 1e-9
_EDGE_EPS = 1e-12


@dataclass(frozen=True)
class Location:
    """Where one point is: the chosen grid (index into the codes, or -1) and all candidates."""

    grid: int
    on_boundary: bool
    candidates: tuple[int, ...]


def _ring_state(ring: F64, x: float, y: float) -> int:
    """PostGIS's point-in-ring: 1 inside, 0 on the boundary, -1 outside (same arithmetic)."""
    x1, y1 = ring[:-1, 0], ring[:-1, 1]
    x2, y2 = ring[1:, 0], ring[1:, 1]
    side = (x2 - x1) * (y - y1) - (x - x1) * (y2 - y1)
    on = (
        (side == 0.0)
        & (x >= np.minimum(x1, x2))
        & (x <= np.maximum(x1, x2))
        & (y >= np.minimum(y1, y2))
        & (y <= np.maximum(y1, y2))
    )
    if on.any():
        return 0
    up = (y1 <= y) & (y < y2) & (side > 0)
    down = (y2 <= y) & (y < y1) & (side < 0)
    return 1 if int(up.sum()) - int(down.sum()) != 0 else -1


def _polygons_state(polygons: list[list[F64]], x: float, y: float) -> int:
    """PostGIS's point-in-multipolygon: 1 inside, 0 boundary, -1 outside."""
    for rings in polygons:
        state = _ring_state(rings[0], x, y)
        if state == 0:
            return 0
        if state == 1:
            inside = True
            for hole in rings[1:]:
                hole_state = _ring_state(hole, x, y)
                if hole_state == 0:
                    return 0
                if hole_state == 1:
                    inside = False
                    break
            if inside:
                return 1
    return -1


class GridIndex:
    """An immutable point-in-grid index over the grids of one release.

    Build it with :meth:`build`; grids are numbered in ascending code order, so the smallest
    index among candidates is the tie-break winner.
    """

    def __init__(self) -> None:  # use GridIndex.build
        self.release = 0
        self.codes: list[str] = []
        self.geoms: list[BaseGeometry] = []

    # ---- build ---------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        codes: Sequence[str],
        geoms: Sequence[BaseGeometry],
        release: int = 0,
        cell_m: float = 25.0,
    ) -> GridIndex:
        """Index ``geoms`` (Polygon/MultiPolygon in storage lon/lat) named by ``codes``.

        Examples
        --------
        >>> from shapely import box
        >>> index = GridIndex.build(["b", "a"], [box(1, 0, 2, 1), box(0, 0, 1, 1)])
        >>> index.codes
        ['a', 'b']
        >>> index.locate_one(0.5, 0.5), index.locate_one(1.0, 0.5).candidates
        (Location(grid=0, on_boundary=False, candidates=(0,)), (0, 1))
        """
        order = sorted(range(len(codes)), key=lambda i: codes[i])
        self = cls()
        self.release = release
        self.codes = [codes[i] for i in order]
        self.geoms = [geoms[i] for i in order]
        self._prepare_rings()
        self._prepare_raster(cell_m)
        self._label_cells()
        self._python_views()
        return self

    def _prepare_rings(self) -> None:
        geoms = np.array(self.geoms, dtype=object)
        polygons, polygon_grid = shapely.get_parts(geoms, return_index=True)
        rings, ring_polygon = shapely.get_rings(polygons, return_index=True)
        exterior = np.concatenate([[True], ring_polygon[1:] != ring_polygon[:-1]])
        ccw = shapely.is_ccw(rings)
        coords, ring_of = shapely.get_coordinates(rings, return_index=True)
        same = ring_of[1:] == ring_of[:-1]
        seg_ring = ring_of[:-1][same]
        self.sx1 = coords[:-1, 0][same]
        self.sy1 = coords[:-1, 1][same]
        self.sx2 = coords[1:, 0][same]
        self.sy2 = coords[1:, 1][same]
        owner = polygon_grid[ring_polygon[seg_ring]]
        # The polygon's interior is left of an exterior CCW ring or a hole CW ring.
        inner_left = exterior[seg_ring] == ccw[seg_ring]
        interior_east = (self.sy2 > self.sy1) != inner_left
        # The grid on a segment's east side when it is the segment's own; -1 = someone else's.
        self.s_east_owner = np.where(interior_east, owner, OUTSIDE)
        # For the exact test: each grid's polygons as (exterior, holes...) coordinate arrays.
        ring_start = np.searchsorted(ring_of, np.arange(len(rings) + 1))
        self._coords = coords
        self._ring_start = ring_start
        self._ring_polygon = ring_polygon
        self._polygon_grid = polygon_grid
        self._exterior = exterior
        self._polygon_cache: dict[int, list[list[F64]]] = {}
        self.bounds = np.array([g.bounds for g in self.geoms]) if self.geoms else np.empty((0, 4))

    def _prepare_raster(self, cell_m: float) -> None:
        minx, miny = self.bounds[:, 0].min(), self.bounds[:, 1].min()
        maxx, maxy = self.bounds[:, 2].max(), self.bounds[:, 3].max()
        mid_lat = math.radians((miny + maxy) / 2)
        self.cw = cell_m / (111_320.0 * math.cos(mid_lat))
        self.ch = cell_m / 110_574.0
        self.x0, self.y0 = minx - self.cw, miny - self.ch
        self.nx = int((maxx - self.x0) / self.cw) + 2
        self.ny = int((maxy - self.y0) / self.ch) + 2
        cells, segs = self._segment_cells()
        self.cell_label = np.full(self.nx * self.ny, OUTSIDE, dtype=np.int32)
        self.cell_label[np.unique(cells)] = _MIXED
        # Local segments of every mixed cell, in CSR form (sorted by cell).
        order = np.lexsort((segs, cells))
        cells, segs = cells[order], segs[order]
        mixed = np.unique(cells)
        self.mixed_slot = np.full(self.nx * self.ny, -1, dtype=np.int64)
        self.mixed_slot[mixed] = np.arange(len(mixed))
        counts = np.bincount(self.mixed_slot[cells], minlength=len(mixed))
        self.loc_off = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.loc_seg = segs.astype(np.int64)
        self.mixed_cells = mixed
        self.k_max = int(counts.max()) if len(counts) else 0

    def _segment_cells(self, chunk: int = 50_000) -> tuple[I64, I64]:
        """Every (cell, segment) pair where the segment meets the cell grown by the margin.

        Worked through in chunks of segments so that memory stays flat for large layers.
        """
        cells, segs = [], []
        for first in range(0, len(self.sx1), chunk):
            found = self._segment_cells_of(np.arange(first, min(first + chunk, len(self.sx1))))
            cells.append(found[0])
            segs.append(found[1])
        return np.concatenate(cells), np.concatenate(segs)

    def _segment_cells_of(self, which: I64) -> tuple[I64, I64]:
        x1, y1, x2, y2 = self.sx1[which], self.sy1[which], self.sx2[which], self.sy2[which]
        # Samples at most one cell apart: every cell the segment passes through is then within
        # one cell of a sample, so the 3 x 3 block around each sample holds all candidates.
        steps = np.ceil(np.hypot((x2 - x1) / self.cw, (y2 - y1) / self.ch)).astype(np.int64) + 1
        local = np.repeat(np.arange(len(x1)), steps)
        start = np.repeat(np.cumsum(steps) - steps, steps)
        t = (np.arange(len(local)) - start) / np.repeat(np.maximum(steps - 1, 1), steps)
        px = x1[local] + (x2[local] - x1[local]) * t
        py = y1[local] + (y2[local] - y1[local]) * t
        ci = np.floor((px - self.x0) / self.cw).astype(np.int64)
        cj = np.floor((py - self.y0) / self.ch).astype(np.int64)
        # Each sample and its 8 neighbours are candidates; the exact clip test decides.
        n_local = len(x1)
        base = (cj * self.nx + ci) * n_local + local
        offsets = np.array([dj * self.nx + di for dj in (-1, 0, 1) for di in (-1, 0, 1)])
        pairs = np.sort((base[:, None] + offsets[None, :] * n_local).ravel())
        pairs = pairs[np.concatenate([[True], pairs[1:] != pairs[:-1]])]
        cell, s = pairs // n_local, pairs % n_local
        ci, cj = cell % self.nx, cell // self.nx
        meets = _segment_meets_box(
            x1[s],
            y1[s],
            x2[s],
            y2[s],
            self.x0 + ci * self.cw - _MARGIN,
            self.y0 + cj * self.ch - _MARGIN,
            self.x0 + (ci + 1) * self.cw + _MARGIN,
            self.y0 + (cj + 1) * self.ch + _MARGIN,
        )
        return cell[meets], which[s[meets]]

    def _label_cells(self) -> None:
        tree = shapely.STRtree(self.geoms)
        # Pure cells: a run of pure cells along a row lies in one grid (no edge between them),
        # so one point per run is enough.
        labels = self.cell_label.reshape(self.ny, self.nx)
        pure = labels != _MIXED
        run_start = pure & np.concatenate([np.ones((self.ny, 1), bool), ~pure[:, :-1]], axis=1)
        rj, ri = np.nonzero(run_start)
        run_label = self._label_points(
            tree, self.x0 + (ri + 0.5) * self.cw, self.y0 + (rj + 0.5) * self.ch
        )
        run_id = np.cumsum(run_start.ravel()) - 1
        flat = labels.ravel().copy()
        flat[pure.ravel()] = run_label[run_id[pure.ravel()]]
        self.cell_label = flat.astype(np.int32)
        # Mixed cells: labels along the west border between the crossings of local segments.
        self._label_borders(tree)

    def _label_borders(self, tree: shapely.STRtree) -> None:
        cells = np.repeat(self.mixed_cells, np.diff(self.loc_off))
        s = self.loc_seg
        x1, y1, x2, y2 = self.sx1[s], self.sy1[s], self.sx2[s], self.sy2[s]
        ci, cj = cells % self.nx, cells // self.nx
        xw = self.x0 + ci * self.cw
        yb = self.y0 + cj * self.ch
        spans = (np.minimum(x1, x2) <= xw) & (np.maximum(x1, x2) >= xw) & (x1 != x2)
        with np.errstate(divide="ignore", invalid="ignore"):
            yc = y1 + (xw - x1) * (y2 - y1) / (x2 - x1)
        frac = (yc - yb) / self.ch
        keep = spans & (frac > 0) & (frac < 1)
        slot = self.mixed_slot[cells[keep]]
        key = np.concatenate([slot + frac[keep], np.arange(len(self.mixed_cells), dtype=float)])
        key = np.unique(key)  # each cell contributes its bottom (slot + 0) and its crossings
        nxt = np.concatenate([key[1:], [len(self.mixed_cells)]])
        top = np.floor(key) + 1
        upper = np.minimum(nxt, top)
        mid = (key + upper) / 2
        mid_slot = np.floor(key).astype(np.int64)
        mcell = self.mixed_cells[mid_slot]
        mx = self.x0 + (mcell % self.nx) * self.cw
        my = self.y0 + (mcell // self.nx) * self.ch + (mid - mid_slot) * self.ch
        self.border_key = key
        self.border_label = self._label_points(tree, mx, my).astype(np.int32)

    def _label_points(self, tree: shapely.STRtree, x: F64, y: F64) -> npt.NDArray[np.int64]:
        """Grid of each point by GEOS (build time only); the smallest index on ties."""
        out = np.full(len(x), OUTSIDE, dtype=np.int64)
        if len(x) == 0:
            return out
        pts, grids = tree.query(shapely.points(x, y), predicate="intersects")
        order = np.lexsort((grids, pts))
        pts, grids = pts[order], grids[order]
        first = np.concatenate([[True], pts[1:] != pts[:-1]]) if len(pts) else np.array([], bool)
        out[pts[first]] = grids[first]
        return out

    def _polygons_of(self, grid: int) -> list[list[F64]]:
        cached = self._polygon_cache.get(grid)
        if cached is not None:
            return cached
        found: list[list[F64]] = []
        for r in np.flatnonzero(self._polygon_grid[self._ring_polygon] == grid).tolist():
            ring = self._coords[self._ring_start[r] : self._ring_start[r + 1]]
            if self._exterior[r]:
                found.append([ring])
            else:
                found[-1].append(ring)
        self._polygon_cache[grid] = found
        return found

    # ---- exact reference -------------------------------------------------------------------

    def exact(self, x: float, y: float) -> Location:
        """PostGIS's answer for one point, grid by grid (the reference, and the slow path)."""
        inside = (
            (self.bounds[:, 0] <= x)
            & (self.bounds[:, 2] >= x)
            & (self.bounds[:, 1] <= y)
            & (self.bounds[:, 3] >= y)
        )
        covering = []
        boundary = False
        for g in np.flatnonzero(inside).tolist():
            state = _polygons_state(self._polygons_of(g), x, y)
            if state >= 0:
                covering.append(g)
                boundary = boundary or state == 0
        if not covering:
            return Location(OUTSIDE, False, ())
        return Location(min(covering), boundary, tuple(sorted(covering)))

    # ---- many points ---------------------------------------------------------------------

    def locate_many(
        self, x: npt.ArrayLike, y: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.bool_]]:
        """Grid index (-1 outside) and on-boundary flag of every point (storage lon/lat)."""
        px = np.asarray(x, dtype=np.float64)
        py = np.asarray(y, dtype=np.float64)
        ci = np.floor((px - self.x0) / self.cw)
        cj = np.floor((py - self.y0) / self.ch)
        inside = (ci >= 0) & (ci < self.nx) & (cj >= 0) & (cj < self.ny)
        cell = np.where(inside, cj * self.nx + ci, 0).astype(np.int64)
        grid = np.where(inside, self.cell_label[cell], OUTSIDE).astype(np.int32)
        boundary = np.zeros(len(px), dtype=bool)
        mixed = np.flatnonzero(grid == _MIXED)
        if len(mixed):
            found, unsure = self._walk(px[mixed], py[mixed], cell[mixed])
            grid[mixed] = found
            for k in np.flatnonzero(unsure).tolist():
                i = int(mixed[k])
                where = self.exact(float(px[i]), float(py[i]))
                grid[i] = where.grid
                boundary[i] = where.on_boundary
        return grid, boundary

    def _walk(
        self, px: F64, py: F64, cell: I64
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.bool_]]:
        """Locate points in mixed cells; flag those too close to call."""
        slot = self.mixed_slot[cell]
        xw = self.x0 + (cell % self.nx) * self.cw
        start = self.loc_off[slot]
        count = self.loc_off[slot + 1] - start
        best_x = np.full(len(px), -np.inf)
        best_owner = np.full(len(px), OUTSIDE, dtype=np.int64)
        best_seg = np.zeros(len(px), dtype=np.int64)
        crossed = np.zeros(len(px), dtype=bool)
        unsure = np.zeros(len(px), dtype=bool)
        with np.errstate(divide="ignore", invalid="ignore"):
            self._cross(px, py, xw, start, count, best_x, best_owner, best_seg, crossed, unsure)
        grid = best_owner.astype(np.int32)
        # Rounding can put a point that lies a hair below or west of a cell into it.
        yb = self.y0 + (cell // self.nx) * self.ch
        unsure |= (py - yb < _EDGE_EPS) | (px - xw < _EDGE_EPS)
        rest = np.flatnonzero(~crossed)
        if len(rest):
            key = slot[rest] + (py[rest] - (self.y0 + (cell[rest] // self.nx) * self.ch)) / self.ch
            at = np.searchsorted(self.border_key, key, side="right") - 1
            grid[rest] = self.border_label[at]
            # The key keeps about 1e-11 of a cell: closer to a border crossing is too close.
            following = np.append(self.border_key, np.inf)[at + 1]
            unsure[rest] |= ((key - self.border_key[at] < _KEY_EPS) & (key % 1 > 0)) | (
                following - key < _KEY_EPS
            )
        return grid, unsure

    def _cross(
        self,
        px: F64,
        py: F64,
        xw: F64,
        start: I64,
        count: I64,
        best_x: F64,
        best_owner: I64,
        best_seg: I64,
        crossed: npt.NDArray[np.bool_],
        unsure: npt.NDArray[np.bool_],
    ) -> None:
        """Walk from each cell's west border to the point; keep the last segment crossed."""
        for k in range(self.k_max):
            live = np.flatnonzero(k < count)
            if len(live) == 0:
                break
            s = self.loc_seg[start[live] + k]
            qx, qy = px[live], py[live]
            x1, y1, x2, y2 = self.sx1[s], self.sy1[s], self.sx2[s], self.sy2[s]
            side = (x2 - x1) * (qy - y1) - (qx - x1) * (y2 - y1)
            scale = np.abs(x2 - x1) * np.abs(qy - y1) + np.abs(qx - x1) * np.abs(y2 - y1)
            # Too close to call: near the segment itself, or the walk passes through a vertex.
            near = (
                (np.abs(side) <= _SIDE_EPS * scale)
                & (qx >= np.minimum(x1, x2) - _MARGIN)
                & (qx <= np.maximum(x1, x2) + _MARGIN)
                & (qy >= np.minimum(y1, y2) - _MARGIN)
                & (qy <= np.maximum(y1, y2) + _MARGIN)
            )
            wx = xw[live] - _MARGIN
            through_vertex = ((qy == y1) & (x1 >= wx) & (x1 <= qx + _MARGIN)) | (
                (qy == y2) & (x2 >= wx) & (x2 <= qx + _MARGIN)
            )
            straddle = (np.minimum(y1, y2) < qy) & (qy < np.maximum(y1, y2))
            east = np.where(y2 > y1, side < 0, side > 0)
            xi = x1 + (qy - y1) * (x2 - x1) / (y2 - y1)
            near_border = straddle & (np.abs(xi - xw[live]) <= _INTERCEPT_EPS)
            hit = straddle & east & (xi >= xw[live])
            unsure[live] |= near | through_vertex | near_border
            owner = self.s_east_owner[s]
            bx = best_x[live]
            farther = hit & (xi > bx + _INTERCEPT_EPS)
            tied = hit & ~farther & (np.abs(xi - bx) <= _INTERCEPT_EPS)
            conflict = tied & (owner >= 0) & (best_owner[live] >= 0) & (owner != best_owner[live])
            # A tie is the two copies of a shared segment, or two segments that meet near the
            # point's latitude: then which one is east is not known.
            b = best_seg[live]
            copy = (
                (x1 == self.sx2[b])
                & (y1 == self.sy2[b])
                & (x2 == self.sx1[b])
                & (y2 == self.sy1[b])
            )
            unsure[live] |= conflict | (tied & ~copy)
            best_seg[live] = np.where(farther, s, b)
            new_owner = np.where(
                farther,
                owner,
                np.where(tied, np.maximum(owner, best_owner[live]), best_owner[live]),
            )
            best_owner[live] = new_owner
            best_x[live] = np.where(farther, xi, bx)
            crossed[live] |= hit

    # ---- one point -----------------------------------------------------------------------

    def locate_one(self, x: float, y: float) -> Location:
        """Locate one point (storage lon/lat) with its on-boundary flag and candidates.

        The same algorithm as :meth:`locate_many`, in plain Python floats: a web request pays
        a few microseconds, not numpy's per-call overhead.
        """
        g = self._scalar(x, y)
        if g is None:
            return self.exact(x, y)
        return Location(g, False, (g,) if g >= 0 else ())

    def _scalar(self, x: float, y: float) -> int | None:
        """Grid index (-1 outside), or None when too close to call."""
        if not (math.isfinite(x) and math.isfinite(y)):
            return OUTSIDE
        ci = math.floor((x - self.x0) / self.cw)
        cj = math.floor((y - self.y0) / self.ch)
        if not (0 <= ci < self.nx and 0 <= cj < self.ny):
            return OUTSIDE
        cell = cj * self.nx + ci
        label = self._labels[cell]
        if label != _MIXED:
            return int(label)
        slot = self._slots[cell]
        xw = self.x0 + ci * self.cw
        yb = self.y0 + cj * self.ch
        if y - yb < _EDGE_EPS or x - xw < _EDGE_EPS:
            return None
        best_x, best_owner, best_s, crossed = -math.inf, OUTSIDE, 0, False
        seg_x1, seg_y1, seg_x2, seg_y2 = self._sx1, self._sy1, self._sx2, self._sy2
        for s in self._local[slot]:
            x1, y1, x2, y2 = seg_x1[s], seg_y1[s], seg_x2[s], seg_y2[s]
            side = (x2 - x1) * (y - y1) - (x - x1) * (y2 - y1)
            scale = abs(x2 - x1) * abs(y - y1) + abs(x - x1) * abs(y2 - y1)
            if (
                abs(side) <= _SIDE_EPS * scale
                and min(x1, x2) - _MARGIN <= x <= max(x1, x2) + _MARGIN
                and min(y1, y2) - _MARGIN <= y <= max(y1, y2) + _MARGIN
            ):
                return None
            wx = xw - _MARGIN
            if (y == y1 and wx <= x1 <= x + _MARGIN) or (y == y2 and wx <= x2 <= x + _MARGIN):
                return None
            if not min(y1, y2) < y < max(y1, y2):
                continue
            xi = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if abs(xi - xw) <= _INTERCEPT_EPS:
                return None
            east = side < 0 if y2 > y1 else side > 0
            if not (east and xi >= xw):
                continue
            owner = self._east_owner[s]
            if xi > best_x + _INTERCEPT_EPS:
                best_x, best_owner, best_s = xi, owner, s
            elif abs(xi - best_x) <= _INTERCEPT_EPS:
                if owner >= 0 and best_owner >= 0 and owner != best_owner:
                    return None
                if not (
                    x1 == seg_x2[best_s]
                    and y1 == seg_y2[best_s]
                    and x2 == seg_x1[best_s]
                    and y2 == seg_y1[best_s]
                ):
                    return None  # not a shared segment's copies: which is east is not known
                best_owner = max(owner, best_owner)
            crossed = True
        if crossed:
            return best_owner
        key = slot + (y - yb) / self.ch
        keys = self._border_keys
        at = bisect.bisect_right(keys, key) - 1
        if (key - keys[at] < _KEY_EPS and key % 1 > 0) or (
            at + 1 < len(keys) and keys[at + 1] - key < _KEY_EPS
        ):
            return None
        return self._border_labels[at]

    def _python_views(self) -> None:
        """Plain-Python copies of what :meth:`_scalar` reads (list indexing beats numpy's)."""
        self._labels: list[int] = self.cell_label.tolist()
        self._slots: dict[int, int] = {int(c): i for i, c in enumerate(self.mixed_cells)}
        self._sx1: list[float] = self.sx1.tolist()
        self._sy1: list[float] = self.sy1.tolist()
        self._sx2: list[float] = self.sx2.tolist()
        self._sy2: list[float] = self.sy2.tolist()
        self._east_owner: list[int] = self.s_east_owner.tolist()
        segs = self.loc_seg.tolist()
        offsets = self.loc_off.tolist()
        self._local: list[list[int]] = [
            segs[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)
        ]
        self._border_keys: list[float] = self.border_key.tolist()
        self._border_labels: list[int] = self.border_label.tolist()


def _segment_meets_box(
    x1: F64, y1: F64, x2: F64, y2: F64, bx0: F64, by0: F64, bx1: F64, by1: F64
) -> npt.NDArray[np.bool_]:
    """Liang-Barsky: does segment (x1,y1)-(x2,y2) meet the closed box? (vectorised)"""
    dx, dy = x2 - x1, y2 - y1
    t0 = np.zeros(len(x1))
    t1 = np.ones(len(x1))
    ok = np.ones(len(x1), dtype=bool)
    for p, q in ((-dx, x1 - bx0), (dx, bx1 - x1), (-dy, y1 - by0), (dy, by1 - y1)):
        parallel = p == 0
        ok &= ~(parallel & (q < 0))
        with np.errstate(divide="ignore", invalid="ignore"):
            r = q / p
        entering = ~parallel & (p < 0)
        leaving = ~parallel & (p > 0)
        t0 = np.where(entering, np.maximum(t0, r), t0)
        t1 = np.where(leaving, np.minimum(t1, r), t1)
    return ok & (t0 <= t1)
