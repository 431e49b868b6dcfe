"""The uncovered compounds list: the coverage answer's own, with the nearest station's walk."""

from __future__ import annotations

import io

import httpx
from openpyxl import load_workbook
from sqlalchemy import Engine

from geogrid.lookup.coverage import coverage_gaps
from geogrid.lookup.coverage.uncovered import COLUMNS, uncovered_compounds
from geogrid.settings import ServiceAreaSettings
from tests.conftest import LiveServer


def test_the_list_is_the_coverage_answer_s_and_every_walk_is_beyond_its_tier(
    demo_engine: Engine,
) -> None:
    tiers = ServiceAreaSettings().tier_distances_m
    with demo_engine.connect() as conn:
        found = uncovered_compounds(conn)
        report = coverage_gaps(conn, level="community")
    assert sum(c.households for c in found.compounds) == report.tally.households_uncovered
    assert len(found.compounds) == report.tally.compounds_uncovered > 0
    for c in found.compounds:
        assert c.station_id is not None and c.walk_distance_m is not None
        assert c.station_tier is not None and c.walk_minutes is not None
        # uncovered: even the nearest counted station is beyond its tier (circles drawn as
        # 64-gons lie up to 0.12 % inside the exact circle)
        assert c.walk_distance_m > tiers[c.station_tier] * 0.998
        assert c.walk_minutes > c.station_tier
        assert c.measured_from == "footprint" and c.method == "straight_line_x_detour_factor"
    codes = [c.community_code for c in found.compounds]
    assert codes == sorted(codes)


def test_one_community_over_http_and_as_a_spreadsheet(live_api: LiveServer) -> None:
    answer = httpx.get(f"{live_api.base_url}/v1/coverage/uncovered", timeout=60)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    community = body["compounds"][0]["community_code"]
    one = httpx.get(
        f"{live_api.base_url}/v1/coverage/uncovered", params={"community": community}
    ).json()
    assert {c["community_code"] for c in one["compounds"]} == {community}
    sheet = httpx.get(
        f"{live_api.base_url}/v1/coverage/uncovered", params={"format": "xlsx"}, timeout=60
    )
    assert sheet.headers["content-type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(sheet.content)).worksheets[0].iter_rows(values_only=True))
    assert list(rows[0]) == [h for h, _ in COLUMNS]
    assert len(rows) - 1 == len(body["compounds"])
    assert sum(r[5] for r in rows[1:]) == body["households"]
    bad = httpx.get(f"{live_api.base_url}/v1/coverage/uncovered", params={"format": "pdf"})
    assert bad.status_code == 422 and "pdf" in bad.text
