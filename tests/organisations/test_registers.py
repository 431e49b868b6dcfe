"""The registers of people and organisations on a real PostGIS: the demo reproduces the
district's figures; a file with an unknown code, a duplicate person or a bad phone is refused
whole, each bad row named, and nothing changes; a reload keeps the old rows, so ``at`` before
it answers who served then."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from geogrid.errors import LoadError
from geogrid.organisations import (
    check_phone,
    grid_organisations,
    load_demo_registers,
    load_register,
    summary,
)
from geogrid.organisations.store import TABLES
from geogrid.settings import DemoSettings

GRID = "340102001001001"
COMMUNITY = GRID[:12]
HEADER = "网格编码,职务,姓名,联系电话\n"
#: The district's figures (issue 17) the demo reproduces (data/organisations.py).
FIGURES = {
    "grids": 596,
    "resident_grids": 520,
    "communities": 66,
    "party_branches": 474,
    "building_party_groups": 2051,
    "party_member_households": 2820,
    "volunteer_teams": 66,
    "volunteer_members": 1300,
    "compounds_with_volunteer_team": 512,
    "law_grid_members": 402,
    "communities_with_law_member": 66,
    "consultation_platforms": 707,
    "resident_grids_with_platform": 520,
    "mobile_grids": 20,
    "mobile_grid_members": 400,
}


@pytest.fixture(scope="module")
def engine(server: Any, demo_template: str) -> Iterator[Engine]:
    url = server.database("organisations", template=demo_template)
    found = create_engine(url)
    with found.begin() as conn:
        # the template holds the demo registers, as `geogrid load demo` leaves them; empty
        # them to watch the demo load fill every one
        conn.execute(text(f"TRUNCATE {', '.join(t for ts in TABLES.values() for t in ts)}"))
        loaded = load_demo_registers(conn, DemoSettings().demo_path.parent)
    assert set(loaded) == {
        "staff",
        "branches",
        "building-groups",
        "households",
        "volunteers",
        "law-members",
        "platforms",
        "mobile-grids",
    }
    yield found
    found.dispose()


def _history(engine: Engine) -> tuple[Any, ...]:
    """Rows and closed rows of every register's tables: a refused load changes neither."""
    tables = (
        "org_grid_staff",
        "org_party_branch",
        "org_building_group",
        "org_party_household",
        "org_volunteer_team",
        "org_volunteer_member",
        "org_law_member",
        "org_platform",
        "org_mobile_member",
    )
    with engine.connect() as conn:
        return tuple(
            conn.execute(text(f"SELECT count(*), count(valid_to) FROM {t}")).one() for t in tables
        )


def test_the_demo_reproduces_the_districts_figures(engine: Engine) -> None:
    with engine.connect() as conn:
        found = summary(conn)
    assert {k: getattr(found, k) for k in FIGURES} == FIGURES
    assert found.grids_without_branch == 596 - 474
    assert found.resident_grids_without_platform == 0
    assert found.communities_without_law_member == 0
    assert found.compounds_without_volunteer_team == found.compounds - 512
    assert found.grid_leaders == 596
    assert found.masked().party_member_households is None


def test_loading_the_demo_again_changes_nothing(engine: Engine) -> None:
    before = _history(engine)
    with engine.begin() as conn:
        assert load_demo_registers(conn, DemoSettings().demo_path.parent) == {}
    assert _history(engine) == before


def test_a_street_and_a_community_count_their_own(engine: Engine) -> None:
    with engine.connect() as conn:
        district = summary(conn)
        streets = [summary(conn, street=s) for s in ("340102001", "340102003")]
        community = summary(conn, street="340102001", community=COMMUNITY)
    assert all(0 < s.party_branches < district.party_branches for s in streets)
    # 20 mobile grids of 20 over 13 streets: the first seven streets have two
    assert [s.mobile_grid_members for s in streets] == [40, 40]
    assert community.grids < streets[0].grids and community.mobile_grids is None
    assert community.communities == 1 and community.communities_with_law_member == 1


@pytest.mark.parametrize(
    ("street", "community", "named"),
    [("340102999", None, "340102999"), (None, "340102003001", None), ("34", None, "34")],
)
def test_an_unknown_area_is_refused_by_name(
    engine: Engine, street: str | None, community: str | None, named: str | None
) -> None:
    from geogrid.errors import InvalidInputError

    with engine.connect() as conn, pytest.raises(InvalidInputError) as refused:
        summary(conn, street=street or "340102001", community=community)
    assert (named or "not in street") in str(refused.value)


def test_who_serves_a_grid(engine: Engine) -> None:
    with engine.connect() as conn:
        found = grid_organisations(conn, GRID)
        leader = conn.execute(
            text("SELECT leader_name FROM grid_people WHERE grid_code = :c"), {"c": GRID}
        ).scalar_one()
    assert found.staff[0].role == "leader" and found.staff[0].person.name == leader
    assert found.branch is not None and found.branch.name.endswith("党支部")
    assert any(p.kind == "co_governance" for p in found.platforms)
    assert any(p.kind == "party_mass_council" for p in found.platforms)
    assert {m.role for m in found.law_members} >= {"police", "mediator"}
    assert found.compound_ids and found.building_groups
    assert all(g.compound_id in found.compound_ids for g in found.building_groups)
    assert found.party_member_households
    masked = found.masked()
    assert masked.party_member_households is None
    assert all(s.person.name and "*" in s.person.name for s in masked.staff)
    assert all("****" in (s.person.phone or "") for s in masked.staff)


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        ("340102001001999,网格长,张三,13812345678\n", "340102001001999"),
        (
            "340102001001001,网格长,张三,13812345678\n340102001001002,兼职网格员,张三,13812345678\n",
            "the same person twice",
        ),
        ("340102001001001,网格长,张三,12812345678\n", '"12812345678"'),
        ("340102001001001,网格长,张三,0551-123\n", '"0551-123"'),
        ("340102001001001,组长,张三,13812345678\n", "role"),
    ],
)
def test_a_bad_row_refuses_the_whole_file_naming_it(
    engine: Engine, tmp_path: Path, rows: str, reason: str
) -> None:
    good = "340102001001003,专职网格员,李四,13912345678\n"
    path = tmp_path / "staff.csv"
    path.write_text(HEADER + good + rows, encoding="utf-8")
    before = _history(engine)
    with engine.begin() as conn, pytest.raises(LoadError) as refused:
        load_register(conn, "staff", path)
    bad_line = 3 if "the same person" not in reason else 4
    assert f"line {bad_line}" in str(refused.value) and reason in str(refused.value)
    assert "line 2" not in str(refused.value)
    assert refused.value.details[0]["line"] == bad_line
    assert _history(engine) == before


def test_every_bad_row_is_named_in_every_register(engine: Engine, tmp_path: Path) -> None:
    cases = {
        "branches": "网格编码,支部名称,书记,书记电话\n340102001001001,甲支部,王五,13800000001\n"
        "340102001001001,乙支部,赵六,13800000002\n",
        "building-groups": "小区编号,楼栋,小组名称,组长,组长电话\n99999,1栋,党小组,王五,13800000001\n",
        "law-members": "身份,单位,姓名,联系电话,服务社区\n法官,法院,王五,13800000001,340102999999\n",
        "platforms": "平台名称,类型,服务网格,召集人,召集人电话\n议事会,党群议事会,340102001001999,,\n",
        "mobile-grids": "流动网格,街道编码,职务,职业,党员,姓名,联系电话\n"
        "骑手网格,340102999,成员,外卖骑手,否,王五,13800000001\n",
        "volunteers": "队伍名称,职务,姓名,联系电话,服务小区\n队,队员,王五,13800000001,1;x\n",
    }
    before = _history(engine)
    for register, content in cases.items():
        path = tmp_path / f"{register}.csv"
        path.write_text(content, encoding="utf-8-sig")
        with engine.begin() as conn, pytest.raises(LoadError) as refused:
            load_register(conn, register, path)
        assert "line 2" in str(refused.value) or "line 3" in str(refused.value), register
    assert _history(engine) == before


def test_a_reload_keeps_who_served_before(server: Any, demo_template: str, tmp_path: Path) -> None:
    engine = create_engine(server.database("orgversions", template=demo_template))
    first, second = tmp_path / "first.csv", tmp_path / "second.xlsx"
    first.write_text(HEADER + f"{GRID},网格长,张三,13812345678\n", encoding="utf-8-sig")
    _xlsx(second, [["grid", "role", "name", "phone"], [GRID, "leader", "李四", "0551-62345678"]])
    with engine.begin() as conn:
        assert load_register(conn, "staff", first) == 1
    time.sleep(0.05)
    with engine.connect() as conn:
        between = conn.execute(text("SELECT now()")).scalar_one()
    assert isinstance(between, datetime)
    time.sleep(0.05)
    with engine.begin() as conn:
        assert load_register(conn, "staff", second) == 1
    with engine.connect() as conn:
        then = grid_organisations(conn, GRID, between)
        now = grid_organisations(conn, GRID)
        before_any = summary(conn, at=datetime(2000, 1, 1, tzinfo=between.tzinfo))
    engine.dispose()
    assert [(s.role, s.person.name, s.person.phone) for s in then.staff] == [
        ("leader", "张三", "13812345678")
    ]
    assert [(s.role, s.person.name, s.person.phone) for s in now.staff] == [
        ("leader", "李四", "0551-62345678")
    ]
    assert before_any.grid_leaders == 0 and before_any.grids == 0


def _xlsx(path: Path, rows: list[list[str]]) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    book.save(path)


@pytest.mark.parametrize("phone", ["13812345678", "19912345678", "0551-62345678", "010-1234567"])
def test_good_phones(phone: str) -> None:
    assert check_phone(phone) == phone


@pytest.mark.parametrize(
    "phone", ["12812345678", "1381234567", "+8613812345678", "62345678", "１３８１２３４５６７８"]
)
def test_bad_phones(phone: str) -> None:
    with pytest.raises(ValueError, match="11-digit mobile"):
        check_phone(phone)


@pytest.mark.parametrize(
    ("register", "content", "line", "reason"),
    [
        (
            "branches",
            "网格编码,支部名称,书记,书记电话\n340102001001001,甲支部,王五,13800000001\n"
            "340102001001001,乙支部,赵六,13800000002\n",
            3,
            "at most one",
        ),
        (
            "volunteers",
            "队伍名称,职务,姓名,联系电话,服务小区\n甲队,队长,王五,13800000001,1\n"
            "甲队,队长,赵六,13800000002,2\n",
            3,
            "a team has one",
        ),
        (
            "mobile-grids",
            "流动网格,街道编码,职务,职业,党员,姓名,联系电话\n"
            "骑手网格,340102001,成员,外卖骑手,否,王五,13800000001\n",
            2,
            "no leader",
        ),
        (
            "mobile-grids",
            "流动网格,街道编码,职务,职业,党员,姓名,联系电话\n"
            "骑手网格,340102001,网格长,外卖骑手,是,王五,13800000001\n"
            "骑手网格,340102003,成员,外卖骑手,否,赵六,13800000002\n",
            3,
            "one street",
        ),
    ],
)
def test_rows_good_alone_but_wrong_together_are_refused(
    engine: Engine, tmp_path: Path, register: str, content: str, line: int, reason: str
) -> None:
    path = tmp_path / f"{register}.csv"
    path.write_text(content, encoding="utf-8")
    before = _history(engine)
    with engine.begin() as conn, pytest.raises(LoadError) as refused:
        load_register(conn, register, path)
    assert f"line {line}: " in str(refused.value) and reason in str(refused.value)
    assert _history(engine) == before


def test_the_compounds_layer_reloads_under_the_registers(engine: Engine) -> None:
    from geogrid.io import loading, read_layer

    before = _history(engine)
    with engine.begin() as conn:
        loading.load_compounds(conn, read_layer(DemoSettings().demo_path, "compounds"))
        found = summary(conn)
    assert found.building_party_groups == FIGURES["building_party_groups"]
    assert found.compounds_with_volunteer_team == FIGURES["compounds_with_volunteer_team"]
    assert _history(engine) == before
