"""Point-in-grid: one point (GET) or up to a million (POST: JSON, CSV or binary)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Annotated, Any

import numpy as np
import orjson
from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from geogrid.access.ratelimits import Budget
from geogrid.access.roles import Principal
from geogrid.api.database import Database
from geogrid.api.deps import SnapshotsDep, get_principal, limited
from geogrid.api.openapi import problems
from geogrid.api.queries import query_parameters, read_query
from geogrid.api.responses import json_response
from geogrid.api.schemas.lookup import CRS_DOC, BatchLocateAnswer, LocateAnswer, LocateQuery
from geogrid.errors import InvalidInputError, TooLargeError
from geogrid.geo.points import point_to_storage, points_to_storage
from geogrid.i18n import tr
from geogrid.io.spreadsheets import csv_cell
from geogrid.limits import Word
from geogrid.lookup.locate import PointAnswer, code_table, locate_point, locate_points
from geogrid.lookup.snapshot import Snapshot, SnapshotStore
from geogrid.moments import parse_moment
from geogrid.organisations.serving import GridServing

router = APIRouter(prefix="/v1/locate", tags=["locate"])

MAX_POINTS = 1_000_000
_NOBODY = {"name": None, "phone": None}
BINARY = "application/octet-stream"


def _answer(
    found: PointAnswer, principal: Principal, serving: GridServing, moment: datetime | None
) -> dict[str, Any]:
    grid = found.grid
    body: dict[str, Any] = {"grid": None}
    if grid is not None:
        masked = not principal.sees_personal_data
        served = serving.answer(grid.code, masked=masked, moment=moment)
        leader = (
            served["staff"][0]
            if served["staff"] and served["staff"][0]["role"] == "leader"
            else None
        )
        body["grid"] = {
            "code": grid.code,
            "name": grid.name,
            "kind": grid.kind,
            "community": {"code": grid.community.code, "name": grid.community.name},
            "street": {"code": grid.street.code, "name": grid.street.name},
            "leader": _NOBODY
            if leader is None
            else {"name": leader["name"], "phone": leader["phone"]},
            "served_by": served,
        }
    body["on_boundary"] = found.on_boundary
    body["candidates"] = list(found.candidates)
    body["boundary_distance_m"] = found.boundary_distance_m
    body["compound"] = (
        None if found.compound is None else {"id": found.compound[0], "name": found.compound[1]}
    )
    body["nearest"] = (
        None
        if found.nearest is None
        else {"code": found.nearest[0], "distance_m": found.nearest[1]}
    )
    body["release"] = found.release
    return body


async def _snapshot_at(request: Request, snapshots: SnapshotStore, at: datetime | None) -> Snapshot:
    if at is None:
        return snapshots.current()
    # Finding an older release asks the database: off the event loop, through the gate.
    database: Database = request.app.state.database
    return await database.run(snapshots.at, at)


@router.get(
    "",
    response_model=LocateAnswer,
    # The key and the query are read without dependencies (below), so say here what they
    # would say.
    responses=problems(401, 429),
    openapi_extra={"security": [{"bearer": []}, {}], **query_parameters(LocateQuery)},
)
async def locate_one(request: Request) -> Response:
    """Which grid holds this point (with its community, street and grid leader)."""
    # The hottest route reads its query, the snapshot store and the caller without FastAPI
    # parameters or dependencies: resolving them costs about a third of the request.
    query = read_query(LocateQuery, request)
    principal = await get_principal(request)
    x, y = point_to_storage(query.lon, query.lat, query.crs)
    moment = None if query.at is None else parse_moment(query.at)
    snapshot = await _snapshot_at(request, request.app.state.snapshots, moment)
    answer = locate_point(snapshot, x, y)
    return json_response(_answer(answer, principal, snapshot.serving, moment))


def _read_points(
    body: bytes, content_type: str, crs: str | None
) -> tuple[np.ndarray, np.ndarray, str, np.ndarray | None, str]:
    """Parse a batch: returns lon, lat, crs, ids (CSV only) and the reply format."""
    if content_type.startswith(BINARY):
        if len(body) % 16:
            raise InvalidInputError(
                f"a binary batch is pairs of little-endian float64 "
                f"(lon, lat), 16 bytes each; got {len(body)} bytes"
            )
        _limit(len(body) // 16)
        pairs = np.frombuffer(body, dtype="<f8").reshape(-1, 2)
        return pairs[:, 0], pairs[:, 1], crs or "wgs84", None, "binary"
    if content_type.startswith(("text/csv", "application/csv")):
        import pandas as pd

        try:
            frame = pd.read_csv(io.BytesIO(body), dtype={"id": str})
        except Exception as exc:  # pandas raises several parser errors
            raise InvalidInputError(f"the CSV could not be read: {exc}") from None
        missing = [c for c in ("id", "lon", "lat") if c not in frame.columns]
        if missing:
            raise InvalidInputError(f"the CSV needs the header id,lon,lat; missing {missing}")
        _limit(len(frame))
        lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy(np.float64)
        lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy(np.float64)
        return lon, lat, crs or "wgs84", frame["id"].to_numpy(), "csv"
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInputError(f"the body is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("points"), list):
        raise InvalidInputError('the body must be {"crs": "...", "points": [[lon, lat], ...]}')
    points = parsed["points"]
    _limit(len(points))
    try:
        pairs = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    except (ValueError, TypeError):
        raise InvalidInputError("points must be a list of [lon, lat] number pairs") from None
    if len(pairs) != len(points):
        raise InvalidInputError("points must be a list of [lon, lat] number pairs")
    return pairs[:, 0], pairs[:, 1], str(parsed.get("crs") or crs or "wgs84"), None, "json"


def _limit(n: int) -> None:
    if n > MAX_POINTS:
        raise TooLargeError(
            tr(
                "a batch holds at most {MAX_POINTS:,} points; this one has {n:,}",
                MAX_POINTS=MAX_POINTS,
                n=n,
            ),
        )


@router.post(
    "",
    response_model=BatchLocateAnswer,
    dependencies=[limited(Budget.batches)],
    responses={
        **problems(413),
        200: {
            "content": {"text/csv": {}, BINARY: {}},
            "description": "JSON, CSV (id,grid,on_boundary) or binary (16 bytes per point: 15-byte ASCII grid "
            "code, zero bytes when outside, then one byte on_boundary)",
        },
    },
)
async def locate_many(
    request: Request,
    snapshots: SnapshotsDep,
    crs: Annotated[Word | None, Query(description=CRS_DOC + "; for CSV and binary bodies")] = None,
) -> Response:
    """Locate a batch of up to 1,000,000 points, answers in input order."""
    content_type = request.headers.get("content-type", "application/json").lower()
    length = request.headers.get("content-length", "")
    if content_type.startswith(BINARY) and length.isdigit():
        _limit(int(length) // 16)  # known before a byte of the body is read
    body = await request.body()
    # A million points take about a second of CPU: off the event loop.
    return await run_in_threadpool(_locate_batch, snapshots, body, content_type, crs)


def _locate_batch(
    snapshots: SnapshotsDep, body: bytes, content_type: str, crs: str | None
) -> Response:
    lon, lat, crs_name, ids, reply = _read_points(body, content_type, crs)
    x, y = points_to_storage(lon, lat, crs_name)
    snapshot = snapshots.current()
    grid, boundary = locate_points(snapshot, x, y)
    headers = {"X-Geogrid-Release": str(snapshot.release.id)}
    table = code_table(snapshot)
    codes = table[grid]  # -1 picks the empty code at the end
    if reply == "binary":
        out = np.zeros(len(grid), dtype=[("code", "S15"), ("on_boundary", "u1")])
        out["code"] = codes
        out["on_boundary"] = boundary
        return Response(out.tobytes(), media_type=BINARY, headers=headers)
    text_codes = codes.astype(str)
    if reply == "csv" and ids is not None:
        # The ids are the caller's text: quoted where CSV needs it, never a spreadsheet formula.
        answer = io.StringIO()
        writer = csv.writer(answer, lineterminator="\n")
        writer.writerow(("id", "grid", "on_boundary"))
        flags = np.where(boundary, "true", "false").tolist()
        writer.writerows(zip(map(csv_cell, ids.tolist()), text_codes.tolist(), flags, strict=True))
        return Response(answer.getvalue(), media_type="text/csv", headers=headers)
    results = [
        {"grid": c or None, "on_boundary": b}
        for c, b in zip(text_codes.tolist(), boundary.tolist(), strict=True)
    ]
    return json_response({"release": snapshot.release.id, "results": results}, headers=headers)
