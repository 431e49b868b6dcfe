"""Admins edit the registers of people and organisations over real HTTP (issue 17): the
console page counts each register, a register's download (CSV or XLSX, Chinese headers) loads
back as the same register, a bad file changes nothing and names its rows, the API does the
same with an admin's key, and nobody else may.

Reuses the admin pages' server (a private copy of the demo, with its registers) and helpers.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import create_engine

from geogrid.access import keys
from geogrid.access.roles import Role
from geogrid.organisations import register_table
from tests.console import test_admin_pages as admin
from tests.console.test_admin_pages import Site, audit_of, csrf_of

#: The admin pages' fixtures: a server on a private copy of the demo, and its admin.
site = admin.site
boss = admin.boss


def _table(site: Site, register: str) -> tuple[list[str], list[list[str]]]:
    engine = create_engine(site.database_url)
    with engine.connect() as conn:
        found = register_table(conn, register)
    engine.dispose()
    return found


def _rows_ever(site: Site, table: str) -> int:
    engine = create_engine(site.database_url)
    with engine.connect() as conn:
        found = int(conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one())
    engine.dispose()
    return found


def _key(site: Site, role: Role) -> dict[str, str]:
    engine = create_engine(site.database_url)
    with engine.begin() as conn:
        secret = keys.create_key(conn, f"registers-{role.name}", role)[1]
    engine.dispose()
    return {"Authorization": f"Bearer {secret}"}


def test_the_page_counts_every_register(site: Site, boss: httpx.Client) -> None:
    page = boss.get("/console/admin/organisations")
    assert page.status_code == 200, page.text
    for name, rows in (("staff", 2075), ("branches", 474), ("households", 2820)):
        row = page.text.split(f'id="register-{name}"')[1].split("</tr>")[0]
        assert f">{rows}<" in row and f"/console/admin/organisations/{name}/file" in row
    assert "人员名册" in page.text  # in the navigation


def test_a_download_loads_back_as_the_same_register(site: Site, boss: httpx.Client) -> None:
    before = _table(site, "staff")
    ever = _rows_ever(site, "org_grid_staff")
    download = boss.get("/console/admin/organisations/staff/file", params={"format": "csv"})
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    text = download.content.decode("utf-8-sig")
    assert text.splitlines()[0] == "网格编码,职务,姓名,联系电话"
    assert "网格长" in text  # roles in Chinese, as the file is written
    answer = boss.post(
        "/console/admin/organisations/staff",
        data={"csrf_token": csrf_of(boss)},
        files={"file": ("staff.csv", download.content, "text/csv")},
    )
    assert answer.status_code == 303, answer.text
    assert _table(site, "staff") == before
    # replaced, not edited in place: the rows that served until now are kept, closed
    assert _rows_ever(site, "org_grid_staff") == ever + len(before[1])
    shown = boss.get(answer.headers["location"])
    assert "已用文件替换名册" in shown.text and "2075" in shown.text
    assert "导入人员与组织名册" in audit_of(boss, "")


def test_a_bad_file_changes_nothing_and_names_its_rows(site: Site, boss: httpx.Client) -> None:
    ever = _rows_ever(site, "org_grid_staff")
    bad = (
        "网格编码,职务,姓名,联系电话\n"
        "340102001001001,网格长,甲,13900000001\n"
        "340102999999999,网格长,乙,13900000002\n"
        "340102001001002,网格长,丙,12345\n"
    ).encode()
    answer = boss.post(
        "/console/admin/organisations/staff",
        data={"csrf_token": csrf_of(boss)},
        files={"file": ("staff.csv", bad, "text/csv")},
    )
    assert answer.status_code == 422
    assert "第 3 行" in answer.text and "第 4 行" in answer.text and "第 2 行" not in answer.text
    assert _rows_ever(site, "org_grid_staff") == ever


def test_the_api_loads_an_xlsx_download_back(site: Site) -> None:
    headers = _key(site, Role.admin)
    client = httpx.Client(base_url=site.base, timeout=60, headers=headers)
    listed = client.get("/v1/organisations/registers")
    assert listed.status_code == 200
    counts: dict[str, Any] = {r["name"]: r["rows"] for r in listed.json()}
    assert counts["platforms"] == 707 and counts["mobile-grids"] == 400 and len(counts) == 8
    before = _table(site, "platforms")
    xlsx = client.get("/v1/organisations/registers/platforms", params={"format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    loaded = client.put(
        "/v1/organisations/registers/platforms",
        files={"file": ("platforms.xlsx", xlsx.content, "application/octet-stream")},
    )
    assert loaded.status_code == 200, loaded.text
    assert loaded.json() == {"register": "platforms", "rows": 707}
    assert _table(site, "platforms") == before
    refused = client.put(
        "/v1/organisations/registers/platforms",
        files={"file": ("p.csv", "平台名称,类型,服务网格\n议事会,茶话会,340102001001001\n")},
    )
    assert refused.status_code == 422 and "茶话会" in refused.text
    assert client.get("/v1/organisations/registers/nobody").status_code in (404, 422)
    client.close()


def test_only_admins_may(site: Site) -> None:
    for headers, status in ((_key(site, Role.dispatcher), 403), ({}, 401)):
        client = httpx.Client(base_url=site.base, timeout=30, headers=headers)
        assert client.get("/v1/organisations/registers").status_code == status
        assert client.get("/v1/organisations/registers/staff").status_code == status
        put = client.put(
            "/v1/organisations/registers/staff",
            files={"file": ("s.csv", "网格编码,职务,姓名,联系电话\n")},
        )
        assert put.status_code == status
        client.close()
