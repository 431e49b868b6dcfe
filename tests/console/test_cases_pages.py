"""The dispatcher's case queue, a case's page and the dashboard, over real HTTP.

One API process on one private copy of the demo with 180 generated cases (bench/console.py's
loader) serves the module; a dispatcher and a viewer sign in through /login. The queue's
answers are compared with the JSON API's on the same data, the dashboard's figures with
/v1/cases/performance. One test drives Debian's Chromium at 390×844.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import Engine, create_engine

from bench.console import load_cases
from geogrid.access import users
from geogrid.access.roles import Role
from geogrid.api.routes.console.dashboard import this_month
from geogrid.settings import AuthSettings
from tests.browser import launched_chromium
from tests.conftest import start_api

if TYPE_CHECKING:
    from tests.conftest import TestServer

PASSWORD = "test-pass-5678"
PHONE = "13987654321"
ROW = re.compile(r'<tr data-case="(\d+)"')


@pytest.fixture(scope="module")
def database_url(server: TestServer, demo_template: str) -> str:
    return server.database(f"cq{secrets.token_hex(3)}", template=demo_template)


@pytest.fixture(scope="module")
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url)
    with engine.begin() as conn:
        load_cases(conn, 180)
        users.create_user(conn, "disp-t", Role.dispatcher, PASSWORD, AuthSettings())
        users.create_user(conn, "view-t", Role.viewer, PASSWORD, AuthSettings())
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def api(engine: Engine, database_url: str) -> Iterator[str]:
    process, base = start_api(database_url, settings={"GEOGRID_RATE_LIMITS": "false"})
    yield base
    process.terminate()
    process.wait(timeout=30)


def _signed_in(base: str, name: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60, follow_redirects=False)
    answer = client.post("/login", data={"username": name, "password": PASSWORD})
    assert answer.status_code == 303, answer.text[:300]
    return client


@pytest.fixture(scope="module")
def dispatcher(api: str) -> Iterator[httpx.Client]:
    client = _signed_in(api, "disp-t")
    yield client
    client.close()


@pytest.fixture(scope="module")
def viewer(api: str) -> Iterator[httpx.Client]:
    client = _signed_in(api, "view-t")
    yield client
    client.close()


def csrf(client: httpx.Client) -> str:
    html = client.get("/console/cases?status=void").text
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert found is not None
    return found.group(1)


@pytest.fixture(scope="module")
def reported(dispatcher: httpx.Client) -> dict[str, Any]:
    """A case reported through the API with a known reporter phone."""
    one = dispatcher.get("/v1/cases", params={"limit": 1}).json()["cases"][0]
    answer = dispatcher.post(
        "/v1/cases",
        json={
            "category": "E0102",
            "description": "控制台测试：路边垃圾",
            "lon": one["location"]["lon"],
            "lat": one["location"]["lat"],
            "crs": "cgcs2000",
            "reporter": {"name": "王小明", "phone": PHONE},
        },
        headers={"X-CSRF-Token": csrf(dispatcher)},
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def all_cases(client: httpx.Client, **params: str) -> list[dict[str, Any]]:
    return list(client.get("/v1/cases", params={**params, "limit": 1000}).json()["cases"])


def queue_ids(client: httpx.Client, query: str) -> list[int]:
    answer = client.get(f"/console/cases?{query}")
    assert answer.status_code == 200, answer.text[:500]
    return [int(i) for i in ROW.findall(answer.text)]


def _newest_first(case: dict[str, Any]) -> tuple[float, int]:
    return (-datetime.fromisoformat(case["created_at"]).timestamp(), -case["id"])


def test_queue_pages_newest_first_as_the_api_lists_them(
    dispatcher: httpx.Client, reported: dict[str, Any]
) -> None:
    expected = [c["id"] for c in sorted(all_cases(dispatcher), key=_newest_first)]
    assert len(expected) > 100
    first, second = queue_ids(dispatcher, ""), queue_ids(dispatcher, "page=2")
    assert first == expected[:50]
    assert second == expected[50:100]
    assert first[0] == reported["id"]
    html = dispatcher.get("/console/cases").text
    assert f'<strong id="matched">{len(expected)}</strong>' in html


def test_queue_filters_and_counts_match_the_api(dispatcher: httpx.Client) -> None:
    counts = dispatcher.get("/v1/cases/counts", params={"by": "status"}).json()["counts"]
    html = dispatcher.get("/console/cases").text
    for count in counts:
        assert re.search(rf"status={count['code']}\"[^>]*>{count['name']} <span", html)
        chip = re.search(
            rf"status={count['code']}\"[^>]*>{count['name']} <span class=\"n\">(\d+)<", html
        )
        assert chip is not None and int(chip.group(1)) == count["cases"]
    street = all_cases(dispatcher)[0]["grid"]["street"]["code"]
    for query, params in (
        ("status=dispatched", {"status": "dispatched"}),
        ("overdue=true", {"overdue": "true"}),
        (f"street={street}&status=closed", {"street": street, "status": "closed"}),
        ("category=E01", {"category": "E01"}),
    ):
        expected = sorted(all_cases(dispatcher, **params), key=_newest_first)
        assert queue_ids(dispatcher, query) == [c["id"] for c in expected][:50], query


def test_queue_sorts_by_due_time(dispatcher: httpx.Client) -> None:
    found = [c for c in all_cases(dispatcher, status="in_progress")]
    due = sorted(found, key=lambda c: (c["due_at"] is None, c["due_at"] or "", c["id"]))
    assert queue_ids(dispatcher, "status=in_progress&sort=due") == [c["id"] for c in due][:50]


def test_queue_fragment_for_htmx_and_refusal_of_a_bad_filter(dispatcher: httpx.Client) -> None:
    fragment = dispatcher.get("/console/cases?status=void", headers={"HX-Request": "true"})
    assert fragment.text.startswith('<div id="queue"')
    assert 'hx-swap-oob="true"' in fragment.text and "<html" not in fragment.text
    bad = dispatcher.get("/console/cases?grid=12")
    assert bad.status_code == 422 and 'role="alert"' in bad.text


def test_viewer_sees_masked_people(
    viewer: httpx.Client, dispatcher: httpx.Client, reported: dict[str, Any]
) -> None:
    assert PHONE in dispatcher.get("/console/cases").text
    for path in ("/console/cases", f"/console/cases/{reported['id']}"):
        html = viewer.get(path).text
        assert PHONE not in html and "王小明" not in html
        assert "139****4321" in html
    leader = dispatcher.get(f"/v1/cases/{reported['id']}").json()["grid"]["leader"]["phone"]
    assert leader and leader not in viewer.get(f"/console/cases/{reported['id']}").text


def buttons(html: str) -> set[str]:
    return set(re.findall(r'<button type="submit" name="to" value="([a-z_]+)"', html))


def test_case_page_offers_only_the_legal_moves(
    dispatcher: httpx.Client, viewer: httpx.Client
) -> None:
    for case in all_cases(dispatcher)[:40]:
        html = dispatcher.get(f"/console/cases/{case['id']}").text
        assert buttons(html) == set(case["next"]), case["status"]
    some = all_cases(dispatcher, status="reported")[0]["id"]
    assert buttons(viewer.get(f"/console/cases/{some}").text) == set()
    refused = viewer.post(
        f"/console/cases/{some}/transitions",
        data={"to": "accepted", "csrf_token": csrf(viewer)},
    )
    assert refused.status_code == 403


def test_transitions_need_the_csrf_token_and_notes_where_the_flow_asks(
    dispatcher: httpx.Client,
) -> None:
    case = all_cases(dispatcher, status="reported")[1]["id"]
    url = f"/console/cases/{case}/transitions"
    forged = dispatcher.post(url, data={"to": "accepted"})
    assert forged.status_code == 403
    assert dispatcher.get(f"/v1/cases/{case}").json()["status"] == "reported"
    token = csrf(dispatcher)
    moved = dispatcher.post(url, data={"to": "accepted", "csrf_token": token})
    assert moved.status_code == 303
    page = dispatcher.get(f"/console/cases/{case}").text
    assert "上报 → <strong>立案</strong>" in page and "disp-t" in page
    no_note = dispatcher.post(url, data={"to": "on_hold", "csrf_token": token})
    assert no_note.status_code == 422 and "需要填写说明" in no_note.text
    assert dispatcher.get(f"/v1/cases/{case}").json()["status"] == "accepted"
    htmx = dispatcher.post(
        url,
        data={"to": "on_hold", "note": "等待产权单位答复"},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert htmx.status_code == 200 and htmx.text.startswith('<div id="case-panel"')
    assert "等待产权单位答复" in htmx.text
    assert buttons(htmx.text) == {"accepted", "void"}
    illegal = dispatcher.post(url, data={"to": "closed", "csrf_token": token})
    assert illegal.status_code == 409
    assert dispatcher.get(f"/v1/cases/{case}").json()["status"] == "on_hold"


def test_rerouting_needs_a_reason(dispatcher: httpx.Client) -> None:
    cases = all_cases(dispatcher, status="dispatched")
    case, other = cases[0], next(c for c in cases if c["grid"]["code"] != cases[0]["grid"]["code"])
    url, token = f"/console/cases/{case['id']}/reroute", csrf(dispatcher)
    target = other["grid"]["code"]
    refused = dispatcher.post(url, data={"grid": target, "reason": " ", "csrf_token": token})
    assert refused.status_code == 422 and "改派原因" in refused.text
    assert dispatcher.get(f"/v1/cases/{case['id']}").json()["grid"]["code"] == case["grid"]["code"]
    done = dispatcher.post(url, data={"grid": target, "reason": "现场核实", "csrf_token": token})
    assert done.status_code == 303
    after = dispatcher.get(f"/v1/cases/{case['id']}").json()
    assert after["grid"]["code"] == target and after["routed_by"] == "manual"


def test_import_is_all_or_nothing(dispatcher: httpx.Client, viewer: httpx.Client) -> None:
    one = all_cases(dispatcher)[0]["location"]
    good = f"category,description,lon,lat,crs\nE0102,导入测试,{one['lon']},{one['lat']},cgcs2000\n"
    bad = good + "E0102,坏行,0,0,cgcs2000\n"
    before = dispatcher.get("/v1/cases", params={"limit": 1}).json()["numberMatched"]
    token = csrf(dispatcher)
    refused = dispatcher.post(
        "/console/cases/import",
        data={"csrf_token": token},
        files={"file": ("cases.csv", bad.encode(), "text/csv")},
    )
    assert refused.status_code == 422 and 'role="alert"' in refused.text
    assert dispatcher.get("/v1/cases", params={"limit": 1}).json()["numberMatched"] == before
    done = dispatcher.post(
        "/console/cases/import",
        data={"csrf_token": token},
        files={"file": ("cases.csv", good.encode(), "text/csv")},
    )
    assert done.status_code == 200 and '<strong id="imported">1</strong>' in done.text
    assert dispatcher.get("/v1/cases", params={"limit": 1}).json()["numberMatched"] == before + 1
    forbidden = viewer.post(
        "/console/cases/import",
        data={"csrf_token": csrf(viewer)},
        files={"file": ("cases.csv", good.encode(), "text/csv")},
    )
    assert forbidden.status_code == 403


def test_export_links_carry_the_filters(dispatcher: httpx.Client) -> None:
    html = dispatcher.get("/console/cases?status=closed&overdue=false").text
    link = re.search(r'href="(/v1/cases/export\?[^"]+format=csv)"', html)
    assert link is not None and "status=closed" in link.group(1)
    exported = dispatcher.get(link.group(1).replace("&amp;", "&"))
    assert exported.status_code == 200
    closed = dispatcher.get("/v1/cases", params={"status": "closed", "overdue": "false"})
    assert len(exported.content.decode("utf-8-sig").strip().splitlines()) == (
        closed.json()["numberMatched"] + 1
    )


def test_dashboard_equals_the_performance_api(dispatcher: httpx.Client) -> None:
    start, end = this_month()
    html = dispatcher.get("/console/dashboard").text
    block = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', html)
    assert block is not None
    figures = json.loads(block.group(1))
    assert (figures["from"], figures["to"]) == (start, end)
    for by, key in (
        ("street", "streets"),
        ("community", "communities"),
        ("department", "departments"),
    ):
        answer = dispatcher.get(
            "/v1/cases/performance", params={"by": by, "from": start, "to": end}
        ).json()
        assert figures[key] == answer["units"]
        assert figures["total"] == answer["total"]
    assert f'<strong id="kpi-cases">{figures["total"]["cases"]}</strong>' in html
    assert figures["total"]["cases"] > 0
    year = dispatcher.get("/console/dashboard", params={"from": "2025-01-01", "to": "2026-12-31"})
    assert "<canvas" in year.text and 'id="table-communities"' in year.text
    # the departments' table: one row per department the API names for the period
    departments = dispatcher.get(
        "/v1/cases/performance", params={"by": "department", "from": start, "to": end}
    ).json()["units"]
    table = html.split('id="table-departments"', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr data-code=") == len(departments) > 0
    assert 'id="chart-departments"' in html  # charted as the streets and communities are


def test_dashboard_shows_the_organisations_coverage_per_street(dispatcher: httpx.Client) -> None:
    html = dispatcher.get("/console/dashboard").text
    block = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', html)
    assert block is not None
    *streets, district = json.loads(block.group(1))["organisations"]
    answer = dispatcher.get("/v1/organisations/coverage", params={"by": "street"}).json()
    assert streets == answer["areas"] and len(streets) == 13
    summary = dispatcher.get("/v1/organisations/summary").json()
    assert district["code"] is None
    assert {k: v for k, v in district.items() if k not in ("code", "name")} == {
        k: summary[k] for k in district if k not in ("code", "name")
    }
    table = html.split('id="table-organisations"', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr data-code=") == 13 and 'class="total"' in table
    assert f'data-label="无党支部网格">{district["grids_without_branch"]}</td>' in table
    assert district["grids_without_branch"] == 122


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    yield from launched_chromium()


def test_phone_dispatcher_accepts_a_case(chromium: Any, api: str, dispatcher: httpx.Client) -> None:
    case = all_cases(dispatcher, status="reported")[2]["id"]
    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    outside: list[str] = []

    def guard(route: Any) -> None:
        if urlsplit(route.request.url).hostname != "127.0.0.1":
            outside.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", guard)
    page = context.new_page()
    try:
        page.goto(f"{api}/login?next=/console/cases/{case}")
        page.fill("#username", "disp-t")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#case-panel")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        button = page.locator("button[name=to][value=accepted]")
        box = button.bounding_box()
        assert box is not None and box["height"] >= 40 and box["x"] + box["width"] <= 390
        button.click()
        page.wait_for_selector("#case-status:has-text('立案')", timeout=15_000)
        assert "已立案" in page.inner_text("#case-panel [role=alert]")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        context.close()
    assert dispatcher.get(f"/v1/cases/{case}").json()["status"] == "accepted"
    assert outside == []


def test_the_dashboard_draws_its_three_charts(chromium: Any, api: str) -> None:
    """Streets, communities and departments are charted in Chromium (Chart.js, vendored), with
    no script error and nothing fetched from elsewhere."""
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    errors: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{api}/login?next=/console/dashboard")
        page.fill("#username", "disp-t")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#chart-departments")
        page.wait_for_function("window.Chart && Chart.getChart('chart-departments')")
        for chart in ("chart-streets", "chart-communities", "chart-departments"):
            bars = page.evaluate(f"Chart.getChart('{chart}').data.datasets.map(d => d.data.length)")
            assert bars and all(n > 0 for n in bars), (chart, bars)
        departments = page.evaluate("Chart.getChart('chart-departments').data.labels.length")
        table = page.locator("#table-departments tr[data-code]").count()
        assert departments == table > 0
    finally:
        context.close()
    assert errors == []
