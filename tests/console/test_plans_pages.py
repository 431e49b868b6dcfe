"""The planners' console over real HTTP: plans listed, a new plan in one click, a plan's page
with its map link and preview, publishing (CSRF, conflicts, /v1/locate at once), release
history and the diff map between two releases.

One API process on one private copy of the demo serves the module; the tests that publish
come after those that only read, and the release pages come last.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import shapely
from sqlalchemy import Engine, create_engine

from geogrid import maps, plans
from geogrid.access.roles import Role
from geogrid.access.users import create_user
from geogrid.boundaries.releases import current_release
from geogrid.settings import AuthSettings
from tests.conftest import start_api
from tests.plans.test_plans import neighbours, transfer

if TYPE_CHECKING:
    from tests.conftest import TestServer

PASSWORDS = {"plan-c": "planner-pass-1", "disp-c": "dispatcher-pass-1"}


@pytest.fixture(scope="module")
def database_url(server: TestServer, demo_template: str) -> str:
    return server.database(f"cp{secrets.token_hex(3)}", template=demo_template)


@pytest.fixture(scope="module")
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url)
    with engine.begin() as conn:
        create_user(conn, "plan-c", Role.planner, PASSWORDS["plan-c"], AuthSettings())
        create_user(conn, "disp-c", Role.dispatcher, PASSWORDS["disp-c"], AuthSettings())
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def api(database_url: str, engine: Engine) -> Iterator[str]:
    process, base = start_api(database_url)
    yield base
    process.terminate()
    process.wait(timeout=30)


def sign_in(api: str, username: str) -> httpx.Client:
    """A client holding ``username``'s session cookie, signed in through the /login form."""
    client = httpx.Client(base_url=api, timeout=60, follow_redirects=False)
    answer = client.post(
        "/login",
        data={"username": username, "password": PASSWORDS[username], "next": "/console"},
    )
    assert answer.status_code == 303, answer.text
    return client


def csrf(html: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', html)
    assert found is not None
    return found.group(1)


@pytest.fixture(scope="module")
def planner(api: str) -> Iterator[httpx.Client]:
    client = sign_in(api, "plan-c")
    yield client
    client.close()


@pytest.fixture(scope="module")
def moved(engine: Engine) -> tuple[str, str, dict[str, Any]]:
    """Two neighbouring grids of release 1 and a strip of the first along their edge."""
    return neighbours(engine)


def _scripts_are_files(html: str) -> None:
    """The console's Content-Security-Policy runs no inline script: data only as JSON."""
    for attributes, body in re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S):
        assert "src=" in attributes or 'type="application/json"' in attributes, attributes
        if "src=" in attributes:
            assert body.strip() == ""


def _new_plan(engine: Engine, comment: str, edit: dict[str, Any] | None = None) -> int:
    with engine.begin() as conn:
        plan_id = plans.create_plan(conn, comment, "plan-c").id
        if edit is not None:
            plans.add_edit(conn, plan_id, edit, "plan-c")
    return plan_id


def test_roles_decide_who_sees_the_plans(api: str, planner: httpx.Client) -> None:
    assert planner.get("/console/plans").status_code == 200
    dispatcher = sign_in(api, "disp-c")
    refused = dispatcher.get("/console/plans")
    assert refused.status_code == 403 and "权限不足" in refused.text
    token = csrf(dispatcher.get("/console/releases").text)
    assert dispatcher.post("/console/plans", data={"csrf_token": token}).status_code == 403
    # the release history is for everyone signed in
    assert dispatcher.get("/console/releases").status_code == 200
    dispatcher.close()
    anonymous = httpx.get(f"{api}/console/plans", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].endswith("/login?next=%2Fconsole%2Fplans")


def test_a_new_plan_in_one_click_and_its_page(
    planner: httpx.Client, engine: Engine, moved: tuple[str, str, dict[str, Any]]
) -> None:
    listing = planner.get("/console/plans")
    token = csrf(listing.text)
    _scripts_are_files(listing.text)
    assert 'aria-current="page"' in listing.text and "新建方案" in listing.text

    made = planner.post("/console/plans", data={"csrf_token": token, "comment": "一键新建"})
    assert made.status_code == 303
    plan_id = int(made.headers["location"].rsplit("/", 1)[1])
    with engine.connect() as conn:
        plan = plans.get_plan(conn, plan_id)
    assert plan.comment == "一键新建" and plan.created_by == "plan-c" and plan.status == "open"
    listed = planner.get("/console/plans").text
    assert f'<tr data-plan="{plan_id}" data-status="open">' in listed
    assert f'href="/console/plans/{plan_id}"' in listed

    # an edit through the API with the same session (as the plan map sends it)
    a, b, strip = moved
    edit = planner.post(
        f"/v1/plans/{plan_id}/edits", json=transfer(a, b, strip), headers={"X-CSRF-Token": token}
    )
    assert edit.status_code == 201, edit.text

    shown = planner.get(f"/console/plans/{plan_id}")
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
    html = shown.text
    _scripts_are_files(html)
    assert f'href="/maps/plans/{plan_id}"' in html
    assert "chart.js/4.6.1/dist/chart.umd.min.js" in html
    assert "全部不变量成立" in html
    for code in (a, b):
        assert f'<tr data-grid="{code}">' in html
    found = re.search(r'<script type="application/json" id="plan-chart-data">(.*?)</script>', html)
    assert found is not None
    chart = json.loads(found.group(1))
    assert {a, b} <= set(chart["labels"])
    gained = chart["labels"].index(b)
    assert chart["after"][gained] >= chart["before"][gained]
    assert f'data-edit="{edit.json()["edit_id"]}"' in html and "划转区域" in html


def test_publish_needs_the_token_then_locate_answers_the_new_grid(
    planner: httpx.Client, api: str, engine: Engine, moved: tuple[str, str, dict[str, Any]]
) -> None:
    a, b, strip = moved
    plan_id = _new_plan(engine, "控制台发布", transfer(a, b, strip))
    rival_id = _new_plan(engine, "冲突", transfer(a, b, strip))
    with engine.connect() as conn:
        base = current_release(conn).id  # type: ignore[union-attr]
    page = planner.get(f"/console/plans/{plan_id}").text
    assert 'data-confirm="发布后生成新的边界版本' in page and "发布方案" in page

    refused = planner.post(f"/console/plans/{plan_id}/publish", data={})
    assert refused.status_code == 403
    with engine.connect() as conn:
        assert current_release(conn).id == base  # type: ignore[union-attr]
        assert plans.get_plan(conn, plan_id).status == "open"

    published = planner.post(f"/console/plans/{plan_id}/publish", data={"csrf_token": csrf(page)})
    assert published.status_code == 303, published.text
    with engine.connect() as conn:
        release = current_release(conn).id  # type: ignore[union-attr]
        assert plans.get_plan(conn, plan_id).status == "published"
    assert release == base + 1
    assert published.headers["location"].endswith(f"/console/plans/{plan_id}?published={release}")
    after = planner.get(published.headers["location"]).text
    assert f"本方案已发布为<strong>边界版本 {release}</strong>" in after and 'role="alert"' in after
    assert f"/console/releases/diff?from={base}&amp;to={release}" in after

    point = shapely.geometry.shape(strip).representative_point()
    located = httpx.get(
        f"{api}/v1/locate", params={"lon": point.x, "lat": point.y, "crs": "cgcs2000"}
    ).json()
    assert located["release"] == release and located["grid"]["code"] == b

    # the rival plan edits the same grids on the old base: 409, said on its page
    conflict = planner.post(f"/console/plans/{rival_id}/publish", data={"csrf_token": csrf(page)})
    assert conflict.status_code == 409
    assert "未能发布" in conflict.text and 'role="alert"' in conflict.text
    assert a in conflict.text and b in conflict.text and "已被其他发布改动" in conflict.text
    with engine.connect() as conn:
        assert plans.get_plan(conn, rival_id).status == "open"
        assert current_release(conn).id == release  # type: ignore[union-attr]


def test_release_history_and_the_diff_between_two_releases(
    planner: httpx.Client, api: str, moved: tuple[str, str, dict[str, Any]]
) -> None:
    """After the publish above: release 2 moved a strip from one grid to its neighbour."""
    a, b, _ = moved
    history = planner.get("/console/releases")
    assert history.status_code == 200
    for release in (1, 2):
        assert f'<tr data-release="{release}">' in history.text
    assert '<label for="diff-from">' in history.text and '<label for="diff-to">' in history.text
    assert 'href="/console/releases/diff?from=1&amp;to=2"' in history.text

    diff = planner.get("/console/releases/diff", params={"from": 1, "to": 2})
    assert diff.status_code == 200
    for code in (a, b):
        assert f'<tr data-grid="{code}">' in diff.text
    assert 'src="/maps/releases/1/diff/2"' in diff.text and "<iframe" in diff.text
    assert planner.get("/console/releases/diff", params={"from": 1, "to": 99}).status_code == 404

    shown = httpx.get(f"{api}/maps/releases/1/diff/2")
    assert shown.status_code == 200
    html = shown.text
    assert maps.external_references(html) == []
    changed = [m for m in re.findall(r'"code":"(\d{15})","change":"changed"', html) if m in (a, b)]
    assert sorted(changed) == sorted([a, b])
    assert '"s":"gained"' in html and '"s":"lost"' in html
    same = httpx.get(f"{api}/maps/releases/2/diff/2")
    assert same.status_code == 200 and "两个版本的网格边界相同" in same.text
    assert httpx.get(f"{api}/maps/releases/1/diff/99").status_code == 404
