"""/console/admin/users and /console/admin/audit: accounts, and who did what.

Every change goes through geogrid.access.users with the admin as ``actor`` (so it is in the
audit log), and those functions keep the district's last active admin: no admin disables
their own account or takes their own admin role. A password is written, never shown; the
page shows no hash.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from geogrid.access import audit, users
from geogrid.access.roles import ROLE_ZH, Permission, Role
from geogrid.access.sessions import SignedIn
from geogrid.api.deps import ConnDep
from geogrid.api.routes.console.admin.forms import REFUSALS, done, done_message, refused
from geogrid.api.routes.console.pages import need, page
from geogrid.console import local_time
from geogrid.errors import InvalidInputError
from geogrid.responsibility import list_departments
from geogrid.settings import AuthSettings

router = APIRouter()
ManagerDep = Annotated[SignedIn, Depends(need(Permission.manage_users))]
AuditorDep = Annotated[SignedIn, Depends(need(Permission.read_audit))]
Password = Annotated[str, Form(max_length=1024)]

DONE = {
    "created": "已创建用户 {name}，现在可以用设置的密码登录。",
    "disabled": "已停用用户 {name}，其所有会话已结束。",
    "enabled": "已启用用户 {name}。",
    "password": "已重置 {name} 的密码，其所有会话已结束。",
    "unlocked": "已解除 {name} 的锁定。",
    "role": "已更改 {name} 的角色，下一次请求起生效。",
    "department": "已更改 {name} 的所属部门，下一次请求起生效。",
    "person": "已更改 {name} 的姓名与电话。",
}
#: Roles in the order the form offers them.
ROLES = [
    (r.name, ROLE_ZH[r])
    for r in (
        Role.dispatcher,
        Role.handler,
        Role.supervisor,
        Role.planner,
        Role.viewer,
        Role.reporter,
        Role.admin,
    )
]


def _users_page(
    request: Request,
    conn: ConnDep,
    user: SignedIn,
    *,
    status: int = 200,
    error: str = "",
    create_error: str = "",
    draft: dict[str, str] | None = None,
) -> HTMLResponse:
    params = request.query_params
    return page(
        request,
        "admin_users.html",
        user,
        title="用户管理",
        active="users",
        status=status,
        accounts=users.list_users(conn),
        roles=ROLES,
        departments=list_departments(conn),
        role_zh_of={r.name: zh for r, zh in ROLE_ZH.items()},
        done=done_message(DONE, params.get("done"), params.get("name")),
        error=error,
        create_error=create_error,
        draft=draft
        or {
            "username": "",
            "display_name": "",
            "phone": "",
            "role": Role.dispatcher.name,
            "department": "",
        },
        may_read_audit=user.principal.may(Permission.read_audit),
    )


def _settings(request: Request) -> AuthSettings:
    settings: AuthSettings = request.app.state.auth_settings
    return settings


def _role(name: str) -> Role:
    try:
        return Role.parse(name)
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None


@router.get("/users")
def users_page(request: Request, user: ManagerDep, conn: ConnDep) -> HTMLResponse:
    """Every account, with the forms that change them."""
    return _users_page(request, conn, user)


@router.post("/users")
def create_user(
    request: Request,
    user: ManagerDep,
    conn: ConnDep,
    username: Annotated[str, Form(max_length=200)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=40)] = "",
    password: Password = "",
    password2: Password = "",
    department: Annotated[str, Form(max_length=40)] = "",
    phone: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Create an account with a first password the admin chose (a handler's tied to a
    department)."""
    draft = {
        "username": username,
        "display_name": display_name,
        "phone": phone,
        "role": role,
        "department": department,
    }
    if password != password2:
        return _users_page(
            request, conn, user, status=422, create_error="两次输入的密码不一致。", draft=draft
        )
    try:
        created = users.create_user(
            conn,
            username,
            _role(role),
            password,
            _settings(request),
            display_name=display_name,
            actor=user.username,
            department=department.strip() or None,
            phone=phone,
        )
    except REFUSALS as exc:
        status, text = refused(conn, exc)
        return _users_page(request, conn, user, status=status, create_error=text, draft=draft)
    return done(request, "/users", "created", created.username)


@router.post("/users/{username}/{action}")
def change_user(
    request: Request,
    user: ManagerDep,
    conn: ConnDep,
    username: str,
    action: str,
    role: Annotated[str, Form(max_length=40)] = "",
    password: Password = "",
    password2: Password = "",
    department: Annotated[str, Form(max_length=40)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    phone: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Disable, enable or unlock an account, give it a new password, another role or another
    department, or say who its person is (name and phone: how the registers know them)."""
    actor = user.username
    try:
        if action == "disable":
            changed = users.set_disabled(conn, username, True, actor=actor)
            what = "disabled"
        elif action == "enable":
            changed = users.set_disabled(conn, username, False, actor=actor)
            what = "enabled"
        elif action == "unlock":
            changed = users.unlock(conn, username, actor=actor)
            what = "unlocked"
        elif action == "role":
            changed = users.set_role(conn, username, _role(role), actor=actor)
            what = "role"
        elif action == "department":
            changed = users.set_department(conn, username, department.strip() or None, actor=actor)
            what = "department"
        elif action == "person":
            changed = users.set_person(conn, username, display_name, phone, actor=actor)
            what = "person"
        elif action == "password":
            if password != password2:
                raise InvalidInputError(f"为 {username[:64]} 两次输入的新密码不一致。")
            changed = users.reset_password(
                conn, username, password, _settings(request), actor=actor
            )
            what = "password"
        else:
            raise InvalidInputError(
                f'action was "{action[:20]}" but must be disable, enable, unlock, role, '
                "department, person or password"
            )
    except REFUSALS as exc:
        status, text = refused(conn, exc)
        return _users_page(request, conn, user, status=status, error=f"{username[:64]}：{text}")
    return done(request, "/users", what, changed.username)


#: How the details of an event read (never a password: the log holds none).
DETAIL_ZH = {
    "key": "密钥",
    "reason": "原因",
    "failures": "连续失败次数",
    "until": "锁定至",
    "role": "角色",
    "old": "原角色",
    "new": "新角色",
    "department": "部门",
    "name": "名称",
    "category": "类别",
    "area": "区域",
    "file": "文件",
    "rows": "行数",
    "active": "启用",
    "display_name": "姓名",
    "phone": "电话",
}
REASON_ZH = {
    "password": "密码错误",
    "unknown": "无此用户名",
    "disabled": "账号已停用",
    "locked": "账号已锁定",
}
ROLE_NAMES_ZH = {r.name: zh for r, zh in ROLE_ZH.items()}


def describe(details: dict[str, Any]) -> str:
    """An event's details in Chinese, e.g. "原因：密码错误；连续失败次数：3"."""
    parts = []
    rank = {name: i for i, name in enumerate(DETAIL_ZH)}  # jsonb keeps its keys sorted its way
    for name, value in sorted(details.items(), key=lambda kv: rank.get(kv[0], len(rank))):
        if name == "reason":
            value = REASON_ZH.get(str(value), value)
        elif name in ("role", "old", "new"):
            value = ROLE_NAMES_ZH.get(str(value), value)
        elif name == "active":
            value = "是" if value else "否"
        elif name == "until":
            value = local_time(str(value))
        parts.append(f"{DETAIL_ZH.get(name, name)}：{value}")
    return "；".join(parts)


@router.get("/audit")
def audit_page(
    request: Request, user: AuditorDep, conn: ConnDep, username: str = ""
) -> HTMLResponse:
    """The newest audit events, of everyone or of one user name."""
    name = username.strip()[:64]
    events = audit.list_events(conn, username=name or None, limit=200)
    return page(
        request,
        "admin_audit.html",
        user,
        title="审计日志",
        active="users",
        events=[(e, audit.EVENT_ZH.get(e.event, e.event), describe(e.details)) for e in events],
        username=name,
        may_manage_users=user.principal.may(Permission.manage_users),
    )
