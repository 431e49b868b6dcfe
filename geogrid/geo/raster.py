"""The cell raster behind :class:`geogrid.geo.locator.GridIndex`.

A uniform raster over the layer in storage lon/lat (where PostGIS compares). Each cell is

* *pure* when no edge meets it (not even within 1e-9 degrees): every point in it has the
  cell's label, found once at build time: one array lookup per point;
* a *line* cell when exactly one edge meets it and no edge ends near it: a point is on the
  edge's left or right, and so in the grid on that side: one cross product per point;
* a *walk* cell otherwise (a vertex, or several edges). It keeps the edges that meet it and the
  grid labels along its west border; a point is located by walking west-to-east from the border
  to the point: the last edge crossed tells the grid on its east side.

A point so close to an edge that floating-point rounding could decide the answer (on an edge or
vertex, at a vertex's latitude, within about 1e-12 of an edge) is *unsure*: the caller answers
it with the exact reference.

The cell size follows the layer's density (:data:`EDGE_SHARE`): about 25 m for Yaohai's 596
grids, so that 9 % of points need more than one lookup; finer for denser layers, down to what
:data:`MAX_CELLS` allows. Every cell size gives the same answers.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from geogrid.geo.rings import OUTSIDE, Edges

F64 = npt.NDArray[np.floating[Any]]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.integer[Any]]
Bools = npt.NDArray[np.bool_]
Labeller = Callable[[F64, F64], npt.NDArray[np.int64]]

#: Points nearer than this to a cell's edges count as touching it (degrees, ~0.1 mm).
_MARGIN = 1e-9
#: |side| below this many ulps of its terms is too close to call in floating point.
_SIDE_EPS = 1e-12
_INTERCEPT_EPS = 1e-12
_KEY_EPS = 1e-9
_EDGE_EPS = 1e-12
#: The cell side makes the edges cross about this share of the grids' area (cell side times
#: edge length over area): about 25 m for Yaohai.
EDGE_SHARE = 0.075
#: However dense the layer, the raster has at most about this many cells (int32: 128 MiB).
MAX_CELLS = 1 << 25
#: Metres per degree of latitude, and of longitude on the equator (to choose the cell size).
_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON = 111_320.0
#: An edge as the one-point path reads it: x1, y1, x2, y2, x2 - x1, y2 - y1 (floats), the grid
#: on its left and on its right (ints): eight 8-byte slots, one 64-byte cache line.
_RECORD = 8
#: Kinds of cell, as :meth:`Raster.kinds` numbers them.
PURE, LINE, WALK = 0, 1, 2


class Raster:
    """Cells over a layer's edges, each answering for the points in it.

    A cell's code (``cell_code``) is its grid (or -1) for a pure cell; otherwise ``-2 - k``,
    where ``k`` is the edge of a line cell (``k < len(edges)``) or ``len(edges)`` plus the slot
    of a walk cell. Build it with :meth:`build`.
    """

    def __init__(self, edges: Edges, box: tuple[float, float, float, float], cell_m: float):
        minx, miny, maxx, maxy = box
        kx = _M_PER_DEG_LON * math.cos(math.radians((miny + maxy) / 2))
        self.edges = edges
        self.n_edges = len(edges)
        self.cell_m = cell_m
        self.cw = cell_m / kx
        self.ch = cell_m / _M_PER_DEG_LAT
        self.x0, self.y0 = minx - self.cw, miny - self.ch
        self.nx = int((maxx - self.x0) / self.cw) + 2
        self.ny = int((maxy - self.y0) / self.ch) + 2

    # ---- build ---------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        edges: Edges,
        box: tuple[float, float, float, float],
        area: float,
        label_points: Labeller,
        cell_m: float | None = None,
    ) -> Raster:
        """The raster of ``edges`` over ``box`` (storage lon/lat).

        Parameters
        ----------
        edges
            The layer's edges.
        box
            The layer's bounds (minx, miny, maxx, maxy).
        area
            The grids' total area in square degrees (to choose the cell size).
        label_points
            The grid of each point (smallest on ties, -1 outside), for the few build-time
            points too close to an edge to label from the edges.
        cell_m
            The cell side in metres; by default it follows the layer's density.
        """
        if cell_m is None:
            cell_m = cell_size_m(edges, box, area)
        self = cls(edges, box, cell_m)
        self._classify()
        self._label(label_points)
        self._views()
        return self

    def _classify(self) -> None:
        # (cell, edge) pairs as one sorted key: cell * n_edges + edge.
        pairs = self._edge_cells()
        pairs.sort()
        index = np.int32 if self.nx * self.ny < 2**31 else np.int64
        cells = (pairs // max(self.n_edges, 1)).astype(index)
        edges = (pairs % max(self.n_edges, 1)).astype(np.int32)
        del pairs
        starts = np.flatnonzero(np.concatenate([[True], cells[1:] != cells[:-1]]))
        mixed = cells[starts].astype(np.int64)
        del cells
        count = np.diff(np.append(starts, len(edges)))
        # A line cell: one edge, crossing it (no edge's end within the margin of the cell).
        line = count == 1
        line[np.flatnonzero(line)[np.isin(mixed[line], self._cells_at_ends())]] = False
        self.cell_code = np.full(self.nx * self.ny, OUTSIDE, dtype=np.int32)
        self.cell_code[mixed[line]] = -2 - edges[starts[line]]
        # Walk cells: their edges in CSR form.
        walk = ~line
        self.walk_cells = mixed[walk]
        self.cell_code[self.walk_cells] = -2 - self.n_edges - np.arange(len(self.walk_cells))
        self.loc_seg = edges[np.repeat(walk, count)].astype(np.int64)
        self.loc_off = np.concatenate([[0], np.cumsum(count[walk])]).astype(np.int64)
        self.k_max = int(count[walk].max()) if walk.any() else 0

    def _edge_cells(self, chunk: int = 50_000) -> I64:
        """Every (cell, edge) pair where the edge meets the cell grown by the margin, as
        ``cell * n_edges + edge``.

        Column by column of each edge: the rows its part within the column reaches. Worked
        through in chunks of edges so that memory stays flat for large layers.
        """
        pairs = [np.empty(0, dtype=np.int64)]
        for first in range(0, self.n_edges, chunk):
            cells, edges = self._edge_cells_of(first, min(first + chunk, self.n_edges))
            pairs.append(cells * self.n_edges + edges)
        return np.concatenate(pairs)

    def _edge_cells_of(self, first: int, last: int) -> tuple[I64, I64]:
        x1, y1 = self.edges.x1[first:last], self.edges.y1[first:last]
        x2, y2 = self.edges.x2[first:last], self.edges.y2[first:last]  # x1 <= x2
        col_lo = np.floor((x1 - _MARGIN - self.x0) / self.cw).astype(np.int64)
        col_hi = np.floor((x2 + _MARGIN - self.x0) / self.cw).astype(np.int64)
        e, col = _ranges(col_lo, col_hi)
        # The part of the edge within the column grown by the margin, and its latitudes.
        xa = np.maximum(x1[e], self.x0 + col * self.cw - _MARGIN)
        xb = np.minimum(x2[e], self.x0 + (col + 1) * self.cw + _MARGIN)
        dx, dy = x2[e] - x1[e], y2[e] - y1[e]
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = np.where(dx > 0, dy / dx, 0.0)
        ya, yb = y1[e] + (xa - x1[e]) * slope, y1[e] + (xb - x1[e]) * slope
        # Rounding in xa - x1 is magnified by a steep slope: widen by it, within the edge.
        slack = np.abs(slope) * 1e-13
        bottom, top = np.minimum(y1[e], y2[e]), np.maximum(y1[e], y2[e])
        low = np.where(dx > 0, np.maximum(np.minimum(ya, yb) - slack, bottom), bottom)
        high = np.where(dx > 0, np.minimum(np.maximum(ya, yb) + slack, top), top)
        row_lo = np.floor((low - _MARGIN - self.y0) / self.ch).astype(np.int64)
        row_hi = np.floor((high + _MARGIN - self.y0) / self.ch).astype(np.int64)
        k, row = _ranges(row_lo, row_hi)
        return row * self.nx + col[k], first + e[k]

    def _cells_at_ends(self) -> I64:
        """The cells within twice the margin of an edge's end."""
        x = np.concatenate([self.edges.x1, self.edges.x2])
        y = np.concatenate([self.edges.y1, self.edges.y2])
        found = []
        for dx in (-2 * _MARGIN, 2 * _MARGIN):
            col = np.floor((x + dx - self.x0) / self.cw).astype(np.int64)
            for dy in (-2 * _MARGIN, 2 * _MARGIN):
                found.append(
                    np.floor((y + dy - self.y0) / self.ch).astype(np.int64) * self.nx + col
                )
        return np.unique(np.concatenate(found))

    def cell_corner(self, cell: I64) -> tuple[F64, F64]:
        """The south-west corner of each cell."""
        return self.x0 + (cell % self.nx) * self.cw, self.y0 + (cell // self.nx) * self.ch

    def _label(self, label_points: Labeller) -> None:
        """Label the pure cells and the west borders of walk cells.

        Every label is that of a point on the east border of a cell (the cell west of a run of
        pure cells, or west of a walk cell): outside in the first column; the grid on the
        point's side of the edge of a line cell; the cell's own label when it is pure; the walk
        across it when it is a walk cell whose border is labelled. Dependencies run west, so
        waves over all rows at once label everything; a point too close to call goes to
        ``label_points``.
        """
        nx = self.nx
        # A run of pure cells along a row lies in one grid (no edge between them): its point
        # is on its west border, mid-row.
        pure = self.cell_code.reshape(self.ny, nx) == OUTSIDE
        ends = pure.copy()
        ends[:, 1:] &= ~pure[:, :-1]
        run_cell = np.flatnonzero(ends)
        ends[:] = pure
        ends[:, :-1] &= ~pure[:, 1:]
        run_length = np.flatnonzero(ends) - run_cell + 1
        del pure, ends
        n_runs = len(run_cell)
        slot_start = self._border_intervals()
        # The points to label: runs first, then the border intervals of the walk cells.
        cell = np.concatenate([run_cell, self.walk_cells[self.border_slot]])

        def point(at: I64) -> tuple[F64, F64]:
            x, y = self.cell_corner(cell[at])
            mid = at >= n_runs
            y[mid] = self.border_y[at[mid] - n_runs]
            y[~mid] += self.ch / 2
            return x, y

        first_column = cell % nx == 0
        west_code = self.cell_code[np.where(first_column, 0, cell - 1)]
        west_edge = -2 - west_code
        label = np.full(len(cell), OUTSIDE, dtype=np.int32)
        known = first_column.copy()
        self.border_label = label[n_runs:]  # filled in place as the waves go

        def settle(at: I64, found: I32, sure: Bools) -> None:
            label[at] = found
            unsure = at[~sure]
            if len(unsure):
                label[unsure] = label_points(*point(unsure))
            known[at] = True

        line = np.flatnonzero(~first_column & (west_code < OUTSIDE) & (west_edge < self.n_edges))
        for at in np.array_split(line, len(line) // 500_000 + 1):
            settle(at, *self._line_side(west_edge[at], *point(at)))
        on_pure = np.flatnonzero(~first_column & (west_code == OUTSIDE))
        on_walk = np.flatnonzero(~first_column & (west_edge >= self.n_edges))
        del first_column, line
        run_of = np.searchsorted(run_cell, cell[on_pure] - 1, side="right") - 1
        while len(on_pure) or len(on_walk):
            before = len(on_pure) + len(on_walk)
            ready = known[run_of]
            label[on_pure[ready]] = label[run_of[ready]]
            known[on_pure[ready]] = True
            on_pure, run_of = on_pure[~ready], run_of[~ready]
            if len(on_walk):
                slot = west_edge[on_walk] - self.n_edges
                ready = np.logical_and.reduceat(known[n_runs:], slot_start)[slot]
                at = on_walk[ready]
                x, y = point(at)
                found, unsure = self._walk(x, y, cell[at] - 1, slot[ready])
                settle(at, found, ~unsure)
                on_walk = on_walk[~ready]
            if len(on_pure) + len(on_walk) == before:  # cannot happen: every row moves east
                raise AssertionError("labelling the raster made no progress")
        # Fill the runs, a block of rows at a time (a whole raster of temporaries is big).
        step = 256 * nx
        for first in range(0, len(self.cell_code), step):
            block = self.cell_code[first : first + step]
            runs = slice(*np.searchsorted(run_cell, [first, first + step]).tolist())
            block[block == OUTSIDE] = np.repeat(label[runs], run_length[runs])
        self.border_label = label[n_runs:].copy()

    def _border_intervals(self) -> I64:
        """Each walk cell's west border, cut where its edges cross it, as sorted keys.

        A key is the cell's slot plus the fraction of the cell's height where an interval
        begins (each cell begins one at its bottom). Sets ``border_key``, ``border_slot`` and
        ``border_y`` (the slot and latitude of each interval's middle) and returns where each
        slot's intervals begin.
        """
        n_walk = len(self.walk_cells)
        slot = np.repeat(np.arange(n_walk), np.diff(self.loc_off))
        s = self.loc_seg
        x1, y1, x2, y2 = self.edges.x1[s], self.edges.y1[s], self.edges.x2[s], self.edges.y2[s]
        xw, yb = self.cell_corner(self.walk_cells[slot])
        spans = (x1 <= xw) & (x2 >= xw) & (x1 != x2)
        with np.errstate(divide="ignore", invalid="ignore"):
            yc = y1 + (xw - x1) * (y2 - y1) / (x2 - x1)
        frac = (yc - yb) / self.ch
        keep = spans & (frac > 0) & (frac < 1)
        key = np.concatenate([slot[keep] + frac[keep], np.arange(n_walk, dtype=float)])
        key = np.unique(key)
        upper = np.minimum(np.append(key[1:], n_walk), np.floor(key) + 1)
        self.border_key = key
        self.border_slot = np.floor(key).astype(np.int64)
        _, yb = self.cell_corner(self.walk_cells[self.border_slot])
        self.border_y = yb + ((key + upper) / 2 - self.border_slot) * self.ch
        return np.searchsorted(key, np.arange(n_walk, dtype=float))

    def _views(self) -> None:
        """What :meth:`locate_one` reads, as memoryviews (indexing them beats numpy's).

        The edges go in one array of :data:`_RECORD` slots each, aligned to 64 bytes, so that
        a point in a line cell costs one cache line beyond the cell's code.
        """
        self._cells = self.cell_code.data
        n = self.n_edges
        buffer = np.zeros(n * _RECORD + _RECORD)
        skip = (-buffer.ctypes.data % 64) // 8
        floats = buffer[skip : skip + n * _RECORD].reshape(-1, _RECORD)
        ints = floats.view(np.int64)
        e = self.edges
        floats[:, 0], floats[:, 1], floats[:, 2], floats[:, 3] = e.x1, e.y1, e.x2, e.y2
        floats[:, 4], floats[:, 5] = e.x2 - e.x1, e.y2 - e.y1
        ints[:, 6], ints[:, 7] = e.left, e.right
        self._edge_floats = floats.ravel().data
        self._edge_ints = ints.ravel().data
        self._loc_seg = self.loc_seg.data
        self._loc_off = self.loc_off.data
        self._border_keys = self.border_key.data
        self._border_labels = self.border_label.data

    # ---- many points ---------------------------------------------------------------------

    def kinds(self, px: F64, py: F64) -> npt.NDArray[np.int8]:
        """The kind of cell each point falls in (:data:`PURE` also off the raster)."""
        cell, inside = self._cells_of(px, py)
        code = self.cell_code[cell]
        kind = np.where(code >= OUTSIDE, PURE, np.where(-2 - code < self.n_edges, LINE, WALK))
        return np.where(inside, kind, PURE).astype(np.int8)

    def _cells_of(self, px: F64, py: F64) -> tuple[I64, Bools]:
        ci = np.floor((px - self.x0) / self.cw)
        cj = np.floor((py - self.y0) / self.ch)
        inside = (ci >= 0) & (ci < self.nx) & (cj >= 0) & (cj < self.ny)
        return np.where(inside, cj * self.nx + ci, 0).astype(np.int64), inside

    def locate(self, px: F64, py: F64) -> tuple[I32, Bools]:
        """Grid index (-1 outside) of every point, and whether it is too close to call."""
        cell, inside = self._cells_of(px, py)
        grid = np.where(inside, self.cell_code[cell], OUTSIDE)
        unsure = np.zeros(len(px), dtype=bool)
        crossed = np.flatnonzero(grid < OUTSIDE)
        if len(crossed) == 0:
            return grid, unsure
        code = -2 - grid[crossed]
        line = code < self.n_edges
        at, walk_at = crossed[line], crossed[~line]
        found, sure = self._line_side(code[line], px[at], py[at])
        grid[at] = found
        unsure[at] = ~sure
        if len(walk_at):
            found, not_sure = self._walk(
                px[walk_at], py[walk_at], cell[walk_at], code[~line] - self.n_edges
            )
            grid[walk_at] = found
            unsure[walk_at] = not_sure
        return grid, unsure

    def _line_side(self, e: I64, px: F64, py: F64) -> tuple[I32, Bools]:
        """The grid on the point's side of edge ``e``, and whether the side is sure."""
        x1, y1 = self.edges.x1[e], self.edges.y1[e]
        a = (self.edges.x2[e] - x1) * (py - y1)
        b = (px - x1) * (self.edges.y2[e] - y1)
        side = a - b
        found = np.where(side > 0, self.edges.left[e], self.edges.right[e])
        return found, np.abs(side) > _SIDE_EPS * (np.abs(a) + np.abs(b))

    def _walk(self, px: F64, py: F64, cell: I64, slot: I64) -> tuple[I32, Bools]:
        """Locate points in walk cells; flag those too close to call."""
        xw, yb = self.cell_corner(cell)
        start = self.loc_off[slot]
        count = self.loc_off[slot + 1] - start
        best_x = np.full(len(px), -np.inf)
        best_owner = np.full(len(px), OUTSIDE, dtype=np.int64)
        crossed = np.zeros(len(px), dtype=bool)
        unsure = np.zeros(len(px), dtype=bool)
        with np.errstate(divide="ignore", invalid="ignore"):
            self._cross(px, py, xw, start, count, best_x, best_owner, crossed, unsure)
        grid = best_owner.astype(np.int32)
        # Rounding can put a point that lies a hair below or west of a cell into it.
        unsure |= (py - yb < _EDGE_EPS) | (px - xw < _EDGE_EPS)
        rest = np.flatnonzero(~crossed)
        if len(rest):
            key = slot[rest] + (py[rest] - yb[rest]) / self.ch
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
        crossed: Bools,
        unsure: Bools,
    ) -> None:
        """Walk from each cell's west border to the point; keep the last edge crossed."""
        east_owner = self.edges.east
        for k in range(self.k_max):
            live = np.flatnonzero(k < count)
            if len(live) == 0:
                break
            s = self.loc_seg[start[live] + k]
            qx, qy = px[live], py[live]
            x1, y1 = self.edges.x1[s], self.edges.y1[s]
            x2, y2 = self.edges.x2[s], self.edges.y2[s]
            side = (x2 - x1) * (qy - y1) - (qx - x1) * (y2 - y1)
            scale = np.abs(x2 - x1) * np.abs(qy - y1) + np.abs(qx - x1) * np.abs(y2 - y1)
            # Too close to call: near the edge itself, or the walk passes through a vertex.
            near = (
                (np.abs(side) <= _SIDE_EPS * scale)
                & (qx >= x1 - _MARGIN)
                & (qx <= x2 + _MARGIN)
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
            bx = best_x[live]
            farther = hit & (xi > bx + _INTERCEPT_EPS)
            # Two edges crossed at the same longitude (to rounding) meet near the point's
            # latitude: which one is east is not known (shared edges are one edge already).
            unsure[live] |= hit & ~farther & (np.abs(xi - bx) <= _INTERCEPT_EPS)
            best_owner[live] = np.where(farther, east_owner[s], best_owner[live])
            best_x[live] = np.where(farther, xi, bx)
            crossed[live] |= hit

    # ---- one point -----------------------------------------------------------------------

    def locate_one(self, x: float, y: float) -> int | None:
        """Grid index (-1 outside) of one point, or None when too close to call.

        The same algorithm as :meth:`locate`, in plain Python floats: a web request pays a
        microsecond or two, not numpy's per-call overhead.
        """
        if not (math.isfinite(x) and math.isfinite(y)):
            return OUTSIDE
        ci = math.floor((x - self.x0) / self.cw)
        cj = math.floor((y - self.y0) / self.ch)
        if not (0 <= ci < self.nx and 0 <= cj < self.ny):
            return OUTSIDE
        code: int = self._cells[cj * self.nx + ci]
        if code >= OUTSIDE:
            return code
        e = -2 - code
        if e >= self.n_edges:
            return self._walk_one(x, y, ci, cj, e - self.n_edges)
        floats = self._edge_floats
        k = e << 3  # _RECORD slots
        x1 = floats[k]
        y1 = floats[k + 1]
        a = floats[k + 4] * (y - y1)
        b = (x - x1) * floats[k + 5]
        # Sure when |a - b| > _SIDE_EPS (|a| + |b|), which is |a + b| unless a and b have
        # opposite signs: then a - b has no cancellation and its sign is sure anyway.
        if a > b:
            if a - b > _SIDE_EPS * abs(a + b):
                left: int = self._edge_ints[k + 6]
                return left
        elif b - a > _SIDE_EPS * abs(a + b):
            right: int = self._edge_ints[k + 7]
            return right
        return None

    def _walk_one(self, x: float, y: float, ci: int, cj: int, slot: int) -> int | None:
        """The walk of :meth:`_walk` for one point in a walk cell."""
        xw = self.x0 + ci * self.cw
        yb = self.y0 + cj * self.ch
        if y - yb < _EDGE_EPS or x - xw < _EDGE_EPS:
            return None
        best_x, best_owner, crossed = -math.inf, OUTSIDE, False
        floats, ints, local = self._edge_floats, self._edge_ints, self._loc_seg
        wx = xw - _MARGIN
        for i in range(self._loc_off[slot], self._loc_off[slot + 1]):
            k = _RECORD * local[i]
            x1, y1, x2, y2 = floats[k], floats[k + 1], floats[k + 2], floats[k + 3]
            side = (x2 - x1) * (y - y1) - (x - x1) * (y2 - y1)
            scale = abs(x2 - x1) * abs(y - y1) + abs(x - x1) * abs(y2 - y1)
            if (
                abs(side) <= _SIDE_EPS * scale
                and x1 - _MARGIN <= x <= x2 + _MARGIN
                and min(y1, y2) - _MARGIN <= y <= max(y1, y2) + _MARGIN
            ):
                return None
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
            if xi > best_x + _INTERCEPT_EPS:
                best_x, best_owner = xi, ints[k + 7] if y2 > y1 else ints[k + 6]
            elif abs(xi - best_x) <= _INTERCEPT_EPS:
                return None
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
        label: int = self._border_labels[at]
        return label


def cell_size_m(edges: Edges, box: tuple[float, float, float, float], area: float) -> float:
    """The cell side in metres for a layer: :data:`EDGE_SHARE` of its area per edge length,
    or the side that :data:`MAX_CELLS` cells over ``box`` allow, whichever is larger."""
    minx, miny, maxx, maxy = box
    kx = _M_PER_DEG_LON * math.cos(math.radians((miny + maxy) / 2))
    ky = _M_PER_DEG_LAT
    length = float(np.hypot((edges.x2 - edges.x1) * kx, (edges.y2 - edges.y1) * ky).sum())
    wanted = EDGE_SHARE * area * kx * ky / length if length > 0 else math.inf
    smallest = math.sqrt((maxx - minx) * kx * (maxy - miny) * ky / MAX_CELLS)
    return max(wanted, smallest)


def _ranges(low: I64, high: I64) -> tuple[I64, I64]:
    """Every (i, v) with low[i] <= v <= high[i], grouped by i."""
    n = np.maximum(high - low + 1, 0)
    i = np.repeat(np.arange(len(low)), n)
    v = np.arange(len(i)) + np.repeat(low - (np.cumsum(n) - n), n)
    return i, v
