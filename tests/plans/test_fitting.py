"""The precision pipeline: geometry cut from geogrid's own answers is accepted where the
exact geometry would be, in every coordinate system answers are given in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine

from geogrid import plans
from geogrid.boundaries.releases import current_release
from geogrid.geo.datum import geometry_from_storage, geometry_to_storage, to_metric
from geogrid.geo.output import output_geometries
from geogrid.plans.fitting import SNAP_TOLERANCE_DEGREES, fit

pytestmark = pytest.mark.unit


def test_an_exact_geometry_passes_through_as_the_same_object() -> None:
    grid = shapely.box(117.0, 31.0, 117.01, 31.01)
    inside = shapely.box(117.002, 31.0, 117.004, 31.005)  # on the bottom edge exactly
    assert fit(inside, grid.boundary) is inside
    assert fit(inside, None) is inside


def test_a_vertex_near_an_edge_but_no_vertex_goes_onto_the_edge() -> None:
    grid = shapely.box(117.0, 31.0, 117.01, 31.01)
    off = SNAP_TOLERANCE_DEGREES / 3
    cut = shapely.Polygon([(117.002, 31.0 - off), (117.004, 31.0 + off), (117.003, 31.004)])
    fitted = fit(cut, grid.boundary)
    ys = sorted(y for _, y in fitted.exterior.coords)
    assert ys[:3] == [31.0, 31.0, 31.0]  # both ends of the cut edge are on y = 31, exactly


def test_a_vertex_beyond_reach_stays_where_it_was() -> None:
    grid = shapely.box(117.0, 31.0, 117.01, 31.01)
    far = 3 * SNAP_TOLERANCE_DEGREES
    cut = shapely.Polygon([(117.002, 31.0 + far), (117.004, 31.0 + far), (117.003, 31.004)])
    assert shapely.equals_exact(fit(cut, grid.boundary), cut, 0.0)


# ---- against the demo: a half-disc at the middle of a shared edge ---------------------------


@pytest.fixture(scope="module")
def edges(demo_engine: Engine) -> list[tuple[str, str, Any]]:
    """Grids of one community sharing an edge of 100 m or more, with that edge (up to 40)."""
    with demo_engine.connect() as conn:
        layer = plans.base_layer(conn, current_release(conn).id)  # type: ignore[union-attr]
    found = []
    codes = sorted(layer.grids)
    for i, a in enumerate(codes):
        for b in codes[i + 1 :]:
            ga, gb = layer.grids[a], layer.grids[b]
            if ga["community_code"] != gb["community_code"]:
                continue
            if not ga["geometry"].intersects(gb["geometry"]):
                continue
            edge = shapely.line_merge(shapely.intersection(ga["geometry"], gb["geometry"]))
            if edge.geom_type == "LineString" and to_metric(edge).length >= 100:
                found.append((a, b, edge))
        if len(found) >= 40:
            break
    return found


@pytest.fixture(scope="module")
def pairs(demo_engine: Engine) -> list[tuple[str, str, Any]]:
    """Grids of one community sharing an edge of 100 m or more, with the middle of the edge."""
    with demo_engine.connect() as conn:
        layer = plans.base_layer(conn, current_release(conn).id)  # type: ignore[union-attr]
    found = []
    for a in sorted(layer.grids):
        for b in sorted(layer.grids):
            ga, gb = layer.grids[a], layer.grids[b]
            if a >= b or ga["community_code"] != gb["community_code"]:
                continue
            if not ga["geometry"].intersects(gb["geometry"]):
                continue
            edge = shapely.line_merge(shapely.intersection(ga["geometry"], gb["geometry"]))
            if edge.geom_type == "LineString" and to_metric(edge).length >= 100:
                found.append((a, b, edge.interpolate(0.5, normalized=True)))
                break
        if len(found) == 6:
            break
    return found


@pytest.fixture
def conn(demo_engine: Engine) -> Iterator[Connection]:
    """A connection whose plans and edits are rolled back at the end."""
    with demo_engine.connect() as conn:
        outer = conn.begin()
        yield conn
        outer.rollback()


def _half_disc(grid: Any, middle: Any) -> Any:
    """A 10 m half-disc of ``grid`` (as given) at ``middle`` of one of its edges."""
    return shapely.intersection(grid, middle.buffer(10 / 111_320, 32))


def _transfer(conn: Connection, a: str, b: str, area: Any, crs: str) -> dict[str, Any]:
    plan = plans.create_plan(conn, "half-disc", "tester")
    plans.add_edit(
        conn,
        plan.id,
        {"op": "transfer", "from": a, "to": b, "area": shapely.geometry.mapping(area), "crs": crs},
        "tester",
    )
    layer = plans.build_layer(conn, plans.get_plan(conn, plan.id))
    return {c: layer.grids[c]["geometry"] for c in (a, b)}


@pytest.mark.parametrize("crs", ["cgcs2000", "wgs84", "gcj02", "bd09"])
def test_a_half_disc_cut_from_the_answer_is_accepted_like_the_exact_one(
    conn: Connection, pairs: list[tuple[str, str, Any]], crs: str
) -> None:
    assert len(pairs) == 6
    layer = plans.base_layer(conn, current_release(conn).id)  # type: ignore[union-attr]
    for a, b, middle in pairs:
        stored = layer.grids[a]["geometry"]
        # What a client holds: the grid as GET /v1/grids answers it (7 decimals, in crs),
        # and the middle of the edge as it sees it.
        [shown] = output_geometries([stored], crs)
        [shown_middle] = output_geometries([middle], crs)
        # The same half-disc drawn in crs on the unrounded grid: what "the same exact area" is.
        unrounded, unrounded_middle = geometry_from_storage(np.array([stored, middle]), crs)
        with conn.begin_nested() as exact_savepoint:
            exact = _transfer(conn, a, b, _half_disc(unrounded, unrounded_middle), crs)
            exact_savepoint.rollback()
        with conn.begin_nested() as cut_savepoint:
            cut = _transfer(conn, a, b, _half_disc(shown, shown_middle), crs)
            cut_savepoint.rollback()
        for code in (a, b):
            assert shapely.get_num_geometries(cut[code]) == 1
            # the same grids as the exact cut gives, but for where the client's half-disc
            # lies: its centre was rounded (up to ~0.7 cm), moving its 31 m arc with it
            difference = shapely.symmetric_difference(exact[code], cut[code])
            assert to_metric(difference).area < 31.4 * 0.01, (a, b, crs)
        # the new edge between a and b is shared vertex for vertex
        shared = shapely.intersection(cut[a], cut[b])
        assert to_metric(shared).length > 10


def test_the_issue_example_is_accepted(conn: Connection) -> None:
    """Grid 340102001001001's 10 m half-disc at its edge with 340102001001007, as answered."""
    layer = plans.base_layer(conn, current_release(conn).id)  # type: ignore[union-attr]
    a, b = "340102001001001", "340102001001007"
    [shown] = output_geometries([layer.grids[a]["geometry"]], "wgs84")
    [shown_b] = output_geometries([layer.grids[b]["geometry"]], "wgs84")
    edge = shapely.line_merge(shapely.intersection(shown.boundary, shown_b.boundary))
    middle = edge.interpolate(0.5, normalized=True)
    grids = _transfer(conn, a, b, _half_disc(shown, middle), "wgs84")
    area = to_metric(grids[b]).area - to_metric(layer.grids[b]["geometry"]).area
    assert 100 < area < 160  # half of a 10 m disc, 157 m², less what the edge's bends take
    assert geometry_to_storage(shown, "wgs84").is_valid


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    which=st.integers(0, 39),
    where=st.floats(0.2, 0.8),
    radius_m=st.floats(3.0, 30.0),
    crs=st.sampled_from(["wgs84", "gcj02", "bd09"]),
)
def test_any_cut_from_the_answer_is_accepted_where_the_exact_one_is(
    conn: Connection,
    edges: list[tuple[str, str, Any]],
    which: int,
    where: float,
    radius_m: float,
    crs: str,
) -> None:
    """A half-disc anywhere along a shared edge, of any radius, in any datum: if the exact one
    (drawn in that datum on the unrounded grid) is accepted, the one cut from the answer is."""
    a, b, edge = edges[which % len(edges)]
    layer = plans.base_layer(conn, current_release(conn).id)  # type: ignore[union-attr]
    stored = layer.grids[a]["geometry"]
    middle = edge.interpolate(where, normalized=True)
    radius = radius_m / 111_320
    unrounded, unrounded_middle = geometry_from_storage(np.array([stored, middle]), crs)
    [shown] = output_geometries([stored], crs)
    [shown_middle] = output_geometries([middle], crs)
    exact_area = shapely.intersection(unrounded, unrounded_middle.buffer(radius, 32))
    cut_area = shapely.intersection(shown, shown_middle.buffer(radius, 32))
    outcomes = []
    for area in (exact_area, cut_area):
        with conn.begin_nested() as savepoint:
            try:
                _transfer(conn, a, b, area, crs)
                outcomes.append("accepted")
            except plans.EditRejectedError as refused:
                outcomes.append(refused.message)
            savepoint.rollback()
    assert outcomes[0] != "accepted" or outcomes[1] == "accepted", outcomes
