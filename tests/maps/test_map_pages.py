"""The map pages over real HTTP (uvicorn) on the demo database: status, weight, assets,
masking, errors, and the `geogrid map` files. No browser here (see test_map_browser.py)."""

from __future__ import annotations

import re
import secrets

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from geogrid import maps
from geogrid.access import keys
from geogrid.access.roles import Role
from geogrid.cli.main import app
from tests.conftest import ARTIFACTS, LiveServer

PAGES = [
    "/",
    "/maps/overview",
    "/maps/coverage",
    "/maps/coverage?minutes=10&kind=legal,doorstep",
    "/maps/locate",
    "/maps/locate?lon=117.35568&lat=31.878116&crs=gcj02",
]
#: The issue's budget for the overview page with its data (libraries are separate).
OVERVIEW_BUDGET = 3_000_000


@pytest.fixture(scope="module")
def grid_code(demo_engine: Engine) -> str:
    with demo_engine.connect() as conn:
        return str(
            conn.execute(
                text(
                    "SELECT code FROM grid JOIN grid_people ON grid_code = code "
                    "WHERE kind = 'resident' AND leader_phone IS NOT NULL ORDER BY code LIMIT 1"
                )
            ).scalar_one()
        )


def leader(engine: Engine, code: str) -> tuple[str, str]:
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT leader_name, leader_phone FROM grid_people WHERE grid_code = :c"),
            {"c": code},
        ).one()
    return str(row.leader_name), str(row.leader_phone)


def assets_of(page: str) -> list[str]:
    return re.findall(r'<(?:script src|link rel="stylesheet" href)="([^"]+)"', page)


@pytest.mark.parametrize("path", PAGES)
def test_pages_load_only_from_this_origin(live_api: LiveServer, path: str) -> None:
    client = live_api.client()
    answer = client.get(path)
    assert answer.status_code == 200, answer.text[:300]
    assert answer.headers["content-type"].startswith("text/html")
    assert maps.external_references(answer.text) == []
    found = assets_of(answer.text)
    assert any("leaflet.js" in u for u in found) and any("geogrid/maps.js" in u for u in found)
    for url in found:
        assert url.startswith("/static/")
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert "immutable" in asset.headers["cache-control"]


def test_the_grid_page(live_api: LiveServer, grid_code: str) -> None:
    answer = live_api.client().get(f"/maps/grids/{grid_code}")
    assert answer.status_code == 200
    assert grid_code in answer.text
    assert maps.external_references(answer.text) == []


def test_the_overview_page_keeps_to_its_budget(live_api: LiveServer) -> None:
    answer = live_api.client().get("/maps/overview")
    size = len(answer.content)
    libraries = sum(len(live_api.client().get(u).content) for u in assets_of(answer.text))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "overview-weight.txt").write_text(
        f"overview page with data: {size} bytes; vendored libraries (cached): {libraries} bytes\n"
    )
    assert size <= OVERVIEW_BUDGET


def make_key(engine: Engine, role: Role) -> str:
    with engine.begin() as conn:
        _, secret = keys.create_key(conn, f"maps-{role.name}-{secrets.token_hex(4)}", role)
    return secret


@pytest.mark.parametrize("path", ["/maps/overview", "/maps/grids/{code}"])
def test_viewers_see_leaders_masked_and_dispatchers_in_full(
    live_api: LiveServer, demo_engine: Engine, grid_code: str, path: str
) -> None:
    name, phone = leader(demo_engine, grid_code)
    url = path.format(code=grid_code)
    anonymous = live_api.client().get(url).text
    assert phone not in anonymous and name not in anonymous
    assert f"{phone[:3]}****{phone[-4:]}" in anonymous
    assert "已脱敏" in anonymous
    viewer = live_api.client(make_key(demo_engine, Role.viewer)).get(url).text
    assert phone not in viewer
    dispatcher = live_api.client(make_key(demo_engine, Role.dispatcher)).get(url).text
    assert phone in dispatcher and name in dispatcher and "已脱敏" not in dispatcher


@pytest.mark.parametrize(
    "path, status, code",
    [
        ("/maps/grids/123", 422, "invalid_input"),
        ("/maps/grids/340102001001999", 404, "not_found"),
        ("/maps/coverage?minutes=7", 422, "invalid_input"),
        ("/maps/coverage?kind=bank", 422, "invalid_input"),
        ("/maps/locate?lon=117.35", 422, "invalid_input"),
        ("/maps/locate?lon=31.88&lat=117.35", 422, "invalid_input"),
        ("/maps/overview?minutes=20", 422, "invalid_input"),
    ],
)
def test_bad_map_requests_get_the_one_error_shape(
    live_api: LiveServer, path: str, status: int, code: str
) -> None:
    answer = live_api.client().get(path)
    assert answer.status_code == status
    assert answer.json()["code"] == code and set(answer.json()) == {"detail", "code"}


def test_static_paths_stay_inside_the_static_folder(live_api: LiveServer) -> None:
    client = live_api.client()
    assert client.get("/static/../geogrid/db/engine.py").status_code == 404
    assert client.get("/static/vendor/nothing.js").status_code == 404


# --- geogrid map --out ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "args", [["overview"], ["grid", "{code}"], ["coverage", "--minutes", "10"]]
)
def test_map_files_are_self_contained(demo_url: str, grid_code: str, args: list[str]) -> None:
    out = ARTIFACTS / f"map-file-{args[0]}.html"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    result = CliRunner().invoke(
        app,
        ["map", *[a.format(code=grid_code) for a in args], "--out", str(out)],
        env={"GEOGRID_DATABASE_URL": demo_url, "COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.stderr
    page = out.read_text(encoding="utf-8")
    assert maps.external_references(page) == []
    assert assets_of(page) == []  # every script and style is inside the file
    assert "/static/" not in page and "geogrid.attach" in page
    assert "L.AwesomeMarkers" in page and "data:font/woff2;base64," in page


def test_map_files_mask_leaders_unless_asked(
    demo_url: str, demo_engine: Engine, grid_code: str
) -> None:
    name, phone = leader(demo_engine, grid_code)
    out = ARTIFACTS / "map-file-grid-personal.html"
    for flags, shown in (([], False), (["--show-personal"], True)):
        result = CliRunner().invoke(
            app,
            ["map", "grid", grid_code, "--out", str(out), *flags],
            env={"GEOGRID_DATABASE_URL": demo_url},
        )
        assert result.exit_code == 0, result.stderr
        page = out.read_text(encoding="utf-8")
        assert (phone in page) is shown and (name in page) is shown


def test_map_command_reports_a_bad_grid_code(demo_url: str) -> None:
    result = CliRunner().invoke(
        app,
        ["map", "grid", "999", "--out", "x.html"],
        env={"GEOGRID_DATABASE_URL": demo_url, "COLUMNS": "200"},
    )
    assert result.exit_code == 1
    assert "15 digits" in result.stderr
