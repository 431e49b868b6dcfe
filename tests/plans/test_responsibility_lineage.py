"""Responsibility rows of grids follow the grid lineage when a plan is published, and the
plan's preview lists them first (real PostGIS, the demo's grids)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, create_engine, text

from geogrid import plans
from geogrid.boundaries.releases import current_release
from geogrid.geo.datum import to_metric
from geogrid.plans.preview import preview
from tests.plans.test_plans import neighbours


@pytest.fixture
def engine(fresh_demo_url: str) -> Iterator[Engine]:
    engine = create_engine(fresh_demo_url)
    yield engine
    engine.dispose()


def _rows(conn: Connection, *codes: str) -> set[tuple[str, str, str]]:
    return {
        (r.category, r.area_code, r.department_code)
        for r in conn.execute(
            text(
                "SELECT category, area_code, department_code FROM responsibility "
                "WHERE area_code = ANY(:codes)"
            ),
            {"codes": list(codes)},
        )
    }


def _add(conn: Connection, *rows: tuple[str, str, str]) -> None:
    conn.execute(
        text(
            "INSERT INTO responsibility (category, area_code, department_code) VALUES (:c, :a, :d)"
        ),
        [{"c": c, "a": a, "d": d} for c, a, d in rows],
    )


def test_a_merged_grid_takes_the_rows_of_both_the_larger_winning(engine: Engine) -> None:
    a, b, _ = neighbours(engine)
    with engine.begin() as conn:
        layer = plans.base_layer(conn, current_release(conn).id)  # type: ignore[union-attr]
        area = {c: to_metric(layer.grids[c]["geometry"]).area for c in (a, b)}
        big, small = sorted((a, b), key=lambda c: -area[c])
        # both name a department for 暴露垃圾 (E0102): the larger grid's wins; the smaller
        # alone names one for 公用设施 (C01): it comes along
        _add(conn, ("E0102", big, "SZ"), ("E0102", small, "SW"), ("C01", small, "GD"))
        plan = plans.create_plan(conn, "merge two grids", "planner-1")
        plans.add_edit(conn, plan.id, {"op": "merge", "grids": [a, b]}, "planner-1")
        shown = preview(conn, plan.id)["responsibility_moved"]
        release = plans.publish_plan(conn, plan.id, "planner-1")
        [new] = [
            r[0].strip()
            for r in conn.execute(
                text("SELECT DISTINCT grid_code FROM grid_lineage WHERE release_id = :r"),
                {"r": release.id},
            )
        ]
        after = _rows(conn, a, b, new)
    moved = {(m["category"], m["department"], m["from"], m["to"]) for m in shown}
    assert moved == {
        ("E0102", "SZ", big, new),
        ("C01", "GD", small, new),
        ("E0102", "SW", small, None),  # dropped: the larger grid's row answers there now
    }
    assert after == {("E0102", new, "SZ"), ("C01", new, "GD")}


def test_a_split_grid_gives_its_rows_to_every_part_and_a_transfer_moves_none(
    engine: Engine,
) -> None:
    a, b, strip = neighbours(engine, skip=1)
    with engine.connect() as conn:
        layer = plans.base_layer(conn, current_release(conn).id)  # type: ignore[union-attr]
    geom = layer.grids[a]["geometry"]
    minx, _, maxx, _ = geom.bounds
    y = geom.representative_point().y
    line = {"type": "LineString", "coordinates": [[minx - 0.01, y], [maxx + 0.01, y]]}
    with engine.begin() as conn:
        _add(conn, ("E04", a, "RQ"), ("E0201", b, "CG"))
        plan = plans.create_plan(conn, "transfer then split", "planner-1")
        # a strip of a goes to b: both keep their codes, so no row moves
        plans.add_edit(
            conn,
            plan.id,
            {"op": "transfer", "from": a, "to": b, "area": strip, "crs": "cgcs2000"},
            "planner-1",
        )
        assert preview(conn, plan.id)["responsibility_moved"] == []
        plans.add_edit(
            conn, plan.id, {"op": "split", "grid": a, "line": line, "crs": "cgcs2000"}, "planner-1"
        )
        shown = preview(conn, plan.id)["responsibility_moved"]
        plans.publish_plan(conn, plan.id, "planner-1")
        parts = {m["to"] for m in shown}
        after = _rows(conn, a, b, *parts)
    assert {(m["category"], m["department"], m["from"]) for m in shown} == {("E04", "RQ", a)}
    assert len(parts) >= 2 and a not in parts and None not in parts
    assert after == {("E04", p, "RQ") for p in parts} | {("E0201", b, "CG")}
