"""The registers of people and organisations over real HTTP, on a real PostGIS: the demo's
counts read back through ``GET /v1/organisations/summary`` equal the district's figures; a
viewer sees no name or phone of any person and no party-member household, a dispatcher sees
them; ``at`` before a reload answers who served then; the coverage figures per street and
community add up to the district's; the overview map's organisation layers count as the
summary does, show viewers no person and nobody any household."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from geogrid.access import keys
from geogrid.access.roles import Role
from geogrid.api.schemas.lookup import LocateAnswer
from geogrid.api.schemas.organisations import (
    GridOrganisationsAnswer,
    OrganisationsCoverage,
    OrganisationsSummary,
)
from geogrid.organisations import load_register
from tests.conftest import start_api
from tests.maps.test_map_render import features_of
from tests.organisations.test_registers import FIGURES

GRID = "340102001001001"
#: Any mainland mobile or landline, as the registers hold them.
PHONE = re.compile(r"1[3-9][0-9]{9}|0[0-9]{2,3}-[0-9]{7,8}")


class Api:
    def __init__(self, base: str, tokens: dict[str, str], url: str) -> None:
        self.base, self.tokens, self.url = base, tokens, url

    def get(self, path: str, who: str | None = None, **params: str) -> httpx.Response:
        headers = {} if who is None else {"Authorization": f"Bearer {self.tokens[who]}"}
        return httpx.get(f"{self.base}{path}", params=params, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def api(server: Any, demo_template: str) -> Iterator[Api]:
    url = server.database("orgapi", template=demo_template)
    engine = create_engine(url)
    with engine.begin() as conn:  # the template holds the demo registers
        tokens = {
            role.name: keys.create_key(conn, f"org-{role.name}", role)[1]
            for role in (Role.viewer, Role.dispatcher)
        }
    engine.dispose()
    process, base = start_api(url)
    yield Api(base, tokens, url)
    process.terminate()
    process.wait(timeout=20)


def _people(url: str) -> set[str]:
    """Every name and phone of the grid's people in the database (households included)."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT name, phone FROM org_grid_staff WHERE grid_code = :g "
                "UNION SELECT secretary_name, secretary_phone FROM org_party_branch "
                "WHERE grid_code = :g "
                "UNION SELECT convener_name, convener_phone FROM org_platform "
                "WHERE :g = ANY (grid_codes) AND convener_name IS NOT NULL "
                "UNION SELECT name, phone FROM org_law_member "
                "WHERE left(:g, 12) = ANY (community_codes)"
            ),
            {"g": GRID},
        ).all()
    engine.dispose()
    return {v for row in rows for v in row}


def test_the_demo_counts_read_back_through_the_api(api: Api) -> None:
    for who in ("dispatcher", "viewer", None):
        answer = api.get("/v1/organisations/summary", who)
        assert answer.status_code == 200, answer.text
        found = OrganisationsSummary.model_validate(answer.json())
        expected = dict(FIGURES)
        if who != "dispatcher":
            expected["party_member_households"] = None  # type: ignore[assignment]
        assert {k: getattr(found, k) for k in FIGURES} == expected, who
        assert found.grids_without_branch == 122
        assert found.resident_grids_without_platform == 0
        assert found.communities_without_law_member == 0


def test_the_summary_filters_by_street_and_community(api: Api) -> None:
    street = api.get("/v1/organisations/summary", "dispatcher", street="340102001").json()
    community = api.get("/v1/organisations/summary", "dispatcher", community="340102001001").json()
    assert 0 < community["party_branches"] <= street["party_branches"] < 474
    assert community["mobile_grids"] is None and street["mobile_grids"] == 2
    for params in ({"street": "340102999"}, {"community": "34010200100x"}, {"at": "yesterday"}):
        refused = api.get("/v1/organisations/summary", "dispatcher", **params)
        assert refused.status_code == 422, refused.text
        assert next(iter(params.values())) in refused.json()["detail"]


def test_a_viewer_sees_no_person_and_no_household(api: Api) -> None:
    people = _people(api.url)
    assert len(people) > 10
    for who in ("viewer", None):
        answer = api.get(f"/v1/grids/{GRID}/organisations", who)
        assert answer.status_code == 200, answer.text
        found = GridOrganisationsAnswer.model_validate(answer.json())
        assert found.party_member_households is None
        assert found.staff and found.branch is not None and found.law_members
        assert not PHONE.search(answer.text), PHONE.search(answer.text)
        assert not [p for p in people if p in answer.text]
        assert all(s.person.name and s.person.name.endswith("*") for s in found.staff)
    summary = api.get("/v1/organisations/summary", "viewer").json()
    assert summary["party_member_households"] is None


def test_a_dispatcher_sees_names_phones_and_households(api: Api) -> None:
    answer = api.get(f"/v1/grids/{GRID}/organisations", "dispatcher")
    assert answer.status_code == 200, answer.text
    found = GridOrganisationsAnswer.model_validate(answer.json())
    assert found.party_member_households
    assert all(PHONE.fullmatch(h.person.phone or "") for h in found.party_member_households)
    missing = [p for p in _people(api.url) if p not in answer.text]
    assert not missing
    assert {t.name for t in found.volunteer_teams} and all(
        set(t.compound_ids) & set(found.compound_ids) for t in found.volunteer_teams
    )


def test_an_unknown_grid_is_404_and_a_bad_code_422(api: Api) -> None:
    assert api.get("/v1/grids/340102001001999/organisations").status_code == 404
    assert api.get("/v1/grids/xyz/organisations").status_code == 422


def _inside(url: str, grid: str) -> dict[str, str]:
    """A point inside ``grid`` (CGCS2000, the storage datum) as locate's query."""
    engine = create_engine(url)
    with engine.connect() as conn:
        x, y = conn.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p "
                "FROM grid_geometry WHERE grid_code = :g AND valid_to_release IS NULL) s"
            ),
            {"g": grid},
        ).one()
    engine.dispose()
    return {"lon": f"{x:.7f}", "lat": f"{y:.7f}", "crs": "cgcs2000"}


def test_locate_names_who_serves_the_grid(api: Api) -> None:
    answer = api.get("/v1/locate", "dispatcher", **_inside(api.url, GRID))
    assert answer.status_code == 200, answer.text
    found = LocateAnswer.model_validate(answer.json())
    assert found.grid is not None and found.grid.code == GRID
    served = found.grid.served_by
    organisations = GridOrganisationsAnswer.model_validate(
        api.get(f"/v1/grids/{GRID}/organisations", "dispatcher").json()
    )
    assert [(s.role, s.name, s.phone) for s in served.staff] == [
        (s.role, s.person.name, s.person.phone) for s in organisations.staff
    ]
    assert served.staff[0].role == "leader"
    assert (served.staff[0].name, served.staff[0].phone) == (
        found.grid.leader.name,
        found.grid.leader.phone,
    )
    assert organisations.branch is not None and served.party_branch is not None
    assert served.party_branch.name == organisations.branch.name
    assert served.party_branch.secretary.phone == organisations.branch.secretary.phone
    assert sorted(p.name for p in served.platforms) == sorted(
        p.name for p in organisations.platforms
    )
    assert served.platforms and all(p.convener.name for p in served.platforms)


def test_locate_masks_who_serves_for_viewers(api: Api) -> None:
    people = _people(api.url)
    for who in ("viewer", None):
        answer = api.get("/v1/locate", who, **_inside(api.url, GRID))
        assert answer.status_code == 200, answer.text
        served = LocateAnswer.model_validate(answer.json()).grid.served_by  # type: ignore[union-attr]
        assert len(served.staff) >= 3 and served.party_branch is not None
        assert not PHONE.search(answer.text), PHONE.search(answer.text)
        assert not [p for p in people if p in answer.text]


def test_a_grid_without_a_branch_has_none_in_locate(api: Api) -> None:
    engine = create_engine(api.url)
    with engine.connect() as conn:
        bare = conn.execute(
            text(
                "SELECT grid_code FROM grid_people WHERE party_branch_name IS NULL "
                "ORDER BY grid_code LIMIT 1"
            )
        ).scalar_one()
    engine.dispose()
    answer = api.get("/v1/locate", "dispatcher", **_inside(api.url, bare.strip()))
    grid = LocateAnswer.model_validate(answer.json()).grid
    assert grid is not None and grid.code == bare.strip()
    assert grid.served_by.party_branch is None and grid.served_by.staff


def test_at_before_a_reload_answers_who_served_then(api: Api, tmp_path: Path) -> None:
    staff = tmp_path / "staff.csv"
    staff.write_text(
        f"网格编码,职务,姓名,联系电话\n{GRID},网格长,钱多多,13700000001\n", encoding="utf-8"
    )
    before = api.get(f"/v1/grids/{GRID}/organisations", "dispatcher").json()
    moment = before["at"]
    time.sleep(0.05)
    engine = create_engine(api.url)
    with engine.begin() as conn:
        load_register(conn, "staff", staff)
    engine.dispose()
    now = api.get(f"/v1/grids/{GRID}/organisations", "dispatcher").json()
    then = api.get(f"/v1/grids/{GRID}/organisations", "dispatcher", at=moment).json()
    assert [s["person"]["name"] for s in now["staff"]] == ["钱多多"]
    assert then["staff"] == before["staff"] and len(then["staff"]) >= 3
    summary = api.get("/v1/organisations/summary", "dispatcher").json()
    assert summary["grid_leaders"] == 1
    old = api.get("/v1/organisations/summary", "dispatcher", at=moment).json()
    assert old["grid_leaders"] == 596
    # a serving process hears of the reload (NOTIFY) and locate names the new staff; at= a
    # moment before it names who served then
    point = _inside(api.url, GRID)
    deadline = time.monotonic() + 10
    while True:
        located = api.get("/v1/locate", "dispatcher", **point).json()["grid"]
        if [s["name"] for s in located["served_by"]["staff"]] == ["钱多多"]:
            break
        assert time.monotonic() < deadline, located["served_by"]
        time.sleep(0.1)
    assert located["leader"] == {"name": "钱多多", "phone": "13700000001"}
    earlier = api.get("/v1/locate", "dispatcher", at=moment, **point).json()["grid"]
    assert earlier["served_by"]["staff"] == [
        {"role": s["role"], **s["person"]} for s in before["staff"]
    ]


# --- coverage per street and community; the overview's organisation layers (part 2) ---------

#: The figures of a per-area breakdown that add up to the district summary's.
AREA_FIGURES = (
    "grids",
    "grids_without_branch",
    "resident_grids",
    "resident_grids_without_platform",
    "compounds",
    "compounds_without_volunteer_team",
    "communities",
    "communities_without_law_member",
)


def test_coverage_per_street_and_community_adds_up_to_the_district(api: Api) -> None:
    summary = api.get("/v1/organisations/summary").json()
    for by, areas in (("street", 13), ("community", 66)):
        answer = api.get("/v1/organisations/coverage", "viewer", by=by)
        assert answer.status_code == 200, answer.text
        found = OrganisationsCoverage.model_validate(answer.json())
        assert found.by == by and len(found.areas) == areas
        assert all(len(a.code) == {"street": 9, "community": 12}[by] for a in found.areas)
        for figure in AREA_FIGURES:
            assert sum(getattr(a, figure) for a in found.areas) == summary[figure], (by, figure)
        assert sum(a.grids_without_branch for a in found.areas) == 122
    one = api.get("/v1/organisations/summary", community="340102001001").json()
    [area] = [
        a
        for a in api.get("/v1/organisations/coverage", by="community").json()["areas"]
        if a["code"] == "340102001001"
    ]
    assert {f: area[f] for f in AREA_FIGURES} == {f: one[f] for f in AREA_FIGURES}
    refused = api.get("/v1/organisations/coverage", by="grid")
    assert refused.status_code == 422 and "grid" in refused.json()["detail"]


def _layer_names(html: str) -> list[str]:
    """The overlay names of the page's LayerControl (folium writes them JSON-escaped)."""
    return [json.loads(f'"{n}"') for n in re.findall(r'"((?:[^"\\]|\\.)*)" : data_layer_', html)]


def _styled(html: str, key: str) -> int:
    """How many features of the page's data layers carry style key ``key``."""
    return sum(1 for f in features_of(html) if f["properties"].get("s") == key)


def _register_people(url: str) -> tuple[set[str], set[str]]:
    """Every name and phone of the people serving now, households left out; and the phones
    of the party-member households that are no one else's."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT name, phone FROM org_grid_staff WHERE valid_to IS NULL "
                "UNION SELECT secretary_name, secretary_phone FROM org_party_branch "
                "WHERE valid_to IS NULL "
                "UNION SELECT convener_name, convener_phone FROM org_platform "
                "WHERE valid_to IS NULL AND convener_name IS NOT NULL "
                "UNION SELECT name, phone FROM org_law_member WHERE valid_to IS NULL "
                "UNION SELECT m.name, m.phone FROM org_volunteer_member m "
                "JOIN org_volunteer_team t ON t.id = m.team_id WHERE t.valid_to IS NULL "
                "UNION SELECT leader_name, leader_phone FROM org_building_group "
                "WHERE valid_to IS NULL"
            )
        ).all()
        households = set(
            conn.execute(
                text("SELECT phone FROM org_party_household WHERE valid_to IS NULL")
            ).scalars()
        )
    engine.dispose()
    people = {v for row in rows for v in row if v}
    return people, households - people


def test_the_overview_map_has_switchable_organisation_layers(api: Api) -> None:
    summary = api.get("/v1/organisations/summary").json()
    answer = api.get("/maps/overview", "viewer")
    assert answer.status_code == 200
    html = answer.text
    names = _layer_names(html)
    for words in ("网格党支部", "协商议事平台", "无小巷管家队伍的小区", "无政法网格员的社区"):
        [name] = [n for n in names if n.startswith(words)]
        # off by default: the layer is in the control but not added to the map
        variable = re.search(rf'"{re.escape(json.dumps(name)[1:-1])}" : (data_layer_\w+)', html)
        assert variable is not None
        assert f"{variable.group(1)}.addTo(" not in html, name
    assert "网格党支部（474 个网格有，122 个无）" in names
    assert _styled(html, "no_branch") == summary["grids_without_branch"] == 122
    assert _styled(html, "branch") == summary["party_branches"] == 474
    assert _styled(html, "p0_resident") == summary["resident_grids_without_platform"]
    uncovered = summary["compounds_without_volunteer_team"]
    assert _styled(html, "uncovered_compound") == uncovered > 0
    assert f"无小巷管家队伍的小区（{uncovered}）" in names
    assert _styled(html, "no_law") == summary["communities_without_law_member"]
    # the grid layers borrow the grid layer's shapes: no second copy of 596 polygons
    branches = [f for f in features_of(html) if f["properties"].get("s") == "no_branch"]
    assert all(f["geometry"] is None and len(f["properties"]["code"]) == 15 for f in branches)


def test_no_person_on_a_viewers_map_and_no_household_on_any(api: Api) -> None:
    people, households = _register_people(api.url)
    assert len(people) > 1000 and len(households) > 1000
    secretaries = {
        r["properties"]["pop"]
        for r in features_of(api.get("/maps/overview", "dispatcher").text)
        if r["properties"].get("s") == "branch"
    }
    assert any(PHONE.search(p) for p in secretaries)  # a dispatcher sees the secretaries
    for who in ("viewer", None):
        html = api.get("/maps/overview", who).text
        assert "党支部书记姓名、电话已脱敏" in html
        assert not [p for p in people | households if p in html]
        pops = [f["properties"].get("pop", "") for f in features_of(html)]
        assert not [p for p in pops if PHONE.search(p)]
    dispatcher = api.get("/maps/overview", "dispatcher").text
    assert not [p for p in households if p in dispatcher]


def test_the_coverage_and_the_map_follow_a_reload_and_at_answers_then(
    api: Api, tmp_path: Path
) -> None:
    """Last in the module: it replaces three registers with one row each."""
    before = api.get("/v1/organisations/coverage", by="community").json()
    moment = before["at"]
    files = {
        "branches": f"网格编码,支部名称,书记,书记电话\n{GRID},第1网格党支部,孟莉,15181021551\n",
        "platforms": f"平台名称,类型,服务网格\n第1网格共治委员会,网格共治委员会,{GRID}\n",
        "law-members": f"身份,姓名,联系电话,服务社区\n法官,陈梓,18698021470,{GRID[:12]}\n",
    }
    time.sleep(0.05)
    engine = create_engine(api.url)
    with engine.begin() as conn:
        for register, content in files.items():
            path = tmp_path / f"{register}.csv"
            path.write_text(content, encoding="utf-8")
            load_register(conn, register, path)
    engine.dispose()
    now = OrganisationsCoverage.model_validate(
        api.get("/v1/organisations/coverage", by="community").json()
    )
    assert sum(a.grids_without_branch for a in now.areas) == 595
    assert sum(a.resident_grids_without_platform for a in now.areas) == 519
    assert sum(a.communities_without_law_member for a in now.areas) == 65
    [own] = [a for a in now.areas if a.code == GRID[:12]]
    assert own.communities_without_law_member == 0
    then = api.get("/v1/organisations/coverage", by="community", at=moment).json()
    assert then["areas"] == before["areas"]
    html = api.get("/maps/overview", "viewer").text
    assert (_styled(html, "branch"), _styled(html, "no_branch")) == (1, 595)
    assert _styled(html, "p0_resident") == 519
    assert _styled(html, "no_law") == 65
    assert "无政法网格员的社区（65）" in _layer_names(html)
    assert "孟莉" not in html and "15181021551" not in html
    assert "孟莉" in api.get("/maps/overview", "dispatcher").text
