"""HEAD wherever GET is (api/head.py): the GET's status and headers, no body."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.api.test_observability import _server_log
from tests.conftest import LiveServer

PATHS = (
    "/v1/grids?limit=5",  # GeoJSON from the database, gzipped when asked
    "/v1/grids/340102001001001",
    "/v1/locate?lon=117.3370&lat=31.8920",  # in memory
    "/v1/stations/nearest?lon=117.3370&lat=31.8920",
    "/v1/coverage",
    "/v1/health",
    "/livez",
    "/openapi.json",
    "/maps/overview",  # HTML, gzipped by the page itself
    "/v1/grids/nope",  # 422
    "/no/such/path",  # 404
)
#: Headers that differ from one answer to the next.
OWN = {"x-request-id", "date", "content-security-policy"}
#: Answers whose body changes from one request to the next (/livez says its uptime, whose
#: digits can grow between the GET and the HEAD).
VOLATILE = {"/livez"}


def _headers(answer: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in answer.headers.items() if k not in OWN}


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
@pytest.mark.parametrize("path", PATHS)
def test_head_is_get_without_the_body(live_api: LiveServer, path: str, encoding: str) -> None:
    client = live_api.client(**{"Accept-Encoding": encoding})
    get = client.get(path)
    head = client.head(path)
    assert head.status_code == get.status_code
    assert head.content == b""
    if path in VOLATILE or (
        "content-security-policy" in get.headers and "content-encoding" in get.headers
    ):
        # A page's nonce is drawn per answer: gzipped, its length varies by a few bytes.
        del get.headers["content-length"], head.headers["content-length"]
    assert _headers(head) == _headers(get)
    if "content-encoding" not in get.headers and path not in VOLATILE:
        assert int(head.headers["content-length"]) == len(get.content) > 0


def test_head_of_a_route_without_get_is_still_refused(live_api: LiveServer) -> None:
    assert live_api.client().head("/v1/plans/1/publish").status_code == 405


def test_head_is_logged_as_head_with_its_route(live_api: LiveServer) -> None:
    live_api.client().head("/v1/grids/340102001001001", headers={"X-Request-ID": "head-probe-1"})
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = [line for line in _server_log(live_api) if line.get("request_id") == "head-probe-1"]
        if lines:
            break
        time.sleep(0.2)
    [line] = lines
    assert (line["method"], line["route"], line["status"]) == ("HEAD", "/v1/grids/{code}", 200)
