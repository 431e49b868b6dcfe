"""Roles, permissions and personal-data masking (docs/architecture.md, "Access").

Roles are sets of permissions, not a ladder: a planner may edit plans but not handle cases, a
dispatcher may handle cases but not edit plans, and neither outranks the other. The admin, the
district's system administrator, holds every permission (it manages accounts and may stand in
for anyone). Anonymous callers are viewers, who hold none. Names and phone numbers of grid
leaders, party contacts and case reporters are masked (张** / 138****0000) for everyone without
the ``see_personal_data`` permission.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol, TypeVar

from sqlalchemy import Connection

from geogrid.errors import InvalidInputError, PermissionDeniedError
from geogrid.i18n import tr
from geogrid.responsibility.departments import get_department


class Permission(enum.Enum):
    """One thing a role may do."""

    see_personal_data = "see_personal_data"
    report_cases = "report_cases"
    #: import a file of cases (a case centre's back-entry or a migration), not one report
    import_cases = "import_cases"
    handle_cases = "handle_cases"
    edit_plans = "edit_plans"
    publish_plans = "publish_plans"
    manage_users = "manage_users"
    manage_keys = "manage_keys"
    manage_catalogue = "manage_catalogue"
    manage_calendar = "manage_calendar"
    read_audit = "read_audit"
    #: sign for (签收), return (退单) and handle (反馈) the cases of one's own department
    handle_department_cases = "handle_department_cases"
    #: check a handled case (核查), passing it or sending it back
    verify_cases = "verify_cases"
    #: approve extensions, 督办/催办 (the supervisor's work)
    supervise_cases = "supervise_cases"
    #: the departments and the responsibility list
    manage_departments = "manage_departments"
    #: the registers of people and organisations (load a file, download one)
    manage_organisations = "manage_organisations"


PERMISSION_ZH = {
    Permission.see_personal_data: "查看个人信息",
    Permission.report_cases: "上报案件",
    Permission.import_cases: "批量导入案件",
    Permission.handle_cases: "办理案件",
    Permission.edit_plans: "编辑规划",
    Permission.publish_plans: "发布规划",
    Permission.manage_users: "管理用户",
    Permission.manage_keys: "管理密钥",
    Permission.manage_catalogue: "管理案件分类",
    Permission.manage_calendar: "管理工作日历",
    Permission.read_audit: "查看审计日志",
    Permission.handle_department_cases: "办理本部门案件",
    Permission.verify_cases: "核查案件",
    Permission.supervise_cases: "督办案件",
    Permission.manage_departments: "管理职能部门与责任清单",
    Permission.manage_organisations: "管理人员与组织名册",
}


class Role(enum.Enum):
    """Access roles; what each may do is :data:`ROLE_PERMISSIONS`."""

    viewer = "viewer"
    dispatcher = "dispatcher"
    planner = "planner"
    handler = "handler"
    supervisor = "supervisor"
    admin = "admin"
    #: reports cases and nothing else: a mobile grid's courier or rider (随手拍)
    reporter = "reporter"

    @classmethod
    def parse(cls, name: str) -> Role:
        try:
            return cls[name.strip().lower()]
        except KeyError:
            raise ValueError(
                f'role was "{name}" but must be one of {[r.name for r in cls]}'
            ) from None

    @property
    def permissions(self) -> frozenset[Permission]:
        return ROLE_PERMISSIONS[self]


#: What each role may do (the table in the README, "Who may do what").
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.viewer: frozenset(),
    Role.dispatcher: frozenset(
        {
            Permission.see_personal_data,
            Permission.report_cases,
            Permission.import_cases,
            Permission.handle_cases,
            Permission.verify_cases,
        }
    ),
    # a department's handler: only the cases of the department the account or key is tied to
    Role.handler: frozenset({Permission.see_personal_data, Permission.handle_department_cases}),
    Role.supervisor: frozenset(
        {Permission.see_personal_data, Permission.verify_cases, Permission.supervise_cases}
    ),
    Role.planner: frozenset(
        {Permission.see_personal_data, Permission.edit_plans, Permission.publish_plans}
    ),
    Role.admin: frozenset(Permission),
    # reports what they see (a mobile grid's courier or rider) and handles nothing
    Role.reporter: frozenset({Permission.report_cases}),
}
ROLE_ZH = {
    Role.viewer: "查看者",
    Role.dispatcher: "调度员",
    Role.planner: "规划员",
    Role.handler: "部门处置人员",
    Role.supervisor: "督办员",
    Role.admin: "管理员",
    Role.reporter: "上报员",
}


class Maskable(Protocol):
    """Anything that carries personal data and can give a masked copy of itself."""

    def masked(self: M) -> M: ...


M = TypeVar("M", bound=Maskable)


@dataclass(frozen=True)
class Principal:
    """Who is asking: a key's name and role, a signed-in user, or the anonymous viewer.

    ``kind`` is "key", "user" or "anonymous"; a user's writes through a session cookie must
    carry the session's CSRF token (geogrid.access.sessions). ``department`` is the department
    (code) a handler's account or key is tied to; a handler acts only on that department's
    cases (geogrid.cases.duties).
    """

    name: str | None
    role: Role
    kind: str = "key"
    department: str | None = None
    #: the person a key acts for (its owner's user name); None for users and system keys
    owner: str | None = None

    @property
    def actor(self) -> str:
        """Who acts, as steps, events and the audit log record it: a signed-in user's name, a
        key's owner, else the key's own name ("anonymous" without either)."""
        return self.owner or self.name or "anonymous"

    @property
    def account(self) -> str | None:
        """The account (user name) of the person asking: a signed-in user's, or a key's
        owner's; None for a system's key and anonymous callers. Its person (display name and
        phone) is how the registers know them (a mobile grid's member reporting a case)."""
        return self.name if self.kind == "user" else self.owner

    @property
    def permissions(self) -> frozenset[Permission]:
        return self.role.permissions

    def may(self, permission: Permission) -> bool:
        return permission in self.role.permissions

    @property
    def sees_personal_data(self) -> bool:
        return self.may(Permission.see_personal_data)

    def visible(self, thing: M) -> M:
        """``thing`` as this principal may see it: masked without ``see_personal_data``.

        The one place that decides masking; ``thing`` says how it masks itself (a person, a
        grid, a case).
        """
        return thing if self.sees_personal_data else thing.masked()

    def require(self, permission: Permission, *alternatives: Permission) -> None:
        """Raise PermissionDeniedError unless this principal holds ``permission`` (or one of
        ``alternatives``)."""
        needed = (permission, *alternatives)
        if not any(self.may(p) for p in needed):
            if self.kind == "user":
                who = f'user "{self.name}"'
            elif self.name:
                who = f'key "{self.name}"'
            else:
                who = "anonymous callers"
            raise PermissionDeniedError(
                tr(
                    "this needs the {needs} permission, which the {has} role of {who} "
                    "does not hold",
                    needs=" or ".join(p.value for p in needed),
                    who=who,
                    has=self.role.name,
                    needs_zh="或".join(PERMISSION_ZH[p] for p in needed),
                    has_zh=ROLE_ZH[self.role],
                ),
            )


ANONYMOUS = Principal(None, Role.viewer, "anonymous")


def check_handler_department(conn: Connection, role: Role, department: str | None) -> str | None:
    """The department (code) an account or key of ``role`` is tied to: it must exist, and a
    handler must have one (a handler acts only on its department's cases)."""
    if department is not None:
        return get_department(conn, department).code
    if role is Role.handler:
        raise InvalidInputError(
            tr("a handler acts for a department: name the department (its code)")
        )
    return None


def mask_name(name: str | None) -> str | None:
    """Keep the first character (the surname) and star the rest.

    Examples
    --------
    >>> mask_name("张三丰"), mask_name("李四"), mask_name(None)
    ('张**', '李*', None)
    """
    if not name:
        return name
    return name[0] + "*" * max(len(name) - 1, 1)


def mask_phone(phone: str | None) -> str | None:
    """Keep the first three and last four digits.

    Examples
    --------
    >>> mask_phone("13812340000")
    '138****0000'
    """
    if not phone:
        return phone
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
