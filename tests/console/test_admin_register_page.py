"""A register's own admin page over real HTTP: its current rows with names and phones as
they are (admins see data), its downloads, and the rows a published plan left on retired
grids (待指定网格) for the admin to assign; nobody but an admin sees it.

Reuses the admin pages' server (a private copy of the demo, with its registers) and helpers.
"""

from __future__ import annotations

import httpx
from sqlalchemy import create_engine, text

from geogrid import plans
from geogrid.access import keys
from geogrid.access.roles import Role
from geogrid.organisations.lineage import stranded
from tests.console import test_admin_pages as admin
from tests.console.test_admin_pages import Site

#: The admin pages' fixtures: a server on a private copy of the demo, and its admin.
site = admin.site
boss = admin.boss


def _first(site: Site, sql: str) -> tuple[object, ...]:
    engine = create_engine(site.database_url)
    with engine.connect() as conn:
        row = tuple(conn.execute(text(sql)).one())
    engine.dispose()
    return row


def test_a_register_page_lists_its_rows_unmasked(site: Site, boss: httpx.Client) -> None:
    (count,) = _first(site, "SELECT count(*) FROM org_party_branch WHERE valid_to IS NULL")
    name, phone = _first(
        site,
        "SELECT secretary_name, secretary_phone FROM org_party_branch "
        "WHERE valid_to IS NULL ORDER BY id LIMIT 1",
    )
    page = boss.get("/console/admin/organisations/branches")
    assert page.status_code == 200, page.text
    assert f"现行 {count} 行" in page.text
    assert f">{name}<" in page.text and f">{phone}<" in page.text  # as they are
    assert "/console/admin/organisations/branches/file?format=xlsx" in page.text
    assert "待指定网格" not in page.text
    # households: more rows than a page shows; the page says the download has them all
    households = boss.get("/console/admin/organisations/households")
    assert "现行 2820 行，此处显示前 500 行" in households.text
    assert households.text.count("<tr>") == 501  # the header and 500 rows
    assert boss.get("/console/admin/organisations/people").status_code == 422
    # the list of registers links each one's page
    assert '/console/admin/organisations/staff">' in boss.get("/console/admin/organisations").text


def test_a_branch_a_merge_left_behind_is_listed_for_the_admin(
    site: Site, boss: httpx.Client
) -> None:
    engine = create_engine(site.database_url)
    with engine.begin() as conn:
        # two neighbouring grids of one community and kind, both with a branch
        a, b = conn.execute(
            text(
                "WITH g AS (SELECT gg.grid_code, gg.geom, gr.kind FROM grid_geometry_in("
                "(SELECT max(id) FROM boundary_release)) gg JOIN grid gr ON gr.code = gg.grid_code"
                " WHERE EXISTS (SELECT 1 FROM org_party_branch p WHERE p.valid_to IS NULL "
                "AND p.grid_code = gg.grid_code)) "
                "SELECT x.grid_code, y.grid_code FROM g x JOIN g y ON x.grid_code < y.grid_code "
                "AND left(x.grid_code, 12) = left(y.grid_code, 12) AND x.kind = y.kind "
                "AND ST_Length(ST_Intersection(ST_Boundary(x.geom), ST_Boundary(y.geom))"
                "::geography) > 300 ORDER BY 1, 2 LIMIT 1"
            )
        ).one()
        plan = plans.create_plan(conn, "merge", "planner-1")
        plans.add_edit(conn, plan.id, {"op": "merge", "grids": [a, b]}, "planner-1")
        plans.publish_plan(conn, plan.id, "planner-1")
        [left] = stranded(conn)
    engine.dispose()
    assert left.register == "branches" and left.source in (a.strip(), b.strip())
    page = boss.get("/console/admin/organisations/branches")
    assert "待指定网格（1）" in page.text
    assert left.source in page.text and left.name in page.text
    assert "待指定网格" not in boss.get("/console/admin/organisations/staff").text


def test_a_dispatcher_gets_403(site: Site) -> None:
    desk = site.sign_in(site.add_user(Role.dispatcher), "first-pass-123")
    assert desk.get("/console/admin/organisations/households").status_code == 403
    desk.close()


def test_the_api_names_every_refused_row_not_only_the_first_20(site: Site) -> None:
    engine = create_engine(site.database_url)
    with engine.begin() as conn:
        secret = keys.create_key(conn, "register-page-admin", Role.admin)[1]
    engine.dispose()
    (before,) = _first(site, "SELECT count(*) FROM org_grid_staff WHERE valid_to IS NULL")
    lines = ["网格编码,职务,姓名,联系电话"] + [
        f"340102999999{n:03d},兼职网格员,某{n},1390000{n:04d}" for n in range(30)
    ]
    answer = httpx.put(
        f"{site.base}/v1/organisations/registers/staff",
        files={"file": ("staff.csv", "\n".join(lines).encode())},
        headers={"Authorization": f"Bearer {secret}"},
        timeout=60,
    )
    assert answer.status_code == 422, answer.text
    assert [r["line"] for r in answer.json()["refused"]] == list(range(2, 32))
    assert "340102999999029" in answer.json()["refused"][-1]["reason"]
    assert _first(site, "SELECT count(*) FROM org_grid_staff WHERE valid_to IS NULL") == (before,)


def test_the_openapi_document_requires_the_loaded_register(site: Site) -> None:
    document = httpx.get(f"{site.base}/openapi.json", timeout=30).json()
    loaded = document["components"]["schemas"]["RegisterLoaded"]
    assert sorted(loaded["required"]) == ["register", "rows"]
    assert "default" not in loaded["properties"]["register"]
