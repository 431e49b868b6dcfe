"""After dispatch, over real HTTP and PostGIS: stages and their limits, urgency levels,
warnings, extensions approved by a supervisor, 催办 and 督办, 回访 and reopening, and
performance that charges each grid only its own 处置 time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from geogrid import notify
from geogrid.access import keys
from geogrid.access.roles import Role
from geogrid.api.schemas.cases import CaseAnswer
from geogrid.cases.warnings import issue_warnings
from tests.conftest import start_api

#: the people of this module: two dispatchers (one moves cases on, the other checks them), the
#: handler of 市政 (SZ, which answers for 突发事件 E04 in the demo's responsibility list), a
#: supervisor and an admin
PEOPLE = {
    "desk1": (Role.dispatcher, None),
    "desk2": (Role.dispatcher, None),
    "hand": (Role.handler, "SZ"),
    "chief": (Role.supervisor, None),
    "boss": (Role.admin, None),
}
#: the moves the department makes
DEPARTMENT_MOVES = ("in_progress", "handled")


class Api:
    def __init__(self, base: str, tokens: dict[str, str], url: str) -> None:
        self.base, self.tokens, self.url = base, tokens, url

    def call(self, method: str, path: str, who: str | None = "desk1", **kw: Any) -> httpx.Response:
        headers = {} if who is None else {"Authorization": f"Bearer {self.tokens[who]}"}
        return httpx.request(method, f"{self.base}{path}", headers=headers, timeout=30, **kw)

    def sql(self, statement: str, **params: Any) -> Any:
        engine = create_engine(self.url)
        with engine.begin() as conn:
            rows = conn.execute(text(statement), params)
            found = rows.all() if rows.returns_rows else None
        engine.dispose()
        return found

    def new(self, category: str, where: tuple[float, float], **extra: Any) -> dict[str, Any]:
        lon, lat = where
        body = {
            "category": category,
            "description": "群众反映",
            "lon": lon,
            "lat": lat,
            "crs": "cgcs2000",
            "reporter": {"name": "陈晓", "phone": "13800002222"},
            **extra,
        }
        made = self.call("POST", "/v1/cases", json=body)
        assert made.status_code == 201, made.text
        return dict(made.json())

    def move(self, case_id: int, to: str, who: str = "", **extra: Any) -> dict[str, Any]:
        who = who or ("hand" if to in DEPARTMENT_MOVES else "desk1")
        moved = self.call("POST", f"/v1/cases/{case_id}/transitions", who, json={"to": to, **extra})
        assert moved.status_code == 200, moved.text
        return dict(moved.json())


@pytest.fixture(scope="module")
def api(server: Any, demo_template: str) -> Iterator[Api]:
    url = server.database("supervision", template=demo_template)
    engine = create_engine(url)
    with engine.begin() as conn:
        tokens = {
            name: keys.create_key(conn, name, role, department=department)[1]
            for name, (role, department) in PEOPLE.items()
        }
    engine.dispose()
    process, base = start_api(url)
    yield Api(base, tokens, url)
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture(scope="module")
def points(api: Api) -> list[tuple[float, float]]:
    """Compound points in two different grids (storage coordinates)."""
    rows = api.sql(
        "SELECT DISTINCT ON (gg.grid_code) ST_X(c.point) x, ST_Y(c.point) y FROM compound c "
        "JOIN grid_geometry gg ON gg.valid_to_release IS NULL AND ST_Covers(gg.geom, c.point) "
        "ORDER BY gg.grid_code, c.id LIMIT 2"
    )
    return [(r.x, r.y) for r in rows]


def t(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_a_missing_cover_is_urgent_and_a_cracked_one_is_not(
    api: Api, points: list[tuple[float, float]]
) -> None:
    categories = {c["code"]: c for c in api.call("GET", "/v1/case-categories", None).json()}
    cover = categories["C0102"]
    assert [lv["urgency"] for lv in cover["levels"]] == ["urgent", "normal"]
    urgent, normal = cover["levels"]
    assert "缺失" in urgent["condition"] and "破损" in normal["condition"]
    assert (urgent["handling_hours"], normal["handling_hours"]) == (2, 24)
    assert [lv["urgency"] for lv in categories["E0102"]["levels"]] == ["normal"]

    missing = api.new("C0102", points[0], urgency="urgent")
    cracked = api.new("C0102", points[0])  # not said: the category's normal level
    assert (missing["urgency"], missing["urgency_zh"], cracked["urgency"]) == (
        "urgent",
        "紧急",
        "normal",
    )
    for case, hours in ((missing, 2), (cracked, 24)):
        api.move(case["id"], "accepted")
        dispatched = api.move(case["id"], "dispatched")
        # 处置 runs round the clock from dispatch, for the hours of its level
        assert t(dispatched["due_at"]) == t(dispatched["dispatched_at"]) + timedelta(hours=hours)
        assert (
            dispatched["stage"] == "handle" and dispatched["stage_due_at"] == dispatched["due_at"]
        )
        assert dispatched["due_at"].endswith("+08:00")
    # a level the category does not have is refused naming the ones it has
    refused = api.call(
        "POST",
        "/v1/cases",
        json={
            "category": "E0102",
            "description": "x",
            "lon": points[0][0],
            "lat": points[0][1],
            "crs": "cgcs2000",
            "urgency": "urgent",
        },
    )
    assert refused.status_code == 422 and "normal" in refused.json()["detail"]
    # and acceptance may set the level (立案 decides how urgent it is)
    later = api.new("C0102", points[0])
    accepted = api.move(later["id"], "accepted", urgency="urgent")
    assert accepted["urgency"] == "urgent" and accepted["category"]["handling_hours"] == 2
    moved = api.call(
        "POST",
        f"/v1/cases/{later['id']}/transitions",
        json={"to": "dispatched", "urgency": "normal"},
    )
    assert moved.status_code == 422 and "accepted" in moved.json()["detail"]


def test_each_stage_has_its_own_limit_and_handling_starts_at_dispatch(
    api: Api, points: list[tuple[float, float]]
) -> None:
    # E0404 下水道堵塞或破损, normal level: 4 h round the clock; 立案 and 派遣 1 h each, 核查 2 h
    case = api.new("E0404", points[0])
    assert case["stage"] == "accept" and case["warning"] == "green"
    assert abs(t(case["stage_due_at"]) - t(case["created_at"]) - timedelta(hours=1)) < timedelta(
        seconds=2
    )
    accepted = api.move(case["id"], "accepted")
    assert accepted["stage"] == "dispatch"
    assert t(accepted["stage_due_at"]) == t(accepted["accepted_at"]) + timedelta(hours=1)
    # the centre took 3 h to dispatch: late in 派遣 (red), and none of it is the grid's
    api.sql(
        "UPDATE civic_case SET accepted_at = accepted_at - interval '3 hours', "
        "stage_yellow_at = stage_yellow_at - interval '3 hours', "
        "stage_due_at = stage_due_at - interval '3 hours' WHERE id = :id",
        id=case["id"],
    )
    late = api.call("GET", f"/v1/cases/{case['id']}").json()
    assert late["warning"] == "red" and late["overdue"] and late["stage_zh"] == "派遣"
    dispatched = api.move(case["id"], "dispatched")
    assert t(dispatched["due_at"]) == t(dispatched["dispatched_at"]) + timedelta(hours=4)
    assert dispatched["warning"] == "green" and not dispatched["overdue"]
    api.move(case["id"], "in_progress")
    handled = api.move(case["id"], "handled")
    assert handled["stage"] == "verify" and handled["handled_at"]
    assert t(handled["stage_due_at"]) == t(handled["handled_at"]) + timedelta(hours=2)
    verified = api.move(case["id"], "verified", "desk2")
    assert verified["stage"] is None and verified["warning"] is None
    CaseAnswer.model_validate(verified)


def test_warnings_are_given_once_per_stage_and_level(
    api: Api, points: list[tuple[float, float]]
) -> None:
    engine = create_engine(api.url)
    with engine.begin() as conn:  # a gateway that texts warnings, escalations and 督办
        notify.add_webhook(
            conn,
            "sms",
            "http://127.0.0.1:9/sms",
            kinds=["case.warning", "case.escalated", "case.supervised"],
            actor="test",
        )
    case = api.new("E0404", points[1])
    api.move(case["id"], "accepted")
    api.move(case["id"], "dispatched")
    # 85 % of its 4 h used: yellow
    api.sql(
        "UPDATE civic_case SET stage_yellow_at = now() - interval '12 minutes', "
        "stage_due_at = now() + interval '36 minutes' WHERE id = :id",
        id=case["id"],
    )
    with engine.begin() as conn:
        given = [w for w in issue_warnings(conn) if w.case_id == case["id"]]
    with engine.begin() as conn:
        again = [w for w in issue_warnings(conn) if w.case_id == case["id"]]
    assert [(w.level, w.stage) for w in given] == [("yellow", "handle")] and again == []
    api.sql(
        "UPDATE civic_case SET stage_due_at = now() - interval '1 minute' WHERE id = :id",
        id=case["id"],
    )
    with engine.begin() as conn:
        red = [w for w in issue_warnings(conn) if w.case_id == case["id"]]
    engine.dispose()
    assert [w.level for w in red] == ["red"]
    shown = api.call("GET", f"/v1/cases/{case['id']}").json()
    assert shown["warning"] == "red"
    warned = [e for e in shown["events"] if e["kind"] == "warning"]
    assert [e["details"]["level"] for e in warned] == ["yellow", "red"]
    assert warned[0]["note"] == "处置即将超时" and warned[1]["note"] == "处置超时"
    # each warning went to the outbox too, in the same transaction, once
    sent = api.sql(
        "SELECT kind, payload->>'level' AS level FROM notify_event WHERE case_id = :id ORDER BY id",
        id=case["id"],
    )
    assert [(e.kind, e.level) for e in sent] == [
        ("case.warning", "yellow"),
        ("case.warning", "red"),
    ]
    supervised = api.call(
        "POST", f"/v1/cases/{case['id']}/supervise", "chief", json={"note": "限期"}
    )
    assert supervised.status_code == 200
    escalated = api.call(
        "POST", f"/v1/cases/{case['id']}/escalate", json={"level": "street", "reason": "需街道协调"}
    )
    assert escalated.status_code == 200, escalated.text
    kinds = [
        e.kind
        for e in api.sql(
            "SELECT kind FROM notify_event WHERE case_id = :id ORDER BY id", id=case["id"]
        )
    ]
    assert kinds[2:] == ["case.supervised", "case.escalated"]


def test_an_extension_is_asked_for_and_approved_by_someone_else(
    api: Api, points: list[tuple[float, float]]
) -> None:
    case = api.new("E0404", points[0])  # 市政's (SZ): its handler asks
    extensions = f"/v1/cases/{case['id']}/extensions"
    api.move(case["id"], "accepted")
    early = api.call("POST", extensions, "hand", json={"hours": 8, "reason": "等待停气"})
    assert early.status_code == 409 and "处置" in early.json()["detail"]
    before = api.move(case["id"], "dispatched")
    # a dispatcher does not ask for a department's case
    other = api.call("POST", extensions, "desk1", json={"hours": 8, "reason": "x"})
    assert other.status_code == 403 and other.json()["code"] == "not_your_department"
    asked = api.call("POST", extensions, "hand", json={"hours": 8, "reason": "需协调停水后施工"})
    assert asked.status_code == 201, asked.text
    ask = asked.json()
    assert ask["status"] == "pending" and ask["requested_by"] == "hand"
    twice = api.call("POST", extensions, "hand", json={"hours": 2, "reason": "再延"})
    assert twice.status_code == 409  # one pending at a time
    assert [e["id"] for e in api.call("GET", "/v1/extensions", "chief").json()] == [ask["id"]]
    decision = f"{extensions}/{ask['id']}/decision"
    # neither a dispatcher nor the handler decides
    assert api.call("POST", decision, "desk2", json={"approve": True}).status_code == 403
    assert api.call("POST", decision, "hand", json={"approve": True}).status_code == 403
    approved = api.call("POST", decision, "chief", json={"approve": True, "note": "同意"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved" and approved.json()["decided_by"] == "chief"
    after = api.call("GET", f"/v1/cases/{case['id']}").json()
    assert t(after["due_at"]) == t(before["due_at"]) + timedelta(hours=8)
    assert after["extended_hours"] == 8 and after["stage_due_at"] == after["due_at"]
    assert api.call("POST", decision, "chief", json={"approve": False}).status_code == 409
    # the admin asks (standing in for the handler) and may not decide it: nobody decides
    # their own request
    mine = api.call("POST", extensions, "boss", json={"hours": 1, "reason": "现场复杂"}).json()
    refused = api.call(
        "POST", f"{extensions}/{mine['id']}/decision", "boss", json={"approve": True}
    )
    assert refused.status_code == 403 and refused.json()["code"] == "separation_of_duties"
    rejected = api.call(
        "POST", f"{extensions}/{mine['id']}/decision", "boss", json={"approve": False, "note": "x"}
    )
    assert rejected.status_code == 403  # rejecting it is deciding it too
    history = api.call("GET", extensions).json()
    assert [e["status"] for e in history] == ["pending", "approved"]


def test_urging_and_supervision(api: Api, points: list[tuple[float, float]]) -> None:
    case = api.new("E0102", points[1])
    for expected in (1, 2):
        urged = api.call("POST", f"/v1/cases/{case['id']}/urge", json={"note": "群众再次来电"})
        assert urged.status_code == 200 and urged.json()["urged"] == expected
    denied = api.call("POST", f"/v1/cases/{case['id']}/supervise", json={"note": "限期"})
    assert denied.status_code == 403
    blank = api.call("POST", f"/v1/cases/{case['id']}/supervise", "chief", json={"note": " "})
    assert blank.status_code == 422
    done = api.call(
        "POST", f"/v1/cases/{case['id']}/supervise", "chief", json={"note": "请明日12时前处置完毕"}
    )
    assert done.status_code == 200 and done.json()["supervised_at"].endswith("+08:00")
    kinds = [e["kind"] for e in done.json()["events"]]
    assert kinds.count("urged") == 2 and kinds.count("supervised") == 1
    api.move(case["id"], "void", note="重复")
    gone = api.call("POST", f"/v1/cases/{case['id']}/urge", json={"note": "x"})
    assert gone.status_code == 409
    assert api.call("POST", "/v1/cases/999999/urge", json={}).status_code == 404


def _closed(api: Api, where: tuple[float, float]) -> dict[str, Any]:
    case = api.new("E0404", where)
    for to in ("accepted", "dispatched", "in_progress", "handled"):
        api.move(case["id"], to)
    api.move(case["id"], "verified", "desk2")
    return api.move(case["id"], "closed", "desk2")


def test_return_visits_and_reopening(api: Api, points: list[tuple[float, float]]) -> None:
    case = _closed(api, points[0])
    path = f"/v1/cases/{case['id']}"
    assert api.call("POST", f"{path}/visits", json={"reached": True}).status_code == 422
    assert (
        api.call("POST", f"{path}/visits", json={"reached": False, "satisfaction": 3}).status_code
        == 422
    )
    missed = api.call("POST", f"{path}/visits", json={"reached": False, "note": "无人接听"})
    assert missed.status_code == 201 and missed.json()["satisfaction"] is None
    visit = api.call(
        "POST", f"{path}/visits", json={"reached": True, "satisfaction": 2, "note": "仍有积水"}
    )
    assert visit.status_code == 201 and visit.json()["satisfaction_zh"] == "不满意"
    assert api.call("GET", path).json()["satisfaction"] == 2
    assert len(api.call("GET", f"{path}/visits").json()) == 2
    assert api.call("POST", f"{path}/reopen", json={"note": ""}).status_code == 422
    assert api.call("POST", f"{path}/reopen", None, json={"note": "x"}).status_code == 401
    reopened = api.call("POST", f"{path}/reopen", json={"note": "回访不满意：仍有积水"})
    assert reopened.status_code == 200, reopened.text
    again = reopened.json()
    assert (again["status"], again["reopened"], again["closed_at"]) == ("dispatched", 1, None)
    assert again["stage"] == "handle" and t(again["due_at"]) > t(case["due_at"])
    assert again["events"][-1]["kind"] == "reopened"
    # an open case is not reopened, nor visited
    assert api.call("POST", f"{path}/reopen", json={"note": "x"}).status_code == 409
    assert api.call("POST", f"{path}/visits", json={"reached": False}).status_code == 409


def test_each_grid_is_charged_only_its_own_handling_time(
    api: Api, points: list[tuple[float, float]]
) -> None:
    case = api.new("E0404", points[0])
    api.move(case["id"], "accepted")
    first = api.move(case["id"], "dispatched")
    # the first grid held it 2 h, then it was sent to the second grid, which held it 1 h
    api.sql(
        "UPDATE case_duty SET started_at = started_at - interval '2 hours' WHERE case_id = :id",
        id=case["id"],
    )
    other = api.sql(
        "SELECT grid_code FROM grid_geometry WHERE valid_to_release IS NULL AND "
        "ST_Covers(geom, ST_SetSRID(ST_MakePoint(:x, :y), 4490))",
        x=points[1][0],
        y=points[1][1],
    )[0].grid_code.strip()
    moved = api.call(
        "POST",
        f"/v1/cases/{case['id']}/reroute",
        json={"grid": other, "reason": "现场核实属隔壁网格"},
    )
    assert moved.status_code == 200, moved.text
    api.sql(
        "UPDATE case_duty SET started_at = started_at - interval '1 hour' "
        "WHERE case_id = :id AND ended_at IS NULL",
        id=case["id"],
    )
    api.move(case["id"], "on_hold", note="等待配件")  # time on hold is nobody's
    api.sql(
        "UPDATE civic_case SET hold_started_at = hold_started_at - interval '5 hours' "
        "WHERE id = :id",
        id=case["id"],
    )
    api.move(case["id"], "dispatched")
    api.move(case["id"], "in_progress")
    done = api.move(case["id"], "handled")
    spans = api.sql(
        "SELECT grid_code, hours FROM case_duty WHERE case_id = :id ORDER BY id", id=case["id"]
    )
    assert [s.grid_code.strip() for s in spans] == [first["grid"]["code"], other, other]
    assert [round(s.hours, 2) for s in spans] == [2.0, 1.0, 0.0]
    assert done["responsible_hours"] == pytest.approx(3.0, abs=0.01)


def test_late_entry_is_off_unless_turned_on(api: Api, points: list[tuple[float, float]]) -> None:
    lon, lat = points[0]
    refused = api.call(
        "POST",
        "/v1/cases",
        json={
            "category": "E0102",
            "description": "补录",
            "lon": lon,
            "lat": lat,
            "crs": "cgcs2000",
            "reported_at": "2025-10-10T09:00:00+08:00",
        },
    )
    assert refused.status_code == 422 and "GEOGRID_LATE_ENTRY_DAYS" in refused.json()["detail"]
    case = api.new("E0102", points[0])
    moved = api.call(
        "POST",
        f"/v1/cases/{case['id']}/transitions",
        json={"to": "accepted", "at": case["created_at"]},
    )
    assert (
        moved.status_code == 422
        and api.call("GET", f"/v1/cases/{case['id']}").json()["status"] == "reported"
    )


def test_performance_charges_the_grid_that_held_the_case(
    api: Api, points: list[tuple[float, float]]
) -> None:
    # E0405 道路积水 (2 h round the clock), a category no other test here uses
    case = api.new("E0405", points[0])
    api.move(case["id"], "accepted")
    first = api.move(case["id"], "dispatched")["grid"]["code"]
    api.sql(
        "UPDATE case_duty SET started_at = started_at - interval '2 hours' WHERE case_id = :id",
        id=case["id"],
    )
    other = api.sql(
        "SELECT grid_code FROM grid_geometry WHERE valid_to_release IS NULL AND "
        "ST_Covers(geom, ST_SetSRID(ST_MakePoint(:x, :y), 4490))",
        x=points[1][0],
        y=points[1][1],
    )[0].grid_code.strip()
    moved = api.call(
        "POST", f"/v1/cases/{case['id']}/reroute", json={"grid": other, "reason": "改派"}
    )
    assert moved.status_code == 200, moved.text
    api.sql(
        "UPDATE case_duty SET started_at = started_at - interval '1 hour' "
        "WHERE case_id = :id AND ended_at IS NULL",
        id=case["id"],
    )
    for to in ("in_progress", "handled"):
        api.move(case["id"], to)
    for to in ("verified", "closed"):
        api.move(case["id"], to, "desk2")
    answer = api.call("GET", "/v1/cases/performance", params={"by": "grid", "category": "E0405"})
    assert answer.status_code == 200, answer.text
    perf = answer.json()
    units = {u["code"]: u for u in perf["units"]}
    # the first grid held it 2 h and is charged them, though the case is now the other's
    assert (units[first]["closed"], units[first]["mean_handling_hours"]) == (
        0,
        pytest.approx(2.0, abs=0.01),
    )
    assert (units[other]["closed"], units[other]["mean_handling_hours"]) == (
        1,
        pytest.approx(1.0, abs=0.01),
    )
    # the case counts once in the total: 3 h
    assert perf["total"]["mean_handling_hours"] == pytest.approx(3.0, abs=0.01)
    # and all 3 h are 市政's, the department that held it throughout
    by_department = api.call(
        "GET", "/v1/cases/performance", params={"by": "department", "category": "E0405"}
    ).json()
    [sz] = by_department["units"]
    assert (sz["code"], sz["closed"]) == ("SZ", 1)
    assert sz["mean_handling_hours"] == pytest.approx(3.0, abs=0.01)
