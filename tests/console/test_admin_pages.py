"""The admin pages over real HTTP: accounts, the audit log, API keys, the category catalogue.

One server on a private copy of the demo for the module; each test makes the accounts it
changes, so the tests do not depend on each other's order.
"""

from __future__ import annotations

import re
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import httpx
import pytest
from sqlalchemy import create_engine, text

from geogrid.access import sessions, users
from geogrid.access.roles import Role
from geogrid.errors import ConflictError
from geogrid.settings import AuthSettings
from tests.conftest import start_api
from tests.helpers import working_due

if TYPE_CHECKING:
    from tests.conftest import TestServer

BOSS, BOSS_PASSWORD = "boss", "boss-pass-123"
CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
ADMIN_PAGES = (
    "/console/admin/users",
    "/console/admin/audit",
    "/console/admin/keys",
    "/console/admin/categories",
    "/console/admin/departments",
    "/console/admin/responsibility",
)


@dataclass
class Site:
    base: str
    database_url: str

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=30, follow_redirects=False)

    def sign_in(self, username: str, password: str) -> httpx.Client:
        """A client holding a session of ``username`` (fails the test when refused)."""
        client = self.client()
        answer = client.post("/login", data={"username": username, "password": password})
        assert answer.status_code == 303, answer.text
        return client

    def add_user(self, role: Role, password: str = "first-pass-123") -> str:
        """A new account (made directly in the database, as the CLI would)."""
        name = f"{role.name[:4]}{secrets.token_hex(3)}"
        engine = create_engine(self.database_url)
        with engine.begin() as conn:
            users.create_user(conn, name, role, password, AuthSettings())
        engine.dispose()
        return name


@pytest.fixture(scope="module")
def site(server: TestServer, demo_template: str) -> Iterator[Site]:
    url = server.database(f"admin{secrets.token_hex(3)}", template=demo_template)
    engine = create_engine(url)
    with engine.begin() as conn:
        users.create_user(
            conn, BOSS, Role.admin, BOSS_PASSWORD, AuthSettings(), display_name="王主任"
        )
    engine.dispose()
    process: subprocess.Popen[bytes]
    process, base = start_api(url)
    yield Site(base, url)
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture(scope="module")
def boss(site: Site) -> Iterator[httpx.Client]:
    client = site.sign_in(BOSS, BOSS_PASSWORD)
    yield client
    client.close()


def token_of(client: httpx.Client) -> str:
    """The session's CSRF token, as the page carries it."""
    found = CSRF.search(client.get("/console/admin/users").text) or CSRF.search(
        client.get("/console/admin/keys").text
    )
    assert found, "no csrf-token meta on the page"
    return found.group(1)


def csrf_of(client: httpx.Client) -> str:
    """The session's CSRF token, from its cookie (for people no admin page is open to)."""
    return sessions.csrf_token(client.cookies[sessions.COOKIE])


def post(client: httpx.Client, path: str, **fields: str) -> httpx.Response:
    """A form post as the page sends it: with the session's CSRF token."""
    return client.post(path, data={"csrf_token": token_of(client), **fields})


def me(client: httpx.Client) -> dict[str, object]:
    answer = client.get("/v1/me")
    assert answer.status_code == 200
    found: dict[str, object] = answer.json()
    return found


def audit_of(boss: httpx.Client, name: str) -> str:
    answer = boss.get("/console/admin/audit", params={"username": name})
    assert answer.status_code == 200
    return answer.text


# ---- accounts ---------------------------------------------------------------------------------


def test_an_admin_creates_a_dispatcher_who_can_sign_in(site: Site, boss: httpx.Client) -> None:
    page = boss.get("/console/admin/users")
    assert page.status_code == 200
    assert "王主任" in page.text and "管理员" in page.text
    assert 'aria-current="page"' in page.text
    name = f"desk{secrets.token_hex(3)}"
    form = {"username": name, "display_name": "李调度", "role": "dispatcher"}

    mismatch = post(boss, "/console/admin/users", **form, password="desk-pass-123", password2="x")
    assert mismatch.status_code == 422
    assert "两次输入的密码不一致" in mismatch.text
    assert f'value="{name}"' in mismatch.text  # the form keeps what was typed (not passwords)
    short = post(boss, "/console/admin/users", **form, password="short", password2="short")
    assert short.status_code == 422
    assert "至少" in short.text and 'role="alert"' in short.text

    made = post(
        boss, "/console/admin/users", **form, password="desk-pass-123", password2="desk-pass-123"
    )
    assert made.status_code == 303
    assert made.headers["location"].startswith("/console/admin/users?done=created")
    shown = boss.get(made.headers["location"]).text
    assert '<p class="alert ok" role="alert">' in shown and name in shown and "李调度" in shown
    assert "调度员" in shown and "从未登录" in shown
    again = post(
        boss,
        "/console/admin/users",
        **{**form, "username": name.upper()},
        password="desk-pass-123",
        password2="desk-pass-123",
    )
    assert again.status_code == 422 and "已存在" in again.text

    desk = site.sign_in(name, "desk-pass-123")
    assert me(desk)["name"] == name and me(desk)["role"] == "dispatcher"


def test_disabling_ends_an_open_session_at_once(site: Site, boss: httpx.Client) -> None:
    name = site.add_user(Role.dispatcher)
    desk = site.sign_in(name, "first-pass-123")
    assert me(desk)["name"] == name

    answer = post(boss, f"/console/admin/users/{name}/disable")
    assert answer.status_code == 303
    assert "已停用" in boss.get(answer.headers["location"]).text
    away = desk.get("/console")
    assert away.status_code == 303 and away.headers["location"].startswith("/login")
    assert me(desk)["name"] is None and me(desk)["role"] == "viewer"
    refused = site.client().post("/login", data={"username": name, "password": "first-pass-123"})
    assert refused.status_code == 401 and "已停用" in refused.text

    assert post(boss, f"/console/admin/users/{name}/enable").status_code == 303
    assert me(site.sign_in(name, "first-pass-123"))["name"] == name


def test_a_reset_password_replaces_the_old_one_and_ends_sessions(
    site: Site, boss: httpx.Client
) -> None:
    name = site.add_user(Role.planner)
    old_session = site.sign_in(name, "first-pass-123")
    short = post(boss, f"/console/admin/users/{name}/password", password="abc", password2="abc")
    assert short.status_code == 422 and "至少" in short.text
    answer = post(
        boss,
        f"/console/admin/users/{name}/password",
        password="second-pass-456",
        password2="second-pass-456",
    )
    assert answer.status_code == 303
    assert me(old_session)["name"] is None
    old = site.client().post("/login", data={"username": name, "password": "first-pass-123"})
    assert old.status_code == 401
    assert me(site.sign_in(name, "second-pass-456"))["name"] == name


def test_an_admin_unlocks_an_account_locked_by_failures(site: Site, boss: httpx.Client) -> None:
    name = site.add_user(Role.dispatcher)
    guesser = site.client()
    for _ in range(5):
        wrong = guesser.post("/login", data={"username": name, "password": "not-the-password"})
        assert wrong.status_code == 401
    locked = guesser.post("/login", data={"username": name, "password": "first-pass-123"})
    assert locked.status_code == 401 and "锁定" in locked.text
    assert "锁定至" in boss.get("/console/admin/users").text

    assert post(boss, f"/console/admin/users/{name}/unlock").status_code == 303
    assert me(site.sign_in(name, "first-pass-123"))["name"] == name

    log = audit_of(boss, name)
    for event in ("登录", "登录失败", "账号锁定", "解除锁定", "密码错误"):
        assert event in log, event


def test_a_new_role_counts_from_the_next_request(site: Site, boss: httpx.Client) -> None:
    name = site.add_user(Role.dispatcher)
    desk = site.sign_in(name, "first-pass-123")
    assert desk.get("/console/admin/keys").status_code == 403
    assert post(boss, f"/console/admin/users/{name}/role", role="admin").status_code == 303
    assert me(desk)["role"] == "admin"
    assert desk.get("/console/admin/keys").status_code == 200
    assert post(boss, f"/console/admin/users/{name}/role", role="viewer").status_code == 303
    assert me(desk)["role"] == "viewer" and me(desk)["sees_personal_data"] is False
    unknown = post(boss, f"/console/admin/users/{name}/role", role="mayor")
    assert unknown.status_code == 422
    assert "原角色：管理员；新角色：查看者" in audit_of(boss, name)


def test_the_last_admin_and_an_admin_s_own_account_are_kept(site: Site, boss: httpx.Client) -> None:
    own = post(boss, f"/console/admin/users/{BOSS}/disable")
    assert own.status_code == 409 and "不能停用自己的账号" in own.text
    demote = post(boss, f"/console/admin/users/{BOSS}/role", role="planner")
    assert demote.status_code == 409 and "不能取消自己的管理员角色" in demote.text
    assert me(boss)["role"] == "admin"

    # Not even the command line may take the district's last active admin.
    engine = create_engine(site.database_url)
    with engine.connect() as conn, conn.begin() as transaction:
        for account in users.list_users(conn):
            if account.role is Role.admin and account.active and account.username != BOSS:
                users.set_disabled(conn, account.username, True, actor="geogrid cli")
        with pytest.raises(ConflictError, match="last active administrator"):
            users.set_disabled(conn, BOSS, True, actor="geogrid cli")
        with pytest.raises(ConflictError, match="last active administrator"):
            users.set_role(conn, BOSS, Role.viewer, actor="geogrid cli")
        transaction.rollback()
    engine.dispose()

    # With another admin, one may disable the other.
    other = site.add_user(Role.admin)
    assert post(boss, f"/console/admin/users/{other}/disable").status_code == 303


def test_the_audit_log_shows_what_happened_to_an_account(site: Site, boss: httpx.Client) -> None:
    name = f"aud{secrets.token_hex(3)}"
    post(
        boss,
        "/console/admin/users",
        username=name,
        display_name="",
        role="viewer",
        password="audit-pass-123",
        password2="audit-pass-123",
    )
    site.sign_in(name, "audit-pass-123")
    for _ in range(5):
        site.client().post("/login", data={"username": name, "password": "wrong-password"})
    assert post(boss, f"/console/admin/users/{name}/disable").status_code == 303
    log = audit_of(boss, name)
    for event in ("创建用户", "登录", "登录失败", "账号锁定", "停用用户", "127.0.0.1", BOSS):
        assert event in log, event
    everyone = boss.get("/console/admin/audit").text
    assert name in everyone and BOSS in everyone


# ---- who may --------------------------------------------------------------------------------


def test_a_dispatcher_may_open_no_admin_page_and_change_nothing(
    site: Site, boss: httpx.Client
) -> None:
    desk = site.sign_in(site.add_user(Role.dispatcher), "first-pass-123")
    token = csrf_of(desk)
    for path in ADMIN_PAGES:
        answer = desk.get(path)
        assert answer.status_code == 403, path
        assert "权限不足" in answer.text
    writes = {
        "/console/admin/users": {"username": "sneaky", "role": "admin", "password": "x" * 12},
        f"/console/admin/users/{BOSS}/disable": {},
        "/console/admin/keys": {"name": "sneaky", "role": "admin"},
        "/console/admin/keys/revoke": {"name": "anything"},
        "/console/admin/categories/E0102": {"name": "改名", "handling_hours": "1"},
        "/console/admin/categories": {"code": "E0198", "name": "x", "handling_hours": "1"},
    }
    for path, fields in writes.items():
        answer = desk.post(path, data={"csrf_token": token, **fields})
        assert answer.status_code == 403, path
    assert "sneaky" not in boss.get("/console/admin/users").text
    assert "sneaky" not in boss.get("/console/admin/keys").text


def test_anonymous_callers_are_sent_to_sign_in(site: Site) -> None:
    for path in ADMIN_PAGES:
        answer = site.client().get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=")


def test_a_write_without_the_csrf_token_is_refused_and_changes_nothing(
    site: Site, boss: httpx.Client
) -> None:
    name = site.add_user(Role.dispatcher)
    writes = {
        "/console/admin/users": {"username": "nocsrf", "role": "admin", "password": "x" * 12},
        f"/console/admin/users/{name}/disable": {},
        "/console/admin/keys": {"name": "nocsrf", "role": "admin"},
        "/console/admin/categories/E0102": {"name": "未经确认", "handling_hours": "1"},
    }
    for path, fields in writes.items():
        assert boss.post(path, data=fields).status_code == 403, path
        forged = boss.post(path, data={**fields, "csrf_token": "0" * 64})
        assert forged.status_code == 403, path
    assert "nocsrf" not in boss.get("/console/admin/users").text
    assert me(site.sign_in(name, "first-pass-123"))["name"] == name
    assert "nocsrf" not in boss.get("/console/admin/keys").text
    assert "未经确认" not in boss.get("/console/admin/categories").text


def test_no_page_shows_a_password_hash(site: Site, boss: httpx.Client) -> None:
    for path in ADMIN_PAGES:
        answer = boss.get(path)
        assert answer.status_code == 200, path
        assert "$argon2" not in answer.text and "argon2" not in answer.text.lower(), path
        assert answer.headers["cache-control"] == "no-store"
        assert "<script>" not in answer.text  # no inline scripts: the CSP allows files only


# ---- API keys ---------------------------------------------------------------------------------


def test_a_key_is_shown_once_works_and_stops_when_revoked(site: Site, boss: httpx.Client) -> None:
    name = f"工单系统-{secrets.token_hex(2)}"
    created = post(boss, "/console/admin/keys", name=name, role="dispatcher")
    assert created.status_code == 200
    secret = re.search(r"gg_[A-Za-z0-9_-]{40,}", created.text)
    assert secret, created.text
    assert "只显示这一次" in created.text
    key = secret.group(0)

    listing = boss.get("/console/admin/keys").text
    assert name in listing and key[:8] in listing and key not in listing
    assert "调度员" in listing and "data-confirm" in listing
    with httpx.Client(base_url=site.base, timeout=30) as machine:
        answer = machine.get("/v1/me", headers={"Authorization": f"Bearer {key}"})
        assert answer.json() == {
            "name": name,
            "role": "dispatcher",
            "sees_personal_data": True,
            "department": None,
        }

        again = post(boss, "/console/admin/keys", name=name, role="viewer")
        assert again.status_code == 422 and "已存在" in again.text and key not in again.text
        empty = post(boss, "/console/admin/keys", name="  ", role="viewer")
        assert empty.status_code == 422

        revoked = post(boss, "/console/admin/keys/revoke", name=name)
        assert revoked.status_code == 303
        page = boss.get(revoked.headers["location"]).text
        assert "已吊销" in page and key not in page
        refused = machine.get("/v1/me", headers={"Authorization": f"Bearer {key}"})
        assert refused.status_code == 401
    missing = post(boss, "/console/admin/keys/revoke", name="no-such-key")
    assert missing.status_code == 404 and "没有名为" in missing.text
    log = boss.get("/console/admin/audit").text
    assert "创建 API 密钥" in log and "吊销 API 密钥" in log and name in log


# ---- the category catalogue ---------------------------------------------------------------


def categories(site: Site) -> dict[str, dict[str, object]]:
    found = httpx.get(f"{site.base}/v1/case-categories", timeout=30).json()
    return {c["code"]: c for c in found}


def test_the_catalogue_is_grouped_searchable_and_editable(site: Site, boss: httpx.Client) -> None:
    page = boss.get("/console/admin/categories")
    assert page.status_code == 200
    assert "事件 01 市容环境" in page.text and "部件 01 公用设施" in page.text
    assert "此后立案" in page.text
    found = boss.get("/console/admin/categories", params={"q": "垃圾"}).text
    assert "E0102" in found and "E0501" not in found

    name = categories(site)["E0104"]["name"]
    saved = post(boss, "/console/admin/categories/E0104", name=name, handling_hours="6.5", q="垃圾")
    assert saved.status_code == 303 and "q=" in saved.headers["location"]
    assert categories(site)["E0104"]["handling_hours"] == 6.5
    for bad in ("0", "-3", "abc", "100000"):
        refused = post(boss, "/console/admin/categories/E0104", name=name, handling_hours=bad)
        assert refused.status_code == 422 and "处置时限" in refused.text, bad
    assert categories(site)["E0104"]["handling_hours"] == 6.5
    assert (
        post(boss, "/console/admin/categories/E9999", name="x", handling_hours="1").status_code
        == 404
    )

    code = "E0199"
    added = post(
        boss, "/console/admin/categories", code=code, name="共享单车乱停", handling_hours="12"
    )
    assert added.status_code == 303
    new = categories(site)[code]
    assert new["type"] == "event" and new["handling_hours"] == 12
    assert new["major_name"] == categories(site)["E0101"]["major_name"]
    twice = post(boss, "/console/admin/categories", code=code, name="重复", handling_hours="1")
    assert twice.status_code == 409 and "已存在" in twice.text
    bad_code = post(boss, "/console/admin/categories", code="X12", name="x", handling_hours="1")
    assert bad_code.status_code == 422 and "E0102" in bad_code.text
    new_major = post(boss, "/console/admin/categories", code="C4201", name="x", handling_hours="1")
    assert new_major.status_code == 422 and "大类名称" in new_major.text
    made = post(
        boss,
        "/console/admin/categories",
        code="C4201",
        major_name="智能设施",
        name="智能井盖",
        handling_hours="24",
    )
    assert made.status_code == 303
    assert "部件 42 智能设施" in boss.get("/console/admin/categories").text


def test_new_handling_hours_count_only_for_cases_accepted_afterwards(
    site: Site, boss: httpx.Client
) -> None:
    engine = create_engine(site.database_url)
    with engine.connect() as conn:
        lon, lat = conn.execute(
            text("SELECT ST_X(point), ST_Y(point) FROM compound ORDER BY id LIMIT 1")
        ).one()
    engine.dispose()
    desk = site.sign_in(site.add_user(Role.dispatcher), "first-pass-123")
    headers = {"X-CSRF-Token": token_of(boss)}
    desk_headers = {"X-CSRF-Token": csrf_of(desk)}

    def accepted_case() -> dict[str, object]:
        report = {
            "category": "E0503",
            "description": "机动车占用消防通道",
            "lon": lon,
            "lat": lat,
            "crs": "wgs84",
            "channel": "app",
        }
        made = desk.post("/v1/cases", json=report, headers=desk_headers)
        assert made.status_code == 201, made.text
        case_id = made.json()["id"]
        moved = desk.post(
            f"/v1/cases/{case_id}/transitions", json={"to": "accepted"}, headers=desk_headers
        )
        assert moved.status_code == 200, moved.text
        found: dict[str, object] = desk.get(f"/v1/cases/{case_id}").json()
        return found

    def due_after(case: dict[str, object], hours: float) -> bool:
        """Whether the case is due ``hours`` working hours (E0503's clock) after acceptance."""
        expected = working_due(str(case["accepted_at"]), hours)
        if expected is None:  # the span reaches a year with no calendar
            return case["due_at"] is None and case["calendar_missing"] is True
        return datetime.fromisoformat(str(case["due_at"])) == expected

    before = accepted_case()
    old_hours = float(categories(site)["E0503"]["handling_hours"])  # type: ignore[arg-type]
    assert due_after(before, old_hours)
    name = str(categories(site)["E0503"]["name"])
    saved = boss.post(
        "/console/admin/categories/E0503",
        data={"name": name, "handling_hours": "100"},
        headers=headers,
    )
    assert saved.status_code == 303
    kept = desk.get(f"/v1/cases/{before['id']}").json()
    assert kept["due_at"] == before["due_at"]
    assert due_after(accepted_case(), 100)
