"""The departments and responsibility-list admin pages over real HTTP: add, edit, deactivate,
rows added and deleted, the "who answers?" check, bad files that change nothing, 403 for a
dispatcher and CSRF required.

Reuses the admin pages' server (a private copy of the demo) and helpers.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from geogrid.access.roles import Role
from tests.browser import launched_chromium
from tests.conftest import ARTIFACTS
from tests.console import test_admin_pages as admin
from tests.console.test_admin_pages import Site, audit_of, csrf_of, post

#: The admin pages' fixtures: a server on a private copy of the demo, and its admin.
site = admin.site
boss = admin.boss


def _one(site: Site, sql: str, **params: object) -> object:
    engine = create_engine(site.database_url)
    with engine.connect() as conn:
        value = conn.execute(text(sql), params).scalar()
    engine.dispose()
    return value


def test_an_admin_adds_edits_and_deactivates_a_department(site: Site, boss: httpx.Client) -> None:
    page = boss.get("/console/admin/departments")
    assert page.status_code == 200
    assert "职能部门" in page.text and "未结案件" in page.text
    code = f"T{secrets.token_hex(3)}"
    added = post(boss, "/console/admin/departments", code=code, name="测试园林所", kind="园林")
    assert added.status_code == 303, added.text
    shown = boss.get(added.headers["location"])
    assert "已保存部门" in shown.text and 'value="测试园林所"' in shown.text

    again = post(boss, "/console/admin/departments", code=code, name="别的", kind="园林")
    assert again.status_code == 409 and "已存在" in again.text
    bad = post(boss, "/console/admin/departments", code="x y", name="坏", kind="园林")
    assert bad.status_code == 422 and 'role="alert"' in bad.text

    edited = post(
        boss, f"/console/admin/departments/{code}", name="测试市政所", kind="市政", contact="110"
    )
    assert edited.status_code == 303
    row = _one(site, "SELECT name || kind || contact FROM department WHERE code = :c", c=code)
    assert row == "测试市政所市政110"

    off = post(boss, f"/console/admin/departments/{code}/active", active="0")
    assert off.status_code == 303
    assert _one(site, "SELECT active FROM department WHERE code = :c", c=code) is False
    on = post(boss, f"/console/admin/departments/{code}/active", active="1")
    assert on.status_code == 303
    assert _one(site, "SELECT active FROM department WHERE code = :c", c=code) is True
    log = audit_of(boss, "")
    assert "停用部门" in log and "启用部门" in log and "保存部门" in log
    assert f"部门：{code}" in log and "名称：测试市政所" in log


def test_a_department_holding_open_cases_is_not_deactivated(site: Site, boss: httpx.Client) -> None:
    code = f"B{secrets.token_hex(3)}"
    made = post(boss, "/console/admin/departments", code=code, name="忙碌所", kind="城管")
    assert made.status_code == 303
    lon = _one(site, "SELECT ST_X(point) FROM compound ORDER BY id LIMIT 1")
    lat = _one(site, "SELECT ST_Y(point) FROM compound ORDER BY id LIMIT 1")
    case = boss.post(
        "/v1/cases",
        json={
            "category": "E0102",
            "description": "部门停用测试",
            "lon": lon,
            "lat": lat,
            "crs": "cgcs2000",
        },
        headers={"X-CSRF-Token": csrf_of(boss)},
    )
    assert case.status_code == 201, case.text
    engine = create_engine(site.database_url)
    with engine.begin() as conn:  # as if the responsibility list had sent it there
        conn.execute(
            text("UPDATE civic_case SET department_code = :c WHERE id = :id"),
            {"c": code, "id": case.json()["id"]},
        )
    engine.dispose()
    busy = code
    refused = post(boss, f"/console/admin/departments/{busy}/active", active="0")
    assert refused.status_code == 409
    assert "未结案件" in refused.text and "改派" in refused.text
    assert _one(site, "SELECT active FROM department WHERE code = :c", c=busy) is True


def test_an_admin_adds_and_deletes_a_row_and_the_check_answers(
    site: Site, boss: httpx.Client
) -> None:
    grid = str(_one(site, "SELECT code FROM grid ORDER BY code LIMIT 1"))
    category = str(_one(site, "SELECT code FROM case_category WHERE active ORDER BY code LIMIT 1"))
    code = f"R{secrets.token_hex(3)}"
    assert (
        post(
            boss, "/console/admin/departments", code=code, name="网格责任所", kind="其他"
        ).status_code
        == 303
    )
    saved = post(
        boss, "/console/admin/responsibility", category=category, area=grid, department=code
    )
    assert saved.status_code == 303, saved.text
    listed = boss.get("/console/admin/responsibility", params={"department": code})
    assert listed.status_code == 200
    assert grid in listed.text and "网格" in listed.text and "网格责任所" in listed.text

    check = boss.get(
        "/console/admin/responsibility",
        params={"check_category": category.lower(), "check_grid": grid},
    )
    assert "网格责任所" in check.text and f"{category} × {grid}" in check.text

    bad = post(boss, "/console/admin/responsibility", category="Z99", area=grid, department=code)
    assert bad.status_code == 422 and 'role="alert"' in bad.text

    gone = post(boss, "/console/admin/responsibility/delete", category=category, area=grid)
    assert gone.status_code == 303
    assert (
        _one(
            site,
            "SELECT count(*) FROM responsibility WHERE category = :c AND area_code = :a",
            c=category,
            a=grid,
        )
        == 0
    )
    missing = post(boss, "/console/admin/responsibility/delete", category=category, area=grid)
    assert missing.status_code == 404
    check = boss.get(
        "/console/admin/responsibility", params={"check_category": category, "check_grid": grid}
    )
    assert "网格责任所" not in check.text.split('id="resolve-answer"')[1].split("</p>")[0]
    nogrid = boss.get(
        "/console/admin/responsibility", params={"check_category": category, "check_grid": "1"}
    )
    assert nogrid.status_code == 200 and "不是本区的网格代码" in nogrid.text


def test_a_bad_file_changes_nothing_and_names_its_rows(site: Site, boss: httpx.Client) -> None:
    before = _one(site, "SELECT count(*) FROM responsibility")
    grid = str(_one(site, "SELECT code FROM grid ORDER BY code LIMIT 1"))
    csv = f"category,area,department\nE,{grid},NOPE\nZ1,{grid},NOPE\n".encode()
    token = csrf_of(boss)
    answer = boss.post(
        "/console/admin/responsibility-file",
        data={"csrf_token": token},
        files={"file": ("list.csv", csv, "text/csv")},
    )
    assert answer.status_code == 422
    assert "第 2 行" in answer.text and "第 3 行" in answer.text
    assert _one(site, "SELECT count(*) FROM responsibility") == before

    departments = "code,name,kind\nOKX1,好,其他\nbad code,x,其他\n".encode()
    answer = boss.post(
        "/console/admin/departments-file",
        data={"csrf_token": token},
        files={"file": ("deps.csv", departments, "text/csv")},
    )
    assert answer.status_code == 422 and "第 3 行" in answer.text
    assert _one(site, "SELECT count(*) FROM department WHERE code = 'OKX1'") == 0

    good = boss.post(
        "/console/admin/departments-file",
        data={"csrf_token": token},
        files={"file": ("deps.csv", departments.split(b"bad code")[0], "text/csv")},
    )
    assert good.status_code == 303
    assert _one(site, "SELECT name FROM department WHERE code = 'OKX1'") == "好"


def test_a_dispatcher_gets_403_and_csrf_is_required(site: Site, boss: httpx.Client) -> None:
    desk = site.sign_in(site.add_user(Role.dispatcher), "first-pass-123")
    for path in ("/console/admin/departments", "/console/admin/responsibility"):
        assert desk.get(path).status_code == 403, path
        assert "职能部门" not in desk.get("/console/cases").text
    token = csrf_of(desk)
    answer = desk.post(
        "/console/admin/departments", data={"csrf_token": token, "code": "D1", "name": "x"}
    )
    assert answer.status_code == 403
    no_token = boss.post(
        "/console/admin/departments", data={"code": "NOCSRF", "name": "无", "kind": "其他"}
    )
    assert no_token.status_code == 403
    forged = boss.post(
        "/console/admin/responsibility/delete",
        data={"csrf_token": "0" * 64, "category": "E", "area": "340102"},
    )
    assert forged.status_code == 403
    assert _one(site, "SELECT count(*) FROM department WHERE code = 'NOCSRF'") == 0
    desk.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    yield from launched_chromium()


def test_both_pages_fit_a_1366_by_768_desk(site: Site, chromium: Any) -> None:
    context = chromium.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{site.base}/console/admin/departments")
    page.get_by_label("用户名").fill(admin.BOSS)
    page.get_by_label("密码").fill(admin.BOSS_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    for path in ("/console/admin/departments", "/console/admin/responsibility"):
        page.goto(f"{site.base}{path}")
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= 1366, (path, wide)
        assert page.get_by_label("CSV 或 XLSX 文件").count() == 1
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"console-admin-{path.rsplit('/', 1)[1]}.png"))
    context.close()
