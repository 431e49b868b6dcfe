"""Whole working days in the console, in Debian's Chromium, on a real server.

A dispatcher signs in, takes a hotline call by clicking the map, sees the grid before
submitting, accepts and dispatches the case; the handler of the department the responsibility
list names finds it in the task list, signs for it (签收; 退单 is offered too) and reports it
handled (反馈) but is offered no 核查; a supervisor verifies (核查) and the dispatcher closes it
(结案); the API shows the same case, each step by the person who made it. A viewer reads
the queue with names and phones masked. A page of another
origin that makes the dispatcher's browser post a case is refused and nothing is written.
Five wrong passwords lock the account. (The planner's day — sign in, draw a transfer, read the
preview, publish, and ``/v1/locate`` answers the new grid — is tests/maps/test_plan_map.py.)

Every request outside 127.0.0.1 is aborted and recorded; a page error fails the test.
"""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine, create_engine, text

from geogrid.access import users
from geogrid.access.roles import Role
from geogrid.cases.lifecycle import STATUS_ZH
from geogrid.settings import AuthSettings
from tests.browser import launched_chromium
from tests.conftest import ARTIFACTS, start_api

DESK = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
PASSWORDS = {
    "wang": "wang-password-1",
    "zhao": "zhao-password-1",
    "lock": "lock-password-1",
    "li": "li-password-1",
    "lg": "lg-password-1",
    "zhou": "zhou-password-1",
}
ROLES = {
    "wang": Role.dispatcher,
    "zhao": Role.viewer,
    "lock": Role.dispatcher,
    "li": Role.handler,
    "lg": Role.handler,
    "zhou": Role.supervisor,
}
#: The handlers' departments: 城管 (CG) answers for 暴露垃圾 in the district, its office in the
#: Longgang development zone (LG-CG) there (data/responsibility.csv).
DEPARTMENTS = {"li": "CG", "lg": "LG-CG"}
#: Chromium logs every non-2xx answer as a console error; these the tests cause on purpose.
EXPECTED = ("status of 401", "status of 403", "status of 422")
#: 上报 → 结案: who presses which button (the status it moves to), in order.
FLOW = ("accepted", "dispatched", "in_progress", "handled", "verified", "closed")
LABELS = {"in_progress": "签收"}


@pytest.fixture(scope="module")
def database_url(server: Any, demo_template: str) -> str:
    url = server.database("day", template=demo_template)
    engine = create_engine(url)
    with engine.begin() as conn:
        for name, password in PASSWORDS.items():
            users.create_user(
                conn, name, ROLES[name], password, AuthSettings(), department=DEPARTMENTS.get(name)
            )
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def base(database_url: str) -> Iterator[str]:
    process, base = start_api(database_url)
    yield base
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    yield from launched_chromium()


@dataclass
class Desk:
    """A browser tab, what it asked outside 127.0.0.1 and the errors it logged."""

    page: Any
    base: str
    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def sign_in(self, name: str, password: str | None = None, then: str = "/console") -> None:
        self.page.goto(f"{self.base}{then}")
        assert "/login" in self.page.url  # not signed in yet: sent to the form, coming back
        self.page.get_by_label("用户名").fill(name)
        self.page.get_by_label("密码").fill(password or PASSWORDS[name])
        self.page.get_by_role("button", name="登录").click()
        self.page.wait_for_load_state()

    def wait_until(self, script: str, timeout_s: float = 30) -> None:
        """Poll ``script`` (the pages' CSP refuses Playwright's eval-based waits)."""
        for _ in range(int(timeout_s * 10)):
            if self.page.evaluate(script):
                return
            self.page.wait_for_timeout(100)
        raise AssertionError(f"still false after {timeout_s} s: {script}")

    def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"console-{name}.png"))


@pytest.fixture
def desk(chromium: Any, base: str) -> Iterator[Desk]:
    with open_desk(chromium, base) as found:
        yield found


@contextlib.contextmanager
def open_desk(chromium: Any, base: str) -> Iterator[Desk]:
    """A browser context of its own (one person's), checked as the ``desk`` fixture is."""
    context = chromium.new_context(viewport=DESK, locale="zh-CN", service_workers="block")
    found = Desk(context.new_page(), base)

    def route(r: Any) -> None:
        address = urlsplit(r.request.url)
        if address.scheme in ("data", "blob") or address.hostname == "127.0.0.1":
            r.continue_()
        else:
            found.outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    found.page.on("console", lambda m: found.errors.append(m.text) if m.type == "error" else None)
    found.page.on("pageerror", lambda e: found.errors.append(f"page error: {e}"))
    found.page.on("dialog", lambda d: d.accept())
    try:
        yield found
        assert found.outside == []
        assert [e for e in found.errors if not any(s in e for s in EXPECTED)] == []
    finally:
        context.close()


def cases_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM civic_case")).scalar_one())


def press(desk: Desk, to: str) -> None:
    """Press the case page's button that moves the case to ``to`` and wait for the move."""
    label = LABELS.get(to, STATUS_ZH[to])
    desk.page.get_by_role("button", name=label, exact=True).click()
    desk.wait_until(
        f"() => document.body.innerText.includes('{STATUS_ZH[to]}') && "
        f"!Array.from(document.querySelectorAll('button')).some("
        f"b => b.innerText.trim() === '{label}')"
    )


def buttons(desk: Desk) -> set[str]:
    return {b.strip() for b in desk.page.locator("button").all_inner_texts()}


def test_a_working_day_from_report_to_closure(
    desk: Desk, engine: Engine, chromium: Any, base: str
) -> None:
    page = desk.page
    desk.sign_in("wang")
    assert page.url.endswith("/console/cases")
    page.get_by_role("link", name="受理登记").click()
    desk.wait_until("() => Boolean(window.geogridIntakeMap && window.geogridIntakeMap.loaded())")
    # a hotline call: the caller says where; the dispatcher clicks the map there
    box = page.locator("#intake-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.5)
    page.wait_for_selector("#preview[data-state=ok]", timeout=10_000)
    grid = page.get_attribute("#preview", "data-grid")
    assert grid is not None and len(grid) == 15
    shown = page.inner_text("#preview")
    assert grid in shown and "社区" in shown and "网格长" in shown  # before submitting
    before = cases_count(engine)
    page.get_by_label("类别").fill("E0102 暴露垃圾")
    page.get_by_label("描述").fill("小区门口垃圾堆放两天无人清理")
    page.get_by_label("报告人").fill("张三")
    page.get_by_label("电话").fill("13812340000")
    desk.screenshot("intake")
    assert cases_count(engine) == before  # the preview wrote nothing
    page.get_by_role("button", name="提交上报").click()
    page.wait_for_url("**/console/cases/*")
    case_id = int(urlsplit(page.url).path.rsplit("/", 1)[1])
    assert cases_count(engine) == before + 1
    department = page.request.get(f"{desk.base}/v1/cases/{case_id}").json()["department"]
    assert department["code"] in DEPARTMENTS.values()
    assert department["name"] in page.inner_text("#case-department")
    # the dispatcher accepts and dispatches; signing for it is not theirs
    for to in FLOW[:2]:
        press(desk, to)
    assert "签收" not in buttons(desk) and "反馈" not in buttons(desk)
    handler = next(n for n, d in DEPARTMENTS.items() if d == department["code"])
    with open_desk(chromium, base) as hands:
        hands.sign_in(handler)
        assert hands.page.url.endswith("/console/tasks")  # a handler starts at the task list
        hands.screenshot("tasks")
        hands.page.get_by_role("link", name=str(case_id), exact=True).click()
        hands.page.wait_for_url(f"**/console/cases/{case_id}")
        assert {"签收", "退单"} <= buttons(hands)
        press(hands, "in_progress")
        press(hands, "handled")
        # who reported it handled is offered no check of their own work
        assert STATUS_ZH["verified"] not in buttons(hands)
        hands.screenshot("handled")
    with open_desk(chromium, base) as checks:
        checks.sign_in("zhou", then=f"/console/cases/{case_id}")
        press(checks, "verified")
    page.reload()
    press(desk, "closed")
    desk.screenshot("case-closed")
    answer = page.request.get(f"{desk.base}/v1/cases/{case_id}").json()
    assert answer["status"] == "closed" and answer["next"] == []
    assert answer["grid"]["code"] == grid
    assert answer["created_by"] == "wang"
    moves = [(e["to_status"], e["actor"]) for e in answer["events"]][-len(FLOW) :]
    assert moves == list(zip(FLOW, ("wang", "wang", handler, handler, "zhou", "wang"), strict=True))
    assert answer["reporter"] == {"name": "张三", "phone": "13812340000"}


def test_a_viewer_reads_the_queue_masked(desk: Desk, engine: Engine) -> None:
    with engine.connect() as conn:
        phones = [
            p
            for (p,) in conn.execute(
                text("SELECT reporter_phone FROM civic_case WHERE reporter_phone IS NOT NULL")
            )
        ]
    desk.sign_in("zhao", then="/console/cases")
    page = desk.page
    assert page.url.endswith("/console/cases")
    html = page.content()
    assert phones, "the day's case has a reporter phone"
    for phone in phones:
        assert phone not in html
    assert "138****0000" in html
    assert page.get_by_role("link", name="受理登记").count() == 0  # viewers take no calls
    refused = page.goto(f"{desk.base}/console/cases/new")
    assert refused is not None and refused.status == 403


class _Forger(http.server.BaseHTTPRequestHandler):
    """Another site: a page that makes its visitor's browser post a case to geogrid."""

    target = ""

    def do_GET(self) -> None:
        body = f"""<!doctype html><html><body>
<form id="f" method="post" action="{self.target}/console/cases/new">
<input name="category" value="E0102"><input name="description" value="forged">
<input name="lon" value="117.35"><input name="lat" value="31.9"><input name="crs" value="wgs84">
</form><script>document.getElementById("f").submit();</script></body></html>"""
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: Any) -> None:
        pass


def test_a_forged_cross_site_write_is_refused(desk: Desk, engine: Engine) -> None:
    desk.sign_in("wang")
    _Forger.target = desk.base
    site = http.server.HTTPServer(("127.0.0.1", 0), _Forger)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    try:
        before = cases_count(engine)
        answers: list[int] = []
        desk.page.on(
            "response",
            lambda r: answers.append(r.status) if r.url.endswith("/console/cases/new") else None,
        )
        desk.page.goto(f"http://127.0.0.1:{site.server_port}/")
        desk.page.wait_for_load_state()
        desk.wait_until("() => location.pathname === '/console/cases/new'", timeout_s=10)
        assert answers == [403]
        assert "其他网站" in desk.page.inner_text("body")
        assert cases_count(engine) == before
    finally:
        site.shutdown()


def test_five_wrong_passwords_lock_the_account(desk: Desk) -> None:
    page = desk.page
    for n in range(5):
        page.goto(f"{desk.base}/login")
        page.get_by_label("用户名").fill("lock")
        page.get_by_label("密码").fill(f"wrong-{n}")
        page.get_by_role("button", name="登录").click()
        page.wait_for_load_state()
    assert "已锁定至" in page.get_by_role("alert").inner_text()
    page.get_by_label("密码").fill(PASSWORDS["lock"])
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    assert "/login" in page.url and "已锁定至" in page.get_by_role("alert").inner_text()
    assert page.request.get(f"{desk.base}/v1/me").json()["name"] is None
