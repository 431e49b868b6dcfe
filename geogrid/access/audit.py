"""The audit log: who signed in, who failed, who was locked out, who changed an account or
an API key, who loaded a year's holiday notice into the working calendar.

One row per event, written in the transaction of what it records (a refused sign-in writes
its failure in a transaction of its own, so a refusal is never rolled back with it). Never a
password, never a session token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, text

#: Every event the log records.
EVENTS = (
    "sign_in",
    "sign_in_failed",
    "locked_out",
    "unlocked",
    "sign_out",
    "user_created",
    "user_disabled",
    "user_enabled",
    "password_reset",
    "role_changed",
    "department_changed",
    "person_changed",
    "key_created",
    "key_revoked",
    "calendar_loaded",
    "department_saved",
    "department_deactivated",
    "department_reactivated",
    "departments_loaded",
    "responsibility_saved",
    "responsibility_deleted",
    "responsibility_loaded",
    "register_loaded",
)
EVENT_ZH = {
    "sign_in": "登录",
    "sign_in_failed": "登录失败",
    "locked_out": "账号锁定",
    "unlocked": "解除锁定",
    "sign_out": "退出",
    "user_created": "创建用户",
    "user_disabled": "停用用户",
    "user_enabled": "启用用户",
    "password_reset": "重置密码",
    "role_changed": "更改角色",
    "department_changed": "更改所属部门",
    "person_changed": "更改本人姓名与电话",
    "key_created": "创建 API 密钥",
    "key_revoked": "吊销 API 密钥",
    "calendar_loaded": "载入工作日历",
    "department_saved": "保存部门",
    "department_deactivated": "停用部门",
    "department_reactivated": "启用部门",
    "departments_loaded": "导入部门",
    "responsibility_saved": "保存责任清单条目",
    "responsibility_deleted": "删除责任清单条目",
    "responsibility_loaded": "导入责任清单",
    "register_loaded": "导入人员与组织名册",
}


@dataclass(frozen=True)
class AuditEvent:
    id: int
    at: datetime
    event: str
    username: str | None
    actor: str | None
    address: str | None
    details: dict[str, Any]


def record(
    conn: Connection,
    event: str,
    username: str | None,
    *,
    actor: str | None = None,
    address: str | None = None,
    **details: Any,
) -> None:
    """Write one event (``event`` one of :data:`EVENTS`)."""
    if event not in EVENTS:
        raise ValueError(f'event was "{event}" but must be one of {EVENTS}')
    conn.execute(
        text(
            "INSERT INTO audit_event (event, username, actor, address, details) "
            "VALUES (:event, :username, :actor, :address, CAST(:details AS jsonb))"
        ),
        {
            "event": event,
            "username": username,
            "actor": actor,
            "address": address,
            "details": orjson.dumps(details).decode(),
        },
    )


def list_events(
    conn: Connection, *, username: str | None = None, limit: int = 100
) -> list[AuditEvent]:
    """The newest events first, of one user name (any case) or of everyone."""
    rows = conn.execute(
        text(
            "SELECT id, at, event, username, actor, address, details FROM audit_event "
            "WHERE CAST(:username AS text) IS NULL OR lower(username) = lower(:username) "
            "ORDER BY at DESC, id DESC LIMIT :limit"
        ),
        {"username": username, "limit": limit},
    )
    return [AuditEvent(**r._mapping) for r in rows]
