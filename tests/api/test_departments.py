"""Departments, handlers and the separation of duties over real HTTP, on a real PostGIS.

A burst gas pipe (E0403) reaches the gas company and its grid; Open311 names the department as
agency_responsible and the due time as expected_datetime; the gas handler signs for it (签收),
returns it with a reason (退单), signs for it again and reports it handled (反馈); the handler
cannot verify their own work (403 separation_of_duties), a dispatcher can; escalation
(吹哨报到) goes up only; a handler of another department touches nothing (403
not_your_department). The admin endpoints keep the responsibility list.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import create_engine, text

from geogrid.access import keys, users
from geogrid.access.roles import Role
from geogrid.api.schemas.cases import CaseAnswer, CasePreviewAnswer
from geogrid.errors import InvalidInputError
from geogrid.settings import AuthSettings
from tests.conftest import start_api

NAMES = {
    "dispatcher": (Role.dispatcher, None),
    "gas": (Role.handler, "RQ"),
    "power": (Role.handler, "GD"),
    "supervisor": (Role.supervisor, None),
    "admin": (Role.admin, None),
    "viewer": (Role.viewer, None),
}


class Api:
    def __init__(self, base: str, tokens: dict[str, str], url: str) -> None:
        self.base, self.tokens, self.url = base, tokens, url

    def call(self, method: str, path: str, who: str | None = "dispatcher", **kw: Any) -> Any:
        headers = kw.pop("headers", {})
        if who is not None:
            headers["Authorization"] = f"Bearer {self.tokens[who]}"
        return httpx.request(method, f"{self.base}{path}", headers=headers, timeout=30, **kw)

    def move(self, case_id: int, to: str, who: str, note: str = "") -> Any:
        return self.call(
            "POST", f"/v1/cases/{case_id}/transitions", who, json={"to": to, "note": note}
        )

    def events(self, case_id: int) -> int:
        engine = create_engine(self.url)
        with engine.connect() as conn:
            found = conn.execute(
                text("SELECT count(*) FROM case_event WHERE case_id = :id"), {"id": case_id}
            ).scalar_one()
        engine.dispose()
        return int(found)


@pytest.fixture(scope="module")
def api(server: Any, demo_template: str) -> Iterator[Api]:
    url = server.database("departments", template=demo_template)
    engine = create_engine(url)
    with engine.begin() as conn:
        tokens = {
            name: keys.create_key(conn, f"dept-{name}", role, department=department)[1]
            for name, (role, department) in NAMES.items()
        }
    engine.dispose()
    process, base = start_api(url)
    yield Api(base, tokens, url)
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture(scope="module")
def point(api: Api) -> tuple[float, float, str]:
    """A compound's point in grid 340102006004xxx (七里站街道) and its grid."""
    engine = create_engine(api.url)
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT ST_X(c.point) x, ST_Y(c.point) y, gg.grid_code FROM compound c "
                "JOIN grid_geometry gg ON gg.valid_to_release IS NULL AND ST_Covers(gg.geom, "
                "c.point) WHERE gg.grid_code LIKE '340102006%' ORDER BY c.id LIMIT 1"
            )
        ).one()
    engine.dispose()
    return row.x, row.y, row.grid_code.strip()


def report(point: tuple[float, float, str], category: str = "E0403") -> dict[str, Any]:
    return {
        "category": category,
        "description": "小区门口燃气管道破裂，有气味",
        "lon": point[0],
        "lat": point[1],
        "crs": "cgcs2000",
        "reporter": {"name": "王小明", "phone": "13900002222"},
        "channel": "hotline",
    }


def dispatched(api: Api, point: tuple[float, float, str], category: str = "E0403") -> int:
    created = api.call("POST", "/v1/cases", json=report(point, category))
    assert created.status_code == 201, created.text
    case_id = int(created.json()["id"])
    for to in ("accepted", "dispatched"):
        assert api.move(case_id, to, "dispatcher").status_code == 200
    return case_id


def test_a_gas_pipe_reaches_the_gas_company_and_its_grid(
    api: Api, point: tuple[float, float, str]
) -> None:
    preview = api.call("POST", "/v1/cases/preview", json=report(point))
    assert preview.status_code == 200, preview.text
    CasePreviewAnswer.model_validate(preview.json())
    assert preview.json()["department"]["code"] == "RQ"
    case_id = dispatched(api, point)
    answer = api.call("GET", f"/v1/cases/{case_id}", None).json()
    CaseAnswer.model_validate(answer)
    assert answer["status"] == "dispatched"
    assert answer["department"] == {
        "code": "RQ",
        "name": "合肥燃气集团瑶海服务所",
        "kind": "燃气",
        "contact": "0551-6000 0103",
        "active": True,
    }
    assert answer["grid"]["code"] == point[2]
    assert answer["due_at"] is not None and answer["due_at"].endswith("+08:00")
    # Open311: the department (and the grid) as agency_responsible, the due time expected
    request = api.call("GET", f"/open311/v2/requests/{case_id}.json", None).json()[0]
    assert request["agency_responsible"].startswith("合肥燃气集团瑶海服务所（RQ）")
    assert point[2] in request["agency_responsible"]
    due = datetime.fromisoformat(answer["due_at"]).replace(microsecond=0)
    assert request["expected_datetime"] == due.isoformat()  # seconds, +08:00
    # the handler's task list
    assert answer["escalation"] is None


def test_the_handler_signs_returns_handles_and_cannot_verify_their_own_work(
    api: Api, point: tuple[float, float, str]
) -> None:
    case_id = dispatched(api, point)
    # a dispatcher cannot sign for a department's case
    refused = api.move(case_id, "in_progress", "dispatcher")
    assert refused.status_code == 403
    assert refused.json()["code"] == "not_your_department"
    # 退单 needs a reason, then goes back to the dispatcher
    assert (
        api.call("POST", f"/v1/cases/{case_id}/return", "gas", json={"reason": " "}).status_code
        == 422
    )
    returned = api.call(
        "POST", f"/v1/cases/{case_id}/return", "gas", json={"reason": "需先由供水关阀"}
    )
    assert returned.status_code == 200, returned.text
    assert returned.json()["status"] == "accepted"
    event = returned.json()["events"][-1]
    assert (event["kind"], event["actor"], event["note"]) == (
        "returned",
        "dept-gas",
        "需先由供水关阀",
    )
    assert event["from_status"] == "dispatched" and event["to_status"] == "accepted"
    # re-dispatched, signed for (签收) and handled (反馈) by the gas handler
    assert api.move(case_id, "dispatched", "dispatcher").status_code == 200
    signed = api.move(case_id, "in_progress", "gas")
    assert signed.status_code == 200, signed.text
    assert api.move(case_id, "handled", "gas").status_code == 200
    # the handler cannot verify (nor close) their own work; nothing is written
    before = api.events(case_id)
    mine = api.move(case_id, "verified", "gas")
    assert mine.status_code == 403
    assert mine.json()["code"] == "forbidden"  # handlers do not verify at all
    admin = api.call("POST", "/v1/cases/0/transitions", "admin", json={"to": "verified"})
    assert admin.status_code in (404, 422)
    assert api.events(case_id) == before
    # a dispatcher verifies, the case closes
    assert api.move(case_id, "verified", "supervisor").status_code == 200
    closed = api.move(case_id, "closed", "dispatcher")
    assert closed.status_code == 200, closed.text
    actors = [
        (e["to_status"], e["actor"]) for e in closed.json()["events"] if e["kind"] == "transition"
    ]
    assert ("in_progress", "dept-gas") in actors and ("handled", "dept-gas") in actors
    assert ("verified", "dept-supervisor") in actors and ("closed", "dept-dispatcher") in actors


def test_the_person_who_handled_a_case_cannot_verify_or_close_it(
    api: Api, point: tuple[float, float, str]
) -> None:
    """The admin holds every permission and may stand in for the handler, but then someone
    else must check the work: 403 naming the rule, and nothing changes."""
    case_id = dispatched(api, point)
    assert api.move(case_id, "in_progress", "admin").status_code == 200
    assert api.move(case_id, "handled", "admin").status_code == 200
    before = api.events(case_id)
    for to in ("verified", "in_progress"):  # passing or failing the check
        refused = api.move(case_id, to, "admin", note="复核")
        assert refused.status_code == 403
        body = refused.json()
        assert body["code"] == "separation_of_duties"
        assert "separation of duties" in body["detail"] and "dept-admin" in body["detail"]
    zh = api.call(
        "POST",
        f"/v1/cases/{case_id}/transitions",
        "admin",
        json={"to": "verified"},
        headers={"Accept-Language": "zh"},
    )
    assert "职责分离" in zh.json()["detail"]
    assert api.events(case_id) == before
    assert api.call("GET", f"/v1/cases/{case_id}", None).json()["status"] == "handled"
    assert api.move(case_id, "verified", "dispatcher").status_code == 200
    # closing is 结案 by someone who did not handle it, too
    refused = api.move(case_id, "closed", "admin")
    assert refused.status_code == 403 and refused.json()["code"] == "separation_of_duties"
    assert api.move(case_id, "closed", "dispatcher").status_code == 200


def test_one_person_holding_two_keys_is_one_person(
    api: Api, point: tuple[float, float, str]
) -> None:
    """Keys with an owner act for that person: steps are recorded under the owner's name, the
    separation of duties compares persons (switching keys does not make another person), and a
    disabled account's keys stop working."""
    engine = create_engine(api.url)
    with engine.begin() as conn:
        users.create_user(
            conn, "wanggang", Role.handler, "a long pass phrase 42", AuthSettings(), department="RQ"
        )
        api.tokens["wang-gas"] = keys.create_key(
            conn, "wang-gas", Role.handler, department="RQ", owner="wanggang"
        )[1]
        api.tokens["wang-desk"] = keys.create_key(
            conn,
            "wang-desk",
            Role.dispatcher,
            owner="WangGang",  # user names ignore case
        )[1]
        with pytest.raises(InvalidInputError, match="nobody-here"):
            keys.create_key(conn, "ghost", Role.viewer, owner="nobody-here")
    listed = api.call("GET", "/v1/keys", "admin").json()
    assert {k["name"]: k["owner"] for k in listed}["wang-desk"] == "wanggang"
    case_id = dispatched(api, point)
    assert api.move(case_id, "in_progress", "wang-gas").status_code == 200
    assert api.move(case_id, "handled", "wang-gas").status_code == 200
    refused = api.move(case_id, "verified", "wang-desk")
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "separation_of_duties"
    assert "wanggang" in refused.json()["detail"]
    done = api.move(case_id, "verified", "dispatcher")
    assert done.status_code == 200
    actors = [
        (e["to_status"], e["actor"]) for e in done.json()["events"] if e["kind"] == "transition"
    ]
    assert ("handled", "wanggang") in actors and ("verified", "dept-dispatcher") in actors
    with engine.begin() as conn:
        users.set_disabled(conn, "wanggang", True, actor="test")
    engine.dispose()
    deadline = time.monotonic() + 8  # at once on the NOTIFY; within the key cache's 5 s anyway
    while (status := api.call("GET", "/v1/cases?limit=1", "wang-desk").status_code) != 401:
        assert time.monotonic() < deadline, status
        time.sleep(0.1)
    gone = api.call("GET", "/v1/cases?limit=1", "wang-desk")
    assert "wanggang" in gone.json()["detail"]


def test_a_handler_of_another_department_cannot_touch_the_case(
    api: Api, point: tuple[float, float, str]
) -> None:
    case_id = dispatched(api, point)
    before = api.events(case_id)
    for path, body in (
        ("transitions", {"to": "in_progress"}),
        ("return", {"reason": "不是我们的"}),
        ("escalate", {"level": "street", "reason": "协调"}),
    ):
        refused = api.call("POST", f"/v1/cases/{case_id}/{path}", "power", json=body)
        assert refused.status_code == 403, (path, refused.text)
        assert refused.json()["code"] == "not_your_department"
        assert "RQ" in refused.json()["detail"]
    assert (
        api.call(
            "POST", f"/v1/cases/{case_id}/reroute", "power", json={"grid": point[2], "reason": "x"}
        ).status_code
        == 403
    )
    assert api.events(case_id) == before


def test_escalation_goes_up_to_the_street_then_the_district(
    api: Api, point: tuple[float, float, str]
) -> None:
    case_id = dispatched(api, point)
    assert api.move(case_id, "in_progress", "gas").status_code == 200
    no_reason = api.call("POST", f"/v1/cases/{case_id}/escalate", "gas", json={"level": "street"})
    assert no_reason.status_code == 422
    bad = api.call(
        "POST", f"/v1/cases/{case_id}/escalate", "gas", json={"level": "city", "reason": "x"}
    )
    assert bad.status_code == 422 and "level" in bad.text
    street = api.call(
        "POST",
        f"/v1/cases/{case_id}/escalate",
        "gas",
        json={"level": "street", "reason": "涉及供水、燃气两家，需街道吹哨"},
    )
    assert street.status_code == 200, street.text
    assert street.json()["escalation"] == "street"
    event = street.json()["events"][-1]
    assert event["kind"] == "escalated" and event["details"] == {
        "level": "street",
        "from_level": None,
    }
    again = api.call(
        "POST", f"/v1/cases/{case_id}/escalate", "gas", json={"level": "street", "reason": "再次"}
    )
    assert again.status_code == 409
    district = api.call(
        "POST",
        f"/v1/cases/{case_id}/escalate",
        "supervisor",
        json={"level": "district", "reason": "街道协调不了"},
    )
    assert district.status_code == 200
    assert api.call("GET", f"/v1/cases/{case_id}", None).json()["escalation"] == "district"
    # a viewer may not escalate
    assert (
        api.call(
            "POST",
            f"/v1/cases/{case_id}/escalate",
            "viewer",
            json={"level": "district", "reason": "x"},
        ).status_code
        == 403
    )


def test_a_dispatcher_assigns_another_department_after_a_return(
    api: Api, point: tuple[float, float, str]
) -> None:
    case_id = dispatched(api, point, "C0101")  # 上水井盖 → 供水 (SW)
    answer = api.call("GET", f"/v1/cases/{case_id}", None).json()
    assert answer["department"]["code"] == "SW"
    dispatched_too_late = api.call(
        "POST", f"/v1/cases/{case_id}/department", json={"department": "GD", "reason": "电力井盖"}
    )
    assert dispatched_too_late.status_code == 409
    api.tokens["water"] = _key(api, "water", "SW")
    assert (
        api.call(
            "POST", f"/v1/cases/{case_id}/return", "water", json={"reason": "为电力井盖"}
        ).status_code
        == 200
    )
    assigned = api.call(
        "POST", f"/v1/cases/{case_id}/department", json={"department": "GD", "reason": "电力井盖"}
    )
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["department"]["code"] == "GD"
    assert api.move(case_id, "dispatched", "dispatcher").status_code == 200
    assert api.move(case_id, "in_progress", "power").status_code == 200
    unknown = api.call(
        "POST", f"/v1/cases/{case_id}/department", json={"department": "NOPE", "reason": "x"}
    )
    assert unknown.status_code == 404


def _key(api: Api, name: str, department: str) -> str:
    engine = create_engine(api.url)
    with engine.begin() as conn:
        secret = keys.create_key(conn, f"dept-{name}", Role.handler, department=department)[1]
    engine.dispose()
    return secret


def test_admins_keep_the_departments_and_the_responsibility_list(
    api: Api, point: tuple[float, float, str]
) -> None:
    listed = api.call("GET", "/v1/departments", None)
    assert listed.status_code == 200 and any(d["code"] == "RQ" for d in listed.json())
    new = {"name": "七里站街道燃气专班", "kind": "燃气", "contact": "0551-6000 9999"}
    assert api.call("PUT", "/v1/departments/QLZ-RQ", "dispatcher", json=new).status_code == 403
    assert api.call("PUT", "/v1/departments/QLZ-RQ", "admin", json=new).status_code == 200
    bad_kind = api.call("PUT", "/v1/departments/X1", "admin", json={**new, "kind": "燃汽"})
    assert bad_kind.status_code == 422 and "燃汽" in bad_kind.json()["detail"]
    # a department that still holds open cases is not deactivated, through the API either
    assert api.call("POST", "/v1/cases", json=report(point)).status_code == 201  # a gas case
    rq = next(d for d in listed.json() if d["code"] == "RQ")
    busy = api.call(
        "PUT",
        "/v1/departments/RQ",
        "admin",
        json={"name": rq["name"], "kind": rq["kind"], "contact": rq["contact"], "active": False},
    )
    assert busy.status_code == 409 and "open cases" in busy.json()["detail"]
    assert api.call("GET", "/v1/departments/RQ", None).json()["active"] is True
    street = point[2][:9]
    row = {"category": "E0403", "area": street, "department": "QLZ-RQ"}
    saved = api.call("PUT", "/v1/responsibility", "admin", json=row)
    assert saved.status_code == 200, saved.text
    assert saved.json()["area_level"] == "street"
    resolved = api.call(
        "GET", f"/v1/responsibility/resolve?category=E0403&grid={point[2]}", None
    ).json()
    assert resolved["code"] == "QLZ-RQ"  # the street row beats the district's
    preview = api.call("POST", "/v1/cases/preview", json=report(point)).json()
    assert preview["department"]["code"] == "QLZ-RQ"
    for bad, word in (
        ({**row, "area": "340102999"}, "340102999"),
        ({**row, "category": "E99"}, "E99"),
        ({**row, "department": "NOPE"}, "NOPE"),
    ):
        refused = api.call("PUT", "/v1/responsibility", "admin", json=bad)
        assert refused.status_code == 422 and word in refused.json()["detail"]
    assert api.call("DELETE", f"/v1/responsibility/E0403/{street}", "admin").status_code == 204
    assert api.call("DELETE", f"/v1/responsibility/E0403/{street}", "admin").status_code == 404
    resolved = api.call(
        "GET", f"/v1/responsibility/resolve?category=E0403&grid={point[2]}", None
    ).json()
    assert resolved["code"] == "RQ"
    # every change through the API is in the audit log, as the console's are; refusals are not
    engine = create_engine(api.url)
    with engine.connect() as conn:
        logged = conn.execute(
            text(
                "SELECT event, actor, details FROM audit_event WHERE event IN "
                "('department_saved', 'responsibility_saved', 'responsibility_deleted') "
                "ORDER BY id"
            )
        ).all()
    engine.dispose()
    assert [(e.event, e.actor) for e in logged] == [
        ("department_saved", "dept-admin"),
        ("responsibility_saved", "dept-admin"),
        ("responsibility_deleted", "dept-admin"),
    ]
    assert logged[0].details["department"] == "QLZ-RQ"
    assert logged[1].details == {"category": "E0403", "area": street, "department": "QLZ-RQ"}


def test_a_handler_adds_photos_to_their_departments_cases_only(
    api: Api, point: tuple[float, float, str]
) -> None:
    case_id = dispatched(api, point)
    assert api.move(case_id, "in_progress", "gas").status_code == 200
    image = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 80, 40)).save(image, "PNG")
    files = {"file": ("after.png", image.getvalue(), "image/png")}
    theirs = api.call(
        "POST", f"/v1/cases/{case_id}/photos", "power", files=files, data={"stage": "after"}
    )
    assert theirs.status_code == 403 and theirs.json()["code"] == "not_your_department"
    mine = api.call(
        "POST", f"/v1/cases/{case_id}/photos", "gas", files=files, data={"stage": "after"}
    )
    assert mine.status_code == 201, mine.text
