"""/console/releases: every boundary release, and what changed between any two of them
(tables here, the map at /maps/releases/{n}/diff/{m})."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from geogrid.api.deps import ConnDep
from geogrid.api.routes.console.pages import StaffDep, page, root
from geogrid.boundaries import history
from geogrid.limits import Id32

router = APIRouter()


@router.get("/console/releases")
def releases_page(request: Request, conn: ConnDep, user: StaffDep) -> HTMLResponse:
    """Every boundary release, newest first, and a form to compare two of them."""
    summaries = history.release_summaries(conn)
    newest = summaries[-1].release.id if summaries else None
    return page(
        request,
        "plans_releases.html",
        user,
        title="发布历史",
        active="releases",
        releases=list(reversed(summaries)),
        default_from=(summaries[-1].previous or newest) if summaries else None,
        default_to=newest,
    )


@router.get("/console/releases/diff")
def diff_page(
    request: Request,
    conn: ConnDep,
    user: StaffDep,
    from_release: Annotated[Id32, Query(alias="from")],
    to_release: Annotated[Id32, Query(alias="to")],
) -> HTMLResponse:
    """Grids added, removed and changed from one release to another, with their map."""
    diff = history.release_diff(conn, from_release, to_release)
    summaries = history.release_summaries(conn)
    return page(
        request,
        "plans_diff.html",
        user,
        title=f"边界版本 {diff.from_release} → {diff.to_release}",
        active="releases",
        diff=diff,
        releases=[s.release for s in reversed(summaries)],
        map_url=f"{root(request)}/maps/releases/{diff.from_release}/diff/{diff.to_release}",
    )
