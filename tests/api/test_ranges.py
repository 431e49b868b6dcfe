"""Byte ranges of computed answers (api/ranges.py), as GDAL's /vsicurl reads a URL."""

from __future__ import annotations

import pytest

from tests.conftest import LiveServer

URL = "/ogc/collections/grids/items?limit=50"


@pytest.mark.parametrize(
    ("spec", "first", "last"),
    [("bytes=0-99", 0, 99), ("bytes=1000-", 1000, None), ("bytes=-64", -64, None)],
)
def test_a_range_is_a_206_with_exactly_those_bytes(
    live_api: LiveServer, spec: str, first: int, last: int | None
) -> None:
    with live_api.client() as client:
        whole = client.get(URL).content
        part = client.get(URL, headers={"Range": spec})
    assert part.status_code == 206
    expected = whole[first : None if last is None else last + 1]
    assert part.content == expected and int(part.headers["content-length"]) == len(expected)
    begin = first if first >= 0 else len(whole) + first
    end = begin + len(expected) - 1
    assert part.headers["content-range"] == f"bytes {begin}-{end}/{len(whole)}"
    assert part.headers["accept-ranges"] == "bytes"


def test_a_range_past_the_end_is_416_naming_the_length(live_api: LiveServer) -> None:
    with live_api.client() as client:
        length = len(client.get(URL).content)
        answer = client.get(URL, headers={"Range": f"bytes={length}-"})
    assert answer.status_code == 416 and answer.headers["content-range"] == f"bytes */{length}"


def test_no_range_or_several_ranges_or_an_error_get_the_whole_answer(live_api: LiveServer) -> None:
    with live_api.client() as client:
        plain = client.get(URL)
        several = client.get(URL, headers={"Range": "bytes=0-1,5-9"})
        stale = client.get(URL, headers={"Range": "bytes=0-9", "If-Range": '"not-this-one"'})
        error = client.get("/ogc/collections/nope/items", headers={"Range": "bytes=0-9"})
    assert plain.status_code == several.status_code == stale.status_code == 200
    assert plain.content == several.content == stale.content
    assert "content-range" not in plain.headers
    assert error.status_code == 404 and error.json()["code"] == "NotFound"
