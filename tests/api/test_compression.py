"""gzip for JSON and GeoJSON answers (api/compression.py), and nothing else."""

from __future__ import annotations

import gzip

import httpx

from geogrid.api.schemas.lookup import GridCollection
from tests.conftest import LiveServer


def _raw(client: httpx.Client, path: str) -> tuple[httpx.Response, bytes]:
    """The answer and its body as sent (not decoded)."""
    with client.stream("GET", path) as answer:
        return answer, b"".join(answer.iter_raw())


def test_a_big_geojson_page_is_gzipped(live_api: LiveServer) -> None:
    client = live_api.client(**{"Accept-Encoding": "gzip"})
    answer, raw = _raw(client, "/v1/grids?limit=200")
    assert answer.status_code == 200
    assert answer.headers["content-encoding"] == "gzip"
    assert answer.headers["content-type"] == "application/geo+json"
    assert int(answer.headers["content-length"]) == len(raw)
    plain = gzip.decompress(raw)
    assert len(raw) < len(plain) / 3  # coordinates compress well
    assert len(GridCollection.model_validate_json(plain).features) == 200
    # Vary names each header once, Accept-Encoding among them.
    vary = [v.strip().lower() for v in answer.headers["vary"].split(",")]
    assert "accept-encoding" in vary and len(vary) == len(set(vary))


def test_no_gzip_without_accept_encoding(live_api: LiveServer) -> None:
    for encoding in ("identity", "br"):
        client = live_api.client(**{"Accept-Encoding": encoding})
        answer, raw = _raw(client, "/v1/grids?limit=200")
        assert "content-encoding" not in answer.headers
        assert GridCollection.model_validate_json(raw).features


def test_plain_json_is_gzipped_too_but_small_answers_are_not(live_api: LiveServer) -> None:
    client = live_api.client(**{"Accept-Encoding": "gzip"})
    answer, _ = _raw(client, "/openapi.json")
    assert answer.headers["content-encoding"] == "gzip"
    small, raw = _raw(client, "/v1/locate?lon=117.3370&lat=31.8920")
    assert "content-encoding" not in small.headers and len(raw) < 1024
    error, _ = _raw(client, "/v1/grids/nope")
    assert error.status_code == 422 and "content-encoding" not in error.headers


def test_other_media_types_are_left_alone(live_api: LiveServer) -> None:
    client = live_api.client(**{"Accept-Encoding": "gzip"})
    script, raw = _raw(client, "/static/geogrid/maps.js")
    assert script.status_code == 200 and "content-encoding" not in script.headers
    assert b"function" in raw
    # The map pages arrive gzipped from the page itself: once, not twice.
    page, raw = _raw(client, "/maps/overview")
    assert page.headers["content-encoding"] == "gzip"
    assert gzip.decompress(raw).lstrip().lower().startswith(b"<!doctype html")
