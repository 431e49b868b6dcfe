"""Signing in over real HTTP: the cookie's flags, session fixation, CSRF, lock-out,
throttling per address, sign-out and disabled accounts, and passwords never echoed or logged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text

from geogrid.access import sessions, users
from geogrid.access.roles import Role
from geogrid.cases.report import EXAMPLE
from geogrid.settings import AuthSettings
from tests.conftest import ARTIFACTS, start_api

PASSWORDS = {
    "disp": "disp-password-1",
    "view": "view-password-1",
    "plan": "plan-password-1",
    "lock": "lock-password-1",
    "gone": "gone-password-1",
}
ROLES = {
    "disp": Role.dispatcher,
    "view": Role.viewer,
    "plan": Role.planner,
    "lock": Role.dispatcher,
    "gone": Role.dispatcher,
}


@pytest.fixture(scope="module")
def database_url(server: Any, demo_template: str) -> str:
    url = server.database("signin", template=demo_template)
    engine = create_engine(url)
    with engine.begin() as conn:
        for name, password in PASSWORDS.items():
            users.create_user(conn, name, ROLES[name], password, AuthSettings())
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


def sign_in(base: str, name: str, password: str | None = None, **headers: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30, headers=headers)
    answer = client.post("/login", data={"username": name, "password": password or PASSWORDS[name]})
    assert answer.status_code == 303, answer.text
    return client


def csrf_of(client: httpx.Client) -> str:
    page = client.get("/console/cases", follow_redirects=True).text
    found = re.search(r'<meta name="csrf-token" content="([0-9a-f]+)">', page)
    if found is None:  # the console's pages may not exist yet on this route: the login page
        token = client.cookies[sessions.COOKIE]
        return sessions.csrf_token(token)
    return found.group(1)


def cases_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM civic_case")).scalar_one())


def test_the_form_and_the_cookie(base: str) -> None:
    form = httpx.get(f"{base}/login?next=/console/cases")
    assert form.status_code == 200
    for needed in ('name="username"', 'name="password"', '<label for="username">'):
        assert needed in form.text
    answer = httpx.post(
        f"{base}/login",
        data={"username": "disp", "password": PASSWORDS["disp"], "next": "/console/cases"},
    )
    assert answer.status_code == 303 and answer.headers["location"].endswith("/console/cases")
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{sessions.COOKIE}=")
    for flag in ("HttpOnly", "SameSite=lax", "Path=/", "Max-Age=43200"):
        assert flag in cookie
    assert "Secure" not in cookie  # plain http; over https (below) it is set
    behind_tls = httpx.post(
        f"{base}/login",
        data={"username": "disp", "password": PASSWORDS["disp"]},
        headers={"X-Forwarded-Proto": "https"},
    )
    assert "Secure" in behind_tls.headers["set-cookie"]


def test_a_sign_in_from_another_site_is_refused(base: str) -> None:
    answer = httpx.post(
        f"{base}/login",
        data={"username": "disp", "password": PASSWORDS["disp"]},
        headers={"Origin": "http://evil.example"},
    )
    assert answer.status_code == 403 and "set-cookie" not in answer.headers


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "\\\\evil"])
def test_next_never_leaves_the_site(base: str, target: str) -> None:
    answer = httpx.post(
        f"{base}/login",
        data={"username": "disp", "password": PASSWORDS["disp"], "next": target},
    )
    assert answer.headers["location"] == "/console"


def test_the_api_takes_the_session_like_a_key(base: str) -> None:
    with closing(sign_in(base, "view")) as viewer, closing(sign_in(base, "disp")) as dispatcher:
        assert viewer.get("/v1/me").json() == {
            "name": "view",
            "role": "viewer",
            "sees_personal_data": False,
            "department": None,
        }
        assert dispatcher.get("/v1/me").json()["role"] == "dispatcher"
    assert httpx.get(f"{base}/v1/me").json()["role"] == "viewer"  # no cookie: anonymous


def test_a_new_session_id_at_sign_in(base: str, engine: Engine) -> None:
    planted = "attacker-chosen-token-1234567890"
    planting = {"Cookie": f"{sessions.COOKIE}={planted}"}
    assert httpx.get(f"{base}/v1/me", headers=planting).json()["name"] is None
    signed = {"username": "disp", "password": PASSWORDS["disp"]}
    answer = httpx.post(f"{base}/login", data=signed, headers=planting)
    first = answer.cookies[sessions.COOKIE]
    assert first != planted and len(first) >= 40
    again = httpx.post(
        f"{base}/login", data=signed, headers={"Cookie": f"{sessions.COOKIE}={first}"}
    )
    second = again.cookies[sessions.COOKIE]
    assert second != first
    with engine.connect() as conn:
        assert sessions.find_session(conn, first, AuthSettings()) is None  # replaced, ended
        assert sessions.find_session(conn, second, AuthSettings()) is not None


def test_a_cookie_write_needs_the_csrf_token(base: str, engine: Engine) -> None:
    before = cases_count(engine)
    with closing(sign_in(base, "disp")) as client:
        token = csrf_of(client)
        refused = [
            client.post("/v1/cases", json=EXAMPLE),
            client.post("/v1/cases", json=EXAMPLE, headers={"X-CSRF-Token": "0" * 64}),
            client.post(
                "/v1/cases",
                json=EXAMPLE,
                headers={"X-CSRF-Token": token, "Origin": "http://evil.example"},
            ),
        ]
        for answer in refused:
            assert answer.status_code == 403 and answer.json()["code"] == "csrf"
        assert cases_count(engine) == before  # a refused write changes nothing
        made = client.post(
            "/v1/cases", json=EXAMPLE, headers={"X-CSRF-Token": token, "Origin": base}
        )
        assert made.status_code == 201, made.text
        assert made.json()["created_by"] == "disp"
        assert made.json()["reporter"]["phone"] == "13812340000"
    assert cases_count(engine) == before + 1
    # a key needs no CSRF token: no browser sends it by itself


def test_roles_are_permissions_through_the_session(base: str) -> None:
    with closing(sign_in(base, "plan")) as planner, closing(sign_in(base, "view")) as viewer:
        for client in (planner, viewer):
            answer = client.post(
                "/v1/cases", json=EXAMPLE, headers={"X-CSRF-Token": csrf_of(client)}
            )
            assert answer.status_code == 403 and answer.json()["code"] == "forbidden"
        case = viewer.get("/v1/cases/1").json()
        assert "*" in case["reporter"]["phone"]


def test_sign_out_ends_the_session_for_good(base: str) -> None:
    client = sign_in(base, "disp")
    token = client.cookies[sessions.COOKIE]
    without = client.post("/logout")
    assert without.status_code == 403  # sign-out is a write too
    assert client.get("/v1/me").json()["name"] == "disp"
    out = client.post("/logout", data={"csrf_token": sessions.csrf_token(token)})
    assert out.status_code == 303 and "/login" in out.headers["location"]
    replayed = httpx.get(f"{base}/v1/me", cookies={sessions.COOKIE: token})
    assert replayed.json()["name"] is None
    assert (
        httpx.get(f"{base}/console", cookies={sessions.COOKIE: token})
        .headers["location"]
        .startswith("/login")
    )


def test_a_disabled_users_session_stops_at_once(base: str, engine: Engine) -> None:
    client = sign_in(base, "gone")
    assert client.get("/v1/me").json()["name"] == "gone"
    with engine.begin() as conn:
        users.set_disabled(conn, "gone", True, actor="test")
    assert client.get("/v1/me").json()["name"] is None
    assert client.get("/console").status_code == 303
    refused = httpx.post(f"{base}/login", data={"username": "gone", "password": PASSWORDS["gone"]})
    assert refused.status_code == 401 and "停用" in refused.text


def test_five_wrong_passwords_lock_the_account(base: str, engine: Engine) -> None:
    statuses = []
    for _ in range(5):
        answer = httpx.post(f"{base}/login", data={"username": "lock", "password": "nope-nope"})
        statuses.append(answer.status_code)
    assert statuses == [401] * 5
    assert "已锁定至" in answer.text  # the fifth says until when
    right = httpx.post(f"{base}/login", data={"username": "lock", "password": PASSWORDS["lock"]})
    assert right.status_code == 401 and "已锁定至" in right.text
    assert sessions.COOKIE not in right.headers.get("set-cookie", "")
    with engine.connect() as conn:
        found = [
            (r.event, r.details.get("reason"))
            for r in conn.execute(
                text("SELECT event, details FROM audit_event WHERE username = 'lock' ORDER BY id")
            )
        ]
    assert found[1:] == [("sign_in_failed", "password")] * 5 + [
        ("locked_out", None),
        ("sign_in_failed", "locked"),
    ]
    with engine.begin() as conn:
        users.unlock(conn, "lock", actor="test")
    sign_in(base, "lock").close()


def test_passwords_are_never_echoed_stored_or_logged(base: str, engine: Engine) -> None:
    wrong = "typo-of-the-real-password"
    answer = httpx.post(f"{base}/login", data={"username": "disp", "password": wrong})
    assert answer.status_code == 401 and wrong not in answer.text
    assert 'value="disp"' in answer.text  # the name is kept for a second try
    sign_in(base, "disp").close()
    with engine.connect() as conn:
        stored = conn.execute(
            text(
                "SELECT concat_ws(' ', (SELECT string_agg(t::text, ' ') FROM app_user t), "
                "(SELECT string_agg(a::text, ' ') FROM audit_event a))"
            )
        ).scalar_one()
    port = base.rsplit(":", 1)[1]
    logged = (ARTIFACTS / f"uvicorn-{port}.log").read_text(errors="replace")
    for secret in (wrong, *PASSWORDS.values()):
        assert secret not in stored
        assert secret not in logged


def test_failed_sign_ins_are_throttled_per_address(database_url: str) -> None:
    process, base = start_api(database_url, settings={"GEOGRID_RATE_FAILED_SIGN_IN": "4/minute"})
    try:
        for n in range(4):  # a different name each time: no account is locked
            answer = httpx.post(f"{base}/login", data={"username": f"x{n}", "password": "guess-1"})
            assert answer.status_code == 401
        answer = httpx.post(f"{base}/login", data={"username": "disp", "password": "guess-1"})
        assert answer.status_code == 429 and int(answer.headers["retry-after"]) > 0
        assert "秒后再试" in answer.text
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_the_site_has_an_icon(base: str) -> None:
    icon = httpx.get(f"{base}/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/png"
    assert icon.content.startswith(b"\x89PNG")
    assert "/static/console/favicon.png" in httpx.get(f"{base}/login").text
