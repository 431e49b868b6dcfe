"""The working calendar's admin page over real HTTP: the years with their notices and days,
next year's notice flagged when missing, loading a notice from a file all or nothing with
every bad line named, CSRF, who may, and the audit log."""

from __future__ import annotations

import re
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import httpx
import pytest
from sqlalchemy import create_engine, text

from geogrid.access import users
from geogrid.access.roles import Role
from geogrid.cases.calendar_notices import next_year
from geogrid.settings import AuthSettings
from tests.conftest import start_api

if TYPE_CHECKING:
    from tests.conftest import TestServer

CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
PAGE = "/console/admin/calendar"
SOURCE = "国务院办公厅关于{year}年部分节假日安排的通知（国办发明电〔{prev}〕9号）"


@dataclass
class Site:
    base: str
    database_url: str

    def sign_in(self, username: str, password: str) -> httpx.Client:
        client = httpx.Client(base_url=self.base, timeout=30, follow_redirects=False)
        answer = client.post("/login", data={"username": username, "password": password})
        assert answer.status_code == 303, answer.text
        return client

    def scalar(self, sql: str, **params: object) -> object:
        engine = create_engine(self.database_url)
        with engine.connect() as conn:
            found = conn.execute(text(sql), params).scalar()
        engine.dispose()
        return found


@pytest.fixture(scope="module")
def site(server: TestServer, demo_template: str) -> Iterator[Site]:
    url = server.database(f"cal{secrets.token_hex(3)}", template=demo_template)
    engine = create_engine(url)
    with engine.begin() as conn:
        users.create_user(conn, "keeper", Role.admin, "keeper-pass-123", AuthSettings())
        users.create_user(conn, "desk", Role.dispatcher, "desk-pass-123", AuthSettings())
    engine.dispose()
    process: subprocess.Popen[bytes]
    process, base = start_api(url)
    yield Site(base, url)
    process.terminate()
    process.wait(timeout=20)


def _weekend(year: int) -> tuple[date, date]:
    """The first Saturday of ``year``'s October and the Monday after it."""
    day = date(year, 10, 1)
    while day.weekday() != 5:
        day += timedelta(days=1)
    return day, day + timedelta(days=2)


def _post(client: httpx.Client, content: str, source: str, token: str | None) -> httpx.Response:
    data = {"source": source} if token is None else {"source": source, "csrf_token": token}
    return client.post(
        PAGE, data=data, files={"file": ("notice.csv", content.encode(), "text/csv")}
    )


def test_the_page_shows_the_years_and_flags_next_year(site: Site) -> None:
    coming = next_year()
    with closing(site.sign_in("keeper", "keeper-pass-123")) as admin:
        answer = admin.get(PAGE)
    assert answer.status_code == 200, answer.text
    html = answer.text
    assert 'href="/console/admin/calendar"' in html  # in the admin's menu
    assert 'id="year-2026"' in html and 'id="year-2004"' in html
    assert "国办发明电〔2025〕7号" in html  # 2026's notice, as shipped
    assert "2026-10-10" in html and "调休上班" in html  # a make-up Saturday, listed
    assert 'id="next-year-missing"' in html and f"尚未载入 {coming} 年" in html


def test_only_who_keeps_the_calendar_may(site: Site) -> None:
    with closing(site.sign_in("desk", "desk-pass-123")) as dispatcher:
        assert 'href="/console/admin/calendar"' not in dispatcher.get("/console/cases").text
        assert dispatcher.get(PAGE).status_code == 403
        token = CSRF.search(dispatcher.get("/console/cases").text)
        assert token is not None
        refused = _post(dispatcher, "date,kind,name\n2099-01-01,holiday,元旦\n", "x", token[1])
    assert refused.status_code == 403
    assert site.scalar("SELECT count(*) FROM work_calendar_year WHERE year = 2099") == 0


def test_loading_a_notice_is_all_or_nothing_and_audited(site: Site) -> None:
    coming = next_year()
    saturday, monday = _weekend(coming)
    source = SOURCE.format(year=coming, prev=coming - 1)
    with closing(site.sign_in("keeper", "keeper-pass-123")) as admin:
        token = CSRF.search(admin.get(PAGE).text)
        assert token is not None
        good = (
            f"date,kind,name\n{coming}-01-01,holiday,元旦\n{coming}-10-01,holiday,国庆节\n"
            f"{saturday},workday,国庆节\n"
        )
        assert _post(admin, good, source, None).status_code == 403  # no CSRF token
        bad = f"date,kind,name\n{coming}-01-01,holiday,元旦\n{monday},workday,国庆节\n{coming}-13-01,holiday,x\n"
        refused = _post(admin, bad, source, token[1])
        assert refused.status_code == 422
        assert "未载入" in refused.text and "第 3 行" in refused.text and "第 4 行" in refused.text
        assert 'id="next-year-missing"' in refused.text
        unsourced = _post(admin, good, "  ", token[1])
        assert unsourced.status_code == 422 and "请填写来源" in unsourced.text
        assert site.scalar(f"SELECT count(*) FROM work_calendar_year WHERE year = {coming}") == 0
        assert site.scalar("SELECT count(*) FROM audit_event WHERE event = 'calendar_loaded'") == 0
        loaded = _post(admin, good, source, token[1])
        assert loaded.status_code == 303, loaded.text
        after = admin.get(loaded.headers["location"])
        audit = admin.get("/console/admin/audit")
    assert after.status_code == 200
    assert f"已载入 {coming} 年的节假日安排（放假 2 天，调休上班 1 天）" in after.text
    assert 'id="next-year-loaded"' in after.text and source in after.text
    assert str(saturday) in after.text
    assert site.scalar("SELECT count(*) FROM work_calendar WHERE year = :y", y=coming) == 3
    assert site.scalar("SELECT source FROM work_calendar_year WHERE year = :y", y=coming) == source
    assert (
        site.scalar(
            "SELECT actor FROM audit_event WHERE event = 'calendar_loaded' "
            "AND details -> 'years' = CAST(:years AS jsonb)",
            years=f"[{coming}]",
        )
        == "keeper"
    )
    assert "载入工作日历" in audit.text
