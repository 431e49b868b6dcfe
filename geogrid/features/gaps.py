"""Coverage gaps as rows for the feature engine: what each tier misses in each grid.

The gaps are computed by :func:`geogrid.lookup.coverage.coverage_gaps` (cached per release and
every input's digest) and handed to SQL as arrays (``sql/ogc_coverage_gaps.sql``), so filters,
sorting and paging on them are the same parametrised SQL as on every stored collection.
"""

from __future__ import annotations

from typing import Any

import shapely
from sqlalchemy import Connection

from geogrid.lookup.coverage import coverage_gaps
from geogrid.settings import ServiceAreaSettings


def gap_rows(conn: Connection, release: int) -> dict[str, list[Any]]:
    """One row per tier and grid of ``release`` that a tier does not fully reach."""
    rows: dict[str, list[Any]] = {
        key: []
        for key in (
            "codes",
            "names",
            "minutes",
            "areas",
            "gap_areas",
            "shares",
            "households",
            "households_uncovered",
            "compounds_uncovered",
            "wkbs",
        )
    }
    for minutes in sorted(ServiceAreaSettings().tier_distances_m):
        report = coverage_gaps(conn, minutes=minutes, level="grid", release=release)
        for unit in report.units:
            if unit.gap.is_empty:
                continue
            rows["codes"].append(unit.code)
            rows["names"].append(unit.name)
            rows["minutes"].append(minutes)
            rows["areas"].append(unit.area_m2)
            rows["gap_areas"].append(unit.gap_area_m2)
            rows["shares"].append(unit.covered_share)
            rows["households"].append(unit.tally.households)
            rows["households_uncovered"].append(unit.tally.households_uncovered)
            rows["compounds_uncovered"].append(unit.tally.compounds_uncovered)
            rows["wkbs"].append(shapely.to_wkb(unit.gap))
    return rows
