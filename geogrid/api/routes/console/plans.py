"""/console/plans: the planners' workspace. Every plan, a new one in one click, a plan's edits
and preview (tables and a chart), its map, and publishing it with a confirmation.

Every change goes through the same geogrid functions as /v1/plans (create_plan,
publish_plan), as the signed-in planner; publishing refreshes this process's snapshot, as
``POST /v1/plans/{id}/publish`` does, so /v1/locate answers the new grids at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection

from geogrid import plans
from geogrid.access.ratelimits import Budget
from geogrid.access.roles import Permission
from geogrid.access.sessions import SignedIn
from geogrid.api.deps import ConnDep, LongEngineDep, limited
from geogrid.api.routes.console.pages import need, page, root
from geogrid.boundaries.releases import BoundaryRelease, get_release
from geogrid.boundaries.validation import Violation
from geogrid.errors import ConflictError
from geogrid.limits import COMMENT, Id32

router = APIRouter()

PlannerDep = Annotated[SignedIn, Depends(need(Permission.edit_plans))]
PublisherDep = Annotated[SignedIn, Depends(need(Permission.publish_plans))]
#: Console writes spend from the same budget as the API's plan writes.
WRITES = limited(Budget.writes)

STATUS_ZH = {"open": "编辑中", "published": "已发布", "discarded": "已放弃"}
OP_ZH = {
    "transfer": "划转区域",
    "merge": "合并网格",
    "split": "拆分网格",
    "revert": "恢复旧版本",
    "move_compound": "移动小区",
    "carve": "划出专属网格",
    "replace": "替换边界",
    "reassign": "调整责任人",
    "reshape": "调整边界",
    "absorb": "并入相邻网格",
}
ACTION_ZH = {"reroute": "改派", "flag": "仅标记"}


@dataclass(frozen=True)
class Problem:
    """Why a publish was refused, as the plan page shows it."""

    message: str
    changed: list[str] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)


@router.get("/console/plans")
def plans_page(request: Request, conn: ConnDep, user: PlannerDep) -> HTMLResponse:
    """Every plan, newest first, and a button that opens a new one."""
    return page(
        request,
        "plans_list.html",
        user,
        title="边界规划",
        active="plans",
        plans=plans.plan_listings(conn),
        status_zh=STATUS_ZH,
    )


@router.post("/console/plans", dependencies=[WRITES])
def new_plan(
    request: Request,
    conn: ConnDep,
    user: PlannerDep,
    comment: Annotated[str, Form(max_length=COMMENT)] = "",
) -> RedirectResponse:
    """Open a plan on the current release, then go to its page."""
    plan = plans.create_plan(conn, comment.strip(), user.username)
    return RedirectResponse(f"{root(request)}/console/plans/{plan.id}", 303)


@router.get("/console/plans/{plan_id}")
def plan_page(
    request: Request,
    conn: ConnDep,
    user: PlannerDep,
    plan_id: Id32,
    published: Id32 | None = None,
) -> HTMLResponse:
    """One plan: its edits, its map, its preview, and publishing it."""
    return _plan_page(request, conn, user, plan_id, just_published=published is not None)


@router.post("/console/plans/{plan_id}/publish", dependencies=[WRITES])
def publish(request: Request, engine: LongEngineDep, user: PublisherDep, plan_id: Id32) -> Response:
    """Publish the plan as a new boundary release; a refusal is said on the plan's page."""
    try:
        with engine.begin() as conn:
            release = plans.publish_plan(conn, plan_id, user.username)
    except plans.EditRejectedError as exc:
        problem = Problem(_text(exc), violations=list(exc.details or []))
        return _refused(request, engine, user, plan_id, 422, problem)
    except ConflictError as exc:
        changed = exc.details.get("changed", []) if isinstance(exc.details, dict) else []
        return _refused(request, engine, user, plan_id, 409, Problem(_text(exc), changed))
    # As POST /v1/plans/{id}/publish: answer once this process serves the new release.
    request.app.state.snapshots.refresh()
    return RedirectResponse(f"{root(request)}/console/plans/{plan_id}?published={release.id}", 303)


def _text(exc: Exception) -> str:
    return str(getattr(exc, "message_zh", None) or exc)


def _refused(
    request: Request,
    engine: Any,
    user: SignedIn,
    plan_id: int,
    status: int,
    problem: Problem,
) -> HTMLResponse:
    with engine.connect() as conn:
        return _plan_page(request, conn, user, plan_id, status=status, problem=problem)


def _plan_page(
    request: Request,
    conn: Connection,
    user: SignedIn,
    plan_id: int,
    *,
    status: int = 200,
    problem: Problem | None = None,
    just_published: bool = False,
) -> HTMLResponse:
    listing = plans.plan_listing(conn, plan_id)
    plan = plans.get_plan(conn, plan_id)
    shown = plans.preview(conn, plan_id) if plan.status == "open" else None
    release: BoundaryRelease | None = (
        None if listing.published_release is None else get_release(conn, listing.published_release)
    )
    return page(
        request,
        "plans_detail.html",
        user,
        title=f"方案 {plan.id}",
        active="plans",
        status=status,
        plan=listing,
        edits=plan.edits,
        preview=shown,
        chart=None if shown is None else households_chart(shown),
        release=release,
        problem=problem,
        just_published=just_published,
        may_publish=user.principal.may(Permission.publish_plans),
        status_zh=STATUS_ZH,
        op_zh=OP_ZH,
        action_zh=ACTION_ZH,
    )


def households_chart(preview: dict[str, Any]) -> dict[str, Any]:
    """Households per touched grid before and after the plan (the plan page's chart)."""
    grids = [g for g in preview["grids"] if g["before"] or g["after"]]
    return {
        "labels": [g["code"] for g in grids],
        "before": [g["before"]["households"] if g["before"] else 0 for g in grids],
        "after": [g["after"]["households"] if g["after"] else 0 for g in grids],
        "norm": preview["household_norm"],
    }
