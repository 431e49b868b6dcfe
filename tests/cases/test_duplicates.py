"""Possible duplicates are flagged when reported; a dispatcher merges one into the case it
repeats, keeping every reporter (geogrid/cases/duplicates.py, merging.py)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from geogrid import cases
from geogrid.cases.report import CaseReport
from geogrid.errors import ConflictError, InvalidInputError, NotFoundError
from geogrid.lookup import snapshot
from geogrid.settings import CaseSettings

SETTINGS = CaseSettings()
METRE = 1 / 111_320  # degrees of latitude


@pytest.fixture(scope="module")
def engine(server: Any, demo_template: str) -> Iterator[Engine]:
    engine = create_engine(server.database("dups", template=demo_template))
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def snap(engine: Engine) -> snapshot.Snapshot:
    with engine.connect() as conn:
        release = conn.execute(text("SELECT max(id) FROM boundary_release")).scalar()
        return snapshot.build(conn, release)


@pytest.fixture(scope="module")
def spot(engine: Engine) -> tuple[float, float]:
    with engine.connect() as conn:
        point = conn.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM compound "
                "ORDER BY id LIMIT 1 OFFSET 7) c"
            )
        ).one()
    return float(point[0]), float(point[1])


def report(
    lon: float,
    lat: float,
    category: str = "E0503",
    name: str = "李大伟",
    phone: str = "13900001111",
) -> CaseReport:
    return CaseReport.model_validate(
        {
            "category": category,
            "description": "机动车占用消防通道",
            "lon": lon,
            "lat": lat,
            "crs": "cgcs2000",
            "reporter": {"name": name, "phone": phone},
            "channel": "hotline",
        }
    )


def create(engine: Engine, snap: snapshot.Snapshot, body: CaseReport) -> cases.Case:
    with engine.begin() as conn:
        return cases.create_case(conn, snap, body, "dispatcher", SETTINGS)[0]


def test_a_repeat_nearby_is_flagged_and_merged_keeping_every_reporter(
    engine: Engine, snap: snapshot.Snapshot, spot: tuple[float, float]
) -> None:
    lon, lat = spot
    first = create(engine, snap, report(lon, lat))
    assert "possible_duplicate" not in first.flags
    # 8 s later, 30 m away, the same thing from someone else: flagged, naming the first
    again = create(engine, snap, report(lon, lat + 30 * METRE, name="王芳", phone="13800002222"))
    assert "possible_duplicate" in again.flags
    with engine.connect() as conn:
        details = conn.execute(
            text("SELECT details FROM case_event WHERE case_id = :id AND kind = 'created'"),
            {"id": again.id},
        ).scalar_one()
    assert first.id in details["possible_duplicate_of"]
    # another category, or farther than the distance: not a duplicate
    other = create(engine, snap, report(lon, lat, category="E0102"))
    far_m = SETTINGS.case_similar_distance_m + 50
    far = create(engine, snap, report(lon, lat - far_m * METRE))
    assert "possible_duplicate" not in other.flags + far.flags
    # a third report, merged into the second, which is merged into the first: every
    # reporter ends up on the first
    third = create(engine, snap, report(lon, lat, name="赵磊", phone="13700003333"))
    with engine.begin() as conn:
        cases.merge_case(conn, third.id, again.id, "dispatcher", "同一处")
        merged = cases.merge_case(conn, again.id, first.id, "dispatcher", "重复上报")
    assert [(p.name, p.phone) for p in merged.other_reporters] == [
        ("王芳", "13800002222"),
        ("赵磊", "13700003333"),
    ]
    assert merged.events[-1]["kind"] == "merged_in" and merged.events[-1]["details"] == {
        "from": again.id
    }
    with engine.connect() as conn:
        gone = cases.get_case(conn, again.id, with_events=True)
    assert gone.status == "void" and gone.merged_into == first.id
    assert gone.events[-1]["kind"] == "merged" and gone.events[-1]["note"] == "重复上报"
    masked = merged.masked().other_reporters
    assert [p.phone for p in masked] == ["138****2222", "137****3333"]
    assert not math.isnan(first.lon)


def test_a_refused_merge_changes_nothing(
    engine: Engine, snap: snapshot.Snapshot, spot: tuple[float, float]
) -> None:
    lon, lat = spot
    a = create(engine, snap, report(lon + 0.01, lat))
    b = create(engine, snap, report(lon + 0.01, lat))
    with engine.begin() as conn:
        void = cases.merge_case(conn, b.id, a.id, "dispatcher")  # b is void now
    assert void.id == a.id
    refusals: list[tuple[int, int, type[Exception]]] = [
        (a.id, a.id, InvalidInputError),
        (a.id, 99_999_999, NotFoundError),
        (a.id, b.id, ConflictError),  # into a void case
        (b.id, a.id, ConflictError),  # a void case again
    ]
    for case_id, into, error in refusals:
        with engine.begin() as conn:
            before = conn.execute(text("SELECT count(*) FROM case_event")).scalar()
            with pytest.raises(error):
                cases.merge_case(conn, case_id, into, "dispatcher")
            assert conn.execute(text("SELECT count(*) FROM case_event")).scalar() == before
    with engine.connect() as conn:
        assert cases.get_case(conn, a.id).status == "reported"
