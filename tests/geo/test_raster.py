"""The cell raster: its size follows the layer, every kind of cell answers as the reference."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry.base import BaseGeometry

from geogrid.geo import raster
from geogrid.geo.locator import GridIndex

BOX = (117.30, 31.85, 117.34, 31.88)  # about 4 km by 3 km


def voronoi(n: int, seed: int = 1) -> list[BaseGeometry]:
    rng = np.random.default_rng(seed)
    points = shapely.multipoints(
        np.column_stack([rng.uniform(BOX[0], BOX[2], n), rng.uniform(BOX[1], BOX[3], n)])
    )
    frame = shapely.box(*BOX)
    cells = shapely.get_parts(shapely.voronoi_polygons(points, extend_to=frame))
    return list(shapely.intersection(cells, frame))


def layer(n: int) -> GridIndex:
    geoms = voronoi(n)
    return GridIndex.build([f"{i:05d}" for i in range(len(geoms))], geoms)


def random_points(n: int, seed: int = 2) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(BOX[0] - 0.001, BOX[2] + 0.001, n), rng.uniform(
        BOX[1] - 0.001, BOX[3] + 0.001, n
    )


def strtree_grid(index: GridIndex, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    pts, grids = shapely.STRtree(index.geoms).query(shapely.points(x, y), predicate="intersects")
    expected = np.full(len(x), -1)
    order = np.lexsort((grids, pts))
    pts, grids = pts[order], grids[order]
    first = np.concatenate([[True], pts[1:] != pts[:-1]])
    expected[pts[first]] = grids[first]
    return expected


def test_denser_layers_get_finer_cells() -> None:
    sparse, dense = layer(40), layer(4_000)
    ratio = sparse.raster.cell_m / dense.raster.cell_m
    assert 5 < ratio < 20  # a hundred times the grids: about ten times finer cells


def test_a_capped_raster_answers_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    geoms = voronoi(2_000)
    codes = [f"{i:05d}" for i in range(len(geoms))]
    monkeypatch.setattr(raster, "MAX_CELLS", 20_000)
    capped = GridIndex.build(codes, geoms)
    monkeypatch.undo()
    free = GridIndex.build(codes, geoms)
    assert capped.raster.nx * capped.raster.ny < 1.05 * 20_000
    assert capped.raster.cell_m > 2 * free.raster.cell_m
    x, y = random_points(50_000)
    assert np.array_equal(capped.locate_many(x, y)[0], free.locate_many(x, y)[0])
    assert np.array_equal(free.locate_many(x, y)[0], strtree_grid(free, x, y))


@pytest.mark.parametrize("kind", [raster.PURE, raster.LINE, raster.WALK])
def test_every_kind_of_cell_answers_as_the_reference(kind: int) -> None:
    index = layer(300)
    x, y = random_points(200_000, seed=kind)
    chosen = index.cell_kinds(x, y) == kind
    x, y = x[chosen][:1_000], y[chosen][:1_000]
    assert len(x) >= 500
    grid, boundary = index.locate_many(x, y)
    for i in range(len(x)):
        expected = index.exact(float(x[i]), float(y[i]))
        assert (int(grid[i]), bool(boundary[i])) == (expected.grid, expected.on_boundary)
        assert index.locate_one(float(x[i]), float(y[i])) == expected
