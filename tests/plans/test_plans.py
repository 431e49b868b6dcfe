"""Boundary plans against real PostGIS: edits, rejections, preview, publish, conflicts, roles."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import shapely
from sqlalchemy import Engine, create_engine, text

from geogrid import plans
from geogrid.access import keys
from geogrid.access.roles import Role
from geogrid.boundaries.releases import current_release
from geogrid.boundaries.validation import check_release
from geogrid.errors import ConflictError
from geogrid.geo.datum import to_metric
from geogrid.plans.lifecycle import EditRejectedError
from geogrid.plans.preview import preview
from tests.conftest import start_api
from tests.helpers import count, fingerprint


@pytest.fixture
def engine(fresh_demo_url: str) -> Iterator[Engine]:
    engine = create_engine(fresh_demo_url)
    yield engine
    engine.dispose()


def neighbours(
    engine: Engine, same_community: bool = True, skip: int = 0
) -> tuple[str, str, dict[str, Any]]:
    """Two grids sharing a long edge, and a ~20 m strip of the first along that edge."""
    with engine.connect() as conn:
        layer = plans.base_layer(conn, current_release(conn).id)  # type: ignore[union-attr]
    codes = sorted(layer.grids)
    found = 0
    for i, a in enumerate(codes):
        for b in codes[i + 1 :]:
            ga, gb = layer.grids[a], layer.grids[b]
            if (ga["community_code"] == gb["community_code"]) != same_community:
                continue
            edge = shapely.intersection(ga["geometry"].boundary, gb["geometry"].boundary)
            if to_metric(edge).length < 300:
                continue
            strip = shapely.intersection(ga["geometry"], edge.buffer(0.0002))
            rest = shapely.difference(ga["geometry"], strip)
            if (
                shapely.get_num_geometries(rest) != 1
                or not to_metric(rest).is_valid
                or not to_metric(shapely.union(gb["geometry"], strip)).is_valid
            ):
                continue
            if found == skip:
                return a, b, dict(shapely.geometry.mapping(strip))
            found += 1
    raise AssertionError("no neighbours fit")


def transfer(a: str, b: str, area: dict[str, Any]) -> dict[str, Any]:
    return {
        "op": "transfer",
        "from": a,
        "to": b,
        "area": area,
        "crs": "cgcs2000",
        "comment": "test",
    }


def test_a_transfer_is_previewed_published_and_traced(engine: Engine) -> None:
    a, b, strip = neighbours(engine)
    with engine.begin() as conn:
        plan = plans.create_plan(conn, "move a strip", "planner-1")
        plans.add_edit(conn, plan.id, transfer(a, b, strip), "planner-1")
    with engine.connect() as conn:
        shown = preview(conn, plan.id)
    assert shown["valid"] is True and shown["violations"]["features"] == []
    # a and b change area; a neighbour whose edge the new cut ends on only gains that vertex.
    assert {a, b} <= {g["code"] for g in shown["grids"]}
    for g in shown["grids"]:
        if g["code"] not in (a, b):
            assert g["after"]["area_m2"] == pytest.approx(g["before"]["area_m2"], abs=0.2)
    grid_b = next(g for g in shown["grids"] if g["code"] == b)
    assert grid_b["after"]["area_m2"] > grid_b["before"]["area_m2"] + 1000
    with engine.begin() as conn:
        release = plans.publish_plan(conn, plan.id, "planner-1")
    assert release.id == 2
    with engine.connect() as conn:
        assert check_release(conn, 2) == []
        lineage = conn.execute(
            text(
                "SELECT trim(grid_code), trim(source_code), area_share "
                "FROM grid_lineage WHERE release_id = 2"
            )
        ).all()
        actions = [r.action for r in conn.execute(text("SELECT action FROM audit_log ORDER BY id"))]
    assert {(a, a), (b, b), (b, a)} <= {(g, s) for g, s, _ in lineage}
    assert all(g == s for g, s, _ in lineage if g not in (a, b))
    assert sum(share for g, _, share in lineage if g == b) == pytest.approx(1.0, abs=1e-6)
    assert actions == ["plan.create", "edit.transfer", "plan.publish"]


@pytest.mark.parametrize(
    "case, rule",
    [
        ("other community", "different_community"),
        ("area elsewhere", "empty_transfer"),
        ("bow tie", "invalid_geometry"),
    ],
)
def test_bad_edits_are_refused_and_change_nothing(engine: Engine, case: str, rule: str) -> None:
    a, b, strip = neighbours(engine, same_community=(case != "other community"))
    if case == "area elsewhere":
        strip = dict(shapely.geometry.mapping(shapely.box(117.20, 31.70, 117.21, 31.71)))
    if case == "bow tie":
        x0, y0, x1, y1 = shapely.geometry.shape(strip).bounds
        strip = {
            "type": "Polygon",
            "coordinates": [[[x0, y0], [x1, y1], [x1, y0], [x0, y1], [x0, y0]]],
        }
    with engine.begin() as conn:
        plan = plans.create_plan(conn, "bad", "planner-1")
    before = fingerprint(engine)
    with pytest.raises(EditRejectedError) as caught, engine.begin() as conn:
        plans.add_edit(conn, plan.id, transfer(a, b, strip), "planner-1")
    assert caught.value.details[0].rule == rule
    assert fingerprint(engine) == before
    assert count(engine, "SELECT count(*) FROM plan_edit") == 0


def test_a_merge_makes_a_new_code_and_lineage(engine: Engine) -> None:
    a, b, _ = neighbours(engine)
    with engine.begin() as conn:
        plan = plans.create_plan(conn, "merge two thin grids", "planner-1")
        plans.add_edit(conn, plan.id, {"op": "merge", "grids": [a, b]}, "planner-1")
        release = plans.publish_plan(conn, plan.id, "planner-1")
    community = a[:12]
    with engine.connect() as conn:
        top = conn.execute(
            text("SELECT max(right(code, 3)::int) FROM grid WHERE community_code = :c"),
            {"c": community},
        ).scalar_one()
        new = f"{community}{top:03d}"
        lineage = dict(
            conn.execute(
                text(
                    "SELECT trim(source_code), area_share FROM grid_lineage WHERE release_id = :r "
                    "AND grid_code = :g"
                ),
                {"r": release.id, "g": new},
            ).all()
        )
        current = {
            r[0].strip()
            for r in conn.execute(
                text("SELECT grid_code FROM grid_geometry WHERE valid_to_release IS NULL")
            )
        }
        assert check_release(conn, release.id) == []
    assert set(lineage) == {a, b} and sum(lineage.values()) == pytest.approx(1.0, abs=1e-6)
    assert new in current and a not in current and b not in current


def test_conflicting_plans_one_wins_the_other_gets_409(engine: Engine) -> None:
    a, b, strip = neighbours(engine)
    with engine.begin() as conn:
        first = plans.create_plan(conn, "first", "planner-1")
        second = plans.create_plan(conn, "second", "planner-2")
        plans.add_edit(conn, first.id, transfer(a, b, strip), "planner-1")
        plans.add_edit(conn, second.id, {"op": "merge", "grids": [a, b]}, "planner-2")
        plans.publish_plan(conn, first.id, "planner-1")
    before = fingerprint(engine)
    with pytest.raises(ConflictError) as caught, engine.begin() as conn:
        plans.publish_plan(conn, second.id, "planner-2")
    assert caught.value.details["changed"] == sorted({a, b})
    assert fingerprint(engine) == before


def test_a_plan_on_other_grids_is_rebased(engine: Engine) -> None:
    a, b, strip = neighbours(engine)
    c, d, other = neighbours(engine, skip=40)
    assert not {a, b} & {c, d}
    with engine.begin() as conn:
        first = plans.create_plan(conn, "first", "planner-1")
        second = plans.create_plan(conn, "second", "planner-2")
        plans.add_edit(conn, first.id, transfer(a, b, strip), "planner-1")
        plans.add_edit(conn, second.id, transfer(c, d, other), "planner-2")
        assert plans.publish_plan(conn, first.id, "planner-1").id == 2
        assert plans.publish_plan(conn, second.id, "planner-2").id == 3
        assert check_release(conn, 3) == []


def test_undo_and_reassign(engine: Engine) -> None:
    a, b, strip = neighbours(engine)
    with engine.begin() as conn:
        plan = plans.create_plan(conn, "people", "planner-1")
        first = plans.add_edit(conn, plan.id, transfer(a, b, strip), "planner-1")
        plans.add_edit(
            conn,
            plan.id,
            {"op": "reassign", "grid": a, "leader": {"name": "王新", "phone": "13900000000"}},
            "planner-1",
        )
        plans.undo_edit(conn, plan.id, first, "planner-1")
        assert [e.op for e in plans.get_plan(conn, plan.id).edits] == ["reassign"]
        before = conn.execute(text("SELECT now()")).scalar_one()
        old = conn.execute(
            text("SELECT leader_name FROM grid_people WHERE grid_code = :g"), {"g": a}
        ).scalar_one()
    with engine.begin() as conn:
        release = plans.publish_plan(conn, plan.id, "planner-1")
    assert release.id == 1  # people changed, geometry did not: no new release
    assert (
        count(
            engine,
            f"SELECT count(*) FROM grid_people WHERE grid_code = '{a}' AND leader_name = '王新'",
        )
        == 1
    )
    # the register keeps who served before: the plan's reassign closed the old leader's row
    with engine.connect() as conn:
        then = conn.execute(
            text("SELECT leader_name FROM grid_people_at(:t) WHERE grid_code = :g"),
            {"t": before, "g": a},
        ).scalar_one()
    assert then == old and old != "王新"


def test_plan_routes_need_the_planner_role(fresh_demo_url: str, engine: Engine) -> None:
    process, base = start_api(fresh_demo_url)
    try:
        tokens = {}
        with engine.begin() as conn:
            for role in (Role.viewer, Role.dispatcher, Role.planner):
                tokens[role] = keys.create_key(conn, f"plans-{role.name}", role)[1]
        assert httpx.post(f"{base}/v1/plans", json={"comment": "x"}).status_code == 401
        for role in (Role.viewer, Role.dispatcher):
            headers = {"Authorization": f"Bearer {tokens[role]}"}
            for method, path in (
                ("post", "/v1/plans"),
                ("get", "/v1/plans"),
                ("get", "/v1/plans/1/preview"),
                ("post", "/v1/plans/1/publish"),
                ("delete", "/v1/plans/1"),
            ):
                answer = httpx.request(
                    method,
                    f"{base}{path}",
                    headers=headers,
                    json={"comment": "x"} if method == "post" else None,
                )
                assert answer.status_code == 403, (role, path)
        planner = {"Authorization": f"Bearer {tokens[Role.planner]}"}
        created = httpx.post(f"{base}/v1/plans", json={"comment": "via http"}, headers=planner)
        assert created.status_code == 201 and created.json()["base_release"] == 1
        plan_id = created.json()["id"]
        a, b, strip = neighbours(engine)
        edit = httpx.post(
            f"{base}/v1/plans/{plan_id}/edits", json=transfer(a, b, strip), headers=planner
        )
        assert edit.status_code == 201 and "edit_id" in edit.json()
        bad = httpx.post(
            f"{base}/v1/plans/{plan_id}/edits",
            headers=planner,
            json={"op": "transfer", "from": a, "to": a, "area": strip},
        )
        assert bad.status_code == 422
        published = httpx.post(f"{base}/v1/plans/{plan_id}/publish", headers=planner)
        assert published.status_code == 200 and published.json() == {"release": 2}
        point = shapely.geometry.shape(strip).representative_point()
        located = httpx.get(
            f"{base}/v1/locate", params={"lon": point.x, "lat": point.y, "crs": "cgcs2000"}
        ).json()
        assert located["release"] == 2 and located["grid"]["code"] == b
        again = httpx.post(f"{base}/v1/plans/{plan_id}/publish", headers=planner)
        assert again.status_code == 409
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_split_then_revert_the_whole_layer(engine: Engine) -> None:
    with engine.connect() as conn:
        layer = plans.base_layer(conn, 1)
    code = max(layer.grids, key=lambda c: to_metric(layer.grids[c]["geometry"]).area)
    geom = layer.grids[code]["geometry"]
    minx, _, maxx, _ = geom.bounds
    y = geom.representative_point().y
    line = {"type": "LineString", "coordinates": [[minx - 0.01, y], [maxx + 0.01, y]]}
    with engine.begin() as conn:
        plan = plans.create_plan(conn, "split the largest grid", "planner-1")
        plans.add_edit(
            conn,
            plan.id,
            {"op": "split", "grid": code, "line": line, "crs": "cgcs2000"},
            "planner-1",
        )
        split = plans.publish_plan(conn, plan.id, "planner-1")
        assert check_release(conn, split.id) == []
        parts = conn.execute(
            text(
                "SELECT trim(grid_code), area_share FROM grid_lineage "
                "WHERE release_id = :r AND source_code = :c"
            ),
            {"r": split.id, "c": code},
        ).all()
        new = [(g, share) for g, share in parts if g not in layer.grids]
        assert len(new) >= 2 and all(g[:12] == code[:12] for g, _ in new)
        assert all(
            g == s
            for g, s in conn.execute(
                text(
                    "SELECT trim(grid_code), trim(source_code) FROM grid_lineage WHERE release_id = :r "
                    "AND grid_code <> ALL(:new)"
                ),
                {"r": split.id, "new": [g for g, _ in new]},
            )
        )
        undo = plans.create_plan(conn, "back to release 1", "planner-1")
        plans.add_edit(conn, undo.id, {"op": "revert", "release": 1}, "planner-1")
        reverted = plans.publish_plan(conn, undo.id, "planner-1")
        assert reverted.id == split.id + 1
        assert check_release(conn, reverted.id) == []
        again = plans.base_layer(conn, reverted.id)
    assert sorted(again.grids) == sorted(layer.grids)
    assert all(
        shapely.equals_exact(again.grids[c]["geometry"], layer.grids[c]["geometry"], 0)
        for c in layer.grids
    )


def test_a_line_that_misses_the_grid_is_refused(engine: Engine) -> None:
    a, _, _ = neighbours(engine)
    line = {"type": "LineString", "coordinates": [[117.20, 31.70], [117.21, 31.71]]}
    with engine.begin() as conn:
        plan = plans.create_plan(conn, "x", "planner-1")
    with pytest.raises(EditRejectedError, match="does not cut"), engine.begin() as conn:
        plans.add_edit(conn, plan.id, {"op": "split", "grid": a, "line": line}, "planner-1")


@pytest.mark.parametrize(
    ("margin", "end_inside", "accepted"),
    [
        (0.0002, False, True),  # ~20 m past the grid on each side: cuts it across
        (0.0002, True, False),  # one end inside the grid: does not cut it across
    ],
)
def test_a_split_line_only_has_to_cross_the_grid(
    engine: Engine, margin: float, end_inside: bool, accepted: bool
) -> None:
    with engine.connect() as conn:
        layer = plans.base_layer(conn, 1)
    code = max(layer.grids, key=lambda c: to_metric(layer.grids[c]["geometry"]).area)
    geom = layer.grids[code]["geometry"]
    minx, _, maxx, _ = geom.bounds
    inside = geom.representative_point()
    end = inside.x if end_inside else maxx + margin
    line = {"type": "LineString", "coordinates": [[minx - margin, inside.y], [end, inside.y]]}
    with engine.begin() as conn:
        plan = plans.create_plan(conn, "split", "planner-1")
    edit = {"op": "split", "grid": code, "line": line, "crs": "cgcs2000"}
    if not accepted:
        with pytest.raises(EditRejectedError, match="does not cut"), engine.begin() as conn:
            plans.add_edit(conn, plan.id, edit, "planner-1")
        return
    with engine.begin() as conn:
        plans.add_edit(conn, plan.id, edit, "planner-1")
        release = plans.publish_plan(conn, plan.id, "planner-1")
        assert check_release(conn, release.id) == []
