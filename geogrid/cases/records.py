"""Citizen cases: reported, routed to exactly one grid, and followed to closure.

A case is stored in the same transaction as its "created" event, routed with the boundary
release current at that moment (the release is stored with it). Every later change — a
transition, a manual or automatic re-route, a flag — is a ``case_event`` row.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from geogrid.access.roles import mask_name, mask_phone
from geogrid.boundaries.grids import Person, Unit, check_code
from geogrid.boundaries.releases import PUBLISH_LOCK, current_release
from geogrid.cases import addresses
from geogrid.cases.categories import Category, get_category
from geogrid.cases.lifecycle import FINAL, check_move
from geogrid.cases.routing import Routing, route, route_in_release
from geogrid.db.sqlfiles import sql
from geogrid.errors import (
    ConflictError,
    DatabaseUnavailableError,
    InvalidInputError,
    NotFoundError,
)
from geogrid.geo.points import point_to_storage
from geogrid.lookup.snapshot import GridInfo, Snapshot
from geogrid.settings import CaseSettings

#: Where cases come from (the 12345 hotline, residents' phones, riders' 随手拍, patrols, ...).
CHANNELS = {
    "hotline": "12345热线",
    "app": "居民手机",
    "rider": "骑手随手拍",
    "patrol": "网格员巡查",
    "open311": "Open311",
    "web": "网站",
    "other": "其他",
}
_PHONE = re.compile(r"^[0-9+() -]{5,20}$")
_URL = re.compile(r"^https?://[^\s]+$")


@dataclass(frozen=True)
class CaseReport:
    """What a reporter says: what, where (a point or an address), who, how."""

    category: str
    description: str
    channel: str = "other"
    lon: float | None = None
    lat: float | None = None
    crs: str = "wgs84"
    address: str | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    photos: tuple[str, ...] = ()

    @classmethod
    def from_mapping(cls, body: dict[str, Any]) -> CaseReport:
        """Check a request body; errors name the field and what is allowed."""

        def text_field(name: str, limit: int, required: bool = False) -> str | None:
            value = body.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                if required:
                    raise InvalidInputError(f"{name} is required", zh=f"缺少字段 {name}")
                return None
            if not isinstance(value, str) or len(value) > limit:
                raise InvalidInputError(
                    f"{name} must be text of at most {limit} characters",
                    zh=f"{name} 应为不超过 {limit} 字的文本",
                )
            return value.strip()

        reporter = body.get("reporter") or {}
        if not isinstance(reporter, dict):
            raise InvalidInputError('reporter must be an object {"name", "phone"}')
        phone = reporter.get("phone")
        if phone is not None and (not isinstance(phone, str) or not _PHONE.match(phone)):
            raise InvalidInputError(
                f'reporter.phone was "{phone}" but must be 5-20 digits '
                "(spaces, +, -, parentheses allowed)",
                zh=f"报告人电话 {phone} 格式无效",
            )
        name = reporter.get("name")
        if name is not None and (not isinstance(name, str) or len(name) > 50):
            raise InvalidInputError("reporter.name must be text of at most 50 characters")
        channel = body.get("channel") or "other"
        if channel not in CHANNELS:
            raise InvalidInputError(
                f'channel was "{channel}" but must be one of {list(CHANNELS)}',
                zh=f"来源渠道 {channel} 无效，可选：{list(CHANNELS)}",
            )
        photos = body.get("photos") or []
        if (
            not isinstance(photos, list)
            or len(photos) > 20
            or not all(isinstance(p, str) and _URL.match(p) and len(p) <= 2000 for p in photos)
        ):
            raise InvalidInputError(
                "photos must be a list of at most 20 http(s) URLs",
                zh="照片应为不超过 20 个 http(s) 链接的列表",
            )
        lon, lat = body.get("lon"), body.get("lat")
        address = text_field("address", 200)
        if (lon is None) != (lat is None):
            raise InvalidInputError(
                "give both lon and lat, or an address",
                zh="请同时提供 lon 和 lat，或提供地址 address",
            )
        if lon is None and address is None:
            raise InvalidInputError(
                "a case needs a location: lon and lat (with crs), or an address naming a compound",
                zh="案件需要位置：经纬度或地址",
            )
        for key, value in (("lon", lon), ("lat", lat)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise InvalidInputError(f"{key} must be a number but was {value!r}")
        category = text_field("category", 50, required=True)
        description = text_field("description", 4000, required=True)
        assert category is not None and description is not None
        return cls(
            category=category,
            description=description,
            channel=channel,
            lon=None if lon is None else float(lon),
            lat=None if lat is None else float(lat),
            crs=str(body.get("crs") or "wgs84"),
            address=address,
            reporter_name=name.strip() if name else None,
            reporter_phone=phone,
            photos=tuple(photos),
        )

    def fingerprint(self) -> str:
        """A digest of the report, to tell a retry from a different report with the same key."""
        return hashlib.sha256(
            json.dumps(vars(self), sort_keys=True, ensure_ascii=False, default=list).encode()
        ).hexdigest()


@dataclass(frozen=True)
class CaseGrid:
    """The grid a case is routed to, with whom to call."""

    code: str
    name: str
    kind: str
    community: Unit
    street: Unit
    leader: Person
    party_branch: str | None
    party_secretary: Person


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
    grid: CaseGrid
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
    events: tuple[dict[str, Any], ...] = field(default=())

    def masked(self) -> Case:
        """The same case with reporter and grid people masked (for viewers)."""
        grid = replace(
            self.grid,
            leader=self.grid.leader.masked(),
            party_secretary=self.grid.party_secretary.masked(),
        )
        events = tuple({**e, "actor": mask_name(e["actor"])} for e in self.events)
        return replace(
            self,
            reporter=Person(mask_name(self.reporter.name), mask_phone(self.reporter.phone)),
            grid=grid,
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
        grid=CaseGrid(
            row.grid_code.strip(),
            row.grid_name,
            row.grid_kind,
            Unit(row.community_code.strip(), row.community_name),
            Unit(row.street_code.strip(), row.street_name),
            Person(row.leader_name, row.leader_phone),
            row.party_branch_name,
            Person(row.party_secretary_name, row.party_secretary_phone),
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
    )


def get_case(conn: Connection, case_id: int, *, with_events: bool = False) -> Case:
    """One case; raises NotFoundError naming the id."""
    row = conn.execute(
        text("SELECT * FROM case_view WHERE id = :id"), {"id": case_id}
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"case {case_id} does not exist", zh=f"案件 {case_id} 不存在")
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
    return replace(
        case,
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


def _locate_report(conn: Connection, report: CaseReport) -> tuple[float, float, int | None]:
    if report.lon is not None and report.lat is not None:
        lon, lat = point_to_storage(report.lon, report.lat, report.crs)
        return lon, lat, None
    assert report.address is not None
    found = addresses.match_compound(conn, report.address)
    return found.lon, found.lat, found.id


def create_case(
    conn: Connection,
    snapshot: Snapshot,
    report: CaseReport,
    actor: str,
    settings: CaseSettings,
    idempotency_key: str | None = None,
) -> tuple[Case, bool]:
    """Store a new case routed to one grid; returns (case, replayed).

    With an ``idempotency_key``, a retry of the same report by the same key answers with the
    case the first attempt created (``replayed`` True), however many retries race.

    Raises
    ------
    InvalidInputError
        Bad report, unknown category, unknown address or unroutable location (422).
    ConflictError
        The idempotency key was used before for a different report (409).
    """
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 200:
        raise InvalidInputError("the Idempotency-Key header must be 1-200 characters")
    category = get_category(conn, report.category)
    lon, lat, compound_id = _locate_report(conn, report)
    routing = route(snapshot, lon, lat, settings)
    # A publish cannot commit between here and our commit; if one committed after the
    # snapshot was taken, route with the release now current instead.
    current = conn.execute(
        text("SELECT pg_advisory_xact_lock_shared(:k), (SELECT max(id) FROM boundary_release)"),
        {"k": PUBLISH_LOCK},
    ).one()[1]
    if current != routing.release:
        routing = route_in_release(conn, lon, lat, current, settings)
    if compound_id is None:
        compound = snapshot.compound_at(lon, lat)
        compound_id = None if compound is None else compound[0]
    digest = report.fingerprint()
    inserted = conn.execute(
        text(sql("case_insert")),
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
            "release_id": routing.release,
            "flags": list(routing.flags),
            "actor": actor,
            "key": idempotency_key,
            "hash": digest,
            "details": json.dumps(_routing_details(routing)),
        },
    ).one_or_none()
    if inserted is not None:
        grid = snapshot.grid(routing.grid_code) if routing.release == snapshot.release.id else None
        if grid is None:  # routed with a newer release than the snapshot's
            return get_case(conn, inserted.id), False
        return _new_case(
            inserted, report, category, lon, lat, compound_id, grid, routing, actor
        ), False
    existing = conn.execute(
        text(
            "SELECT id, request_hash FROM civic_case WHERE created_by = :a AND idempotency_key = :k"
        ),
        {"a": actor, "k": idempotency_key},
    ).one()
    if existing.request_hash != digest:
        raise ConflictError(
            f'Idempotency-Key "{idempotency_key}" was used for case {existing.id} with a '
            "different report; use a new key for a new report",
            zh=f"幂等键 {idempotency_key} 已用于另一内容不同的案件 {existing.id}",
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
        case, replayed = create_case(conn, snapshot, report, actor, settings, idempotency_key)
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
    grid: GridInfo,
    routing: Routing,
    actor: str,
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
        grid=CaseGrid(
            grid.code,
            grid.name,
            grid.kind,
            Unit(grid.community_code, grid.community_name),
            Unit(grid.street_code, grid.street_name),
            Person(grid.leader_name, grid.leader_phone),
            grid.party_branch_name,
            Person(grid.party_secretary_name, grid.party_secretary_phone),
        ),
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
    )


def _routing_details(routing: Routing) -> dict[str, Any]:
    return {
        "on_boundary": routing.on_boundary,
        "candidates": list(routing.candidates),
        "boundary_distance_m": routing.boundary_distance_m,
        "outside_distance_m": routing.outside_distance_m,
    }


def _locked(conn: Connection, case_id: int) -> Any:
    row = conn.execute(
        text("SELECT id, status, held_from, grid_code FROM civic_case WHERE id = :id FOR UPDATE"),
        {"id": case_id},
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"case {case_id} does not exist", zh=f"案件 {case_id} 不存在")
    return row


def transition(conn: Connection, case_id: int, to: str, actor: str, note: str = "") -> Case:
    """Move a case to status ``to``, recording who, when and why.

    Raises
    ------
    ConflictError
        The move is not legal from the case's current status (409).
    """
    row = _locked(conn, case_id)
    check_move(row.status, to, row.held_from)
    if to == "void" and not note.strip():
        raise InvalidInputError(
            "voiding a case needs a note saying why", zh="作废案件需要填写原因（note）"
        )
    conn.execute(
        text(sql("case_transition")),
        {"id": case_id, "to": to, "from": row.status, "actor": actor, "note": note},
    )
    return get_case(conn, case_id)


def reroute(conn: Connection, case_id: int, grid_code: str, actor: str, reason: str) -> Case:
    """A dispatcher sends a case to another grid of the current release, with a reason.

    A manual route is final: later releases flag the case but never move it.
    """
    check_code(grid_code)
    if not reason.strip():
        raise InvalidInputError("re-routing a case needs a reason", zh="改派案件需要填写原因")
    row = _locked(conn, case_id)
    if row.status in FINAL:
        raise ConflictError(
            f"case {case_id} is {row.status} and cannot be re-routed",
            zh=f"案件 {case_id} 已结案或作废，不能改派",
        )
    found = conn.execute(
        text("SELECT 1 FROM grid_geometry WHERE valid_to_release IS NULL AND grid_code = :g"),
        {"g": grid_code},
    ).first()
    if found is None:
        raise InvalidInputError(
            f"grid {grid_code} is not in the current boundary release",
            zh=f"网格 {grid_code} 不在当前边界版本中",
        )
    current = current_release(conn)
    release = None if current is None else current.id
    conn.execute(
        text(
            "UPDATE civic_case SET grid_code = :g, release_id = :r, routed_by = 'manual', "
            "updated_at = now() WHERE id = :id"
        ),
        {"g": grid_code, "r": release, "id": case_id},
    )
    conn.execute(
        text(
            "INSERT INTO case_event (case_id, actor, kind, from_grid, to_grid, release_id, note, "
            "details) VALUES (:id, :actor, 'reroute', :old, :new, :r, :note, "
            "'{\"manual\": true}')"
        ),
        {
            "id": case_id,
            "actor": actor,
            "old": row.grid_code,
            "new": grid_code,
            "r": release,
            "note": reason,
        },
    )
    return get_case(conn, case_id)
