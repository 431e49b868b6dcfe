"""What every console page shares: who is signed in, the menu they may use, rendering.

A console route takes ``StaffDep`` (a signed-in person; anyone else is sent to /login) or
``need(permission)``; errors on console paths are pages, not JSON (api/errors.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from geogrid import console
from geogrid.access.roles import ROLE_ZH, Permission
from geogrid.access.sessions import SignedIn
from geogrid.api.deps import signed_in
from geogrid.console import Nav
from geogrid.errors import AuthenticationError
from geogrid.i18n import tr

#: The console's menu: (entry, the permission it needs, or None for everyone signed in).
MENU: tuple[tuple[Nav, Permission | None], ...] = (
    (Nav("/console/cases", "案件队列", "cases"), None),
    (Nav("/console/cases/new", "受理登记", "intake"), Permission.report_cases),
    (Nav("/console/approvals", "督办审批", "approvals"), Permission.supervise_cases),
    (Nav("/console/tasks", "本部门待办", "tasks"), Permission.handle_department_cases),
    (Nav("/console/dashboard", "统计", "dashboard"), None),
    (Nav("/console/plans", "边界规划", "plans"), Permission.edit_plans),
    (Nav("/console/releases", "发布历史", "releases"), None),
    (Nav("/console/admin/users", "用户", "users"), Permission.manage_users),
    (Nav("/console/admin/keys", "API 密钥", "keys"), Permission.manage_keys),
    (Nav("/console/admin/categories", "案件分类", "categories"), Permission.manage_catalogue),
    (Nav("/console/admin/calendar", "工作日历", "calendar"), Permission.manage_calendar),
    (Nav("/console/admin/departments", "职能部门", "departments"), Permission.manage_departments),
    (
        Nav("/console/admin/responsibility", "责任清单", "responsibility"),
        Permission.manage_departments,
    ),
    (
        Nav("/console/admin/organisations", "人员名册", "registers"),
        Permission.manage_organisations,
    ),
    (Nav("/", "地图", "map"), None),
)
#: Changes with the console's own CSS and JS, so browsers fetch them anew (?v=).
ASSET_VERSION = console.asset_version()


def menu(user: SignedIn) -> list[Nav]:
    principal = user.principal
    return [item for item, needs in MENU if needs is None or principal.may(needs)]


async def staff(request: Request) -> SignedIn:
    """The signed-in person (401, which console paths turn into a redirect to /login)."""
    found = await signed_in(request)
    if found is None:
        raise AuthenticationError(tr("sign in first"))
    return found


StaffDep = Annotated[SignedIn, Depends(staff)]


def need(permission: Permission, *alternatives: Permission) -> Callable[..., Awaitable[SignedIn]]:
    """A dependency: the signed-in person, who must hold ``permission`` or one of
    ``alternatives`` (else a 403 page)."""

    async def check(user: StaffDep) -> SignedIn:
        user.principal.require(permission, *alternatives)
        return user

    return check


def root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def page(
    request: Request,
    template: str,
    user: SignedIn | None,
    *,
    title: str,
    active: str = "",
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A console page: ``template`` with the menu, the user and the CSRF token."""
    base = root(request)
    html = console.render(
        template,
        title=title,
        active=active,
        user=user,
        role_zh=ROLE_ZH[user.role] if user else "",
        nav=menu(user) if user else [],
        root=base,
        static=f"{base}/static",
        asset_version=ASSET_VERSION,
        **context,
    )
    # Pages show data as of now and, to most staff, personal data: never cached or shared.
    return HTMLResponse(html, status, headers={"Cache-Control": "no-store"})
