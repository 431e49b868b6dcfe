"""CORS (GEOGRID_CORS_ORIGINS): off by default; an allow-list of origins, never credentials."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from pydantic import ValidationError

from geogrid.settings import ApiSettings
from tests.conftest import LiveServer, start_api

ALLOWED = "https://map.example.gov.cn"


def preflight(client: httpx.Client, origin: str, method: str = "GET") -> httpx.Response:
    return client.options(
        "/v1/grids",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, if-none-match",
        },
    )


@pytest.fixture(scope="module")
def cors_api(demo_url: str) -> Iterator[httpx.Client]:
    process, base = start_api(
        demo_url, settings={"GEOGRID_CORS_ORIGINS": f"{ALLOWED}, http://localhost:5173"}
    )
    with httpx.Client(base_url=base, timeout=30) as client:
        yield client
    process.terminate()
    process.wait(timeout=20)


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
def test_a_preflight_from_an_allowed_origin_is_allowed(cors_api: httpx.Client, method: str) -> None:
    answer = preflight(cors_api, ALLOWED, method)
    assert answer.status_code == 200, answer.text
    assert answer.headers["access-control-allow-origin"] == ALLOWED
    assert method in answer.headers["access-control-allow-methods"].split(", ")
    allowed_headers = answer.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed_headers and "if-none-match" in allowed_headers
    assert "access-control-allow-credentials" not in answer.headers
    assert answer.headers["x-request-id"]  # the request middleware saw it


def test_a_preflight_from_another_origin_is_refused(cors_api: httpx.Client) -> None:
    for origin in ("https://evil.example", "https://map.example.gov.cn.evil.example"):
        answer = preflight(cors_api, origin)
        assert answer.status_code == 400
        assert "access-control-allow-origin" not in answer.headers
        assert "access-control-allow-credentials" not in answer.headers


def test_a_cross_origin_get_may_read_the_headers_it_needs(cors_api: httpx.Client) -> None:
    answer = cors_api.get("/v1/grids", params={"limit": 2}, headers={"Origin": ALLOWED})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == ALLOWED
    exposed = {
        h.strip().lower() for h in answer.headers["access-control-expose-headers"].split(",")
    }
    assert exposed >= {"etag", "content-crs", "link", "retry-after", "x-request-id", "location"}
    assert "access-control-allow-credentials" not in answer.headers
    # The hot path answers cross-origin calls the same way.
    located = cors_api.get(
        "/v1/locate", params={"lon": 117.337, "lat": 31.892}, headers={"Origin": ALLOWED}
    )
    assert located.headers["access-control-allow-origin"] == ALLOWED
    other = cors_api.get(
        "/v1/grids", params={"limit": 2}, headers={"Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in other.headers


def test_cors_is_off_by_default(live_api: LiveServer) -> None:
    client = live_api.client()
    answer = preflight(client, ALLOWED)
    assert answer.status_code == 405
    assert "access-control-allow-origin" not in answer.headers
    get = client.get("/v1/grids", params={"limit": 1}, headers={"Origin": ALLOWED})
    assert "access-control-allow-origin" not in get.headers


@pytest.mark.parametrize(
    ("value", "origins"),
    [
        ("", []),
        ("https://a.example", ["https://a.example"]),
        (
            " https://a.example , http://localhost:5173,",
            ["https://a.example", "http://localhost:5173"],
        ),
        ("*", ["*"]),
    ],
)
def test_origins_are_read_comma_separated(
    monkeypatch: pytest.MonkeyPatch, value: str, origins: list[str]
) -> None:
    monkeypatch.setenv("GEOGRID_CORS_ORIGINS", value)
    assert ApiSettings(_env_file=None).cors_origins == origins  # type: ignore[call-arg]


@pytest.mark.parametrize("value", ["https://a.example/", "a.example", "https://a.example/path"])
def test_an_origin_with_a_path_or_no_scheme_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("GEOGRID_CORS_ORIGINS", value)
    with pytest.raises(ValidationError, match="GEOGRID_CORS_ORIGINS"):
        ApiSettings(_env_file=None)  # type: ignore[call-arg]
