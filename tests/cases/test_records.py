"""Case dispatch against real PostGIS: routing, lifecycle, clock, re-routing after a publish."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import shapely
from shapely.geometry import Point
from sqlalchemy import Engine, create_engine, text

from geogrid import cases, plans
from geogrid.calendar import calendar_years, load_calendar, replace_years, shipped_calendar
from geogrid.cases.deadlines import recompute_missing
from geogrid.cases.lifecycle import MOVES, STATUSES, legal_moves
from geogrid.cases.report import CaseReport
from geogrid.cases.routing import UnroutableError, route, route_in_release
from geogrid.errors import ConflictError, InvalidInputError
from geogrid.geo.datum import from_metric, point_from_storage, to_metric
from geogrid.geo.points import point_to_storage
from geogrid.lookup import snapshot
from geogrid.plans.preview import preview
from geogrid.settings import CaseSettings
from tests.helpers import working_due

SETTINGS = CaseSettings()


@pytest.fixture(scope="module")
def engine(server: Any, demo_template: str) -> Iterator[Engine]:
    engine = create_engine(server.database("cases", template=demo_template))
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def snap(engine: Engine) -> snapshot.Snapshot:
    with engine.connect() as conn:
        release = conn.execute(text("SELECT max(id) FROM boundary_release")).scalar()
        return snapshot.build(conn, release)


def shared_edge(snap: snapshot.Snapshot, skip: int = 0) -> tuple[int, int, Any]:
    """Two grids of one community and their shared edge (metric), at least 200 m long."""
    found = 0
    for a in range(len(snap.grids)):
        for b in snap.neighbours[a]:
            if b <= a:
                continue
            edge = shapely.intersection(
                snap.metric_grids_array[a].boundary, snap.metric_grids_array[b].boundary
            )
            if edge.length > 200:
                if found == skip:
                    return a, int(b), shapely.line_merge(edge)
                found += 1
    raise AssertionError("no long shared edge")


def storage(point: Any) -> tuple[float, float]:
    p = from_metric(point)
    return p.x, p.y


def offset_into(
    snap: snapshot.Snapshot, grid: int, edge: Any, metres: float
) -> tuple[float, float]:
    """A point ``metres`` from the middle of ``edge`` towards the inside of ``grid``."""
    middle = edge.interpolate(0.5, normalized=True)
    for sign in (1, -1):
        side = (
            edge.parallel_offset(metres, "left" if sign > 0 else "right")
            if edge.geom_type == "LineString"
            else None
        )
        if side is None or side.is_empty:
            continue
        candidate = side.interpolate(side.project(middle))
        if snap.metric_grids_array[grid].contains(candidate):
            return storage(candidate)
    raise AssertionError("could not step into the grid")


def report(lon: float, lat: float, crs: str = "cgcs2000", **extra: Any) -> CaseReport:
    return CaseReport.from_mapping(
        {
            "category": "E0102",
            "description": "垃圾堆放",
            "lon": lon,
            "lat": lat,
            "crs": crs,
            "reporter": {"name": "王小明", "phone": "13812345678"},
            "channel": "hotline",
            **extra,
        }
    )


# --- routing ---------------------------------------------------------------------------------


def test_inside_a_grid_far_from_edges(snap: snapshot.Snapshot) -> None:
    grid = next(
        i
        for i, g in enumerate(snap.metric_grids_array)
        if g.area > 200_000
        and shapely.distance(g.centroid, g.boundary) > 50
        and g.contains(g.centroid)
    )
    lon, lat = storage(snap.metric_grids_array[grid].centroid)
    routing = route(snap, lon, lat, SETTINGS)
    assert routing.grid_code == snap.grids[grid].code
    assert routing.flags == ()
    assert routing.boundary_distance_m is not None and routing.boundary_distance_m > 10


def test_on_a_shared_vertex_goes_to_the_smallest_code_flagged(snap: snapshot.Snapshot) -> None:
    a, b, _ = shared_edge(snap)
    shared = {tuple(c) for c in shapely.get_coordinates(snap.index.geoms[a]).tolist()} & {
        tuple(c) for c in shapely.get_coordinates(snap.index.geoms[b]).tolist()
    }
    lon, lat = sorted(shared)[0]  # a vertex both grids store, exactly
    routing = route(snap, lon, lat, SETTINGS)
    assert routing.on_boundary and len(routing.candidates) >= 2
    assert routing.grid_code == min(routing.candidates)
    assert "near_boundary" in routing.flags and routing.boundary_distance_m == 0.0


@pytest.mark.parametrize("metres, flagged", [(3.0, True), (19.0, True), (25.0, False)])
def test_near_an_edge_is_flagged(snap: snapshot.Snapshot, metres: float, flagged: bool) -> None:
    a, _, edge = shared_edge(snap, skip=3)
    lon, lat = offset_into(snap, a, edge, metres)
    routing = route(snap, lon, lat, SETTINGS)
    assert routing.grid_code == snap.grids[a].code
    assert ("near_boundary" in routing.flags) is flagged
    assert routing.boundary_distance_m == pytest.approx(metres, abs=0.5)


def test_outside_within_reach_goes_to_the_nearest_grid(snap: snapshot.Snapshot) -> None:
    district = shapely.union_all(snap.metric_grids_array)
    west = shapely.get_coordinates(district)[:, 0].argmin()
    x, y = shapely.get_coordinates(district)[west]
    lon, lat = storage(Point(x - 80, y))  # within a phone's GPS error (100 m by default)
    routing = route(snap, lon, lat, SETTINGS)
    assert routing.flags == ("outside_district",)
    assert 79 <= (routing.outside_distance_m or 0) <= 81
    nearest = snap.metric_tree.query_nearest(Point(x - 80, y))[0]
    assert routing.grid_code == snap.grids[int(nearest)].code
    with pytest.raises(UnroutableError, match="1900 m outside the district") as refused:
        route(snap, *storage(Point(x - 1900, y)), SETTINGS)  # the neighbour-district point
    assert refused.value.code == "outside_district"
    assert refused.value.details["distance_m"] == pytest.approx(1900, abs=1)


def test_gcj02_phone_coordinates_route_like_the_true_point(snap: snapshot.Snapshot) -> None:
    a, _, edge = shared_edge(snap, skip=5)
    lon, lat = offset_into(snap, a, edge, 40.0)
    glon, glat = point_from_storage(lon, lat, "gcj02")
    assert shapely.distance(to_metric(Point(glon, glat)), to_metric(Point(lon, lat))) > 300
    back = point_to_storage(glon, glat, "gcj02")
    assert route(snap, *back, SETTINGS).grid_code == snap.grids[a].code


def test_snapshot_and_postgis_routing_agree(engine: Engine, snap: snapshot.Snapshot) -> None:
    rng = random.Random(7)
    x0, y0, x1, y1 = shapely.total_bounds(snap.index.geoms)
    points = [
        (rng.uniform(x0 - 0.01, x1 + 0.01), rng.uniform(y0 - 0.01, y1 + 0.01)) for _ in range(150)
    ]
    a, _, edge = shared_edge(snap, skip=2)
    points += [offset_into(snap, a, edge, d) for d in (0.5, 5.0, 9.5, 10.5)]
    points += [tuple(c) for c in shapely.get_coordinates(snap.index.geoms[a])[:20]]
    with engine.connect() as conn:
        for lon, lat in points:
            try:
                fast = route(snap, lon, lat, SETTINGS)
            except UnroutableError:
                with pytest.raises(UnroutableError):
                    route_in_release(conn, lon, lat, snap.release.id, SETTINGS)
                continue
            slow = route_in_release(conn, lon, lat, snap.release.id, SETTINGS)
            assert (slow.grid_code, slow.flags) == (fast.grid_code, fast.flags), (lon, lat)


# --- creating and reading -----------------------------------------------------------------


def test_create_stores_the_case_routed_with_its_release(
    engine: Engine, snap: snapshot.Snapshot
) -> None:
    a, _, edge = shared_edge(snap, skip=4)
    lon, lat = offset_into(snap, a, edge, 60.0)
    case, replayed = cases.submit_case(engine, snap, report(lon, lat), "desk-1", SETTINGS)
    assert not replayed
    assert case.status == "reported" and case.grid.code == snap.grids[a].code
    assert case.release == snap.release.id and case.category.name == "暴露垃圾"
    assert case.grid.community.code == snap.grids[a].community.code
    with engine.connect() as conn:
        stored = cases.get_case(conn, case.id, with_events=True)
    assert stored.reporter.phone == "13812345678"
    assert [e["kind"] for e in stored.events] == ["created"]
    assert replace(stored, events=()) == case  # the answer is what was stored
    masked = stored.masked()
    assert masked.reporter.name == "王**" and masked.reporter.phone == "138****5678"


def test_address_is_matched_to_a_compound(engine: Engine, snap: snapshot.Snapshot) -> None:
    body = {"category": "C0105", "description": "路灯不亮", "address": "长江东路海棠小区3栋"}
    case, _ = cases.submit_case(engine, snap, CaseReport.from_mapping(body), "d", SETTINGS)
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT id, ST_X(point) x, ST_Y(point) y FROM compound WHERE name = '海棠小区'")
        ).one()
    assert case.compound_id == row.id
    assert (case.lon, case.lat) == pytest.approx((row.x, row.y))
    with pytest.raises(InvalidInputError, match="close names") as raised:
        cases.submit_case(
            engine, snap, CaseReport.from_mapping({**body, "address": "海棠小去"}), "d", SETTINGS
        )
    assert "海棠小区" in str(raised.value)


@pytest.mark.parametrize(
    "body, message",
    [
        ({"description": "x", "lon": 117.3, "lat": 31.9}, "category is required"),
        ({"category": "E9999", "description": "x", "lon": 117.3, "lat": 31.9}, "catalogue code"),
        ({"category": "E0102", "lon": 117.3, "lat": 31.9}, "description is required"),
        ({"category": "E0102", "description": "x"}, "needs a location"),
        ({"category": "E0102", "description": "x", "lon": 117.3}, "both lon and lat"),
        (
            {"category": "E0102", "description": "x", "lon": 31.9, "lat": 117.3},
            "did you swap lon and lat",
        ),
        (
            {"category": "E0102", "description": "x", "lon": 117.3, "lat": 31.9, "crs": "utm"},
            "must be one of",
        ),
        (
            {"category": "E0102", "description": "x", "lon": 117.3, "lat": 31.9, "channel": "fax"},
            "channel was",
        ),
        (
            {
                "category": "E0102",
                "description": "x",
                "lon": 117.3,
                "lat": 31.9,
                "reporter": {"phone": "call me"},
            },
            "reporter.phone",
        ),
    ],
)
def test_bad_reports_are_refused_by_name(
    engine: Engine, snap: snapshot.Snapshot, body: dict[str, Any], message: str
) -> None:
    before = _count(engine)
    with pytest.raises(InvalidInputError, match=message):
        cases.submit_case(engine, snap, CaseReport.from_mapping(body), "d", SETTINGS)
    assert _count(engine) == before


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM civic_case")).scalar() or 0)


# --- lifecycle and clock --------------------------------------------------------------------

HAPPY = ["accepted", "dispatched", "in_progress", "handled", "verified", "closed"]


def _new(engine: Engine, snap: snapshot.Snapshot) -> int:
    grid = snap.metric_grids_array[10]
    lon, lat = storage(grid.representative_point())
    return cases.submit_case(engine, snap, report(lon, lat), "d", SETTINGS)[0].id


def _move(engine: Engine, case_id: int, to: str, note: str = "ok") -> cases.Case:
    with engine.begin() as conn:
        return cases.transition(conn, case_id, to, "desk-2", note)


def test_every_legal_transition(engine: Engine, snap: snapshot.Snapshot) -> None:
    walked = 0
    for status, targets in MOVES.items():
        for to in targets:
            case_id = _new(engine, snap)
            for step in _path_to(status):
                _move(engine, case_id, step)
            moved = _move(engine, case_id, to)
            assert moved.status == to
            walked += 1
    for held_from in ("accepted", "dispatched", "in_progress"):
        case_id = _new(engine, snap)
        for step in [*_path_to(held_from), "on_hold"]:
            _move(engine, case_id, step)
        assert legal_moves("on_hold", held_from) == {held_from, "void"}
        assert _move(engine, case_id, held_from).status == held_from
        walked += 1
    assert walked == sum(len(t) for t in MOVES.values()) + 3


def _path_to(status: str) -> list[str]:
    return (
        []
        if status == "reported"
        else (["void"] if status == "void" else HAPPY[: HAPPY.index(status) + 1])
    )


def test_illegal_transitions_are_409_and_change_nothing(
    engine: Engine, snap: snapshot.Snapshot
) -> None:
    case_id = _new(engine, snap)
    for to in ("dispatched", "closed", "handled", "on_hold", "reported"):
        with pytest.raises(ConflictError):
            _move(engine, case_id, to)
    with pytest.raises(InvalidInputError, match="must be one of"):
        _move(engine, case_id, "finished")
    with pytest.raises(InvalidInputError, match="note"):
        _move(engine, case_id, "void", note="")
    for step in HAPPY:
        _move(engine, case_id, step)
    for to in STATUSES:
        with pytest.raises(ConflictError):
            _move(engine, case_id, to)
    with engine.connect() as conn:
        events = cases.get_case(conn, case_id, with_events=True).events
    assert [e["to_status"] for e in events] == ["reported", *HAPPY]
    assert all(e["actor"] == "desk-2" for e in events[1:])


def _new_in(engine: Engine, snap: snapshot.Snapshot, category: str) -> int:
    grid = snap.metric_grids_array[10]
    lon, lat = storage(grid.representative_point())
    made = report(lon, lat, category=category)
    return cases.submit_case(engine, snap, made, "d", SETTINGS)[0].id


def test_a_round_the_clock_category_counts_calendar_hours_without_time_on_hold(
    engine: Engine, snap: snapshot.Snapshot
) -> None:
    # E0404 下水道堵塞或破损 (突发事件): 4 handling hours on the calendar clock, from dispatch
    case_id = _new_in(engine, snap, "E0404")
    accepted = _move(engine, case_id, "accepted")
    assert accepted.category.clock == "calendar"
    assert accepted.due_at == accepted.accepted_at + timedelta(hours=4)
    dispatched = _move(engine, case_id, "dispatched")
    assert dispatched.due_at == dispatched.dispatched_at + timedelta(hours=4)  # type: ignore[operator]
    assert dispatched.stage == "handle" and dispatched.stage_due_at == dispatched.due_at
    _move(engine, case_id, "on_hold")
    with engine.begin() as conn:  # dispatched 5 h ago (due 1 h ago), on hold for the last 3 h
        conn.execute(
            text(
                "UPDATE civic_case SET dispatched_at = now() - interval '5 hours', "
                "clock_due_at = now() - interval '1 hour', "
                "stage_due_at = now() - interval '1 hour', "
                "stage_yellow_at = now() - interval '1.8 hours',  "
                "hold_started_at = now() - interval '3 hours' WHERE id = :id"
            ),
            {"id": case_id},
        )
        held = cases.get_case(conn, case_id)
        assert not held.overdue  # 2 h on the clock when it was put on hold
        assert held.warning == "green"
    _move(engine, case_id, "dispatched")
    with engine.connect() as conn:
        case = cases.get_case(conn, case_id)
    assert case.held_hours == pytest.approx(3.0, abs=0.01) and not case.overdue
    assert case.due_at is not None and held.due_at is not None
    # leaving hold moves the due time on by the 3 h on hold: now + 2 h
    assert abs(case.due_at - held.due_at) < timedelta(seconds=5)
    assert case.stage_due_at == case.due_at
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE civic_case SET clock_due_at = clock_due_at - interval '2.5 hours', "
                "stage_due_at = stage_due_at - interval '2.5 hours' WHERE id = :id"
            ),
            {"id": case_id},
        )
        late = cases.get_case(conn, case_id)
        assert late.overdue and late.warning == "red"  # 4.5 h on the clock


def test_a_working_hours_category_is_due_after_its_working_hours(
    engine: Engine, snap: snapshot.Snapshot
) -> None:
    # E0102 暴露垃圾: 4 handling hours counted in office hours of working days
    case_id = _new(engine, snap)
    case = _move(engine, case_id, "accepted")
    assert case.category.clock == "working" and case.accepted_at is not None
    expected = working_due(case.accepted_at, 4)
    assert case.due_at == expected
    assert case.calendar_missing is (expected is None)


def test_a_due_time_in_a_year_without_a_calendar_is_flagged_not_guessed(
    engine: Engine, snap: snapshot.Snapshot
) -> None:
    case_id = _new(engine, snap)
    with engine.begin() as conn:  # the calendar lacks this year's notice
        years = [y.year for y in calendar_years(conn)]
        conn.execute(text("DELETE FROM work_calendar_year WHERE year >= extract(year FROM now())"))
        case = cases.transition(conn, case_id, "accepted", "desk-2")
        assert case.due_at is None and case.calendar_missing and not case.overdue
        # the notice is loaded: the due time is set as acceptance would have set it
        replace_years(conn, shipped_calendar())
        assert recompute_missing(conn, load_calendar(conn, SETTINGS.office_hours)) == 1
        fixed = cases.get_case(conn, case_id)
        assert max(years) >= fixed.accepted_at.year  # type: ignore[union-attr]
    assert not fixed.calendar_missing
    assert fixed.due_at == working_due(fixed.accepted_at, 4)  # type: ignore[arg-type]


# --- re-routing ----------------------------------------------------------------------------


def test_publish_reroutes_undispatched_cases_and_flags_the_others(
    engine: Engine, snap: snapshot.Snapshot
) -> None:
    a, b, edge = shared_edge(snap, skip=6)
    code_a, code_b = snap.grids[a].code, snap.grids[b].code
    strip = shapely.intersection(snap.metric_grids_array[a], edge.buffer(30))
    inside = [offset_into(snap, a, edge, d) for d in (12.0, 15.0, 18.0, 21.0)]
    made = [cases.submit_case(engine, snap, report(*p), "d", SETTINGS)[0].id for p in inside]
    reported, accepted, dispatched, manual = made
    _move(engine, accepted, "accepted")
    for step in ("accepted", "dispatched"):
        _move(engine, dispatched, step)
    with engine.begin() as conn:
        cases.reroute(conn, manual, code_a, "desk-3", "核实在本网格")
        plan = plans.create_plan(conn, "移交", "planner")
        plans.add_edit(
            conn,
            plan.id,
            {
                "op": "transfer",
                "from": code_a,
                "to": code_b,
                "crs": "cgcs2000",
                "area": shapely.geometry.mapping(from_metric(strip)),
            },
            "planner",
        )
    with engine.connect() as conn:
        foreseen = {c["id"]: c for c in preview(conn, plan.id)["open_cases_rerouted"]}
    assert {i: (c["action"], c["to"]) for i, c in foreseen.items()} == {
        reported: ("reroute", code_b),
        accepted: ("reroute", code_b),
        dispatched: ("flag", code_b),
        manual: ("flag", code_b),
    }
    with engine.begin() as conn:
        release = plans.publish_plan(conn, plan.id, "planner")
    with engine.connect() as conn:
        after = {i: cases.get_case(conn, i, with_events=True) for i in made}
    for moved in (reported, accepted):
        assert after[moved].grid.code == code_b and after[moved].routed_by == "release"
        assert after[moved].release == release.id
        assert after[moved].events[-1]["kind"] == "reroute"
        assert after[moved].events[-1]["actor"] == "system"
    assert after[dispatched].grid.code == code_a
    assert "boundary_changed" in after[dispatched].flags
    assert after[manual].grid.code == code_a and after[manual].routed_by == "manual"
    assert "boundary_changed" in after[manual].flags
    # a process whose snapshot is still the old release routes with the new one
    late, _ = cases.submit_case(engine, snap, report(*inside[0]), "d", SETTINGS)
    assert snap.release.id < release.id
    assert (late.grid.code, late.release) == (code_b, release.id)


def test_manual_reroute_needs_a_reason_and_a_current_grid(
    engine: Engine, snap: snapshot.Snapshot
) -> None:
    case_id = _new(engine, snap)
    with engine.begin() as conn, pytest.raises(InvalidInputError, match="reason"):
        cases.reroute(conn, case_id, snap.grids[0].code, "d", "")
    with engine.begin() as conn, pytest.raises(InvalidInputError, match="not in the current"):
        cases.reroute(conn, case_id, "340102999999999", "d", "why")
    with engine.begin() as conn:
        case = cases.reroute(conn, case_id, snap.grids[0].code, "d", "现场核实")
    assert case.grid.code == snap.grids[0].code and case.routed_by == "manual"
