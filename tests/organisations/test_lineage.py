"""Grid staff, party branches and platforms follow the grid lineage when a plan is published,
the plan's preview lists them first, and ``at=`` before the publish still answers the old grid
(real PostGIS, a private copy of the demo with its registers)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, create_engine, text

from geogrid import organisations, plans
from geogrid.api.schemas.plans import PlanPreview
from geogrid.boundaries.releases import current_release
from geogrid.organisations.lineage import stranded
from geogrid.plans.preview import preview
from tests.plans.test_plans import neighbours


@pytest.fixture
def engine(fresh_demo_url: str) -> Iterator[Engine]:
    engine = create_engine(fresh_demo_url)
    yield engine
    engine.dispose()


def _staff(conn: Connection, code: str) -> set[tuple[str, str, str]]:
    return {
        (r.role, r.name, r.phone)
        for r in conn.execute(
            text(
                "SELECT role, name, phone FROM org_grid_staff "
                "WHERE valid_to IS NULL AND grid_code = :c"
            ),
            {"c": code},
        )
    }


def _branch(conn: Connection, code: str) -> str | None:
    found = conn.execute(
        text("SELECT name FROM org_party_branch WHERE valid_to IS NULL AND grid_code = :c"),
        {"c": code},
    ).scalar_one_or_none()
    return None if found is None else str(found)


def _setup(conn: Connection, *codes: str) -> datetime:
    """Give every grid of ``codes`` a branch and a staff member, and add a platform serving
    them all and one untouched grid; returns the moment it was done."""
    for n, code in enumerate(codes):
        if _branch(conn, code) is None:
            conn.execute(
                text(
                    "INSERT INTO org_party_branch (grid_code, name, secretary_name, "
                    "secretary_phone) VALUES (:c, :n, '测试书记', :p)"
                ),
                {"c": code, "n": f"测试支部{n}", "p": f"1390000000{n}"},
            )
        conn.execute(
            text(
                "INSERT INTO org_grid_staff (grid_code, role, name, phone) "
                "VALUES (:c, 'part_time', :n, :p)"
            ),
            {"c": code, "n": f"测试网格员{n}", "p": f"1380000000{n}"},
        )
    conn.execute(
        text(
            "INSERT INTO org_platform (name, kind, grid_codes) "
            "VALUES ('测试议事会', 'party_mass_council', CAST(:g AS char(15)[]))"
        ),
        {"g": [*codes, _other(conn, *codes)]},
    )
    return conn.execute(text("SELECT now()")).scalar_one()  # type: ignore[no-any-return]


def _other(conn: Connection, *codes: str) -> str:
    """A grid of the current release that is none of ``codes`` (a plan leaves it be)."""
    return str(
        conn.execute(
            text(
                "SELECT min(grid_code) FROM grid_geometry_in((SELECT max(id) FROM "
                "boundary_release)) WHERE grid_code <> ALL(CAST(:c AS char(15)[]))"
            ),
            {"c": list(codes)},
        ).scalar_one()
    ).strip()


def _platform(conn: Connection) -> list[str]:
    [codes] = conn.execute(
        text("SELECT grid_codes FROM org_platform WHERE valid_to IS NULL AND name = '测试议事会'")
    ).one()
    return [c.strip() for c in codes]


def _moves(shown: dict[str, Any]) -> set[tuple[str, str, str | None, str | None]]:
    PlanPreview.model_validate(shown)  # the API's response model takes it as it is
    return {(m["register"], m["from"], m["to"], m["flag"]) for m in shown["memberships_moved"]}


def _heir(conn: Connection, source: str, parts: set[str], release: int) -> str:
    """The part holding most of ``source``'s compounds (tie: the larger share of its area),
    worked out in SQL from the published geometries, apart from the code under test."""
    rows = conn.execute(
        text(
            """
            SELECT n.grid_code AS code,
                   (SELECT count(*) FROM compound cp
                     WHERE ST_Covers(o.geom, cp.point) AND ST_Covers(n.geom, cp.point)) AS held,
                   ST_Area(ST_Intersection(o.geom, n.geom)::geography) AS area
              FROM grid_geometry_in(:r) n, grid_geometry_in(:r - 1) o
             WHERE n.grid_code = ANY(:parts) AND o.grid_code = :s
             ORDER BY held DESC, area DESC LIMIT 1
            """
        ),
        {"r": release, "parts": sorted(parts), "s": source},
    )
    return str(rows.scalar_one()).strip()


def test_a_split_grids_people_go_to_the_part_with_most_of_its_compounds(engine: Engine) -> None:
    a, b, _ = neighbours(engine, skip=1)
    with engine.begin() as conn:
        layer = plans.base_layer(conn, current_release(conn).id)  # type: ignore[union-attr]
        before = _setup(conn, a)
        staff, branch = _staff(conn, a), _branch(conn, a)
    geom = layer.grids[a]["geometry"]
    minx, _, maxx, _ = geom.bounds
    y = geom.representative_point().y
    line = {"type": "LineString", "coordinates": [[minx - 0.01, y], [maxx + 0.01, y]]}
    with engine.begin() as conn:
        plan = plans.create_plan(conn, "split a grid", "planner-1")
        plans.add_edit(
            conn, plan.id, {"op": "split", "grid": a, "line": line, "crs": "cgcs2000"}, "planner-1"
        )
        shown = preview(conn, plan.id)
        release = plans.publish_plan(conn, plan.id, "planner-1")
    with engine.connect() as conn:
        parts = {
            r[0].strip()
            for r in conn.execute(
                text(
                    "SELECT grid_code FROM grid_lineage WHERE release_id = :r AND source_code = :a"
                ),
                {"r": release.id, "a": a},
            )
        }
        heir = _heir(conn, a, parts, release.id)
        assert len(parts) >= 2
        # the preview said it first: every staff row and the branch of a go to the heir
        assert _moves(shown) == {
            ("staff", a, heir, None),
            ("branches", a, heir, None),
            ("platforms", a, heir, None),
        }
        assert sum(m["register"] == "staff" for m in shown["memberships_moved"]) == len(staff)
        assert _staff(conn, heir) == staff and _staff(conn, a) == set()
        assert _branch(conn, heir) == branch and _branch(conn, a) is None
        for part in parts - {heir}:
            assert _staff(conn, part) == set() and _branch(conn, part) is None
        assert _platform(conn) == [heir, _other(conn, a, *parts)]
        assert stranded(conn) == []
        # who served a before the publish is still answered, and by the old grid
        then = organisations.grid_organisations(conn, a, at=before)
        assert {(s.role, s.person.name, s.person.phone) for s in then.staff} == staff
        assert then.branch is not None and then.branch.name == branch
        now = organisations.grid_organisations(conn, heir)
        assert {(s.role, s.person.name, s.person.phone) for s in now.staff} == staff
        assert "测试议事会" in {p.name for p in now.platforms}
    # b kept its code: nothing of b moved
    assert not any(m["from"] == b for m in shown["memberships_moved"])


def test_a_merge_takes_the_people_of_both_and_flags_the_second_branch(engine: Engine) -> None:
    a, b, _ = neighbours(engine)
    with engine.begin() as conn:
        _setup(conn, a, b)
        staff = _staff(conn, a) | _staff(conn, b)
        branches = {a: _branch(conn, a), b: _branch(conn, b)}
        plan = plans.create_plan(conn, "merge two grids", "planner-1")
        plans.add_edit(conn, plan.id, {"op": "merge", "grids": [a, b]}, "planner-1")
        shown = preview(conn, plan.id)
        release = plans.publish_plan(conn, plan.id, "planner-1")
        [new] = {
            r[0].strip()
            for r in conn.execute(
                text("SELECT grid_code FROM grid_lineage WHERE release_id = :r"),
                {"r": release.id},
            )
        }
        shares = dict(
            conn.execute(
                text(
                    "SELECT trim(source_code), area_share FROM grid_lineage WHERE release_id = :r"
                ),
                {"r": release.id},
            ).all()
        )
    larger, smaller = sorted((a, b), key=lambda c: -shares[c])
    assert _moves(shown) == {
        ("staff", a, new, None),
        ("staff", b, new, None),
        ("branches", larger, new, None),
        # the merged grid holds the larger part's branch: the other waits for the planner
        ("branches", smaller, None, "grid_has_branch"),
        ("platforms", a, new, None),
        ("platforms", b, new, None),
    }
    with engine.connect() as conn:
        assert _staff(conn, new) == staff
        assert _branch(conn, new) == branches[larger]
        # flagged: left current on its retired code, counted nowhere, listed for an admin
        assert _branch(conn, smaller) == branches[smaller]
        assert [(m.register, m.source, m.name) for m in stranded(conn)] == [
            ("branches", smaller, branches[smaller])
        ]
        # the platform served a, b and another grid: now the merged grid, once, and the other
        assert _platform(conn) == [new, _other(conn, a, b, new)]
