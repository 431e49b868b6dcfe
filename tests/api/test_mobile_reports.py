"""Reports by mobile-grid members over real HTTP, on the demo registers (issue 17): a case
reported by a member — with a key their account owns, signed in, through Open311 or the
console — carries the member's mobile grid as the register stood at the report's time and is
routed by its location; anyone else's carries none; the case counts for its mobile grid and
for its grid and community alike."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from geogrid.access import keys, users
from geogrid.access.roles import Role
from geogrid.api.schemas.cases import CaseAnswer, CaseCounts
from geogrid.api.schemas.organisations import MobileGridsAnswer
from geogrid.organisations import load_register
from geogrid.settings import AuthSettings
from tests.conftest import start_api

PASSWORD = "rider-password-1"
HEADER = "流动网格,街道编码,职务,职业,党员,姓名,联系电话"


@dataclass(frozen=True)
class Member:
    mobile_grid: str
    street: str
    name: str
    phone: str


@dataclass
class Site:
    base: str
    url: str
    tokens: dict[str, str]
    members: dict[str, Member]
    #: a compound's point (cgcs2000) and the grid of the current release holding it
    point: tuple[float, float]
    grid: str

    def post(self, who: str, **extra: Any) -> httpx.Response:
        return httpx.post(
            f"{self.base}/v1/cases",
            json=report(self.point, **extra),
            headers={"Authorization": f"Bearer {self.tokens[who]}"},
            timeout=30,
        )

    def get(self, path: str, who: str = "desk", **params: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return httpx.get(f"{self.base}{path}", params=params, headers=headers, timeout=30)


def report(point: tuple[float, float], **extra: Any) -> dict[str, Any]:
    return {
        "category": "E0102",
        "description": "路边垃圾堆放",
        "lon": point[0],
        "lat": point[1],
        "crs": "cgcs2000",
        "reporter": {"name": "外卖骑手", "phone": "13900002222"},
        "channel": "rider",
        **extra,
    }


def _members(conn: Any) -> dict[str, Member]:
    """Two members (not leaders) of two mobile grids serving now."""
    rows = conn.execute(
        text(
            "SELECT DISTINCT ON (mobile_grid) mobile_grid, street_code, name, phone "
            "FROM org_mobile_member WHERE valid_to IS NULL AND role = 'member' "
            "ORDER BY mobile_grid, id LIMIT 2"
        )
    ).all()
    assert len(rows) == 2 and rows[0].mobile_grid != rows[1].mobile_grid
    return {
        who: Member(r.mobile_grid, r.street_code.strip(), r.name, r.phone)
        for who, r in zip(("a", "b"), rows, strict=True)
    }


@pytest.fixture(scope="module")
def site(server: Any, demo_template: str) -> Iterator[Site]:
    url = server.database("mobile", template=demo_template)
    engine = create_engine(url)
    with engine.begin() as conn:  # the template holds the demo registers
        members = _members(conn)
        people = {
            "rider-a": (members["a"].name, members["a"].phone),
            "rider-b": (members["b"].name, members["b"].phone),
            "someone": ("王五", "13800000000"),  # in no register
            "rider-c": ("", None),  # an admin says who it is later, in the console
        }
        tokens = {}
        for account, (name, phone) in people.items():
            # couriers and riders report and do nothing else
            users.create_user(
                conn,
                account,
                Role.reporter,
                PASSWORD,
                AuthSettings(),
                display_name=name,
                phone=phone,
            )
            tokens[account] = keys.create_key(
                conn, f"{account}-phone", Role.reporter, owner=account
            )[1]
        users.create_user(conn, "admin", Role.admin, PASSWORD, AuthSettings())
        # a system's key named as a member's account: it acts for no one
        tokens["system"] = keys.create_key(conn, "rider-a", Role.dispatcher)[1]
        tokens["desk"] = keys.create_key(conn, "desk", Role.dispatcher)[1]
        tokens["viewer"] = keys.create_key(conn, "viewer", Role.viewer)[1]
        found = conn.execute(
            text(
                "SELECT ST_X(c.point) x, ST_Y(c.point) y, gg.grid_code FROM compound c "
                "JOIN grid_geometry gg ON gg.valid_to_release IS NULL "
                "AND ST_Covers(gg.geom, c.point) ORDER BY c.id LIMIT 1"
            )
        ).one()
    engine.dispose()
    process, base = start_api(
        url, settings={"GEOGRID_RATE_LIMITS": "false", "GEOGRID_LATE_ENTRY_DAYS": "7"}
    )
    yield Site(base, url, tokens, members, (found.x, found.y), found.grid_code.strip())
    process.terminate()
    process.wait(timeout=20)


def _case(site: Site, answer: httpx.Response) -> CaseAnswer:
    assert answer.status_code == 201, answer.text
    return CaseAnswer.model_validate(answer.json())


def test_a_members_key_reports_a_case_with_the_mobile_grid_routed_by_location(
    site: Site,
) -> None:
    member = site.members["a"]
    made = _case(site, site.post("rider-a"))
    assert made.mobile_grid == member.mobile_grid
    assert made.grid.code == site.grid  # routed by the point, not by the mobile grid's street
    read = CaseAnswer.model_validate(site.get(f"/v1/cases/{made.id}").json())
    assert (read.mobile_grid, read.grid.code) == (member.mobile_grid, site.grid)
    assert read.created_by == "rider-a"  # the key's owner
    listed = site.get("/v1/cases", mobile_grid=member.mobile_grid).json()
    assert made.id in [c["id"] for c in listed["cases"]]
    assert {c["mobile_grid"] for c in listed["cases"]} == {member.mobile_grid}
    assert listed["filter"]["mobile_grid"] == member.mobile_grid
    exported = site.get("/v1/cases/export", mobile_grid=member.mobile_grid)
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert {r["流动网格"] for r in rows} == {member.mobile_grid}
    assert str(made.id) in {r["案件编号"] for r in rows}


def test_a_non_member_and_a_system_key_report_cases_with_none(site: Site) -> None:
    for who in ("someone", "system", "desk"):
        made = _case(site, site.post(who))
        assert made.mobile_grid is None, who
        assert made.grid.code == site.grid
    # the system key is named "rider-a", as the member's account is: it still acts for no one
    assert _case(site, site.post("system")).created_by == "rider-a"


def _signed_in(site: Site, account: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=site.base, timeout=30, follow_redirects=False)
    answer = client.post("/login", data={"username": account, "password": PASSWORD})
    assert answer.status_code == 303, answer.text[:300]
    page = client.get("/console/cases").text
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    assert found is not None
    return client, found.group(1)


def test_a_signed_in_member_reports_through_the_api_and_the_console(site: Site) -> None:
    member = site.members["b"]
    client, token = _signed_in(site, "rider-b")
    with closing(client):
        made = _case(
            site,
            client.post(
                "/v1/cases",
                json=report(site.point),
                headers={"X-CSRF-Token": token, "Origin": site.base},
            ),
        )
        assert (made.mobile_grid, made.grid.code) == (member.mobile_grid, site.grid)
        form = {
            "csrf_token": token,
            "category": "E0102",
            "description": "井盖松动",
            "lon": str(site.point[0]),
            "lat": str(site.point[1]),
            "crs": "cgcs2000",
            "channel": "rider",
        }
        taken = client.post("/console/cases/new", data=form)
        assert taken.status_code == 303, taken.text[:500]
        case_id = int(taken.headers["location"].split("?")[0].rstrip("/").split("/")[-1])
    read = CaseAnswer.model_validate(site.get(f"/v1/cases/{case_id}").json())
    assert (read.mobile_grid, read.grid.code) == (member.mobile_grid, site.grid)


def test_an_open311_request_with_a_members_key_carries_the_mobile_grid(site: Site) -> None:
    answer = httpx.post(
        f"{site.base}/open311/v2/requests.json",
        data={
            "api_key": site.tokens["rider-a"],
            "service_code": "E0102",
            "lat": str(site.point[1]),
            "long": str(site.point[0]),
            "description": "共享单车堆放占道",
        },
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    case_id = int(answer.json()[0]["service_request_id"])
    read = CaseAnswer.model_validate(site.get(f"/v1/cases/{case_id}").json())
    assert read.mobile_grid == site.members["a"].mobile_grid


def _counts(site: Site, by: str, **params: str) -> dict[str, int]:
    answer = site.get("/v1/cases/counts", by=by, **params)
    assert answer.status_code == 200, answer.text
    return {c.code: c.cases for c in CaseCounts.model_validate(answer.json()).counts}


def _mobile_grids(site: Site, who: str, **params: str) -> MobileGridsAnswer:
    answer = site.get("/v1/organisations/mobile-grids", who, **params)
    assert answer.status_code == 200, answer.text
    return MobileGridsAnswer.model_validate(answer.json())


def test_a_members_case_counts_for_its_mobile_grid_and_for_its_place(site: Site) -> None:
    member = site.members["a"]
    community = site.grid[:12]
    before = (
        _counts(site, "mobile_grid"),
        _counts(site, "grid"),
        _counts(site, "community"),
        {g.name: g.reports for g in _mobile_grids(site, "desk").mobile_grids},
    )
    _case(site, site.post("rider-a"))
    after = (
        _counts(site, "mobile_grid"),
        _counts(site, "grid"),
        _counts(site, "community"),
        {g.name: g.reports for g in _mobile_grids(site, "desk").mobile_grids},
    )
    assert after[0][member.mobile_grid] == before[0].get(member.mobile_grid, 0) + 1
    assert after[1][site.grid] == before[1].get(site.grid, 0) + 1
    assert after[2][community] == before[2].get(community, 0) + 1
    assert after[3][member.mobile_grid] == before[3][member.mobile_grid] + 1
    # the two figures agree: the list's reports are the cases carrying the mobile grid
    assert after[3][member.mobile_grid] == after[0][member.mobile_grid]
    # only the cases members reported count by mobile grid; all of them count by grid
    assert sum(after[0].values()) < sum(after[1].values())
    in_grid = _counts(site, "grid", mobile_grid=member.mobile_grid)
    assert in_grid[site.grid] == after[0][member.mobile_grid]


def test_the_mobile_grids_list_masks_the_leader_for_viewers(site: Site) -> None:
    member = site.members["a"]
    seen = _mobile_grids(site, "desk", street=member.street)
    assert seen.mobile_grids and {g.street.code for g in seen.mobile_grids} == {member.street}
    mine = next(g for g in seen.mobile_grids if g.name == member.mobile_grid)
    assert mine.members > 1 and mine.leader.name and not mine.leader.name.endswith("*")
    district = _mobile_grids(site, "desk")
    assert len(district.mobile_grids) == 20
    assert sum(g.members for g in district.mobile_grids) == 400
    viewed = _mobile_grids(site, "viewer", street=member.street)
    for g in viewed.mobile_grids:
        assert g.leader.name and g.leader.name.endswith("*")
        assert g.leader.phone and "****" in g.leader.phone
    assert (
        mine.leader.name
        not in site.get("/v1/organisations/mobile-grids", "viewer", street=member.street).text
    )
    refused = site.get("/v1/organisations/mobile-grids", street="340102999")
    assert refused.status_code == 422 and "340102999" in refused.json()["detail"]


def test_a_reporter_reports_and_does_nothing_else(site: Site) -> None:
    made = _case(site, site.post("rider-a"))
    headers = {"Authorization": f"Bearer {site.tokens['rider-a']}"}
    moved = httpx.post(
        f"{site.base}/v1/cases/{made.id}/transitions",
        json={"to": "accepted"},
        headers=headers,
        timeout=30,
    )
    assert moved.status_code == 403, moved.text
    read = site.get(f"/v1/cases/{made.id}", "rider-a").json()
    assert read["reporter"]["phone"] == "139****2222"  # no personal data for a reporter
    me = site.get("/v1/me", "rider-a")
    assert me.status_code == 200, me.text
    assert (me.json()["role"], me.json()["sees_personal_data"]) == ("reporter", False)


def test_an_admin_says_who_an_accounts_person_is_in_the_console(site: Site) -> None:
    member = site.members["a"]
    assert _case(site, site.post("rider-c")).mobile_grid is None
    client, token = _signed_in(site, "admin")
    with closing(client):
        bad = client.post(
            "/console/admin/users/rider-c/person",
            data={"csrf_token": token, "display_name": member.name, "phone": "12345"},
        )
        assert bad.status_code == 422 and "12345" in bad.text
        saved = client.post(
            "/console/admin/users/rider-c/person",
            data={"csrf_token": token, "display_name": member.name, "phone": member.phone},
        )
        assert saved.status_code == 303, saved.text[:300]
        assert member.phone in client.get("/console/admin/users").text
        made = _case(site, site.post("rider-c"))
        assert made.mobile_grid == member.mobile_grid
        shown = client.get(f"/console/cases/{made.id}")
        assert shown.status_code == 200 and "流动网格" in shown.text
        assert member.mobile_grid in shown.text


def test_a_member_whose_register_row_was_closed_reports_with_none(
    site: Site, tmp_path: Path
) -> None:
    gone, stays = site.members["b"], site.members["a"]
    engine = create_engine(site.url)
    with engine.begin() as conn:
        before_closing = conn.execute(text("SELECT now()")).scalar_one()
        assert isinstance(before_closing, datetime)
        rows = conn.execute(
            text(
                "SELECT mobile_grid, street_code, role, occupation, party_member, name, phone "
                "FROM org_mobile_member WHERE valid_to IS NULL ORDER BY id"
            )
        ).all()
    lines = [
        ",".join(
            (
                r.mobile_grid,
                r.street_code.strip(),
                {"leader": "网格长", "member": "成员"}[r.role],
                {"courier": "快递员", "rider": "外卖骑手", "driver": "网约车司机"}.get(
                    r.occupation, "其他"
                ),
                "是" if r.party_member else "否",
                r.name,
                r.phone,
            )
        )
        for r in rows
        if (r.name, r.phone) != (gone.name, gone.phone)
    ]
    assert len(lines) == len(rows) - 1
    path = tmp_path / "mobile-grids.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    with engine.begin() as conn:  # the register replaced whole: every row closed, reinserted
        assert load_register(conn, "mobile-grids", path) == len(lines)
    engine.dispose()
    assert _case(site, site.post("rider-b")).mobile_grid is None
    # the others' rows were closed and inserted again: they are members as before
    assert _case(site, site.post("rider-a")).mobile_grid == stays.mobile_grid
    # a report entered late, dated while the row still served, carries the mobile grid then
    late = _case(site, site.post("rider-b", reported_at=before_closing.isoformat()))
    assert late.mobile_grid == gone.mobile_grid and late.grid.code == site.grid


def test_the_console_queue_filters_by_mobile_grid(site: Site) -> None:
    # a member still in the register (an earlier test drops one of them by a reload)
    made = _case(site, site.post("rider-a"))
    if made.mobile_grid is None:
        made = _case(site, site.post("rider-b"))
    assert made.mobile_grid is not None
    member = next(m for m in site.members.values() if m.mobile_grid == made.mobile_grid)
    client, _ = _signed_in(site, "admin")
    try:
        page = client.get("/console/cases")
        assert page.status_code == 200 and 'id="f-mobile"' in page.text
        assert f'<option value="{member.mobile_grid}"' in page.text
        shown = client.get("/console/cases", params={"mobile_grid": member.mobile_grid})
        assert shown.status_code == 200
        ids = {int(i) for i in re.findall(r'<tr data-case="(\d+)"', shown.text)}
        listed = site.get("/v1/cases", mobile_grid=member.mobile_grid, limit="100").json()
        assert made.id in ids and ids == {c["id"] for c in listed["cases"]}
        assert f'<strong id="matched">{listed["numberMatched"]}</strong>' in shown.text
    finally:
        client.close()


def test_the_case_map_filters_by_mobile_grid_and_names_it(site: Site) -> None:
    made = _case(site, site.post("rider-a"))
    if made.mobile_grid is None:
        made = _case(site, site.post("rider-b"))
    assert made.mobile_grid is not None
    page = httpx.get(
        f"{site.base}/maps/cases", params={"mobile_grid": made.mobile_grid}, timeout=60
    )
    assert page.status_code == 200
    # the filter is named on the page and each case's popup names its mobile grid
    assert "流动网格" in page.text and page.text.count(made.mobile_grid) >= 2
    everyone = httpx.get(f"{site.base}/maps/cases", timeout=60).text
    assert everyone.count("流动网格") >= 1  # members' cases among all the cases
