"""Boundary history: the releases list, the diff of two releases and a grid's geometries.

Release 2 is a real publish: a ~20 m strip moved from one grid to its neighbour
(tests.io.test_loading.transfer), written to a file and loaded as users load one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
import shapely
from sqlalchemy import create_engine, text

from geogrid.api.schemas.lookup import GridHistoryAnswer, ReleaseDiffAnswer, ReleaseInfo
from geogrid.boundaries import history
from geogrid.errors import InvalidInputError, NotFoundError
from geogrid.geo.datum import to_metric
from geogrid.io import loading
from geogrid.io.files import write_layer
from geogrid.io.layers import read_layer_from_db
from geogrid.settings import ServiceAreaSettings
from tests.conftest import start_api
from tests.helpers import Transferred, publish_transfer
from tests.io.test_loading import transfer

if TYPE_CHECKING:
    from tests.conftest import TestServer


@pytest.fixture(scope="module")
def published(
    server: TestServer, demo_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Transferred]:
    found = publish_transfer(server, demo_template, "history", tmp_path_factory.mktemp("history"))
    yield found
    found.engine.dispose()


@pytest.fixture(scope="module")
def api(published: Transferred) -> Iterator[httpx.Client]:
    process, base = start_api(published.url)
    with httpx.Client(base_url=base, timeout=30) as client:
        yield client
    process.terminate()
    process.wait(timeout=20)


# --- the library -------------------------------------------------------------------------


def test_releases_list_both_releases_with_counts(published: Transferred) -> None:
    with published.engine.connect() as conn:
        first, second = history.release_summaries(conn)
    assert (first.release.id, first.previous, first.grids, first.added) == (1, None, 596, 596)
    assert (first.removed, first.changed) == (0, 0)
    assert (second.release.id, second.previous, second.grids) == (2, 1, 596)
    assert (second.added, second.removed, second.changed) == (0, 0, 2)
    assert second.release.published_at > first.release.published_at


def test_diff_1_to_2_is_the_transfer(published: Transferred) -> None:
    with published.engine.connect() as conn:
        diff = history.release_diff(conn, 1, 2, crs="cgcs2000")
    assert (diff.added, diff.removed) == ([], [])
    assert sorted(c.code for c in diff.changed) == sorted([published.gainer, published.loser])
    by_code = {c.code: c for c in diff.changed}
    gainer, loser = by_code[published.gainer], by_code[published.loser]
    assert gainer.gained_m2 == pytest.approx(published.strip_m2, rel=1e-5)
    assert gainer.lost_m2 < 1 and loser.gained_m2 < 1
    assert loser.lost_m2 == pytest.approx(published.strip_m2, rel=1e-5)
    total = sum(a.area_m2 for a in diff.changes)
    assert total == pytest.approx(2 * published.strip_m2, rel=1e-5)
    kinds = {(a.code, a.change) for a in diff.changes if a.area_m2 > 1}
    assert kinds == {(published.gainer, "gained"), (published.loser, "lost")}
    # The geometry answered is the strip too (coordinates rounded to 1e-7 degree, ~1 cm).
    [strip] = [
        a.geometry for a in diff.changes if (a.code, a.change) == (published.gainer, "gained")
    ]
    assert to_metric(strip).area == pytest.approx(published.strip_m2, rel=1e-3)


def test_diff_2_to_1_mirrors_it(published: Transferred) -> None:
    with published.engine.connect() as conn:
        forward = history.release_diff(conn, 1, 2)
        back = history.release_diff(conn, 2, 1)
    assert (back.from_release, back.to_release) == (2, 1)
    assert [c.code for c in back.changed] == [c.code for c in forward.changed]
    for f, b in zip(forward.changed, back.changed, strict=True):
        assert (b.from_geometry_id, b.to_geometry_id) == (f.to_geometry_id, f.from_geometry_id)
        assert (b.gained_m2, b.lost_m2) == pytest.approx((f.lost_m2, f.gained_m2))
    flip = {"gained": "lost", "lost": "gained"}
    assert sorted((a.code, flip[a.change], round(a.area_m2, 3)) for a in back.changes) == sorted(
        (a.code, a.change, round(a.area_m2, 3)) for a in forward.changes
    )


def test_diff_of_a_release_with_itself_is_empty(published: Transferred) -> None:
    with published.engine.connect() as conn:
        diff = history.release_diff(conn, 2, 2)
    assert (diff.added, diff.removed, diff.changed, diff.changes) == ([], [], [], [])


def test_a_transferred_grid_has_two_geometries(published: Transferred) -> None:
    with published.engine.connect() as conn:
        found = history.grid_history(conn, published.gainer)
        releases = {s.release.id: s.release for s in history.release_summaries(conn)}
    first, second = found.versions
    assert (first.valid_from_release, first.valid_to_release) == (1, 2)
    assert (second.valid_from_release, second.valid_to_release) == (2, None)
    assert first.valid_to == second.valid_from == releases[2].published_at
    assert first.valid_from == releases[1].published_at and second.valid_to is None
    assert second.area_m2 - first.area_m2 == pytest.approx(published.strip_m2, rel=1e-5)
    assert (first.plan, second.plan) == (None, None)
    assert not first.current and second.current


def test_an_untouched_grid_has_one_geometry(published: Transferred) -> None:
    with published.engine.connect() as conn:
        [only] = history.grid_history(conn, published.untouched).versions
    assert (only.valid_from_release, only.valid_to_release, only.valid_to) == (1, None, None)


def test_history_geometries_come_in_the_asked_crs(published: Transferred) -> None:
    with published.engine.connect() as conn:
        wgs84 = history.grid_history(conn, published.untouched, "wgs84").versions[0].geometry
        gcj02 = history.grid_history(conn, published.untouched, "gcj02").versions[0].geometry
        stored = shapely.from_wkb(
            bytes(
                conn.execute(
                    text("SELECT ST_AsBinary(geom) FROM grid_geometry WHERE grid_code = :c"),
                    {"c": published.untouched},
                ).scalar_one()
            )
        )
    # CGCS2000 and WGS84 agree to centimetres; GCJ-02 is hundreds of metres off in Yaohai.
    assert to_metric(wgs84).hausdorff_distance(to_metric(stored)) < 0.05
    assert 100 < to_metric(gcj02).hausdorff_distance(to_metric(stored)) < 1000


@pytest.mark.parametrize(
    "call, error, named",
    [
        (lambda c: history.release_diff(c, 1, 7), NotFoundError, "release 7 does not exist"),
        (lambda c: history.release_diff(c, 0, 2), NotFoundError, "releases are 1..2"),
        (lambda c: history.release_diff(c, 1, 2, "epsg:3857"), InvalidInputError, "epsg:3857"),
        (lambda c: history.grid_history(c, "12345"), InvalidInputError, '"12345"'),
        (lambda c: history.grid_history(c, "340102999999999"), NotFoundError, "340102999999999"),
        (lambda c: history.grid_history(c, "340102001001001", "mars"), InvalidInputError, "mars"),
    ],
)
def test_bad_inputs_name_the_value(
    published: Transferred, call: object, error: type, named: str
) -> None:
    with published.engine.connect() as conn, pytest.raises(error, match=named):
        call(conn)  # type: ignore[operator]


def test_a_merge_removes_a_grid_and_the_reverse_diff_adds_it(
    fresh_demo_url: str, tmp_path: Path
) -> None:
    engine = create_engine(fresh_demo_url)
    with engine.connect() as conn:
        grids = read_layer_from_db(conn, "grids", 1)
    _, keeper, merged = transfer(grids)  # two neighbours of one community
    by_code = grids.set_index("code")
    union = shapely.union(by_code.geometry[keeper], by_code.geometry[merged])
    kept = grids[grids["code"] != merged].copy()
    kept.loc[kept["code"] == keeper, "geometry"] = shapely.MultiPolygon(shapely.get_parts(union))
    path = write_layer(kept, tmp_path / "merged.gpkg", "grids")
    with engine.begin() as conn:
        assert (
            loading.load_file(conn, path, "grids", "cgcs2000", ServiceAreaSettings()).release == 2
        )
    with engine.connect() as conn:
        second = history.release_summaries(conn)[1]
        forward = history.release_diff(conn, 1, 2)
        back = history.release_diff(conn, 2, 1)
        [retired] = history.grid_history(conn, merged).versions
    engine.dispose()
    assert (second.grids, second.added, second.removed, second.changed) == (595, 0, 1, 1)
    assert ([u.code for u in forward.removed], forward.added) == ([merged], [])
    assert ([u.code for u in back.added], back.removed) == ([merged], [])
    [grown] = forward.changed
    merged_m2 = to_metric(by_code.geometry[merged]).area
    assert grown.code == keeper
    assert grown.gained_m2 == pytest.approx(merged_m2, rel=1e-5)
    assert (retired.valid_from_release, retired.valid_to_release) == (1, 2)
    assert retired.valid_to is not None and not retired.current


# --- over HTTP ---------------------------------------------------------------------------


def test_get_releases(api: httpx.Client) -> None:
    answer = api.get("/v1/releases")
    assert answer.status_code == 200
    found = [ReleaseInfo.model_validate(r) for r in answer.json()]
    assert [(r.id, r.grids, r.changed) for r in found] == [(1, 596, 0), (2, 596, 2)]
    for r in found:
        assert datetime.fromisoformat(r.published_at).utcoffset() is not None
        assert r.published_at.endswith("+08:00")


def test_get_diff(api: httpx.Client, published: Transferred) -> None:
    answer = api.get("/v1/releases/1/diff/2", params={"crs": "gcj02"})
    assert answer.status_code == 200, answer.text
    diff = ReleaseDiffAnswer.model_validate(answer.json())
    assert (diff.from_release, diff.to_release, diff.crs) == (1, 2, "gcj02")
    assert sorted(c.code for c in diff.changed) == sorted([published.gainer, published.loser])
    assert diff.added == diff.removed == []
    assert sum(f.properties.area_m2 for f in diff.changes.features) == pytest.approx(
        2 * published.strip_m2, rel=1e-5
    )
    assert {f.properties.change for f in diff.changes.features} >= {"gained", "lost"}
    assert all(f.geometry["type"] in ("Polygon", "MultiPolygon") for f in diff.changes.features)
    same = ReleaseDiffAnswer.model_validate(api.get("/v1/releases/2/diff/2").json())
    assert (same.changed, same.changes.features) == ([], [])


def test_get_grid_history(api: httpx.Client, published: Transferred) -> None:
    answer = api.get(f"/v1/grids/{published.loser}/history", params={"crs": "bd09"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/geo+json")
    found = GridHistoryAnswer.model_validate(answer.json())
    assert found.code == published.loser and "crs" not in answer.json()
    assert answer.headers["content-crs"] == "<urn:x-geogrid:def:crs:BD-09>"
    first, second = (f.properties for f in found.features)
    assert (first.valid_from_release, first.valid_to_release) == (1, 2)
    assert (second.valid_from_release, second.valid_to_release) == (2, None)
    assert first.valid_to == second.valid_from
    assert first.plan is None and first.made_by
    assert first.area_m2 - second.area_m2 == pytest.approx(published.strip_m2, rel=1e-5)
    # The grid itself still answers at /v1/grids/{code}: the two paths do not shadow each other.
    assert api.get(f"/v1/grids/{published.loser}").json()["id"] == published.loser


@pytest.mark.parametrize(
    "path, status, named",
    [
        ("/v1/releases/1/diff/9", 404, "releases are 1..2"),
        ("/v1/releases/9/diff/1", 404, "release 9 does not exist"),
        ("/v1/releases/one/diff/2", 422, "'one'"),
        ("/v1/releases/1/diff/2?crs=utm", 422, "utm"),
        ("/v1/grids/34010200100100/history", 422, "34010200100100"),
        ("/v1/grids/340102999999999/history", 404, "340102999999999"),
        ("/v1/grids/340102001001001/history?crs=utm", 422, "utm"),
    ],
)
def test_bad_requests_name_the_value(api: httpx.Client, path: str, status: int, named: str) -> None:
    answer = api.get(path)
    assert answer.status_code == status, answer.text
    assert named in answer.json()["detail"]


def test_history_names_the_plan_that_made_a_geometry(fresh_demo_url: str) -> None:
    from geogrid import plans
    from tests.plans.test_plans import neighbours
    from tests.plans.test_plans import transfer as plan_transfer

    engine = create_engine(fresh_demo_url)
    a, b, strip = neighbours(engine)
    with engine.begin() as conn:
        plan = plans.create_plan(conn, "market becomes its own strip", "planner-h")
        plans.add_edit(conn, plan.id, plan_transfer(a, b, strip), "planner-h")
        assert plans.publish_plan(conn, plan.id, "planner-h").id == 2
    with engine.connect() as conn:
        loaded, planned = history.grid_history(conn, b).versions
    engine.dispose()
    assert (loaded.plan, loaded.plan_comment) == (None, None)
    assert (planned.plan, planned.plan_comment) == (plan.id, "market becomes its own strip")
    process, base = start_api(fresh_demo_url)
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            answer = client.get(f"/v1/grids/{b}/history")
    finally:
        process.terminate()
        process.wait(timeout=20)
    assert answer.status_code == 200, answer.text
    first, second = (f.properties for f in GridHistoryAnswer.model_validate(answer.json()).features)
    assert (first.plan, second.plan) == (None, plan.id)
    assert second.comment == "market becomes its own strip"
