"""GET /v1/siting over real HTTP: planners get proposals, others are refused, bad input 4xx."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine

from geogrid.access.roles import Role
from tests.api.test_api import make_key
from tests.conftest import LiveServer


def test_a_planner_gets_k_sites_with_coverage_before_and_after(
    live_api: LiveServer, demo_engine: Engine
) -> None:
    token = make_key(demo_engine, Role.planner)
    answer = httpx.get(
        f"{live_api.base_url}/v1/siting",
        params={"minutes": 10, "kind": "doorstep", "k": 3, "candidates": "compounds"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["k"], body["method"], body["optimal"]) == (3, "circle", True)
    assert len(body["sites"]) == 3
    gained = sum(site["households"] for site in body["sites"])
    assert gained == body["covered_after"] - body["covered_before"] > 0
    assert body["covered_after"] >= body["greedy_covered_after"]
    assert 0 < body["covered_share_before"] < body["covered_share_after"] <= 1
    assert all(117 < s["lon"] < 118 and 31 < s["lat"] < 32 for s in body["sites"])


def test_others_are_refused_and_bad_questions_named(
    live_api: LiveServer, demo_engine: Engine
) -> None:
    assert httpx.get(f"{live_api.base_url}/v1/siting").status_code == 401
    viewer = make_key(demo_engine, Role.viewer)
    refused = httpx.get(
        f"{live_api.base_url}/v1/siting", headers={"Authorization": f"Bearer {viewer}"}
    )
    assert refused.status_code == 403
    planner = {"Authorization": f"Bearer {make_key(demo_engine, Role.planner)}"}
    for params, named in (
        ({"k": 0}, "k"),
        ({"kind": "castle"}, "castle"),
        ({"candidates": "parks"}, "parks"),
        ({"minutes": 7}, "minutes"),
    ):
        bad = httpx.get(f"{live_api.base_url}/v1/siting", params=params, headers=planner)
        assert 400 <= bad.status_code < 500 and named in bad.text, (params, bad.text)
