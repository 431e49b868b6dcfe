"""The point-in-grid index: tiny hand-drawn layers, properties, and PostGIS on the demo."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import Polygon
from sqlalchemy import Engine, text

from geogrid.geo.locator import OUTSIDE, GridIndex
from geogrid.io.layers import read_layer_from_db

# Three grids: A (west), B (east, with a hole), C filling B's hole. Codes sort A < B < C.
A = Polygon([(0, 0), (1, 0), (1, 1), (0, 1)])
B = Polygon(
    [(1, 0), (2, 0), (2, 1), (1, 1)], holes=[[(1.4, 0.4), (1.6, 0.4), (1.6, 0.6), (1.4, 0.6)]]
)
C = Polygon([(1.4, 0.4), (1.6, 0.4), (1.6, 0.6), (1.4, 0.6)])
TINY = GridIndex.build(["c", "a", "b"], [C, A, B], cell_m=20_000.0)
#: The same layer on coarser and finer rasters: every kind of cell, at every size.
TINY_AT = {
    cell_m: GridIndex.build(["c", "a", "b"], [C, A, B], cell_m=cell_m)
    for cell_m in (20_000.0, 5_000.0, 1_500.0)
}
# A T-junction: A's east edge is one segment, B's and C's west edges are two.
T_LAYER = GridIndex.build(
    ["a", "b", "c"], [shapely.box(0, 0, 1, 2), shapely.box(1, 0, 2, 1), shapely.box(1, 1, 2, 2)]
)


@pytest.mark.parametrize(
    "point, grid, on_boundary, candidates",
    [
        ((0.5, 0.5), "a", False, ["a"]),  # inside
        ((1.5, 0.2), "b", False, ["b"]),  # inside, beside the hole
        ((1.5, 0.5), "c", False, ["c"]),  # in the hole = in C
        ((1.0, 0.5), "a", True, ["a", "b"]),  # shared edge: smallest code wins
        ((1.0, 1.0), "a", True, ["a", "b"]),  # shared vertex on the district edge
        ((1.4, 0.5), "b", True, ["b", "c"]),  # the hole's edge
        ((0.0, 0.5), "a", True, ["a"]),  # district edge, one grid
        ((2.5, 0.5), None, False, []),  # outside
        ((0.5, -1e-12), None, False, []),  # just outside
    ],
)
def test_edge_cases(
    point: tuple[float, float], grid: str | None, on_boundary: bool, candidates: list[str]
) -> None:
    found = TINY.locate_one(*point)
    assert (TINY.codes[found.grid] if found.grid != OUTSIDE else None) == grid
    assert found.on_boundary is on_boundary
    assert [TINY.codes[c] for c in found.candidates] == candidates


# Two edges that end at one vertex V, a hair above V's latitude: their crossings of the point's
# parallel round to the same longitude. A (between them) is west of the point, outside is east.
V = (117.39957643203192, 31.86855840412002)
NW, N, S = (
    (117.39686305515286, 31.871437037843528),
    (117.39957016784116, 31.869006566458637),
    (
        117.39958627319012,
        31.86785432758564,
    ),
)
WEDGE = [Polygon([V, N, NW]), Polygon([V, NW, (NW[0], S[1]), S])]


@pytest.mark.parametrize("cell_m", [7.0, 25.0, 100.0])
def test_edges_meeting_just_below_the_point_are_too_close_to_call(cell_m: float) -> None:
    index = GridIndex.build(["a", "b"], WEDGE, cell_m=cell_m)
    x, y = 117.39957643203194, 31.868558404120023  # 2e-14 east of V, 3e-15 north
    assert not any(g.covers(shapely.Point(x, y)) for g in WEDGE)
    assert index.exact(x, y).grid == OUTSIDE
    assert index.locate_one(x, y).grid == OUTSIDE
    assert index.locate_many(np.array([x]), np.array([y]))[0].tolist() == [OUTSIDE]


coordinate = st.floats(min_value=-0.2, max_value=2.2, allow_nan=False)


@pytest.mark.parametrize("index", [*TINY_AT.values(), T_LAYER], ids=["20km", "5km", "1.5km", "T"])
@settings(max_examples=400, deadline=None)
@given(x=coordinate, y=coordinate)
def test_fast_path_equals_the_reference_anywhere(index: GridIndex, x: float, y: float) -> None:
    grid, boundary = index.locate_many(np.array([x]), np.array([y]))
    expected = index.exact(x, y)
    assert (int(grid[0]), bool(boundary[0])) == (expected.grid, expected.on_boundary)
    assert index.locate_one(x, y) == expected


@pytest.mark.parametrize("index", TINY_AT.values(), ids=["20km", "5km", "1.5km"])
@settings(max_examples=200, deadline=None)
@given(t=st.floats(min_value=0, max_value=1), shift=st.sampled_from([0.0, 1e-15, -1e-15, 1e-9]))
def test_points_on_and_next_to_edges(index: GridIndex, t: float, shift: float) -> None:
    # Along the shared edge x = 1 and the hole's west edge x = 1.4.
    for x0, (y0, y1) in ((1.0, (0.0, 1.0)), (1.4, (0.4, 0.6))):
        y = y0 + (y1 - y0) * t
        grid, boundary = index.locate_many(np.array([x0 + shift]), np.array([y]))
        expected = index.exact(x0 + shift, y)
        assert (int(grid[0]), bool(boundary[0])) == (expected.grid, expected.on_boundary)
        assert index.locate_one(x0 + shift, y) == expected


@pytest.mark.parametrize(
    "point, candidates",
    [((1.0, 0.5), ["a", "b"]), ((1.0, 1.0), ["a", "b", "c"]), ((1.0, 1.5), ["a", "c"])],
)
def test_a_t_junction_lists_every_grid_on_it(
    point: tuple[float, float], candidates: list[str]
) -> None:
    found = T_LAYER.locate_one(*point)
    assert found.on_boundary and [T_LAYER.codes[c] for c in found.candidates] == candidates


# ---- the demo, against PostGIS ST_Covers ----------------------------------------------------


@pytest.fixture(scope="module")
def demo_index(demo_engine: Engine) -> GridIndex:
    with demo_engine.connect() as conn:
        grids = read_layer_from_db(conn, "grids")
    return GridIndex.build(list(grids["code"]), list(grids.geometry), 1)


def postgis_covers(engine: Engine, x: np.ndarray, y: np.ndarray) -> list[tuple[str, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("""
            SELECT p.i, array_agg(trim(gg.grid_code) ORDER BY gg.grid_code)
            FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[])) WITH ORDINALITY
                 AS p(x, y, i)
            JOIN grid_geometry gg ON gg.valid_from_release <= 1
             AND (gg.valid_to_release IS NULL OR gg.valid_to_release > 1)
             AND ST_Covers(gg.geom, ST_SetSRID(ST_MakePoint(p.x, p.y), 4490))
            GROUP BY p.i"""),
            {"xs": x.tolist(), "ys": y.tolist()},
        ).all()
    found: list[tuple[str, ...]] = [()] * len(x)
    for i, codes in rows:
        found[i - 1] = tuple(codes)
    return found


def edge_points(
    index: GridIndex, rng: np.random.Generator, n: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    edges = index.edges
    pick = rng.choice(len(edges), size=min(n, len(edges)), replace=False)
    x1, y1, x2, y2 = edges.x1[pick], edges.y1[pick], edges.x2[pick], edges.y2[pick]
    mx, my = (x1 + x2) / 2, (y1 + y2) / 2
    # 1 cm either side of the edge, normal to it (metres -> degrees at Yaohai's latitude).
    kx, ky = 1 / (111_320 * np.cos(np.radians(31.95))), 1 / 110_574
    dx, dy = (x2 - x1) / kx, (y2 - y1) / ky
    length = np.hypot(dx, dy)
    nx, ny = -dy / length * 0.01 * kx, dx / length * 0.01 * ky
    return {
        "vertex": (x1, y1),
        "midpoint": (mx, my),
        "left 1 cm": (mx + nx, my + ny),
        "right 1 cm": (mx - nx, my - ny),
    }


def test_fast_path_answers_exactly_as_postgis(demo_index: GridIndex, demo_engine: Engine) -> None:
    rng = np.random.default_rng(340102)
    b = demo_index.bounds
    samples = {
        "random": (
            rng.uniform(b[:, 0].min(), b[:, 2].max(), 20_000),
            rng.uniform(b[:, 1].min(), b[:, 3].max(), 20_000),
        )
    }
    samples |= edge_points(demo_index, rng, 2_500)
    for name, (x, y) in samples.items():
        grid, boundary = demo_index.locate_many(x, y)
        expected = postgis_covers(demo_engine, x, y)
        wrong = []
        for i, covering in enumerate(expected):
            chosen = demo_index.codes[grid[i]] if grid[i] != OUTSIDE else None
            if chosen != (min(covering) if covering else None):
                wrong.append((i, covering, chosen))
            elif len(covering) > 1 and not boundary[i]:
                wrong.append((i, covering, "on_boundary not set"))
        assert wrong == [], f"{name}: {len(wrong)} answers differ from PostGIS, e.g. {wrong[:3]}"


def test_every_candidate_matches_postgis_on_vertices(
    demo_index: GridIndex, demo_engine: Engine
) -> None:
    rng = np.random.default_rng(7)
    x, y = edge_points(demo_index, rng, 800)["vertex"]
    expected = postgis_covers(demo_engine, x, y)
    for i, covering in enumerate(expected):
        found = demo_index.locate_one(float(x[i]), float(y[i]))
        assert found.on_boundary
        assert tuple(demo_index.codes[c] for c in found.candidates) == covering


@pytest.mark.parametrize("cell_m", [120.0, 6.0])
def test_the_index_is_the_same_for_every_cell_size(demo_index: GridIndex, cell_m: float) -> None:
    other = GridIndex.build(demo_index.codes, demo_index.geoms, 1, cell_m=cell_m)
    rng = np.random.default_rng(3)
    b = demo_index.bounds
    samples = {
        "random": (
            rng.uniform(b[:, 0].min(), b[:, 2].max(), 50_000),
            rng.uniform(b[:, 1].min(), b[:, 3].max(), 50_000),
        )
    }
    samples |= edge_points(demo_index, rng, 2_000)
    for name, (x, y) in samples.items():
        grid, boundary = other.locate_many(x, y)
        expected_grid, expected_boundary = demo_index.locate_many(x, y)
        assert np.array_equal(grid, expected_grid), name
        assert np.array_equal(boundary, expected_boundary), name


def test_outside_the_raster_is_outside(demo_index: GridIndex) -> None:
    grid, boundary = demo_index.locate_many(np.array([100.0, 117.35]), np.array([31.9, 10.0]))
    assert grid.tolist() == [OUTSIDE, OUTSIDE] and not boundary.any()


def test_shapely_agrees_off_the_edges(demo_index: GridIndex) -> None:
    rng = np.random.default_rng(11)
    b = demo_index.bounds
    x = rng.uniform(b[:, 0].min(), b[:, 2].max(), 100_000)
    y = rng.uniform(b[:, 1].min(), b[:, 3].max(), 100_000)
    grid, _ = demo_index.locate_many(x, y)
    tree = shapely.STRtree(demo_index.geoms)
    pts, grids = tree.query(shapely.points(x, y), predicate="intersects")
    expected = np.full(len(x), OUTSIDE)
    expected[pts] = grids
    assert np.array_equal(grid, expected)


@pytest.mark.parametrize("index", TINY_AT.values(), ids=["20km", "5km", "1.5km"])
@settings(max_examples=400, deadline=None)
@given(x=coordinate, y=coordinate)
def test_one_point_equals_many_points_on_the_tiny_layer(
    index: GridIndex, x: float, y: float
) -> None:
    grid, boundary = index.locate_many(np.array([x]), np.array([y]))
    one = index.locate_one(x, y)
    assert (one.grid, one.on_boundary) == (int(grid[0]), bool(boundary[0]))


def test_one_point_equals_many_points_on_the_demo(demo_index: GridIndex) -> None:
    rng = np.random.default_rng(12)
    b = demo_index.bounds
    samples = {
        "random": (
            rng.uniform(b[:, 0].min(), b[:, 2].max(), 20_000),
            rng.uniform(b[:, 1].min(), b[:, 3].max(), 20_000),
        )
    }
    samples |= edge_points(demo_index, rng, 2_000)
    for name, (x, y) in samples.items():
        grid, boundary = demo_index.locate_many(x, y)
        one = [demo_index.locate_one(float(a), float(b)) for a, b in zip(x, y, strict=True)]
        assert [o.grid for o in one] == grid.tolist(), name
        assert [o.on_boundary for o in one] == boundary.tolist(), name
