"""Boundary plans (planner role): edits checked at once, previewed, published as a release.

Write routes open their own transaction and commit it before answering, so a 2xx means the
change is stored; publish also waits until this process serves the new release.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from api.deps import PrincipalDep, require
from geogrid import plans
from geogrid.access import Principal, Role
from geogrid.plan_preview import preview

EDIT_EXAMPLE = {
    "op": "transfer", "from": "340102006004001", "to": "340102006004002",
    "area": {"type": "Polygon", "coordinates": [[[117.337, 31.892], [117.338, 31.892],
                                                 [117.338, 31.893], [117.337, 31.892]]]},
    "crs": "wgs84", "comment": "划入新建楼栋"}

router = APIRouter(prefix="/v1/plans", tags=["plans"], dependencies=[require(Role.planner)])


def _actor(principal: Principal) -> str:
    return principal.name or "anonymous"


def _summary(plan: plans.Plan) -> dict[str, Any]:
    return {"id": plan.id, "comment": plan.comment, "base_release": plan.base_release,
            "status": plan.status, "created_by": plan.created_by,
            "created_at": plan.created_at.isoformat(),
            "edits": [{"edit_id": e.id, "op": e.op, "comment": e.comment,
                       "created_by": e.created_by, "created_at": e.created_at.isoformat()}
                      for e in plan.edits]}


@router.post("", status_code=201)
def create_plan(request: Request, principal: PrincipalDep,
                body: Annotated[dict[str, Any], Body(examples=[{"comment": "新建小区"}])]
                ) -> dict[str, Any]:
    """Open a plan on the current boundary release."""
    with request.app.state.engine.begin() as conn:
        plan = plans.create_plan(conn, str(body.get("comment") or ""), _actor(principal))
    return {"id": plan.id, "base_release": plan.base_release}


@router.get("")
def list_plans(request: Request) -> list[dict[str, Any]]:
    """Open plans with their edits."""
    with request.app.state.engine.connect() as conn:
        return [_summary(p) for p in plans.open_plans(conn)]


@router.get("/{plan_id}")
def read_plan(request: Request, plan_id: int) -> dict[str, Any]:
    """One plan with its edits."""
    with request.app.state.engine.connect() as conn:
        return _summary(plans.get_plan(conn, plan_id))


@router.delete("/{plan_id}", status_code=204)
def discard_plan(request: Request, principal: PrincipalDep, plan_id: int) -> Response:
    """Discard an open plan."""
    with request.app.state.engine.begin() as conn:
        plans.discard_plan(conn, plan_id, _actor(principal))
    return Response(status_code=204)


@router.post("/{plan_id}/edits", status_code=201)
def add_edit(request: Request, principal: PrincipalDep, plan_id: int,
             body: Annotated[dict[str, Any], Body(examples=[EDIT_EXAMPLE])]) -> dict[str, Any]:
    """Add an edit (transfer, merge, reassign); 422 names the rule it breaks by itself."""
    with request.app.state.engine.begin() as conn:
        edit_id = plans.add_edit(conn, plan_id, body, _actor(principal))
    return {"edit_id": edit_id}


@router.delete("/{plan_id}/edits/{edit_id}", status_code=204)
def undo_edit(request: Request, principal: PrincipalDep, plan_id: int, edit_id: int
              ) -> Response:
    """Undo an edit."""
    with request.app.state.engine.begin() as conn:
        plans.undo_edit(conn, plan_id, edit_id, _actor(principal))
    return Response(status_code=204)


@router.get("/{plan_id}/preview")
def preview_plan(request: Request, plan_id: int) -> dict[str, Any]:
    """Every touched grid before and after, compounds moved or cut, and the invariant check."""
    with request.app.state.engine.connect() as conn:
        return preview(conn, plan_id)


@router.post("/{plan_id}/publish")
def publish_plan(request: Request, principal: PrincipalDep, plan_id: int) -> dict[str, Any]:
    """Publish the plan as a new boundary release (409 if its base moved under it)."""
    with request.app.state.engine.begin() as conn:
        release = plans.publish_plan(conn, plan_id, _actor(principal))
    # Answer only once this process serves the new release.
    request.app.state.snapshots.refresh()
    return {"release": release.id}
