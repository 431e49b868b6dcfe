"""Case queries and exports against real PostGIS and real HTTP: filters, counts, H3 cells,
performance figures worked out by hand, Asia/Shanghai days, CSV/XLSX files, masking, 422s."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import h3
import httpx
import openpyxl
import pytest
from sqlalchemy import Connection, create_engine, text
from typer.testing import CliRunner

from geogrid import cases
from geogrid.access import keys
from geogrid.access.roles import ANONYMOUS, Principal, Role
from geogrid.cases.export import HEADERS, case_table, to_csv
from geogrid.cases.queries import CaseFilter, count_cases, count_h3, list_cases, performance
from geogrid.cases.report import CaseReport
from geogrid.errors import InvalidInputError
from geogrid.lookup import snapshot
from geogrid.settings import CaseSettings
from tests.conftest import start_api

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime.now(UTC)


def sh(text_: str) -> datetime:
    return datetime.fromisoformat(text_).replace(tzinfo=SH)


@dataclass(frozen=True)
class Planned:
    """A case to seed: where, what, how far through its life, and its clock."""

    grid: str  # "A", "B" (same community as A) or "C" (another street)
    category: str
    path: tuple[str, ...]
    created: datetime
    accepted: datetime | None = None
    closed: datetime | None = None
    held_hours: float = 0.0
    flags: tuple[str, ...] = ()
    description: str = "群众反映"


# Handling hours: E0102 4 h, E0503 4 h, C0105 48 h, E0601 72 h (the demo catalogue).
CLOSE = ("accepted", "dispatched", "in_progress", "handled", "verified", "closed")
PLAN = {
    1: Planned(
        "A", "E0102", CLOSE, sh("2025-05-01T09:00"), sh("2025-05-01T09:00"), sh("2025-05-01T11:00")
    ),  # 2 h: on time
    2: Planned(
        "A",
        "E0503",
        CLOSE,
        sh("2025-05-02T10:00"),
        sh("2025-05-02T10:00"),
        sh("2025-05-02T16:00"),
        description="=1+1",
    ),  # 6 h of 4: late
    3: Planned(
        "B",
        "C0105",
        CLOSE,
        sh("2025-05-03T08:00"),
        sh("2025-05-03T08:00"),
        sh("2025-05-04T08:00"),
        held_hours=2,
    ),  # 24 h - 2 h on hold = 22 h
    4: Planned(
        "B", "E0601", ("accepted",), sh("2025-05-10T12:00"), sh("2025-05-10T12:00")
    ),  # open, long overdue
    5: Planned(
        "C", "E0102", (), sh("2025-05-31T23:30"), flags=("near_boundary",)
    ),  # 15:30 UTC on 31 May
    6: Planned(
        "C",
        "E0102",
        ("void",),
        sh("2025-06-01T00:30"),
        flags=("boundary_changed", "outside_district"),
    ),  # 16:30 UTC on 31 May
    7: Planned(
        "A", "E0503", ("accepted", "dispatched"), sh("2025-06-02T08:00"), NOW - timedelta(hours=1)
    ),  # open, 1 h of 4: not overdue
}


@dataclass
class Seeded:
    url: str
    ids: dict[int, int]  # plan number -> case id
    grids: dict[str, Any]  # "A", "B", "C" -> row (code, community_code, street_code)
    base: str
    tokens: dict[Role, str]

    def plan(self, *case_ids: int) -> set[int]:
        back = {v: k for k, v in self.ids.items()}
        return {back[i] for i in case_ids}

    def get(self, path: str, role: Role | None = None, **params: Any) -> httpx.Response:
        headers = {} if role is None else {"Authorization": f"Bearer {self.tokens[role]}"}
        return httpx.get(f"{self.base}{path}", params=params, headers=headers, timeout=30)


def _grids(conn: Connection) -> dict[str, Any]:
    rows = conn.execute(
        text(
            "SELECT g.code, g.community_code, cm.street_code, ST_X(p.p) AS x, ST_Y(p.p) AS y "
            "FROM grid g JOIN community cm ON cm.code = g.community_code "
            "JOIN grid_geometry gg ON gg.grid_code = g.code AND gg.valid_to_release IS NULL "
            "CROSS JOIN LATERAL (SELECT ST_PointOnSurface(gg.geom) AS p) p ORDER BY g.code"
        )
    ).all()
    a = rows[0]
    b = next(r for r in rows[1:] if r.community_code == a.community_code)
    c = next(r for r in rows if r.street_code != a.street_code)
    return {"A": a, "B": b, "C": c}


def _seed(conn: Connection, snap: snapshot.Snapshot, grids: dict[str, Any]) -> dict[int, int]:
    ids = {}
    for number, planned in PLAN.items():
        grid = grids[planned.grid]
        report = CaseReport.from_mapping(
            {
                "category": planned.category,
                "description": planned.description,
                "lon": grid.x,
                "lat": grid.y,
                "crs": "cgcs2000",
                "channel": "hotline",
                "reporter": {"name": "王小明", "phone": "13812345678"},
            }
        )
        case, _ = cases.create_case(conn, snap, report, "seed", CaseSettings())
        assert case.grid.code == grid.code.strip()
        for to in planned.path:
            cases.transition(conn, case.id, to, "seed", "作废：重复上报" if to == "void" else "")
        conn.execute(
            text(
                # Seeded on the calendar clock (round the clock), so each deadline is
                # acceptance + handling hours + time on hold, as the comments above count;
                # working-hour deadlines are tested in test_calendar.py and test_records.py.
                # Dispatched as soon as accepted, reported handled when closed: the grid's
                # 处置 hours are those from acceptance to closure less the time on hold; the
                # centre's 立案 and 派遣 stages have 1 h each (case_urgency, normal).
                "UPDATE civic_case SET created_at = :created, accepted_at = :accepted, "
                "dispatched_at = CASE WHEN dispatched_at IS NOT NULL "
                "THEN CAST(:accepted AS timestamptz) END, "
                "closed_at = coalesce(:closed, closed_at), held_seconds = :held, "
                "handled_at = CASE WHEN handled_at IS NOT NULL THEN CAST(:closed AS timestamptz) END, "
                "responsible_hours = coalesce(extract(epoch FROM CAST(:closed AS timestamptz) "
                "- CAST(:accepted AS timestamptz)) / 3600 - :held / 3600, 0), "
                "clock = CASE WHEN CAST(:accepted AS timestamptz) IS NOT NULL "
                "THEN 'calendar' END, clock_due_at = CAST(:accepted AS timestamptz) "
                "+ make_interval(secs => due_hours * 3600 + :held), "
                "stage_due_at = CASE status "
                "WHEN 'reported' THEN CAST(:created AS timestamptz) + interval '1 hour' "
                "WHEN 'accepted' THEN CAST(:accepted AS timestamptz) + interval '1 hour' "
                "ELSE CAST(:accepted AS timestamptz) "
                "+ make_interval(secs => due_hours * 3600 + :held) END, "
                "flags = CAST(:flags AS text[]) WHERE id = :id"
            ),
            {
                "created": planned.created,
                "accepted": planned.accepted,
                "closed": planned.closed,
                "held": planned.held_hours * 3600,
                "flags": list(planned.flags),
                "id": case.id,
            },
        )
        conn.execute(  # its one 处置 span, as long as the case's handling hours
            text(
                "UPDATE case_duty d SET started_at = c.dispatched_at, ended_at = c.handled_at, "
                "hours = c.responsible_hours FROM civic_case c WHERE c.id = d.case_id "
                "AND d.case_id = :id"
            ),
            {"id": case.id},
        )
        ids[number] = case.id
    return ids


@pytest.fixture(scope="module")
def seeded(server: Any, demo_template: str) -> Iterator[Seeded]:
    url = server.database("casequeries", template=demo_template)
    engine = create_engine(url)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM civic_case")).scalar() == 0
        release = conn.execute(text("SELECT max(id) FROM boundary_release")).scalar()
        snap = snapshot.build(conn, release)
        grids = _grids(conn)
        ids = _seed(conn, snap, grids)
        tokens = {
            role: keys.create_key(conn, f"queries-{role.name}", role)[1]
            for role in (Role.viewer, Role.dispatcher)
        }
    engine.dispose()
    process, base = start_api(url)
    yield Seeded(url, ids, grids, base, tokens)
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture(scope="module")
def conn(seeded: Seeded) -> Iterator[Connection]:
    engine = create_engine(seeded.url)
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def chosen(conn: Connection, seeded: Seeded, **filters: Any) -> set[int]:
    page = list_cases(conn, CaseFilter.parse(**filters), limit=1000)
    assert page.number_matched == len(page.items)
    return seeded.plan(*(c.id for c in page.items))


# --- filters -----------------------------------------------------------------------------


def test_every_filter_selects_the_right_cases(conn: Connection, seeded: Seeded) -> None:
    a, c = seeded.grids["A"], seeded.grids["C"]
    expected: list[tuple[dict[str, Any], set[int]]] = [
        ({}, set(PLAN)),
        ({"status": "closed"}, {1, 2, 3}),
        ({"status": ["accepted", "dispatched"]}, {4, 7}),
        ({"status": "accepted,void"}, {4, 6}),
        ({"grid": a.code.strip()}, {1, 2, 7}),
        ({"community": a.community_code.strip()}, {1, 2, 3, 4, 7}),
        ({"street": c.street_code.strip()}, {5, 6}),
        ({"category": "E0102"}, {1, 5, 6}),
        ({"category": "E05"}, {2, 7}),
        ({"category": "市容环境"}, {1, 5, 6}),
        ({"category": "C01"}, {3}),
        ({"category": "路灯"}, {3}),
        # over the limit of the stage it is in: 4 in 派遣, 5 in 立案
        ({"overdue": "true"}, {4, 5}),
        ({"overdue": "false"}, {1, 2, 3, 6, 7}),
        ({"open": "true"}, {4, 5, 7}),
        ({"open": "false"}, {1, 2, 3, 6}),
        ({"flags": "near_boundary"}, {5}),
        ({"flags": ["boundary_changed", "near_boundary"]}, {5, 6}),
        ({"grid": a.code.strip(), "status": "closed"}, {1, 2}),
        ({"created_from": "2025-05-02", "created_to": "2025-05-10"}, {2, 3, 4}),
    ]
    for filters, cases_ in expected:
        assert chosen(conn, seeded, **filters) == cases_, filters


@pytest.mark.parametrize(
    "created_from, created_to, cases_",
    [
        ("2025-05-31", "2025-05-31", {5}),  # 23:30 in Shanghai on 31 May is 31 May
        ("2025-06-01", "2025-06-01", {6}),  # 00:30 on 1 June, though 31 May in UTC
        (None, "2025-05-31", {1, 2, 3, 4, 5}),
        ("2025-05-31T16:00Z", None, {6, 7}),  # an offset is honoured
        ("2025-06-01T00:30", "2025-06-01T00:31", {6}),  # naive = Shanghai, to is exclusive
        ("2025-06-01T00:00+08:00", "2025-06-01T00:30+08:00", set()),
    ],
)
def test_periods_are_days_in_shanghai(
    conn: Connection,
    seeded: Seeded,
    created_from: str | None,
    created_to: str | None,
    cases_: set[int],
) -> None:
    assert chosen(conn, seeded, created_from=created_from, created_to=created_to) == cases_


def test_keyset_pages_cover_every_case_once(conn: Connection, seeded: Seeded) -> None:
    found: list[int] = []
    after = None
    while True:
        page = list_cases(conn, CaseFilter(), limit=3, after_id=after)
        assert page.number_matched == 7 and len(page.items) <= 3
        found += [c.id for c in page.items]
        if page.next_after is None:
            break
        after = page.next_after
    assert found == sorted(seeded.ids.values())


@pytest.mark.parametrize(
    "filters, named",
    [
        ({"status": "bogus"}, "reported"),
        ({"flags": "far"}, "near_boundary"),
        ({"grid": "12345"}, "15 digits"),
        ({"community": "3401020060"}, "12-digit"),
        ({"street": "x"}, "9-digit"),
        ({"created_from": "yesterday"}, "2026-05-01"),
        ({"created_to": "2025-02-30"}, "2026-05-01"),
        ({"created_from": "2025-06-02", "created_to": "2025-06-01"}, "before"),
        ({"overdue": "maybe"}, "true"),
    ],
)
def test_bad_filters_name_the_value_and_the_choices(filters: dict[str, Any], named: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        CaseFilter.parse(**filters)
    assert named in caught.value.message
    assert str(next(iter(filters.values()))) in caught.value.message


def test_unknown_category_names_the_classes(conn: Connection) -> None:
    with pytest.raises(InvalidInputError) as caught:
        list_cases(conn, CaseFilter(category="Z99"))
    assert "Z99" in caught.value.message and "E01 市容环境" in caught.value.message


# --- counts, H3, performance -------------------------------------------------------------


@pytest.mark.parametrize("by", ["grid", "community", "street", "category", "major", "status"])
def test_counts_add_up(conn: Connection, seeded: Seeded, by: str) -> None:
    counts = count_cases(conn, CaseFilter(), by)
    assert sum(c.cases for c in counts) == 7
    assert sum(c.open for c in counts) == 3 and sum(c.overdue for c in counts) == 2
    assert len({c.code for c in counts}) == len(counts)


def test_counts_per_unit(conn: Connection, seeded: Seeded) -> None:
    a, b, c = (seeded.grids[k].code.strip() for k in "ABC")
    by_grid = {u.code: u.cases for u in count_cases(conn, CaseFilter(), "grid")}
    assert by_grid == {a: 3, b: 2, c: 2}
    major = {u.code: (u.name, u.cases) for u in count_cases(conn, CaseFilter(), "major")}
    assert major == {
        "C01": ("公用设施", 1),
        "E01": ("市容环境", 3),
        "E05": ("街面秩序", 2),
        "E06": ("矛盾纠纷", 1),
    }
    status = {u.code: (u.name, u.cases) for u in count_cases(conn, CaseFilter(), "status")}
    assert status["closed"] == ("结案", 3) and status["void"] == ("作废", 1)
    may = CaseFilter.parse(created_from="2025-05-01", created_to="2025-05-31")
    assert {u.code: u.cases for u in count_cases(conn, may, "street")} == {
        seeded.grids["A"].street_code.strip(): 4,
        seeded.grids["C"].street_code.strip(): 1,
    }


def test_h3_cells_hold_every_case(conn: Connection, seeded: Seeded) -> None:
    points = conn.execute(text("SELECT id, lon, lat FROM case_view")).all()
    for resolution in (5, 9, 12):
        expected = Counter(h3.latlng_to_cell(p.lat, p.lon, resolution) for p in points)
        cells = count_h3(conn, CaseFilter(), resolution)
        assert {c.cell: c.cases for c in cells} == dict(expected)
        assert [c.cell for c in cells] == sorted(expected)
    overdue = count_h3(conn, CaseFilter(overdue=True))
    assert [(c.cases, c.overdue) for c in overdue] == [
        (1, 1),
        (1, 1),
    ]  # 4 and 5, in different cells
    with pytest.raises(InvalidInputError, match="16"):
        count_h3(conn, CaseFilter(), 16)


def test_performance_as_worked_out_by_hand(conn: Connection, seeded: Seeded) -> None:
    a, b, c = (seeded.grids[k].code.strip() for k in "ABC")
    units, total = performance(conn, CaseFilter(), "grid")
    found = {u.code: u for u in units}
    # A: 1 closed in 2 h (on time), 2 closed in 6 h of 4 (late), 7 open
    assert (found[a].cases, found[a].closed, found[a].closed_on_time) == (3, 2, 1)
    assert found[a].closed_on_time_share == 0.5
    assert found[a].mean_handling_hours == pytest.approx(4.0)
    assert (found[a].open, found[a].overdue, found[a].void) == (1, 0, 0)
    # B: 3 closed in 22 h (2 h on hold not counted) of 48; 4 open and over the centre's
    # 派遣 limit, not the grid's: not charged to B
    assert (found[b].closed, found[b].closed_on_time_share) == (1, 1.0)
    assert found[b].mean_handling_hours == pytest.approx(22.0)
    assert (found[b].open, found[b].overdue) == (1, 0)
    # C: nothing closed
    assert (found[c].closed, found[c].closed_on_time_share, found[c].mean_handling_hours) == (
        0,
        None,
        None,
    )
    assert (found[c].open, found[c].void) == (1, 1)
    assert (total.cases, total.closed, total.closed_on_time) == (7, 3, 2)
    assert total.closed_on_time_share == pytest.approx(0.6667)
    assert total.mean_handling_hours == pytest.approx(10.0)  # (2 + 6 + 22) / 3
    assert (total.open, total.overdue, total.void) == (3, 0, 1)
    by_community, _ = performance(conn, CaseFilter(), "community")
    assert {u.code: u.closed for u in by_community}[seeded.grids["A"].community_code.strip()] == 3
    with pytest.raises(InvalidInputError, match="category"):
        performance(conn, CaseFilter(), "category")


# --- exports -----------------------------------------------------------------------------


def test_table_rows_and_masking(conn: Connection, seeded: Seeded) -> None:
    table = case_table(conn, CaseFilter(statuses=("closed",)), Principal("t", Role.dispatcher))
    assert table.headers[:6] == ("案件编号", "状态", "类别编码", "类别", "大类", "事件/部件")
    column = {h: i for i, h in enumerate(table.headers)}
    assert [r[0] for r in table.rows] == [seeded.ids[n] for n in (1, 2, 3)]
    first = table.rows[0]
    assert first[column["状态"]] == "结案" and first[column["是否超期"]] == "否"
    assert first[column["上报时间"]] == datetime(2025, 5, 1, 9, 0)  # Beijing time
    assert first[column["报告人电话"]] == "13812345678"
    assert table.rows[1][column["按期结案"]] == "否"
    assert table.rows[2][column["处置用时(小时)"]] == pytest.approx(22.0)
    masked = case_table(conn, CaseFilter(statuses=("closed",)), ANONYMOUS)
    assert masked.rows[0][column["报告人"]] == "王**"
    assert masked.rows[0][column["报告人电话"]] == "138****5678"
    leader = masked.rows[0][column["联系电话"]]
    assert leader is None or "****" in str(leader)
    assert to_csv(table).startswith(b"\xef\xbb\xbf")


def _csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_csv_export_over_http(seeded: Seeded) -> None:
    answer = seeded.get(
        "/v1/cases/export", Role.dispatcher, format="csv", grid=seeded.grids["A"].code.strip()
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith("attachment;") and 'filename="cases-' in disposition
    rows = _csv_rows(answer.content)
    assert tuple(rows[0]) == HEADERS
    for header in (
        "案件编号",
        "状态",
        "类别编码",
        "类别",
        "大类",
        "事件/部件",
        "描述",
        "来源渠道",
        "上报时间",
        "立案时间",
        "结案时间",
        "处置时限(小时)",
        "是否超期",
        "网格编码",
        "网格名称",
        "社区",
        "街道",
        "网格长",
        "联系电话",
        "报告人",
        "报告人电话",
        "地址",
        "经度(CGCS2000)",
        "纬度(CGCS2000)",
        "经度(GCJ-02)",
        "纬度(GCJ-02)",
        "照片",
        "标记",
    ):
        assert header in rows[0]
    column = {h: i for i, h in enumerate(rows[0])}
    assert [int(r[0]) for r in rows[1:]] == [seeded.ids[n] for n in (1, 2, 7)]
    assert rows[1][column["上报时间"]] == "2025-05-01 09:00:00"
    assert rows[1][column["报告人"]] == "王小明"
    assert rows[2][column["描述"]] == "'=1+1"  # never a formula in Excel
    viewer = _csv_rows(seeded.get("/v1/cases/export", None, format="csv").content)
    assert len(viewer) == 8
    assert {r[column["报告人电话"]] for r in viewer[1:]} == {"138****5678"}


def test_xlsx_export_over_http(seeded: Seeded) -> None:
    answer = seeded.get("/v1/cases/export", Role.dispatcher, format="xlsx", status="closed")
    assert answer.status_code == 200, answer.text
    assert "spreadsheetml" in answer.headers["content-type"]
    assert ".xlsx" in answer.headers["content-disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(answer.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == HEADERS
    column = {h: i for i, h in enumerate(rows[0])}
    assert [r[0] for r in rows[1:]] == [seeded.ids[n] for n in (1, 2, 3)]
    assert rows[1][column["网格编码"]] == seeded.grids["A"].code.strip()  # text, not 3.4E+14
    assert rows[1][column["结案时间"]] == datetime(2025, 5, 1, 11, 0)
    assert rows[2][column["描述"]] == "=1+1"  # stored as text
    assert rows[3][column["事件/部件"]] == "部件"
    assert rows[1][column["报告人电话"]] == "13812345678"
    masked = openpyxl.load_workbook(
        io.BytesIO(
            seeded.get("/v1/cases/export", Role.viewer, format="xlsx", status="closed").content
        )
    ).active
    masked_rows = list(masked.iter_rows(values_only=True))
    assert masked_rows[1][column["报告人"]] == "王**"
    assert masked_rows[1][column["报告人电话"]] == "138****5678"


# --- HTTP --------------------------------------------------------------------------------


def test_list_over_http_pages_and_masks(seeded: Seeded) -> None:
    found: list[dict[str, Any]] = []
    answer = seeded.get("/v1/cases", Role.dispatcher, limit=3)
    while True:
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["numberMatched"] == 7
        found += body["cases"]
        if body["next"] is None:
            break
        answer = httpx.get(
            body["next"],
            timeout=30,
            headers={"Authorization": f"Bearer {seeded.tokens[Role.dispatcher]}"},
        )
    assert [c["id"] for c in found] == sorted(seeded.ids.values())
    assert found[0]["reporter"] == {"name": "王小明", "phone": "13812345678"}
    viewer = seeded.get("/v1/cases", None, status="closed").json()
    assert [c["id"] for c in viewer["cases"]] == [seeded.ids[n] for n in (1, 2, 3)]
    assert {c["reporter"]["phone"] for c in viewer["cases"]} == {"138****5678"}
    assert viewer["filter"]["status"] == ["closed"]
    day = seeded.get("/v1/cases", None, **{"from": "2025-05-31", "to": "2025-05-31"}).json()
    assert [c["id"] for c in day["cases"]] == [seeded.ids[5]]
    assert day["filter"]["from"] == "2025-05-31T00:00:00+08:00"
    clamped = seeded.get("/v1/cases", None, limit=50_000).json()
    assert clamped["limit"] == 1000 and clamped["limit_requested"] == 50_000


def test_counts_h3_performance_over_http(seeded: Seeded) -> None:
    counts = seeded.get("/v1/cases/counts", None, by="community")
    assert counts.status_code == 200, counts.text
    assert counts.json()["total"] == 7
    assert sum(c["cases"] for c in counts.json()["counts"]) == 7
    cells = seeded.get("/v1/cases/h3", None, resolution=8, status="closed").json()
    assert cells["resolution"] == 8 and cells["total"] == 3
    perf = seeded.get("/v1/cases/performance", None, by="grid").json()
    assert perf["total"]["closed_on_time_share"] == pytest.approx(0.6667)
    assert perf["total"]["mean_handling_hours"] == pytest.approx(10.0)
    assert len(perf["units"]) == 3
    # the single case is still served by the cases router
    one = seeded.get(f"/v1/cases/{seeded.ids[1]}", None)
    assert one.status_code == 200 and one.json()["id"] == seeded.ids[1]


@pytest.mark.parametrize(
    "path, params, named",
    [
        ("/v1/cases", {"status": "bogus"}, "bogus"),
        ("/v1/cases", {"grid": "123"}, "123"),
        ("/v1/cases", {"from": "yesterday"}, "yesterday"),
        ("/v1/cases", {"overdue": "maybe"}, "maybe"),
        ("/v1/cases", {"flag": "far"}, "boundary_changed"),
        ("/v1/cases", {"category": "Z99"}, "E01"),
        ("/v1/cases", {"limit": 0}, "limit"),
        ("/v1/cases/counts", {"by": "planet"}, "planet"),
        ("/v1/cases/performance", {"by": "status"}, "community"),
        ("/v1/cases/h3", {"resolution": 16}, "15"),
        ("/v1/cases/export", {"format": "pdf"}, "xlsx"),
    ],
)
def test_bad_query_values_are_a_named_422(
    seeded: Seeded, path: str, params: dict[str, Any], named: str
) -> None:
    answer = seeded.get(path, None, **params)
    assert answer.status_code == 422, answer.text
    # the value's type refuses it (a range in the OpenAPI) or the core does
    assert answer.json()["code"] in ("invalid_input", "validation_error")
    assert named in answer.json()["detail"]


# --- command line ------------------------------------------------------------------------


def test_cli_export(seeded: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from geogrid.cli.main import app

    monkeypatch.setenv("GEOGRID_DATABASE_URL", seeded.url)
    out = tmp_path / "cases.xlsx"
    result = CliRunner().invoke(
        app,
        [
            "cases",
            "export",
            "--format",
            "xlsx",
            "--out",
            str(out),
            "--status",
            "closed",
            "--category",
            "E01",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = list(openpyxl.load_workbook(out).active.iter_rows(values_only=True))
    assert rows[0] == HEADERS and [r[0] for r in rows[1:]] == [seeded.ids[1]]
    assert rows[1][HEADERS.index("报告人")] == "王**"  # masked unless --show-personal
    out_csv = tmp_path / "cases.csv"
    result = CliRunner().invoke(
        app, ["cases", "export", "--out", str(out_csv), "--open", "--show-personal"]
    )
    assert result.exit_code == 0, result.output
    rows_csv = _csv_rows(out_csv.read_bytes())
    assert {int(r[0]) for r in rows_csv[1:]} == {seeded.ids[n] for n in (4, 5, 7)}
    assert rows_csv[1][HEADERS.index("报告人")] == "王小明"
    bad = CliRunner().invoke(app, ["cases", "export", "--out", str(out_csv), "--status", "x"])
    assert bad.exit_code == 1


def test_cli_replaces_the_catalogue(
    fresh_demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from geogrid.cli.main import app

    monkeypatch.setenv("GEOGRID_DATABASE_URL", fresh_demo_url)
    catalogue = tmp_path / "catalogue.csv"
    catalogue.write_text(
        "code,type,major_name,name,handling_hours\n"
        "E0102,event,市容环境,暴露垃圾,6\nC0105,component,公用设施,路灯,24\n",
        encoding="utf-8-sig",
    )
    result = CliRunner().invoke(app, ["cases", "categories", str(catalogue)])
    assert result.exit_code == 0, result.output
    engine = create_engine(fresh_demo_url)
    with engine.connect() as conn:
        active = dict(
            conn.execute(text("SELECT code, handling_hours FROM case_category WHERE active")).all()
        )
    engine.dispose()
    assert active == {"E0102": 6.0, "C0105": 24.0}
    broken = tmp_path / "broken.csv"
    broken.write_text("code,name\nX1,坏\n", encoding="utf-8")
    assert CliRunner().invoke(app, ["cases", "categories", str(broken)]).exit_code == 1
