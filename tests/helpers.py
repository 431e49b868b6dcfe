"""Small helpers shared by the tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, text

from geogrid.geo.datum import to_metric
from geogrid.io import loading
from geogrid.io.files import write_layer
from geogrid.io.layers import read_layer_from_db
from geogrid.settings import ServiceAreaSettings

if TYPE_CHECKING:
    from tests.conftest import TestServer


def fingerprint(engine: Engine) -> str:
    """A digest of every stored row that a load or restore could change."""
    with engine.connect() as conn:
        return str(
            conn.execute(
                text("""
            SELECT md5(string_agg(t, '|' ORDER BY t)) FROM (
                SELECT concat_ws(',', 'g', grid_code, valid_from_release, valid_to_release,
                                 ST_AsText(geom)) AS t FROM grid_geometry
                UNION ALL SELECT concat_ws(',', 'r', id, content_hash) FROM boundary_release
                UNION ALL SELECT concat_ws(',', 'n', g.code, g.name, p.leader_name)
                          FROM grid g LEFT JOIN grid_people p ON p.grid_code = g.code
                UNION ALL SELECT concat_ws(',', 'c', id, name, households, ST_AsText(geom))
                          FROM compound
                UNION ALL SELECT concat_ws(',', 's', id, name, kind, ST_AsText(geom)) FROM station
                UNION ALL SELECT concat_ws(',', 'a', station_id, minutes, ST_AsText(geom))
                          FROM service_area
                UNION ALL SELECT concat_ws(',', 'k', name, key_hash) FROM api_key
            ) s""")
            ).scalar_one()
        )


def count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


@dataclass
class Transferred:
    """A demo database with release 2 published, and what moved in it."""

    url: str
    engine: Engine
    gainer: str
    loser: str
    strip_m2: float
    untouched: str


def publish_transfer(server: TestServer, template: str, name: str, folder: Path) -> Transferred:
    """A copy of the demo called ``name`` with a real release 2: a ~20 m strip moved from one
    grid to its neighbour (tests.io.test_loading.transfer), written to a file and loaded as
    users load one."""
    from tests.io.test_loading import transfer

    url = server.database(name, template=template)
    engine = create_engine(url)
    with engine.connect() as conn:
        release_1 = read_layer_from_db(conn, "grids", 1)
    changed, gainer, loser = transfer(release_1)
    path = write_layer(changed, folder / "grids.gpkg", "grids")
    with engine.begin() as conn:
        report = loading.load_file(conn, path, "grids", "cgcs2000", ServiceAreaSettings())
    assert report.release == 2
    with engine.connect() as conn:
        new = read_layer_from_db(conn, "grids", 2).set_index("code")
    old = release_1.set_index("code")
    # What the gainer gained, measured apart from PostGIS: its area grew by the strip.
    strip = to_metric(new.geometry[gainer]).area - to_metric(old.geometry[gainer]).area
    untouched = next(c for c in old.index if c not in (gainer, loser))
    return Transferred(url, engine, gainer, loser, strip, untouched)


def working_due(start: str | datetime, hours: float) -> datetime | None:
    """When ``hours`` working hours from ``start`` run out on the calendar geogrid ships and
    the default office hours (None: the span reaches a year the calendar lacks)."""
    from geogrid.calendar import DEFAULT_OFFICE_HOURS, add_working_hours, build_calendar
    from geogrid.calendar import shipped_calendar as shipped

    found = shipped()
    calendar = build_calendar(found.days, found.years, DEFAULT_OFFICE_HOURS)
    begin = datetime.fromisoformat(start) if isinstance(start, str) else start
    return add_working_hours(begin, hours, calendar).at
