"""Every answer carries a request id and the security headers; every request leaves one JSON
log line and a metrics sample. Against `geogrid serve` as shipped."""

from __future__ import annotations

import json
import re
import time

import httpx
import pytest

from tests.conftest import ARTIFACTS, LiveServer

PATHS = (
    "/v1/locate?lon=117.3370&lat=31.8920",  # in memory
    "/v1/grids/340102005007001",  # the database
    "/v1/grids/nope",  # 422
    "/no/such/path",  # 404
    "/maps/overview",  # HTML
)


def _server_log(live_api: LiveServer) -> list[dict[str, object]]:
    port = live_api.base_url.rsplit(":", 1)[1]
    lines = (ARTIFACTS / f"uvicorn-{port}.log").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


@pytest.mark.parametrize("path", PATHS)
def test_every_answer_has_an_id_and_the_security_headers(live_api: LiveServer, path: str) -> None:
    answer = httpx.get(live_api.base_url + path, timeout=30)
    assert re.fullmatch(r"[0-9a-f]{16}", answer.headers["x-request-id"])
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "SAMEORIGIN"
    assert answer.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "server" not in answer.headers  # no banner


def test_a_plain_client_request_id_is_kept_and_a_strange_one_replaced(
    live_api: LiveServer,
) -> None:
    url = live_api.base_url + "/livez"
    assert httpx.get(url, headers={"X-Request-ID": "desk-7:42"}).headers["x-request-id"] == (
        "desk-7:42"
    )
    strange = httpx.get(url, headers={"X-Request-ID": "a b\u00e9".encode("latin-1") * 60}).headers[
        "x-request-id"
    ]
    assert re.fullmatch(r"[0-9a-f]{16}", strange)


def test_map_pages_allow_only_their_own_inline_scripts(live_api: LiveServer) -> None:
    answer = httpx.get(live_api.base_url + "/maps/overview", timeout=60)
    policy = dict(
        part.strip().split(" ", 1) for part in answer.headers["content-security-policy"].split(";")
    )
    nonce = re.fullmatch(r"'self' 'nonce-([A-Za-z0-9_-]{22})'", policy["script-src"])
    assert nonce is not None, policy["script-src"]
    assert "unsafe-inline" not in policy["script-src"]
    scripts = re.findall(r"<script\b[^>]*>", answer.text)
    assert scripts and all(f'nonce="{nonce.group(1)}"' in tag for tag in scripts)
    assert "https://tile.openstreetmap.org" in policy["img-src"]
    # A fresh nonce per answer.
    again = httpx.get(live_api.base_url + "/maps/overview", timeout=60)
    assert again.headers["content-security-policy"] != answer.headers["content-security-policy"]
    # JSON answers need no policy of their own.
    assert "content-security-policy" not in httpx.get(live_api.base_url + "/livez").headers


def test_every_request_leaves_one_json_log_line_with_its_id(live_api: LiveServer) -> None:
    ids = []
    for path in PATHS:
        ids.append(httpx.get(live_api.base_url + path, timeout=60).headers["x-request-id"])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = {line.get("request_id"): line for line in _server_log(live_api)}
        if all(i in lines for i in ids):
            break
        time.sleep(0.1)
    by_id = [lines[i] for i in ids]
    assert [line["status"] for line in by_id] == [200, 200, 422, 404, 200]
    assert by_id[1]["route"] == "/v1/grids/{code}" and by_id[3]["route"] == "unmatched"
    assert by_id[0]["route"] == "/v1/locate"  # answered by api/fastpath.py, named all the same
    assert all(line["event"] == "request" and line["method"] == "GET" for line in by_id)
    assert all(isinstance(line["ms"], float) for line in by_id)
    assert all(
        re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", str(line["timestamp"]))
        and line["level"] == "info"
        for line in by_id
    )


def test_a_key_in_the_query_never_reaches_the_log(live_api: LiveServer) -> None:
    rid = httpx.get(
        live_api.base_url + "/open311/v2/services.json?api_key=sekrit-key-123", timeout=30
    ).headers["x-request-id"]
    time.sleep(0.3)
    line = next(line for line in _server_log(live_api) if line.get("request_id") == rid)
    assert "sekrit" not in json.dumps(line) and "api_key=***" in str(line["query"])


def test_metrics_count_requests_per_route_and_show_the_gate(live_api: LiveServer) -> None:
    for _ in range(3):
        httpx.get(live_api.base_url + "/v1/grids/340102005007001", timeout=30)
    time.sleep(1.2)  # the gauges are sampled once a second
    text = httpx.get(live_api.base_url + "/metrics", timeout=30).text
    count = re.search(
        r'geogrid_http_request_duration_seconds_count\{method="GET",'
        r'route="/v1/grids/\{code\}",status="200"\} (\d+)',
        text,
    )
    assert count is not None and float(count.group(1)) >= 3
    assert re.search(r"^geogrid_db_slots \d+", text, re.M)
    assert re.search(r"^geogrid_release [1-9]", text, re.M)
    assert re.search(r"^geogrid_release_age_seconds \d", text, re.M)
