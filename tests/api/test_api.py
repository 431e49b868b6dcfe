"""The API over real HTTP (uvicorn) on the demo database: health, grids, keys, masking, errors."""

from __future__ import annotations

import re
import secrets
import socket
import time

import httpx
import pytest
from sqlalchemy import Engine, text

from geogrid.access import keys
from geogrid.access.roles import Role
from geogrid.api.schemas.lookup import GridFeature, Health, KeyInfo
from tests.conftest import LiveServer, start_api


@pytest.fixture(scope="module")
def grid_code(demo_engine: Engine) -> str:
    with demo_engine.connect() as conn:
        return str(
            conn.execute(
                text(
                    "SELECT code FROM grid JOIN grid_people ON grid_code = code "
                    "WHERE kind = 'resident' AND leader_phone IS NOT NULL "
                    "AND party_secretary_phone IS NOT NULL ORDER BY code LIMIT 1"
                )
            ).scalar_one()
        )


def make_key(engine: Engine, role: Role) -> str:
    with engine.begin() as conn:
        _, secret = keys.create_key(conn, f"test-{role.name}-{secrets.token_hex(4)}", role)
    return secret


def test_health_names_postgis_and_the_release(live_api: LiveServer) -> None:
    answer = live_api.client().get("/v1/health")
    assert answer.status_code == 200
    health = Health.model_validate(answer.json())
    assert health.database is True
    assert re.match(r"^3\.", health.postgis_version)
    assert health.release == 1


def test_viewers_see_masked_people(live_api: LiveServer, grid_code: str) -> None:
    answer = live_api.client().get(f"/v1/grids/{grid_code}")
    assert answer.status_code == 200
    feature = GridFeature.model_validate(answer.json())
    leader = feature.properties.leader
    assert leader.name is not None and re.fullmatch(r".\*+", leader.name)
    assert leader.phone is not None and re.fullmatch(r"\d{3}\*{4}\d{4}", leader.phone)
    secretary = feature.properties.party_secretary
    assert secretary.name is not None and re.fullmatch(r".\*+", secretary.name)
    assert feature.properties.release == 1
    assert feature.geometry["type"] == "MultiPolygon"


def test_dispatchers_see_names_and_phones(
    live_api: LiveServer, demo_engine: Engine, grid_code: str
) -> None:
    key = make_key(demo_engine, Role.dispatcher)
    answer = live_api.client(key).get(f"/v1/grids/{grid_code}")
    assert answer.status_code == 200
    leader = GridFeature.model_validate(answer.json()).properties.leader
    assert leader.name is not None and "*" not in leader.name
    assert leader.phone is not None and re.fullmatch(r"1\d{10}", leader.phone)


def test_keys_are_stored_hashed(demo_engine: Engine) -> None:
    key = make_key(demo_engine, Role.viewer)
    with demo_engine.connect() as conn:
        stored = conn.execute(
            text("SELECT key_hash FROM api_key WHERE key_hash = :h"), {"h": keys.hash_key(key)}
        ).scalar_one()
        leaked = conn.execute(
            text("SELECT count(*) FROM api_key WHERE key_hash = :k OR prefix = :k"), {"k": key}
        ).scalar_one()
    assert stored == keys.hash_key(key) and stored != key
    assert leaked == 0


@pytest.mark.parametrize(
    "role, status",
    [
        (None, 401),
        (Role.viewer, 403),
        (Role.dispatcher, 403),
        (Role.planner, 403),
        (Role.admin, 200),
    ],
)
def test_admin_route_needs_the_admin_role(
    live_api: LiveServer, demo_engine: Engine, role: Role | None, status: int
) -> None:
    key = None if role is None else make_key(demo_engine, role)
    answer = live_api.client(key).get("/v1/keys")
    assert answer.status_code == status
    if status == 200:
        listed = [KeyInfo.model_validate(k) for k in answer.json()]
        assert listed and all(len(k.prefix) == 8 for k in listed)
        assert key is not None and key not in answer.text
    else:
        body = answer.json()
        assert set(body) == {"detail", "code"}
        assert body["code"] == ("unauthenticated" if status == 401 else "forbidden")
    if status == 401:
        assert answer.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header", ["Bearer gg_not-a-real-key", "Basic dXNlcjpwdw==", "Bearer", "gg_bare"]
)
def test_a_wrong_or_malformed_key_is_401(live_api: LiveServer, header: str) -> None:
    answer = httpx.get(f"{live_api.base_url}/v1/me", headers={"Authorization": header})
    assert answer.status_code == 401
    assert answer.json()["code"] == "unauthenticated"


def test_a_revoked_key_is_refused(live_api: LiveServer, demo_engine: Engine) -> None:
    key = make_key(demo_engine, Role.admin)
    client = live_api.client(key)
    assert client.get("/v1/me").json()["role"] == "admin"
    with demo_engine.begin() as conn:
        name = keys.authenticate(conn, key).name
        assert name is not None
        keys.revoke_key(conn, name)
    # the server remembered the key; the revocation's NOTIFY makes it forget at once
    deadline = time.monotonic() + 2.0
    while (answer := client.get("/v1/me")).status_code == 200:
        assert time.monotonic() < deadline, "a revoked key still works after 2 s"
        time.sleep(0.05)
    assert answer.status_code == 401
    assert "revoked" in answer.json()["detail"]


def test_unknown_grid_is_404_and_bad_code_is_422(live_api: LiveServer) -> None:
    client = live_api.client()
    missing = client.get("/v1/grids/340102006004999")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    bad = client.get("/v1/grids/12ab")
    assert bad.status_code == 422
    assert "12ab" in bad.json()["detail"] and "15 digits" in bad.json()["detail"]


def test_errors_speak_chinese_when_asked(live_api: LiveServer) -> None:
    client = live_api.client(**{"Accept-Language": "zh-CN,zh;q=0.9"})
    answer = client.get("/v1/keys")
    assert answer.status_code == 401
    assert "管理密钥" in answer.json()["detail"]
    bad = client.get("/v1/grids/12ab")
    assert bad.status_code == 422
    assert bad.json() == {
        "detail": "网格编码“12ab”无效：应为 15 位数字（社区编码 + 3 位序号）",
        "code": "invalid_input",
    }
    assert "must be" in live_api.client().get("/v1/grids/12ab").json()["detail"]


def test_an_unreachable_database_is_503_with_retry_after() -> None:
    # A server that is not there: the API starts, answers 503 and never leaks driver text.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    process, base = start_api(
        f"postgresql+psycopg2://nobody@127.0.0.1:{dead_port}/none", expect_healthy=False
    )
    try:
        for path in ("/v1/health", "/v1/grids/340102006004001"):
            answer = httpx.get(f"{base}{path}", timeout=30)
            assert answer.status_code == 503
            assert answer.headers["retry-after"].isdigit()
            assert answer.json()["code"] == "database_unavailable"
            assert "psycopg2" not in answer.text and "127.0.0.1" not in answer.text
    finally:
        process.terminate()
        process.wait(timeout=20)
