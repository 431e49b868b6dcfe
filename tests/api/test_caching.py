"""ETags of release answers and 304 Not Modified (api/caching.py): the validator's parts, the
If-None-Match comparison, and the routes over real HTTP, across a new release and roles."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, create_engine
from starlette.requests import Request

from geogrid.access.roles import Role
from geogrid.api.caching import VARY, not_modified, release_etag
from geogrid.io import loading
from geogrid.io.files import write_layer
from geogrid.io.layers import read_layer_from_db
from geogrid.settings import ServiceAreaSettings
from tests.conftest import LiveServer, start_api
from tests.io.test_loading import transfer
from tests.lookup.test_collections import make_key

GRID = "340102001001001"
#: Answers drawn from a release, each with an ETag.
RELEASE_ANSWERS = (
    "/v1/grids?limit=5",
    f"/v1/grids/{GRID}",
    f"/v1/grids/{GRID}/history",
    "/v1/streets",
    "/v1/communities?limit=3",
    "/v1/stations?limit=3",
    "/v1/compounds?limit=3",
    "/v1/tiling",
    "/v1/coverage",
    "/v1/coverage?format=geojson&level=street",
    "/v1/releases",
    "/v1/releases/1/diff/1",
)


def _request(
    query: str = "", headers: dict[str, str] | None = None, role: str | None = None
) -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/v1/grids",
        "query_string": query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "state": {} if role is None else {"role": role},
    }
    return Request(scope)


def test_the_etag_names_the_release_and_changes_with_each_part() -> None:
    base = release_etag(_request("limit=5"), 3)
    assert re.fullmatch(r'W/"r3-[0-9a-f]{32}"', base)
    assert release_etag(_request("limit=5"), 3) == base  # stable
    others = {
        release_etag(_request("limit=5"), 4),
        release_etag(_request("limit=6"), 3),
        release_etag(_request("limit=5", role="dispatcher"), 3),
        release_etag(_request("limit=5", {"Accept-Language": "zh"}), 3),
        release_etag(_request("limit=5"), 3, b"another body"),
    }
    assert base not in others and len(others) == 5


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        ('W/"r1-abc"', True),
        ('"r1-abc"', True),  # weak comparison: a strong tag of the same value matches
        ('"x", W/"r1-abc" , "y"', True),
        ("*", True),
        ('W/"r1-abd"', False),
        ('W/"r2-abc"', False),
        ("", False),
    ],
)
def test_if_none_match_is_compared_weakly(header: str, matches: bool) -> None:
    answer = not_modified(_request(headers={"If-None-Match": header}), 'W/"r1-abc"')
    if not matches:
        assert answer is None
        return
    assert answer is not None and answer.status_code == 304 and answer.body == b""
    assert answer.headers["etag"] == 'W/"r1-abc"' and answer.headers["vary"] == VARY


def test_no_if_none_match_is_no_304() -> None:
    assert not_modified(_request(), 'W/"r1-abc"') is None


# --- over HTTP -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", RELEASE_ANSWERS)
def test_release_answers_carry_an_etag_and_answer_304_to_it(
    live_api: LiveServer, path: str
) -> None:
    client = live_api.client()
    first = client.get(path)
    assert first.status_code == 200, first.text
    etag = first.headers["etag"]
    assert re.fullmatch(r'W/"r1-[0-9a-f]{32}"', etag)
    assert first.headers["vary"] == VARY
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag and again.headers["vary"] == VARY
    assert "content-length" not in again.headers or again.headers["content-length"] == "0"
    head = client.head(path, headers={"If-None-Match": etag})
    assert head.status_code == 304
    stale = client.get(path, headers={"If-None-Match": 'W/"r1-0000"'})
    assert stale.status_code == 200 and stale.content == first.content


def test_another_query_has_another_etag(live_api: LiveServer) -> None:
    client = live_api.client()
    five = client.get("/v1/grids", params={"limit": 5}).headers["etag"]
    six = client.get("/v1/grids", params={"limit": 6}).headers["etag"]
    shifted = client.get("/v1/grids", params={"limit": 5, "crs": "gcj02"}).headers["etag"]
    assert len({five, six, shifted}) == 3
    assert (
        client.get("/v1/grids", params={"limit": 6}, headers={"If-None-Match": five}).status_code
        == 200
    )


def test_another_role_has_another_etag(live_api: LiveServer, demo_engine: Engine) -> None:
    viewer = live_api.client().get(f"/v1/grids/{GRID}")
    key = make_key(demo_engine, Role.dispatcher)
    dispatcher = live_api.client(key)
    shown = dispatcher.get(f"/v1/grids/{GRID}")
    assert shown.headers["etag"] != viewer.headers["etag"]
    # A dispatcher holding a viewer's copy gets the unmasked answer, not a 304.
    answer = dispatcher.get(f"/v1/grids/{GRID}", headers={"If-None-Match": viewer.headers["etag"]})
    assert answer.status_code == 200 and answer.content == shown.content
    assert (
        dispatcher.get(
            f"/v1/grids/{GRID}", headers={"If-None-Match": shown.headers["etag"]}
        ).status_code
        == 304
    )
    # And a second dispatcher key (same role) shares the dispatcher's ETag.
    other = live_api.client(make_key(demo_engine, Role.dispatcher))
    assert other.get(f"/v1/grids/{GRID}").headers["etag"] == shown.headers["etag"]


@dataclass
class Republished:
    """A server on a private database and its ETags of release 1, before release 2."""

    client: httpx.Client
    etags: dict[str, str]
    engine: Engine
    folder: Path

    def publish(self) -> None:
        """Publish release 2 (a strip moved between two grids) and wait for the server."""
        with self.engine.connect() as conn:
            release_1 = read_layer_from_db(conn, "grids", 1)
        changed, _, _ = transfer(release_1)
        path = write_layer(changed, self.folder / "grids.gpkg", "grids")
        with self.engine.begin() as conn:
            report = loading.load_file(conn, path, "grids", "cgcs2000", ServiceAreaSettings())
        assert report.release == 2
        deadline = time.monotonic() + 10  # the server follows within a second
        while self.client.get("/livez").json()["release"] != 2:
            assert time.monotonic() < deadline, "the server did not follow release 2"
            time.sleep(0.1)


@pytest.fixture
def republished(fresh_demo_url: str, tmp_path: Path) -> Iterator[Republished]:
    process, base = start_api(fresh_demo_url)
    engine = create_engine(fresh_demo_url)
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            etags = {p: client.get(p).headers["etag"] for p in RELEASE_ANSWERS[:4]}
            yield Republished(client, etags, engine, tmp_path)
    finally:
        engine.dispose()
        process.terminate()
        process.wait(timeout=20)


def test_a_new_release_changes_the_etag(republished: Republished) -> None:
    republished.publish()
    for path, etag in republished.etags.items():
        answer = republished.client.get(path, headers={"If-None-Match": etag})
        assert answer.status_code == 200, path
        assert answer.headers["etag"].startswith('W/"r2-') and answer.headers["etag"] != etag
    # release=1 still names release 1's answers.
    pinned = republished.client.get("/v1/grids", params={"limit": 5, "release": 1})
    assert pinned.headers["etag"].startswith('W/"r1-')
