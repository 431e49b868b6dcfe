"""/console: each person's first page, by what they may do."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse

from geogrid import console
from geogrid.access.roles import Role
from geogrid.api.routes.console.pages import StaffDep, menu, root

router = APIRouter()


@router.get("/console")
async def console_home(request: Request, user: StaffDep) -> RedirectResponse:
    """The first page of the console this person may use (a handler's: the task list)."""
    items = menu(user)
    first = next((i for i in items if i.key == "tasks"), items[0])
    if user.role is not Role.handler:
        first = items[0]
    return RedirectResponse(f"{root(request)}{first.href}", 303)


@router.get("/favicon.ico")
async def favicon() -> FileResponse:
    """The site's icon (a grid), for every page that does not name one."""
    return FileResponse(
        console.STATIC_DIR / "favicon.png",
        media_type="image/png",
        headers={"Cache-Control": "public, max-age=86400"},
    )
