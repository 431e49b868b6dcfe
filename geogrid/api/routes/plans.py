"""Boundary plans (planner role): edits checked at once, previewed, published as a release.

Write routes open their own transaction and commit it before answering, so a 2xx means the
change is stored; publish also waits until this process serves the new release.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import UploadFile

from geogrid import plans
from geogrid.access.ratelimits import Budget
from geogrid.access.roles import Permission, Principal
from geogrid.api.deps import ConnDep, LongEngineDep, PrincipalDep, limited, require
from geogrid.api.openapi import problems, request_body
from geogrid.api.schemas.bodies import PlanCreate, PlanEdit
from geogrid.api.schemas.plans import (
    EditAdded,
    PlanCreated,
    PlanPreview,
    PlanPublished,
    PlanSummary,
)
from geogrid.errors import InvalidInputError, TooLargeError
from geogrid.i18n import tr
from geogrid.limits import COMMENT, WORD, Id32
from geogrid.plans.preview import preview
from geogrid.plans.replace import read_drawing

EDIT_EXAMPLE = {
    "op": "transfer",
    "from": "340102006004001",
    "to": "340102006004002",
    "area": {
        "type": "Polygon",
        "coordinates": [
            [[117.337, 31.892], [117.338, 31.892], [117.338, 31.893], [117.337, 31.892]]
        ],
    },
    "crs": "wgs84",
    "comment": "划入新建楼栋",
}

router = APIRouter(
    prefix="/v1/plans", tags=["plans"], dependencies=[require(Permission.edit_plans)]
)
#: Every plan write spends from the writes budget of the planner's key and address.
WRITES = limited(Budget.writes)


def _actor(principal: Principal) -> str:
    return principal.actor


def _summary(plan: plans.Plan) -> dict[str, Any]:
    return {
        "id": plan.id,
        "comment": plan.comment,
        "base_release": plan.base_release,
        "status": plan.status,
        "created_by": plan.created_by,
        "created_at": plan.created_at.isoformat(),
        "edits": [
            {
                "edit_id": e.id,
                "op": e.op,
                "comment": e.comment,
                "created_by": e.created_by,
                "created_at": e.created_at.isoformat(),
            }
            for e in plan.edits
        ],
    }


@router.post("", status_code=201, response_model=PlanCreated, dependencies=[WRITES])
def create_plan(
    conn: ConnDep,
    principal: PrincipalDep,
    body: Annotated[PlanCreate, Body(examples=[{"comment": "新建小区"}])],
) -> dict[str, Any]:
    """Open a plan on the current boundary release."""
    plan = plans.create_plan(conn, body.comment, _actor(principal))
    return {"id": plan.id, "base_release": plan.base_release}


@router.get("", response_model=list[PlanSummary])
def list_plans(conn: ConnDep) -> list[dict[str, Any]]:
    """Open plans with their edits."""
    return [_summary(p) for p in plans.open_plans(conn)]


@router.get("/{plan_id}", response_model=PlanSummary)
def read_plan(conn: ConnDep, plan_id: Id32) -> dict[str, Any]:
    """One plan with its edits."""
    return _summary(plans.get_plan(conn, plan_id))


@router.delete("/{plan_id}", status_code=204, responses=problems(409), dependencies=[WRITES])
def discard_plan(conn: ConnDep, principal: PrincipalDep, plan_id: Id32) -> Response:
    """Discard an open plan."""
    plans.discard_plan(conn, plan_id, _actor(principal))
    return Response(status_code=204)


#: The largest drawing file a replace edit takes.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024

#: A replace edit may come as a file upload instead of JSON.
_MULTIPART_EDIT = {
    "multipart/form-data": {
        "schema": {
            "type": "object",
            "required": ["file", "grids"],
            "properties": {
                "op": {"type": "string", "enum": ["replace"], "default": "replace"},
                "grids": {
                    "type": "string",
                    "maxLength": 16_000,
                    "description": "codes of the grids the drawing "
                    "replaces, comma-separated or repeated (alias: codes)",
                },
                "crs": {
                    "type": "string",
                    "maxLength": WORD,
                    "description": "wgs84, cgcs2000, gcj02, bd09 or EPSG:n; default the file's own",
                },
                "comment": {"type": "string", "maxLength": COMMENT},
                "file": {
                    "type": "string",
                    "format": "binary",
                    "description": "the drawing: a GeoPackage, GeoJSON or zipped Shapefile",
                },
            },
        }
    }
}
EDIT_BODY = request_body(PlanEdit, {"transfer": EDIT_EXAMPLE}, _MULTIPART_EDIT)
_EDITS: TypeAdapter[Any] = TypeAdapter(PlanEdit)


async def _form_edit(request: Request) -> dict[str, Any]:
    """A replace edit sent as multipart/form-data with its drawing as a file."""
    form = await request.form(max_files=1)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise InvalidInputError(
            'a multipart edit needs a "file" part: the drawing as a GeoPackage or GeoJSON file'
        )
    op = str(form.get("op") or "replace")
    if op != "replace":
        raise InvalidInputError(
            f'op was "{op}" but a file upload is only for "replace"; send other ops as JSON'
        )
    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        raise TooLargeError(f"the file has {upload.size} bytes; at most {MAX_UPLOAD_BYTES}")
    data = await upload.read()
    codes = [
        c.strip()
        for value in (*form.getlist("grids"), *form.getlist("codes"))
        for c in str(value).split(",")
        if c.strip()
    ]
    crs = str(form.get("crs") or "").strip() or None
    layer, crs = await run_in_threadpool(read_drawing, data, crs, upload.filename or "the file")
    return {
        "op": "replace",
        "grids": codes,
        "layer": layer,
        "crs": crs,
        "comment": str(form.get("comment") or ""),
    }


async def _edit_body(request: Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        return await _form_edit(request)
    try:
        # orjson refuses what json.loads lets through: nesting deeper than 1024 levels (a
        # RecursionError there), numbers beyond a double (inf), NaN and unpaired surrogates.
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise InvalidInputError(
            tr("the edit is not valid JSON: {reason}", reason=str(exc))
        ) from None
    if not isinstance(body, dict):
        raise InvalidInputError(
            'the edit must be a JSON object {"op", ...}, or '
            "multipart/form-data with a file for replace"
        )
    try:
        edit = _EDITS.validate_python(body)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None
    params: dict[str, Any] = edit.model_dump(by_alias=True, exclude_none=True)
    return params


@router.post(
    "/{plan_id}/edits",
    response_model=EditAdded,
    status_code=201,
    openapi_extra=EDIT_BODY,
    responses=problems(409, 413),
    dependencies=[WRITES],
)
async def add_edit(
    request: Request, conn: ConnDep, principal: PrincipalDep, plan_id: Id32
) -> dict[str, Any]:
    """Add an edit (JSON, or a replace drawing as a file); 422 names the rule it breaks."""
    body = await _edit_body(request)
    edit_id = await run_in_threadpool(plans.add_edit, conn, plan_id, body, _actor(principal))
    return {"edit_id": edit_id}


@router.delete(
    "/{plan_id}/edits/{edit_id}",
    status_code=204,
    responses=problems(409),
    dependencies=[WRITES],
)
def undo_edit(conn: ConnDep, principal: PrincipalDep, plan_id: Id32, edit_id: Id32) -> Response:
    """Undo an edit."""
    plans.undo_edit(conn, plan_id, edit_id, _actor(principal))
    return Response(status_code=204)


@router.get("/{plan_id}/preview", response_model=PlanPreview)
def preview_plan(conn: ConnDep, plan_id: Id32) -> dict[str, Any]:
    """Every touched grid before and after, compounds moved or cut, and the invariant check."""
    return preview(conn, plan_id)


@router.post(
    "/{plan_id}/publish",
    response_model=PlanPublished,
    responses=problems(409),
    dependencies=[require(Permission.publish_plans), WRITES],
)
def publish_plan(
    request: Request, engine: LongEngineDep, principal: PrincipalDep, plan_id: Id32
) -> dict[str, Any]:
    """Publish the plan as a new boundary release (409 if its base moved under it)."""
    with engine.begin() as conn:
        release = plans.publish_plan(conn, plan_id, _actor(principal))
    # Answer only once this process serves the new release.
    request.app.state.snapshots.refresh()
    return {"release": release.id}
