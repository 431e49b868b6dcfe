"""Citizen cases: reported, routed to exactly one grid, and followed to closure.

A case is stored in the same transaction as its "created" event, routed with the boundary
release current at that moment (the release is stored with it). Every later change — a
transition, a manual or automatic re-route, a flag — is a ``case_event`` row.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from geogrid.access.roles import mask_name, mask_phone
from geogrid.boundaries.grids import Grid, Person, Unit, check_code
from geogrid.boundaries.releases import PUBLISH_LOCK, current_release
from geogrid.calendar import SHANGHAI, load_calendar, stamped_calendar
from geogrid.cases import addresses, photos, stages
from geogrid.cases.categories import Category, get_category
from geogrid.cases.deadlines import due_after, resumed_due
from geogrid.cases.duplicates import similar_cases
from geogrid.cases.intake import read_intake
from geogrid.cases.late_entry import entry_time
from geogrid.cases.lifecycle import FINAL, STATUS_ZH, UNDISPATCHED, check_move, needs_note
from geogrid.cases.notices import announce
from geogrid.cases.report import CaseReport
from geogrid.cases.routing import Routing, route, route_in_release
from geogrid.db import prepared
from geogrid.db.sqlfiles import sql
from geogrid.errors import (
    ConflictError,
    DatabaseUnavailableError,
    InvalidInputError,
    NotFoundError,
)
from geogrid.geo.points import point_to_storage
from geogrid.i18n import tr
from geogrid.lookup.snapshot import Snapshot
from geogrid.responsibility import Department, choose_department, responsible_department
from geogrid.settings import CaseSettings

_SHARED_PUBLISH_LOCK = text("SELECT pg_advisory_xact_lock_shared(:k)")
_INSERT = text(sql("case_insert"))


@dataclass(frozen=True)
class Case:
    """A case as stored, with its clock (due and overdue) and, when asked, its history."""

    id: int
    category: Category
    description: str
    channel: str
    status: str
    held_from: str | None
    reporter: Person
    address: str | None
    photos: tuple[str, ...]
    lon: float
    lat: float
    input: dict[str, Any] | None
    compound_id: int | None
    grid: Grid
    release: int
    routed_by: str
    flags: tuple[str, ...]
    created_at: datetime
    created_by: str
    accepted_at: datetime | None
    dispatched_at: datetime | None
    closed_at: datetime | None
    due_at: datetime | None
    overdue: bool
    held_hours: float
    #: the due time would reach a year with no working calendar: it is not guessed
    calendar_missing: bool = False
    events: tuple[dict[str, Any], ...] = field(default=())
    #: read with the history: the case a duplicate was merged into, and the people who
    #: reported this case again (the reporters of duplicates merged into it)
    merged_into: int | None = None
    other_reporters: tuple[Person, ...] = ()
    #: urgency level (urgent 紧急, normal 一般), the stage the case is in (accept 立案,
    #: dispatch 派遣, handle 处置, verify 核查; none once verified, closed or void), when that
    #: stage runs out and its warning (green, yellow: most of its time is used, red: over)
    urgency: str = "normal"
    stage: str | None = None
    stage_due_at: datetime | None = None
    warning: str | None = None
    #: when it was (last) reported handled; the 处置 hours its grids held it, on its clock
    handled_at: datetime | None = None
    responsible_hours: float = 0.0
    #: approved extensions (延期), 督办 (when), 催办 (how often), reopenings, latest 回访 score
    extended_hours: float = 0.0
    supervised_at: datetime | None = None
    urged: int = 0
    reopened: int = 0
    satisfaction: int | None = None
    #: the department dispatch sends the case to besides its grid (None: the grid's street
    #: office, when the responsibility list names no department; geogrid.responsibility)
    department: Department | None = None
    #: 吹哨报到: the level the case was escalated to ("street" or "district"), if any
    escalation: str | None = None
    #: the mobile grid (流动网格) its reporter was a member of when reporting (a signed-in
    #: member or a member's key; geogrid.organisations), else None; routing is by location
    mobile_grid: str | None = None

    def masked(self) -> Case:
        """The same case with reporter and grid people masked (for viewers)."""
        events = tuple({**e, "actor": mask_name(e["actor"])} for e in self.events)
        return replace(
            self,
            other_reporters=tuple(p.masked() for p in self.other_reporters),
            reporter=Person(mask_name(self.reporter.name), mask_phone(self.reporter.phone)),
            grid=self.grid.masked(),
            events=events,
            created_by=mask_name(self.created_by) or "",
        )


def case_from_row(row: Any) -> Case:
    """A Case from a ``case_view`` row."""
    return Case(
        id=row.id,
        category=Category(
            row.category,
            row.category_type,
            row.category_major,
            row.category_name,
            row.handling_hours,
            clock=row.clock or row.category_clock,
        ),
        description=row.description,
        channel=row.channel,
        status=row.status,
        held_from=row.held_from,
        reporter=Person(row.reporter_name, row.reporter_phone),
        address=row.address,
        photos=tuple(row.photos),
        lon=row.lon,
        lat=row.lat,
        input=None
        if row.input_lon is None
        else {"lon": row.input_lon, "lat": row.input_lat, "crs": row.input_crs},
        compound_id=row.compound_id,
        grid=Grid(
            code=row.grid_code.strip(),
            name=row.grid_name,
            kind=row.grid_kind,
            community=Unit(row.community_code.strip(), row.community_name),
            street=Unit(row.street_code.strip(), row.street_name),
            leader=Person(row.leader_name, row.leader_phone),
            party_branch=row.party_branch_name,
            party_secretary=Person(row.party_secretary_name, row.party_secretary_phone),
            release=row.release_id,
        ),
        release=row.release_id,
        routed_by=row.routed_by,
        flags=tuple(row.flags),
        created_at=row.created_at,
        created_by=row.created_by,
        accepted_at=row.accepted_at,
        dispatched_at=row.dispatched_at,
        closed_at=row.closed_at,
        due_at=row.due_at,
        overdue=bool(row.overdue),
        held_hours=round(row.held_seconds / 3600.0, 3),
        calendar_missing=row.calendar_missing,
        urgency=row.urgency,
        stage=row.stage,
        stage_due_at=row.stage_due_at,
        warning=row.warning,
        handled_at=row.handled_at,
        responsible_hours=round(row.responsible_hours, 3),
        extended_hours=row.extended_hours,
        supervised_at=row.supervised_at,
        urged=row.urged,
        reopened=row.reopened,
        satisfaction=row.satisfaction,
        department=None
        if row.department_code is None
        else Department(
            row.department_code, row.department_name, row.department_kind, row.department_contact
        ),
        escalation=row.escalation_level,
        mobile_grid=row.mobile_grid,
    )


def get_case(conn: Connection, case_id: int, *, with_events: bool = False) -> Case:
    """One case; raises NotFoundError naming the id."""
    row = conn.execute(
        text("SELECT * FROM case_view WHERE id = :id"), {"id": case_id}
    ).one_or_none()
    if row is None:
        raise NotFoundError(tr("case {case_id} does not exist", case_id=case_id))
    case = case_from_row(row)
    if not with_events:
        return case
    events = conn.execute(
        text(
            "SELECT id, at, actor, kind, from_status, to_status, from_grid, to_grid, release_id, "
            "note, details FROM case_event WHERE case_id = :id ORDER BY id"
        ),
        {"id": case_id},
    )
    merged_into = conn.execute(
        text("SELECT merged_into FROM civic_case WHERE id = :id"), {"id": case_id}
    ).scalar()
    others = conn.execute(
        text(
            "SELECT name, phone FROM case_reporter WHERE case_id = :id "
            "ORDER BY reported_at, from_case_id"
        ),
        {"id": case_id},
    )
    return replace(
        case,
        merged_into=merged_into,
        other_reporters=tuple(Person(r.name, r.phone) for r in others),
        events=tuple(
            {
                "id": e.id,
                "at": e.at,
                "actor": e.actor,
                "kind": e.kind,
                "from_status": e.from_status,
                "to_status": e.to_status,
                "from_grid": e.from_grid and e.from_grid.strip(),
                "to_grid": e.to_grid and e.to_grid.strip(),
                "release": e.release_id,
                "note": e.note,
                "details": e.details,
            }
            for e in events
        ),
    )


@dataclass(frozen=True)
class Placement:
    """Where a report goes, as creating and previewing a case both decide it."""

    category: Category
    #: the case's point in storage lon/lat (EPSG:4490)
    lon: float
    lat: float
    #: the compound it falls in (or the address names) as (id, name), if any
    compound: tuple[int, str] | None
    #: the routing with ``snapshot``'s release
    routing: Routing
    #: the grid ``routing`` names, from the same snapshot (unmasked)
    grid: Grid
    #: the department the responsibility list names for the category there (None: the grid)
    department: Department | None
    #: the category's urgency levels, most urgent first
    levels: tuple[stages.Level, ...]
    #: which working calendar is in force (for :func:`geogrid.calendar.stamped_calendar`)
    calendar_stamp: str
    #: the release current in the database as it was read (may be newer than ``routing``'s)
    current_release: int | None


def place_report(
    conn: Connection, snapshot: Snapshot, report: CaseReport, settings: CaseSettings
) -> Placement:
    """Where ``report`` goes with ``snapshot``'s release: category, point, compound, grid,
    department, levels.

    The one function :func:`create_case` and :func:`geogrid.cases.preview.preview_case` share;
    it reads (an address's compound, then everything else in one statement:
    :func:`geogrid.cases.intake.read_intake`) and writes nothing.

    Raises
    ------
    InvalidInputError
        Unknown category, a point outside China or an address naming no compound (422).
    UnroutableError
        The point is farther than ``settings.outside_max_m`` from every grid (422).
    """
    compound: tuple[int, str] | None
    if report.lon is not None and report.lat is not None:
        lon, lat = point_to_storage(report.lon, report.lat, report.crs)
        compound = snapshot.compound_at(lon, lat)
    else:
        assert report.address is not None
        found = addresses.match_compound(conn, report.address)
        lon, lat, compound = found.lon, found.lat, (found.id, found.name)
    routing = route(snapshot, lon, lat, settings)
    grid = snapshot.grid(routing.grid_code)
    assert grid is not None, f"the snapshot routed to grid {routing.grid_code} it does not hold"
    read = read_intake(conn, report.category, grid.code)
    category = read.category
    if category is None:  # a category's name, or refused naming close codes
        category = get_category(conn, report.category)
        read = read_intake(conn, category.code, grid.code)
    return Placement(
        category,
        lon,
        lat,
        compound,
        routing,
        grid,
        choose_department(read.candidates, category.code, grid.code),
        stages.levels_from_rows(category, read.levels),
        read.calendar_stamp,
        read.current_release,
    )


def create_case(
    conn: Connection,
    snapshot: Snapshot,
    report: CaseReport,
    actor: str,
    settings: CaseSettings,
    idempotency_key: str | None = None,
    *,
    account: str | None = None,
) -> tuple[Case, bool]:
    """Store a new case routed to one grid; returns (case, replayed).

    With an ``idempotency_key``, a retry of the same report by the same key answers with the
    case the first attempt created (``replayed`` True), however many retries race.

    ``account`` is the user name of the person reporting — the signed-in user, or the owner of
    the key used (:attr:`geogrid.access.roles.Principal.account`); None for a system's key.
    When that account's person (its display name and phone) is a member of a mobile grid in
    the register as it stood at the report's time, the case carries that mobile grid
    (looked up inside the insert: no extra round trip). Routing is by location all the same.

    Raises
    ------
    InvalidInputError
        Bad report, unknown category, unknown address or unroutable location (422).
    ConflictError
        The idempotency key was used before for a different report (409).
    """
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 200:
        raise InvalidInputError("the Idempotency-Key header must be 1-200 characters")
    # A publish cannot commit between here and our commit. Its own statement, first: a
    # statement sees the database as it was when the statement began, so a release read in
    # the statement that waited for the lock could predate a publish that committed meanwhile.
    conn.execute(_SHARED_PUBLISH_LOCK, {"k": PUBLISH_LOCK})
    placement = place_report(conn, snapshot, report, settings)
    category, routing = placement.category, placement.routing
    lon, lat = placement.lon, placement.lat
    compound_id = None if placement.compound is None else placement.compound[0]
    # If a publish committed after the snapshot was taken, route with the release now current.
    current = placement.current_release
    department = placement.department
    if current != routing.release:
        assert current is not None  # the snapshot routed with a release, so one exists
        routing = route_in_release(conn, lon, lat, current, settings)
        department = responsible_department(conn, category.code, routing.grid_code)
    level = stages.choose_level(placement.levels, report.urgency)
    # the 立案 stage starts as the case comes in (or when it came in, entered late)
    now = entry_time(datetime.now(SHANGHAI), report.reported_at, None, settings)
    accept = stages.start_stage(
        stamped_calendar(conn, placement.calendar_stamp, settings.office_hours),
        level.clock,
        now,
        level.accept_hours,
        settings.warning_share,
    )
    alike = similar_cases(conn, category.code, lon, lat, settings, limit=5).cases
    if alike:  # shown before submitting too (the preview); a dispatcher may merge it
        routing = replace(routing, flags=(*routing.flags, "possible_duplicate"))
    digest = report.fingerprint()
    found = prepared.run(
        conn,
        _INSERT,
        {
            "category": category.code,
            "description": report.description,
            "channel": report.channel,
            "reporter_name": report.reporter_name,
            "reporter_phone": report.reporter_phone,
            "address": report.address,
            "photos": list(report.photos),
            "input_lon": report.lon,
            "input_lat": report.lat,
            "input_crs": report.crs if report.lon is not None else None,
            "x": lon,
            "y": lat,
            "compound_id": compound_id,
            "grid_code": routing.grid_code,
            "department": None if department is None else department.code,
            "release_id": routing.release,
            "flags": list(routing.flags),
            "actor": actor,
            "key": idempotency_key,
            "hash": digest,
            "urgency": level.urgency,
            "stage_started_at": accept.started_at,
            "stage_yellow_at": accept.yellow_at,
            "stage_due_at": accept.due_at,
            "created_at": report.reported_at,
            "account": account,
            "details": json.dumps(
                {
                    **_routing_details(routing),
                    "possible_duplicate_of": [c.id for c in alike],
                    **({"entered_late": True} if report.reported_at is not None else {}),
                }
            ),
        },
    )
    inserted = found[0] if found else None
    if inserted is not None:
        if routing.release != snapshot.release.id:  # routed with a newer release
            case = get_case(conn, inserted.id)
        else:
            case = _new_case(
                inserted,
                report,
                category,
                lon,
                lat,
                compound_id,
                placement.grid,
                routing,
                actor,
                level,
                accept,
            )
            case = replace(case, department=department, mobile_grid=inserted.mobile_grid)
        announce(conn, "case.reported", case, actor=actor)
        return case, False
    existing = conn.execute(
        text(
            "SELECT id, request_hash FROM civic_case WHERE created_by = :a AND idempotency_key = :k"
        ),
        {"a": actor, "k": idempotency_key},
    ).one()
    if existing.request_hash != digest:
        raise ConflictError(
            tr(
                'Idempotency-Key "{idempotency_key}" was used for case {id} with a '
                "different report; use a new key for a new report",
                idempotency_key=idempotency_key,
                id=existing.id,
            ),
        )
    return get_case(conn, existing.id), True


def submit_case(
    engine: Engine,
    snapshot: Snapshot,
    report: CaseReport,
    actor: str,
    settings: CaseSettings,
    idempotency_key: str | None = None,
    settle_s: float = 10.0,
    *,
    account: str | None = None,
) -> tuple[Case, bool]:
    """:func:`create_case` in its own transaction, answering only for a settled outcome.

    If the connection breaks while committing, the commit may or may not have happened. Then
    the backend that ran the transaction is waited out (terminated if it lingers) on a new
    connection and the case looked up: found → the case is answered as created; not found →
    the error is raised (the API answers 503 and nothing was stored). Only when the database
    stays away longer than ``settle_s`` is the outcome unknown; the error then says to retry
    with the same Idempotency-Key.
    """
    with engine.connect() as conn:
        transaction = conn.begin()  # rolled back on close unless committed
        pid = _backend_pid(conn)
        case, replayed = create_case(
            conn, snapshot, report, actor, settings, idempotency_key, account=account
        )
        try:
            transaction.commit()
        except DBAPIError:
            if _committed(engine, pid, case.id, settle_s):
                return case, replayed
            raise
    return case, replayed


def _backend_pid(conn: Connection) -> int:
    """The server process behind ``conn`` (from libpq when it says, else by asking)."""
    dbapi = conn.connection.dbapi_connection
    ask = getattr(dbapi, "get_backend_pid", None)  # psycopg2
    if ask is not None:
        return int(ask())
    return int(conn.execute(text("SELECT pg_backend_pid()")).scalar() or 0)


def _committed(engine: Engine, backend_pid: int, case_id: int, settle_s: float) -> bool:
    """Whether case ``case_id`` was committed by backend ``backend_pid`` whose commit failed."""
    deadline = time.monotonic() + settle_s
    while True:
        try:
            with engine.connect() as conn:
                # Once the old backend is gone its transaction's outcome is final.
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(:pid, 5000) FROM "
                        "pg_stat_activity WHERE pid = :pid"
                    ),
                    {"pid": backend_pid},
                )
                found = conn.execute(
                    text("SELECT 1 FROM civic_case WHERE id = :id"), {"id": case_id}
                ).first()
                return found is not None
        except DBAPIError:
            if time.monotonic() > deadline:
                raise DatabaseUnavailableError(
                    "the database went away while the case was being stored; whether it was "
                    "stored is not known yet: retry with the same Idempotency-Key"
                ) from None
            time.sleep(0.2)


def _new_case(
    inserted: Any,
    report: CaseReport,
    category: Category,
    lon: float,
    lat: float,
    compound_id: int | None,
    grid: Grid,
    routing: Routing,
    actor: str,
    level: stages.Level,
    accept: stages.StageClock,
) -> Case:
    """The case just inserted, as :func:`get_case` would read it, without reading it."""
    return Case(
        id=inserted.id,
        category=category,
        description=report.description,
        channel=report.channel,
        status="reported",
        held_from=None,
        reporter=Person(report.reporter_name, report.reporter_phone),
        address=report.address,
        photos=report.photos,
        lon=lon,
        lat=lat,
        input=None
        if report.lon is None
        else {"lon": report.lon, "lat": report.lat, "crs": report.crs},
        compound_id=compound_id,
        grid=replace(grid, geometry=None),
        release=routing.release,
        routed_by="auto",
        flags=routing.flags,
        created_at=inserted.created_at,
        created_by=actor,
        accepted_at=None,
        dispatched_at=None,
        closed_at=None,
        due_at=None,
        overdue=False,
        held_hours=0.0,
        urgency=level.urgency,
        stage="accept",
        stage_due_at=accept.due_at,
        warning="green",
    )


def _routing_details(routing: Routing) -> dict[str, Any]:
    return {
        "on_boundary": routing.on_boundary,
        "candidates": list(routing.candidates),
        "boundary_distance_m": routing.boundary_distance_m,
        "outside_distance_m": routing.outside_distance_m,
    }


def lock_case(conn: Connection, case_id: int) -> Any:
    """The case locked for a change, with what its stage clock needs (404 if none)."""
    return _locked(conn, case_id)


def _locked(conn: Connection, case_id: int) -> Any:
    row = conn.execute(
        text(
            "SELECT c.id, c.status, c.held_from, c.grid_code, c.accepted_at, c.hold_started_at, "
            "c.category, c.department_code, "
            "c.clock, c.clock_due_at, c.due_hours, c.urgency, c.stage_due_at, c.stage_yellow_at, "
            "c.handled_at, c.responsible_hours, c.extended_hours, k.code AS category_code, "
            "k.type AS category_type, k.major_name, k.name AS category_name, k.handling_hours, "
            "k.active, k.clock AS category_clock, now() AS now "
            "FROM civic_case c JOIN case_category k ON k.code = c.category "
            "WHERE c.id = :id FOR UPDATE OF c"
        ),
        {"id": case_id},
    ).one_or_none()
    if row is None:
        raise NotFoundError(tr("case {case_id} does not exist", case_id=case_id))
    return SimpleNamespace(**row._asdict())  # the move updates its copy as it goes


def keep_stages(
    conn: Connection, before: Any, to: str, settings: CaseSettings | None = None
) -> None:
    """Keep the case's stage clock and duty spans in step with a move made by a statement of
    its own (退单: geogrid/cases/duties.return_case); ``before`` is :func:`lock_case`'s row."""
    settings = settings or CaseSettings()
    calendar = load_calendar(conn, settings.office_hours)
    level = _level(conn, before)
    stages.after_move(conn, before, to, before.now, calendar, level, settings.warning_share)


def _level(conn: Connection, row: Any, urgency: str | None = None) -> stages.Level:
    """The urgency level a locked case (:func:`_locked`) is at, or would be at ``urgency``."""
    category = Category(
        row.category_code,
        row.category_type,
        row.major_name,
        row.category_name,
        row.handling_hours,
        row.active,
        row.category_clock,
    )
    return stages.choose_level(stages.category_levels(conn, category), urgency or row.urgency)


def transition(
    conn: Connection,
    case_id: int,
    to: str,
    actor: str,
    note: str = "",
    settings: CaseSettings | None = None,
    urgency: str | None = None,
    at: datetime | None = None,
) -> Case:
    """Move a case to status ``to``, recording who, when and why.

    ``at`` dates a step entered late (补录; :mod:`geogrid.cases.late_entry`): its deadlines
    count from then.

    Acceptance (立案) may set the case's ``urgency`` level and fixes its handling hours and clock
    (the category's at that level, the office hours of ``settings``); every move keeps the
    case's stage, its limits and its duty spans in step (:mod:`geogrid.cases.stages`); leaving
    hold moves the due times on by the time on hold (:mod:`geogrid.cases.deadlines`).

    Raises
    ------
    ConflictError
        The move is not legal from the case's current status (409); the case's category
        needs an after-photo before it is reported handled and it has none
        (:class:`~geogrid.cases.photos.AfterPhotoRequiredError`, 409).
    """
    row = _locked(conn, case_id)
    check_move(row.status, to, row.held_from)
    if urgency is not None and to != "accepted":
        raise InvalidInputError(
            tr("urgency is set when a case is accepted (立案), not when it moves to {to}", to=to)
        )
    settings = settings or CaseSettings()
    level = _level(conn, row, urgency)
    earliest = None
    if at is not None:
        earliest = conn.execute(
            text("SELECT max(at) FROM case_event WHERE case_id = :id"), {"id": case_id}
        ).scalar()
    when = entry_time(row.now, at, earliest, settings)
    late = {"entered_late": True, "recorded_at": row.now.isoformat()} if at is not None else {}
    row.now = when
    if to == "handled":
        photos.check_after_photo(conn, case_id)
    if needs_note(row.status, to) and not note.strip():
        raise InvalidInputError(
            tr(
                "moving a {status} case to {to} needs a note saying why",
                status=row.status,
                to=to,
                status_zh=STATUS_ZH[row.status],
                to_zh=STATUS_ZH[to],
            ),
        )
    clock: dict[str, Any] = {
        "hours": None,
        "clock": None,
        "set_due": False,
        "due": None,
        "missing": False,
    }
    calendar = load_calendar(conn, settings.office_hours)
    if to == "accepted" and row.accepted_at is None:
        # the 处置 hours at the case's level, projected from now until dispatch restarts them
        due = due_after(calendar, level.clock, row.now, level.handling_hours)
        clock = {
            "hours": level.handling_hours,
            "clock": level.clock,
            "set_due": True,
            "due": due.at,
            "missing": due.calendar_missing,
        }
        row.clock, row.due_hours = level.clock, level.handling_hours
    elif row.status == "on_hold" and row.clock_due_at is not None:
        due = resumed_due(calendar, row.clock, row.clock_due_at, row.hold_started_at, row.now)
        clock.update(set_due=True, due=due.at, missing=due.calendar_missing)
    conn.execute(
        text(sql("case_transition")),
        {
            "id": case_id,
            "to": to,
            "from": row.status,
            "actor": actor,
            "note": note,
            "urgency": level.urgency,
            "at": when,
            "details": json.dumps(late),
            **clock,
        },
    )
    if clock["set_due"]:
        row.clock_due_at = clock["due"]
    before = row.status
    stages.after_move(conn, row, to, row.now, calendar, level, settings.warning_share)
    case = get_case(conn, case_id)
    if to == "dispatched" and before == "accepted":  # not a return from hold
        announce(conn, "case.assigned", case, actor=actor, note=note)
    return case


def reopen(
    conn: Connection,
    case_id: int,
    actor: str,
    note: str,
    settings: CaseSettings | None = None,
) -> Case:
    """Reopen a closed case (重新办理): it goes back to its grid, dispatched, with a fresh 处置
    clock of its handling hours, and counts one more reopening.

    Raises
    ------
    InvalidInputError
        No note saying why (422).
    ConflictError
        The case is not closed (409): an open case needs no reopening, a void one is gone.
    """
    if not note.strip():
        raise InvalidInputError(tr("reopening a case needs a note saying why"))
    row = _locked(conn, case_id)
    if row.status != "closed":
        raise ConflictError(
            tr(
                "case {case_id} is {status}: only a closed case can be reopened",
                case_id=case_id,
                status=row.status,
                status_zh=STATUS_ZH[row.status],
            )
        )
    settings = settings or CaseSettings()
    conn.execute(
        text(
            "UPDATE civic_case SET status = 'dispatched', closed_at = NULL, updated_at = now(), "
            "reopened = reopened + 1 WHERE id = :id"
        ),
        {"id": case_id},
    )
    conn.execute(
        text(
            "INSERT INTO case_event (case_id, actor, kind, from_status, to_status, note) "
            "VALUES (:id, :actor, 'reopened', 'closed', 'dispatched', :note)"
        ),
        {"id": case_id, "actor": actor, "note": note.strip()},
    )
    calendar = load_calendar(conn, settings.office_hours)
    stages.after_move(
        conn, row, "dispatched", row.now, calendar, _level(conn, row), settings.warning_share
    )
    case = get_case(conn, case_id)
    announce(conn, "case.assigned", case, actor=actor, note=note)  # back with its grid
    return case


def reroute(
    conn: Connection,
    case_id: int,
    grid_code: str,
    actor: str,
    reason: str,
    settings: CaseSettings | None = None,
) -> Case:
    """A dispatcher sends a case to another grid of the current release, with a reason.

    A manual route is final: later releases flag the case but never move it. A case in 处置
    changes hands: the old grid's duty span ends and the new grid's starts.
    """
    check_code(grid_code)
    if not reason.strip():
        raise InvalidInputError(tr("re-routing a case needs a reason"))
    row = _locked(conn, case_id)
    if row.status in FINAL:
        raise ConflictError(
            tr(
                "case {case_id} is {status} and cannot be re-routed",
                case_id=case_id,
                status=row.status,
            ),
        )
    found = conn.execute(
        text("SELECT 1 FROM grid_geometry WHERE valid_to_release IS NULL AND grid_code = :g"),
        {"g": grid_code},
    ).first()
    if found is None:
        raise InvalidInputError(
            tr("grid {grid_code} is not in the current boundary release", grid_code=grid_code),
        )
    current = current_release(conn)
    release = None if current is None else current.id
    # Before dispatch the department follows the new grid; after, it stays (re-dispatching to
    # another department is an assignment, geogrid.cases.duties.assign_department).
    department = row.department_code
    if row.status in UNDISPATCHED:
        found_department = responsible_department(conn, row.category, grid_code)
        department = None if found_department is None else found_department.code
    conn.execute(
        text(
            "UPDATE civic_case SET grid_code = :g, release_id = :r, routed_by = 'manual', "
            "department_code = :d, updated_at = now() WHERE id = :id"
        ),
        {"g": grid_code, "r": release, "d": department, "id": case_id},
    )
    conn.execute(
        text(
            "INSERT INTO case_event (case_id, actor, kind, from_grid, to_grid, release_id, note, "
            "details) VALUES (:id, :actor, 'reroute', :old, :new, :r, :note, "
            "jsonb_build_object('manual', true, 'from_department', CAST(:old_d AS text), "
            "'to_department', CAST(:new_d AS text)))"
        ),
        {
            "id": case_id,
            "actor": actor,
            "old": row.grid_code,
            "new": grid_code,
            "r": release,
            "note": reason,
            "old_d": row.department_code,
            "new_d": department,
        },
    )
    if row.status in ("dispatched", "in_progress"):
        calendar = load_calendar(conn, (settings or CaseSettings()).office_hours)
        stages.reassign_duty(
            conn, case_id, grid_code, row.now, calendar, row.clock or row.category_clock
        )
    case = get_case(conn, case_id)
    if (row.held_from if row.status == "on_hold" else row.status) not in UNDISPATCHED:
        # dispatched (or later): the new grid answers for it now
        announce(
            conn, "case.assigned", case, actor=actor, note=reason, from_grid=row.grid_code.strip()
        )
    return case
