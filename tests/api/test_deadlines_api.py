"""Working-hour deadlines through the API, on a real server and PostGIS, on dates the State
Council's notices fix.

The cases are entered late (补录, ``reported_at`` and a transition's ``at``), as a register taken
on paper would be, so each happens on the day the test needs; everything else is the API as
shipped with its default office hours (08:30–12:00, 13:30–17:30).

The notice: 国务院办公厅关于2025年部分节假日安排的通知（国办发明电〔2024〕12号）— 国庆节、中秋节：
10月1日（周三）至8日（周三）放假调休，共8天；9月28日（周日）、10月11日（周六）上班.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from geogrid.access import keys
from geogrid.access.roles import Role
from tests.conftest import start_api

#: late entry reaches back to September 2025, however long after that the tests run
DAYS_BACK = (datetime.now(UTC) - datetime(2025, 9, 1, tzinfo=UTC)).days + 30


class Api:
    def __init__(self, base: str, token: str, point: tuple[float, float]) -> None:
        self.base, self.token, self.point = base, token, point

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(
            f"{self.base}{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )

    def report(self, reported_at: str, category: str = "E0102") -> dict[str, Any]:
        lon, lat = self.point
        made = self.post(
            "/v1/cases",
            {
                "category": category,
                "description": "路口垃圾堆放（纸质登记补录）",
                "lon": lon,
                "lat": lat,
                "crs": "cgcs2000",
                "reported_at": reported_at,
            },
        )
        assert made.status_code == 201, made.text
        return dict(made.json())

    def move(self, case_id: int, to: str, at: str) -> dict[str, Any]:
        moved = self.post(f"/v1/cases/{case_id}/transitions", {"to": to, "at": at})
        assert moved.status_code == 200, moved.text
        return dict(moved.json())


@pytest.fixture(scope="module")
def api(server: Any, demo_template: str) -> Iterator[Api]:
    url = server.database("deadlinesapi", template=demo_template)
    engine = create_engine(url)
    with engine.begin() as conn:
        token = keys.create_key(conn, "desk", Role.dispatcher)[1]
        point = conn.execute(
            text("SELECT ST_X(point) x, ST_Y(point) y FROM compound LIMIT 1")
        ).one()
    engine.dispose()
    process, base = start_api(url, settings={"GEOGRID_LATE_ENTRY_DAYS": str(DAYS_BACK)})
    yield Api(base, token, (point.x, point.y))
    process.terminate()
    process.wait(timeout=20)


def test_accepted_at_closing_on_the_eve_of_national_day_is_due_after_the_holiday(api: Api) -> None:
    # E0102 暴露垃圾: 4 working hours. Reported at 17:00 and accepted and dispatched at 17:30 on
    # Tuesday 30 September 2025, the close of the last working day before the holiday.
    case = api.report("2025-09-30T17:00:00+08:00")
    assert case["created_at"] == "2025-09-30T17:00:00+08:00"
    # 立案 has 1 working hour: 17:00–17:30 is half of it
    assert case["stage_due_at"] == "2025-10-09T09:00:00+08:00"
    accepted = api.move(case["id"], "accepted", "2025-09-30T17:30:00+08:00")
    assert accepted["accepted_at"] == "2025-09-30T17:30:00+08:00"
    assert accepted["stage_due_at"] == "2025-10-09T09:30:00+08:00"  # 派遣: 1 working hour
    dispatched = api.move(case["id"], "dispatched", "2025-09-30T17:30:00+08:00")
    # 1–8 October are days off; Thursday 9 October gives 3.5 h in the morning (08:30–12:00)
    # and the last 0.5 h from 13:30
    assert dispatched["due_at"] == "2025-10-09T14:00:00+08:00"
    assert dispatched["stage"] == "handle" and dispatched["stage_due_at"] == dispatched["due_at"]
    late = [e for e in dispatched["events"] if e["details"].get("entered_late")]
    assert len(late) == 3  # the report and both steps say they were entered late


def test_a_make_up_saturday_is_a_working_day(api: Api) -> None:
    # Dispatched at 16:30 on Friday 10 October 2025 with 4 working hours: 1 h that afternoon,
    # then Saturday 11 October is worked (调休上班), 08:30–11:30.
    case = api.report("2025-10-10T16:00:00+08:00")
    api.move(case["id"], "accepted", "2025-10-10T16:30:00+08:00")
    dispatched = api.move(case["id"], "dispatched", "2025-10-10T16:30:00+08:00")
    assert dispatched["due_at"] == "2025-10-11T11:30:00+08:00"
    # and Sunday 28 September 2025 too: reported at 08:30 with 1 h for 立案
    sunday = api.report("2025-09-28T08:30:00+08:00")
    assert sunday["stage_due_at"] == "2025-09-28T09:30:00+08:00"


def test_a_late_entry_is_checked(api: Api) -> None:
    case = api.report("2025-10-10T09:00:00+08:00")
    before = api.post(
        f"/v1/cases/{case['id']}/transitions", {"to": "accepted", "at": "2025-10-10T08:00:00+08:00"}
    )
    assert before.status_code == 422 and "previous step" in before.json()["detail"]
    future = api.post(
        f"/v1/cases/{case['id']}/transitions", {"to": "accepted", "at": "2099-01-01T08:00:00+08:00"}
    )
    assert future.status_code == 422 and "future" in future.json()["detail"]
    naive = api.post(
        f"/v1/cases/{case['id']}/transitions", {"to": "accepted", "at": "2025-10-10T10:00:00"}
    )
    assert naive.status_code == 422
    lon, lat = api.point
    too_old = api.post(
        "/v1/cases",
        {
            "category": "E0102",
            "description": "x",
            "lon": lon,
            "lat": lat,
            "crs": "cgcs2000",
            "reported_at": "2020-01-01T08:00:00+08:00",
        },
    )
    assert too_old.status_code == 422 and "GEOGRID_LATE_ENTRY_DAYS" in too_old.json()["detail"]
