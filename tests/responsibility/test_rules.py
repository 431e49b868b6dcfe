"""The responsibility list: the most specific area wins (pure), the demo routes every category
of the shipped catalogue to a department, and a file loads all or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from geogrid.errors import LoadError
from geogrid.responsibility import (
    Responsibility,
    list_departments,
    list_responsibility,
    load_departments,
    load_responsibility,
    most_specific,
    responsible_department,
)

GRID = "340102006004002"
ROWS = [
    Responsibility("E", "340102", "CG"),
    Responsibility("E04", "340102", "SZ"),
    Responsibility("E0403", "340102", "RQ"),
    Responsibility("E", "340102006", "JD-006"),
    Responsibility("E04", "340102006004", "SQ"),
    Responsibility("E0403", "340102006004002", "WG"),
    Responsibility("C01", "340102001", "JD-001"),
]


@pytest.mark.parametrize(
    ("category", "grid", "expected"),
    [
        ("E0403", GRID, "WG"),  # the grid row beats every other
        ("E0403", "340102006004001", "SQ"),  # community (E04) beats district code (E0403)
        ("E0401", "340102006004001", "SQ"),
        ("E0102", "340102006004001", "JD-006"),  # the street row beats the district's
        ("E0403", "340102001001001", "RQ"),  # same area: the code beats the major class
        ("E0401", "340102001001001", "SZ"),  # ... and the major class the type letter
        ("E0102", "340102001001001", "CG"),
        ("C0101", "340102001001001", "JD-001"),
        ("C0101", "340102003001001", None),  # no row: the grid's street office
        ("C0201", GRID, None),
    ],
)
def test_the_most_specific_area_wins(category: str, grid: str, expected: str | None) -> None:
    found = most_specific(ROWS, category, grid)
    assert (None if found is None else found.department_code) == expected


def test_order_of_rows_does_not_matter() -> None:
    for rows in (ROWS, list(reversed(ROWS))):
        found = most_specific(rows, "E0403", GRID)
        assert found is not None and found.department_code == "WG"


def test_the_demo_routes_every_category_everywhere(demo_engine: Engine) -> None:
    with demo_engine.connect() as conn:
        categories = [c for (c,) in conn.execute(text("SELECT code FROM case_category"))]
        # one grid of every community: every street, town and zone is covered
        grids = [
            g.strip()
            for (g,) in conn.execute(
                text(
                    "SELECT min(code) FROM grid g JOIN grid_geometry gg ON gg.grid_code = g.code "
                    "AND gg.valid_to_release IS NULL GROUP BY community_code"
                )
            )
        ]
        assert len(categories) >= 59 and len(grids) == 66
        missing = [
            (c, g) for c in categories for g in grids if responsible_department(conn, c, g) is None
        ]
        assert missing == []
        gas = responsible_department(conn, "E0403", grids[0])
        assert gas is not None and gas.kind == "燃气"
        # the development zone's own city-management office beats the district's
        zone = next(g for g in grids if g.startswith("340102401"))
        found = responsible_department(conn, "E0102", zone)
        assert found is not None and found.code == "LG-CG"
        found = responsible_department(conn, "E0102", grids[0])
        assert found is not None and found.code == "CG"


@pytest.fixture
def engine(fresh_demo_url: str) -> Engine:
    return create_engine(fresh_demo_url)


def test_a_bad_file_loads_nothing_and_names_every_bad_row(engine: Engine, tmp_path: Path) -> None:
    departments = tmp_path / "departments.csv"
    departments.write_text(
        "部门编码,部门名称,部门类别,联系方式\nNEW,新部门,城管,\nBAD CODE,坏编码,城管,\nX2,类别错,燃汽,\n",
        encoding="utf-8-sig",
    )
    with engine.begin() as conn:
        before = list_departments(conn)
        with pytest.raises(LoadError) as caught:
            load_departments(conn, departments)
    message = str(caught.value)
    assert "line 3" in message and "BAD CODE" in message
    assert "line 4" in message and "燃汽" in message
    assert "line 2" not in message
    rows = tmp_path / "responsibility.csv"
    rows.write_text(
        "案件类别,区域编码,责任部门编码\nE0403,340102,RQ\nE0403,340102,SW\nE99,340102,CG\n"
        "E01,340102999,CG\nE01,340102,NOPE\n",
        encoding="utf-8",
    )
    with engine.begin() as conn:
        listed = list_responsibility(conn)
        with pytest.raises(LoadError) as caught:
            load_responsibility(conn, rows)
    message = str(caught.value)
    for line, word in ((3, "line 2 too"), (4, "E99"), (5, "340102999"), (6, "NOPE")):
        assert f"line {line}:" in message and word in message
    with engine.connect() as conn:
        assert list_departments(conn) == before
        assert list_responsibility(conn) == listed


def test_a_good_file_replaces_the_list(engine: Engine, tmp_path: Path) -> None:
    rows = tmp_path / "responsibility.csv"
    rows.write_text("category,area,department\nE,340102,CG\nE0403,340102006,RQ\n", encoding="utf-8")
    with engine.begin() as conn:
        assert load_responsibility(conn, rows) == 2
    with engine.connect() as conn:
        assert len(list_responsibility(conn)) == 2
        found = responsible_department(conn, "E0403", GRID)
        assert found is not None and found.code == "RQ"
        assert responsible_department(conn, "E0403", "340102001001001").code == "CG"  # type: ignore[union-attr]
        assert responsible_department(conn, "C0101", GRID) is None
        # an inactive department is skipped: the next most specific row answers
        conn.execute(text("UPDATE department SET active = false WHERE code = 'RQ'"))
        found = responsible_department(conn, "E0403", GRID)
        assert found is not None and found.code == "CG"
