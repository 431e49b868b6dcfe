#!/usr/bin/env python
"""Generate the demo's registers of people and organisations: ``data/organisations/*.csv``.

Run from the repository root, after ``data/generate.py``::

    .venv/bin/python data/organisations.py

Everything here is **generated** (see ``data/README.md``): the names are common surnames with
common given names, the phones random numbers; no row is a real person. The registers are
built from the demo GeoPackage so that they reproduce the district's published figures
(``FIGURES``, checked at the end and by tests/api/test_organisations.py):

- grid staff for every grid: its 网格长 (the grid layer's leader), one 专职网格员 and one or
  two 兼职网格员;
- 474 grid party branches among the 596 grids (secretary: the grid layer's party secretary);
- 2,051 building party groups (every organised compound has one, the rest by households) and
  2,820 party-member households (every group has one, the rest by chance);
- 66 小巷管家 teams (one per community) with 1,300 members covering 512 compounds;
- 402 politics-and-law grid members (a police officer, a mediator, a judge, a prosecutor and a
  lawyer per community, 72 more mediators) covering all 66 communities;
- 707 consultation platforms: a 网格共治委员会 in each of the 520 resident grids, a 党群议事会
  per community, 80 红色物业 and 41 和事佬;
- 400 couriers and riders in 20 mobile grids, each led by a party member.

A compound belongs to the grid that holds its point-on-surface (the smallest code on a shared
edge), as geogrid counts it. Deterministic: one seeded generator, so a second run writes the
same files.
"""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from pathlib import Path

import geopandas as gpd
import shapely

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "yaohai_demo.gpkg"
OUT = ROOT / "data" / "organisations"
SEED = 17

FIGURES = {
    "party_branches": 474,
    "building_party_groups": 2051,
    "party_member_households": 2820,
    "volunteer_teams": 66,
    "volunteer_members": 1300,
    "compounds_with_volunteer_team": 512,
    "law_grid_members": 402,
    "consultation_platforms": 707,
    "mobile_grids": 20,
    "mobile_grid_members": 400,
}
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹"
    "彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁任沈姚卢汪"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国志文斌林波宁慧婷雪琳晨浩宇欣怡子涵梓轩"
MOBILE_PREFIXES = (
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "158",
    "159",
    "177",
    "180",
    "181",
    "186",
    "187",
    "188",
    "189",
    "199",
)


class People:
    """Generated people: a common name and a phone no one else generated has."""

    def __init__(self, rng: random.Random, taken: set[str]) -> None:
        self.rng, self.taken = rng, set(taken)

    def __call__(self) -> tuple[str, str]:
        given = "".join(self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2, 2))))
        while True:
            phone = self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            if phone not in self.taken:
                self.taken.add(phone)
                return self.rng.choice(SURNAMES) + given, phone


def _write(name: str, header: list[str], rows: list[list[object]]) -> None:
    OUT.mkdir(exist_ok=True)
    with (OUT / f"{name}.csv").open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _holders(grids: gpd.GeoDataFrame, compounds: gpd.GeoDataFrame) -> dict[int, str]:
    """compound id -> the grid holding its point-on-surface (smallest code on an edge)."""
    tree = shapely.STRtree(grids.geometry.values)
    codes = list(grids["code"])
    found: dict[int, str] = {}
    for cid, shape in zip(compounds["id"], compounds.geometry, strict=True):
        hits = tree.query(shape.point_on_surface(), predicate="covered_by")
        found[int(cid)] = min(codes[i] for i in hits)
    return found


def main() -> None:
    rng = random.Random(SEED)
    grids = gpd.read_file(DEMO, layer="grids").sort_values("code").reset_index(drop=True)
    compounds = gpd.read_file(DEMO, layer="compounds").sort_values("id").reset_index(drop=True)
    communities = gpd.read_file(DEMO, layer="communities").sort_values("code")
    streets = gpd.read_file(DEMO, layer="streets").sort_values("code")
    person = People(rng, set(grids["leader_phone"]) | set(grids["party_secretary_phone"]))
    holder = _holders(grids, compounds)
    compounds_of: dict[str, list[int]] = defaultdict(list)  # community -> compound ids
    for cid, grid in holder.items():
        compounds_of[grid[:12]].append(cid)
    grids_of: dict[str, list[str]] = defaultdict(list)  # community -> resident grids
    for g in grids.itertuples():
        if g.kind == "resident":
            grids_of[g.community_code].append(g.code)

    staff = []
    for g in grids.itertuples():
        staff.append([g.code, "网格长", g.leader_name, g.leader_phone])
        staff.append([g.code, "专职网格员", *person()])
        for _ in range(rng.choice((1, 2))):
            staff.append([g.code, "兼职网格员", *person()])
    _write("staff", ["网格编码", "职务", "姓名", "联系电话"], staff)

    chosen = sorted(rng.sample(range(len(grids)), FIGURES["party_branches"]))
    branches = [
        [g.code, g.party_branch_name, g.party_secretary_name, g.party_secretary_phone]
        for g in grids.iloc[chosen].itertuples()
    ]
    _write("branches", ["网格编码", "支部名称", "书记", "书记电话"], branches)

    organised = compounds[compounds["kind"] == "organised"]
    groups_in = {int(c): 1 for c in organised["id"]}
    ids, weights = list(organised["id"]), list(organised["households"])
    for cid in rng.choices(ids, weights, k=FIGURES["building_party_groups"] - len(groups_in)):
        groups_in[int(cid)] += 1
    name_of = dict(zip(compounds["id"], compounds["name"], strict=True))
    groups = []
    for cid, count in sorted(groups_in.items()):
        for n in range(1, count + 1):
            building = f"{n}栋"
            groups.append([cid, building, f"{name_of[cid]}{building}党小组", *person()])
    _write("building-groups", ["小区编号", "楼栋", "小组名称", "组长", "组长电话"], groups)

    tally = [1] * len(groups)
    for i in rng.choices(range(len(groups)), k=FIGURES["party_member_households"] - len(groups)):
        tally[i] += 1
    households = [
        [group[0], group[1], group[2], *person()]
        for group, count in zip(groups, tally, strict=True)
        for _ in range(count)
    ]
    _write("households", ["小区编号", "楼栋", "党小组", "姓名", "联系电话"], households)

    covered = set(rng.sample(sorted(holder), FIGURES["compounds_with_volunteer_team"]))
    sizes = [19] * 66
    for i in rng.sample(range(66), FIGURES["volunteer_members"] - 19 * 66):
        sizes[i] += 1
    volunteers = []
    for c, size in zip(communities.itertuples(), sizes, strict=True):
        team = f"{c.short_name}小巷管家志愿服务队"
        served = ";".join(str(i) for i in sorted(compounds_of[c.code]) if i in covered)
        volunteers.append([team, "队长", *person(), served])
        volunteers.extend([team, "队员", *person(), ""] for _ in range(size - 1))
    _write("volunteers", ["队伍名称", "职务", "姓名", "联系电话", "服务小区"], volunteers)

    law = []
    codes = list(communities["code"])
    for c in communities.itertuples():
        street = [k for k in codes if k[:9] == c.code[:9] and k != c.code]
        for role, unit in (
            ("社区民警", "派出所"),
            ("人民调解员", "人民调解委员会"),
            ("法官", "瑶海区人民法院"),
            ("检察官", "瑶海区人民检察院"),
            ("律师", "律师事务所"),
        ):
            served = [c.code]
            if role in ("法官", "检察官") and street and rng.random() < 0.5:
                served.append(rng.choice(street))
            law.append([role, unit, *person(), ";".join(served)])
    for code in rng.choices(codes, k=FIGURES["law_grid_members"] - len(law)):
        law.append(["人民调解员", "人民调解委员会", *person(), code])
    _write("law-members", ["身份", "单位", "姓名", "联系电话", "服务社区"], law)

    platforms = []
    for g in grids[grids["kind"] == "resident"].itertuples():
        platforms.append([f"{g.name}共治委员会", "网格共治委员会", g.code, *person()])
    for c in communities.itertuples():
        platforms.append(
            [f"{c.short_name}党群议事会", "党群议事会", ";".join(grids_of[c.code]), *person()]
        )
    resident = [g for g in grids[grids["kind"] == "resident"].itertuples()]
    for kind, count, label in (("红色物业", 80, "红色物业联盟"), ("和事佬", 41, "和事佬工作室")):
        for n, g in enumerate(rng.sample(resident, count), start=1):
            near = [k for k in grids_of[g.community_code] if k != g.code]
            served = [g.code, *rng.sample(near, min(len(near), rng.choice((0, 1, 2))))]
            platforms.append([f"{g.name}{label}{n}", kind, ";".join(sorted(served)), *person()])
    _write("platforms", ["平台名称", "类型", "服务网格", "召集人", "召集人电话"], platforms)

    mobile = []
    street_codes, street_names = list(streets["code"]), list(streets["name"])
    for n in range(FIGURES["mobile_grids"]):
        s = n % len(street_codes)
        rider = n % 2 == 1
        mobile_grid = f"{street_names[s]}{'外卖骑手' if rider else '快递小哥'}流动网格{n // 13 + 1}"
        occupation = "外卖骑手" if rider else "快递员"
        mobile.append([mobile_grid, street_codes[s], "网格长", occupation, "是", *person()])
        for _ in range(FIGURES["mobile_grid_members"] // FIGURES["mobile_grids"] - 1):
            member = "是" if rng.random() < 0.1 else "否"
            mobile.append([mobile_grid, street_codes[s], "成员", occupation, member, *person()])
    _write(
        "mobile-grids", ["流动网格", "街道编码", "职务", "职业", "党员", "姓名", "联系电话"], mobile
    )

    assert len(branches) == FIGURES["party_branches"]
    assert len(groups) == FIGURES["building_party_groups"]
    assert len(households) == FIGURES["party_member_households"]
    assert len(volunteers) == FIGURES["volunteer_members"]
    assert len(law) == FIGURES["law_grid_members"]
    assert len(platforms) == FIGURES["consultation_platforms"]
    assert len(mobile) == FIGURES["mobile_grid_members"]
    assert {c for row in law for c in row[4].split(";")} == set(codes)
    print(f"wrote {', '.join(f'{k} {v}' for k, v in FIGURES.items())} to {OUT}")


if __name__ == "__main__":
    main()
