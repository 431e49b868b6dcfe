"""The siting map: gaps, the compounds left out and the proposed sites, for planners only."""

from __future__ import annotations

import secrets

import httpx
from sqlalchemy import Engine

from geogrid.access import users
from geogrid.access.roles import Role
from geogrid.mapdata.siting import siting_view
from geogrid.maps import page, siting_map
from geogrid.settings import AuthSettings
from tests.conftest import LiveServer


def test_the_map_draws_every_site_and_the_figures(demo_engine: Engine) -> None:
    with demo_engine.connect() as conn:
        data = siting_view(conn, minutes=10, kind="doorstep", k=3, candidates="compounds")
    assert len(data.sites) == 3 and data.uncovered
    assert all(site.reach.contains(site.point) for site in data.sites)
    html = page(siting_map(data), None)  # inlined: it reaches no other host
    assert html.count("建议站点 ") >= 3
    assert f"{data.covered_before:,} → {data.covered_after:,}" in html
    assert "未覆盖小区" in html


def test_only_a_signed_in_planner_sees_it(live_api: LiveServer, demo_engine: Engine) -> None:
    url = f"{live_api.base_url}/maps/siting?minutes=5&kind=doorstep&k=2"
    anonymous = httpx.get(url, follow_redirects=False)
    assert anonymous.status_code == 303 and "/login?next=" in anonymous.headers["location"]
    for role, expected in ((Role.viewer, 403), (Role.planner, 200)):
        name = f"siting-{role.name}-{secrets.token_hex(3)}"
        with demo_engine.begin() as conn:
            users.create_user(conn, name, role, "siting-password-1", AuthSettings())
        with httpx.Client(base_url=live_api.base_url, timeout=120) as client:
            client.post("/login", data={"username": name, "password": "siting-password-1"})
            answer = client.get(url)
        assert answer.status_code == expected, answer.text[:300]
    assert "建议站点" in answer.text
