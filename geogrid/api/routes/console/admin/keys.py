"""/console/admin/keys: API keys for machines (names, roles, prefixes; never the secrets).

A new key's secret is on the page that answers its creation, once: only its hash is stored.
Revoking one notifies every serving process, which forget it at once (geogrid.access.keys).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from geogrid.access import keys
from geogrid.access.roles import ROLE_ZH, Permission, Role
from geogrid.access.sessions import SignedIn
from geogrid.api.deps import ConnDep
from geogrid.api.routes.console.admin.forms import REFUSALS, done, done_message, refused
from geogrid.api.routes.console.pages import need, page
from geogrid.errors import InvalidInputError
from geogrid.responsibility import list_departments

router = APIRouter()
KeeperDep = Annotated[SignedIn, Depends(need(Permission.manage_keys))]
KeyName = Annotated[str, Form(max_length=200)]

DONE = {"revoked": "已吊销密钥 {name}：带此密钥的请求从现在起被拒绝（401）。"}
#: Roles in the order the form offers them (a machine mostly reads, or reports cases).
ROLES = [
    (r.name, ROLE_ZH[r])
    for r in (
        Role.viewer,
        Role.reporter,
        Role.dispatcher,
        Role.handler,
        Role.supervisor,
        Role.planner,
        Role.admin,
    )
]


def _keys_page(
    request: Request,
    conn: ConnDep,
    user: SignedIn,
    *,
    status: int = 200,
    error: str = "",
    draft: dict[str, str] | None = None,
) -> HTMLResponse:
    params = request.query_params
    return page(
        request,
        "admin_keys.html",
        user,
        title="API 密钥",
        active="keys",
        status=status,
        keys=keys.list_keys(conn),
        roles=ROLES,
        departments=list_departments(conn),
        role_zh_of={r.name: zh for r, zh in ROLE_ZH.items()},
        done=done_message(DONE, params.get("done"), params.get("name")),
        error=error,
        draft=draft or {"name": "", "role": Role.viewer.name, "department": "", "owner": ""},
    )


@router.get("/keys")
def keys_page(request: Request, user: KeeperDep, conn: ConnDep) -> HTMLResponse:
    """Every API key, with the forms to create and revoke them."""
    return _keys_page(request, conn, user)


@router.post("/keys")
def create_key(
    request: Request,
    user: KeeperDep,
    conn: ConnDep,
    name: KeyName = "",
    role: Annotated[str, Form(max_length=40)] = "",
    department: Annotated[str, Form(max_length=40)] = "",
    owner: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Create a key and show its secret, this once (a handler's tied to a department, a
    person's to their account)."""
    try:
        try:
            parsed = Role.parse(role)
        except ValueError as exc:
            raise InvalidInputError(str(exc)) from None
        created, secret = keys.create_key(
            conn,
            name,
            parsed,
            actor=user.username,
            department=department.strip() or None,
            owner=owner.strip() or None,
        )
    except REFUSALS as exc:
        status, text = refused(conn, exc)
        draft = {"name": name, "role": role, "department": department, "owner": owner}
        return _keys_page(request, conn, user, status=status, error=text, draft=draft)
    return page(
        request,
        "admin_key_created.html",
        user,
        title="密钥已创建",
        active="keys",
        key=created,
        key_role_zh=ROLE_ZH[created.role],
        secret=secret,
    )


@router.post("/keys/revoke")
def revoke_key(request: Request, user: KeeperDep, conn: ConnDep, name: KeyName = "") -> Response:
    """Revoke a key: requests that carry it are refused from now on."""
    try:
        revoked = keys.revoke_key(conn, name, actor=user.username)
        # This process forgets it at once, not when the NOTIFY comes round (other processes
        # do then): the admin's next request, and any after it, is refused.
        request.app.state.key_cache.clear()
    except REFUSALS as exc:
        status, text = refused(conn, exc)
        return _keys_page(request, conn, user, status=status, error=text)
    return done(request, "/keys", "revoked", revoked.name)
