"""Who may make which move on a case, and the separation of duties.

Every move a case can make has a name (立案, 派遣, 签收, 反馈, 核查 …) and a duty in
:data:`DUTIES`: the permissions that may make it, whether it belongs to the case's department,
and whether the person who handled the case (reported it handled, 反馈) is barred from it.
This table is the README's "Who may do what"; the API and the console both come through
:func:`authorize`, so neither can drift from it.

- **Department moves** (签收 sign for, 退单 return, 反馈 handle) belong to the handlers of the
  case's department (``handle_department_cases``, the account or key tied to that department).
  A case whose category the responsibility list gives no department stays with its grid's
  street office, whose work the case centre's dispatchers (``handle_cases``) record for it.
- **Separation of duties**: whoever verifies (核查, passed or failed) or closes (结案) a case is
  not the person who reported it handled. The admin holds every permission but is bound by
  this rule too.
- The actor of every move is the signed-in person or the key (its name) that made it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from geogrid.access.roles import Permission, Principal, Role
from geogrid.cases.lifecycle import FINAL, STATUS_ZH, check_move
from geogrid.cases.notices import announce
from geogrid.cases.records import (
    Case,
    case_from_row,
    get_case,
    keep_stages,
    lock_case,
    transition,
)
from geogrid.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    SeparationOfDutiesError,
)
from geogrid.i18n import tr
from geogrid.responsibility import get_department
from geogrid.settings import CaseSettings


class NotYourDepartmentError(PermissionDeniedError):
    """A department move on a case of another department (or of none, by a handler)."""

    code = "not_your_department"


@dataclass(frozen=True)
class Duty:
    """Who may make one move."""

    name_zh: str
    name_en: str
    permissions: tuple[Permission, ...]
    #: made by the handlers of the case's department (or dispatchers when it has none)
    department: bool = False
    #: never by the person who reported the case handled
    not_by_handler: bool = False


#: Every move, by name: the role × transition table of the README.
DUTIES: dict[str, Duty] = {
    "accept": Duty("立案", "accept", (Permission.handle_cases,)),
    "dispatch": Duty("派遣", "dispatch", (Permission.handle_cases,)),
    "sign": Duty("签收", "sign for", (Permission.handle_department_cases,), department=True),
    "return": Duty("退单", "return", (Permission.handle_department_cases,), department=True),
    "handle": Duty(
        "反馈", "report handled", (Permission.handle_department_cases,), department=True
    ),
    "verify": Duty("核查", "verify", (Permission.verify_cases,), not_by_handler=True),
    "fail": Duty(
        "核查不通过", "fail the check of", (Permission.verify_cases,), not_by_handler=True
    ),
    "close": Duty("结案", "close", (Permission.handle_cases,), not_by_handler=True),
    "hold": Duty("挂账", "put on hold", (Permission.handle_cases,)),
    "resume": Duty("解除挂账", "resume", (Permission.handle_cases,)),
    "void": Duty("作废", "void", (Permission.handle_cases,)),
    "escalate": Duty(
        "吹哨报到",
        "escalate",
        (
            Permission.handle_cases,
            Permission.supervise_cases,
            Permission.handle_department_cases,
        ),
    ),
    "assign": Duty("改派部门", "assign", (Permission.handle_cases,)),
    # after dispatch (geogrid/cases/supervision.py, visits.py, records.reopen)
    "extend": Duty(
        "申请延期", "ask for more time on", (Permission.handle_department_cases,), department=True
    ),
    "decide": Duty("审批延期", "decide an extension of", (Permission.supervise_cases,)),
    "urge": Duty("催办", "urge", (Permission.handle_cases, Permission.supervise_cases)),
    "supervise": Duty("督办", "supervise", (Permission.supervise_cases,)),
    "visit": Duty("回访", "call back the reporter of", (Permission.handle_cases,)),
    "reopen": Duty("重新办理", "reopen", (Permission.handle_cases, Permission.supervise_cases)),
}
#: The move a status change is.
MOVE_OF: dict[tuple[str, str], str] = {
    ("reported", "accepted"): "accept",
    ("accepted", "dispatched"): "dispatch",
    ("dispatched", "in_progress"): "sign",
    ("in_progress", "handled"): "handle",
    ("handled", "verified"): "verify",
    ("handled", "in_progress"): "fail",
    ("verified", "closed"): "close",
}
#: The permissions that may make some move (the transitions endpoint's first check).
ANY_MOVE = (Permission.handle_cases, Permission.handle_department_cases, Permission.verify_cases)
#: Escalation levels, lowest first.
LEVELS = ("street", "district")
LEVEL_ZH = {"street": "街道", "district": "区级"}


def move_name(status: str, to: str) -> str:
    """The name of the move from ``status`` to ``to`` (a legal one).

    Examples
    --------
    >>> move_name("dispatched", "in_progress"), move_name("on_hold", "accepted")
    ('sign', 'resume')
    """
    if to == "void":
        return "void"
    if to == "on_hold":
        return "hold"
    if status == "on_hold":
        return "resume"
    return MOVE_OF[(status, to)]


def _actor(principal: Principal) -> str:
    return principal.actor


def _who(principal: Principal) -> str:
    kind = "user" if principal.kind == "user" else "key"
    return f'{kind} "{_actor(principal)}"'


def handled_by(conn: Connection, case_id: int) -> str | None:
    """Who last reported the case handled (反馈), or None."""
    return conn.execute(
        text(
            "SELECT actor FROM case_event WHERE case_id = :id AND kind = 'transition' "
            "AND to_status = 'handled' ORDER BY id DESC LIMIT 1"
        ),
        {"id": case_id},
    ).scalar()


def may(principal: Principal, move: str, department: str | None, handler: str | None) -> bool:
    """Whether ``principal`` may make ``move`` on a case of ``department`` (None: its grid)
    that ``handler`` reported handled; :func:`authorize` says why not."""
    try:
        _check(principal, move, 0, department, handler)
    except PermissionDeniedError:
        return False
    return True


def _check(
    principal: Principal, move: str, case_id: int, department: str | None, handler: str | None
) -> None:
    duty = DUTIES[move]
    if principal.role is not Role.admin:
        if duty.department:
            _check_department(principal, duty, case_id, department)
        else:
            principal.require(*duty.permissions)
            if (
                move == "escalate"
                and not principal.may(Permission.handle_cases)
                and not principal.may(Permission.supervise_cases)
            ):
                _check_department(principal, duty, case_id, department)
    if duty.not_by_handler and handler is not None and handler == _actor(principal):
        raise SeparationOfDutiesError(
            tr(
                "separation of duties: {who} reported case {case_id} handled, so another person "
                "must {move} it",
                who=_who(principal),
                case_id=case_id,
                move=duty.name_en,
                move_zh=duty.name_zh,
            ),
            details={"rule": "separation_of_duties", "handled_by": handler, "move": move},
        )


def _check_department(
    principal: Principal, duty: Duty, case_id: int, department: str | None
) -> None:
    if department is None:
        # no department answers for it: the grid's street office, through the dispatchers
        if principal.may(Permission.handle_cases):
            return
        principal.require(Permission.handle_cases)
    if principal.may(Permission.handle_department_cases) and principal.department == department:
        return
    if not principal.may(Permission.handle_department_cases) and not principal.may(
        Permission.handle_cases
    ):
        principal.require(Permission.handle_department_cases)
    raise NotYourDepartmentError(
        tr(
            "case {case_id} is with department {department}; {who} acts for {mine}, so it "
            "cannot {move} it",
            case_id=case_id,
            department=department,
            who=_who(principal),
            mine=principal.department or "no department",
            mine_zh=principal.department or "无部门",
            move=duty.name_en,
            move_zh=duty.name_zh,
        ),
        details={"case_department": department, "your_department": principal.department},
    )


def _locked(conn: Connection, case_id: int) -> Any:
    row = conn.execute(
        text(
            "SELECT id, status, held_from, department_code, escalation_level, created_by "
            "FROM civic_case WHERE id = :id FOR UPDATE"
        ),
        {"id": case_id},
    ).one_or_none()
    if row is None:
        raise NotFoundError(tr("case {case_id} does not exist", case_id=case_id))
    return row


def authorize(conn: Connection, principal: Principal, case_id: int, move: str) -> Any:
    """Lock the case and raise unless ``principal`` may make ``move`` on it; returns the row.

    Raises
    ------
    PermissionDeniedError
        The principal's role holds none of the move's permissions (403, ``forbidden``).
    NotYourDepartmentError
        A department move on another department's case (403, ``not_your_department``).
    SeparationOfDutiesError
        The person who reported the case handled verifies or closes it (403,
        ``separation_of_duties``).
    """
    row = _locked(conn, case_id)
    handler = handled_by(conn, case_id) if DUTIES[move].not_by_handler else None
    _check(principal, move, case_id, row.department_code, handler)
    return row


def move_case(
    conn: Connection,
    principal: Principal,
    case_id: int,
    to: str,
    note: str = "",
    settings: CaseSettings | None = None,
    urgency: str | None = None,
    at: datetime | None = None,
) -> Case:
    """Move a case to ``to`` as ``principal``: a legal move (409 otherwise) that the
    principal's duty allows (403 otherwise), then :func:`geogrid.cases.records.transition`
    (``urgency`` at 立案, ``at`` for a step entered late)."""
    row = _locked(conn, case_id)
    check_move(row.status, to, row.held_from)
    authorize(conn, principal, case_id, move_name(row.status, to))
    return transition(conn, case_id, to, _actor(principal), note, settings, urgency, at)


def _need_reason(reason: str, what: str, what_zh: str) -> str:
    if not reason.strip():
        raise InvalidInputError(tr("{what} needs a reason", what=what, what_zh=what_zh))
    return reason.strip()


def return_case(conn: Connection, principal: Principal, case_id: int, reason: str) -> Case:
    """退单: a department hands a dispatched case back to the dispatchers, with a reason, to be
    dispatched again (to it or, after :func:`assign_department`, to another department)."""
    reason = _need_reason(reason, "returning a case (退单)", "退单")
    row = authorize(conn, principal, case_id, "return")
    if row.status != "dispatched":
        raise ConflictError(
            tr(
                "only a dispatched case can be returned; case {case_id} is {status}",
                case_id=case_id,
                status=row.status,
                status_zh=STATUS_ZH[row.status],
            )
        )
    before = lock_case(conn, case_id)
    conn.execute(
        text(
            "UPDATE civic_case SET status = 'accepted', dispatched_at = NULL, updated_at = now() "
            "WHERE id = :id"
        ),
        {"id": case_id},
    )
    keep_stages(conn, before, "accepted")  # its span in 处置 ends; 派遣 starts again
    _event(
        conn,
        case_id,
        principal,
        "returned",
        reason,
        {"department": row.department_code},
        "dispatched",
        "accepted",
    )
    case = get_case(conn, case_id)
    announce(conn, "case.returned", case, actor=_actor(principal), reason=reason)
    return case


def escalate(conn: Connection, principal: Principal, case_id: int, level: str, reason: str) -> Case:
    """吹哨报到: raise an open case to the street or the district, with a reason. A case goes
    up only (street, then district)."""
    if level not in LEVELS:
        raise InvalidInputError(
            tr(
                'level was "{level}" but must be one of {levels}',
                level=level[:40],
                levels=list(LEVELS),
            )
        )
    reason = _need_reason(reason, "escalating a case (吹哨报到)", "吹哨报到")
    row = authorize(conn, principal, case_id, "escalate")
    if row.status in FINAL:
        raise ConflictError(
            tr(
                "case {case_id} is {status} and cannot be escalated",
                case_id=case_id,
                status=row.status,
                status_zh=STATUS_ZH[row.status],
            )
        )
    current = row.escalation_level
    if current is not None and LEVELS.index(level) <= LEVELS.index(current):
        raise ConflictError(
            tr(
                "case {case_id} is escalated to the {current} already; it can only go higher",
                case_id=case_id,
                current=current,
                current_zh=LEVEL_ZH[current],
            )
        )
    conn.execute(
        text("UPDATE civic_case SET escalation_level = :l, updated_at = now() WHERE id = :id"),
        {"l": level, "id": case_id},
    )
    _event(conn, case_id, principal, "escalated", reason, {"level": level, "from_level": current})
    case = get_case(conn, case_id)
    announce(conn, "case.escalated", case, actor=_actor(principal), level=level, reason=reason)
    return case


def assign_department(
    conn: Connection, principal: Principal, case_id: int, department: str, reason: str
) -> Case:
    """A dispatcher names another department for a case not yet dispatched (after a 退单, or
    when the responsibility list is wrong for it), with a reason."""
    reason = _need_reason(reason, "assigning a case to another department", "改派部门")
    row = authorize(conn, principal, case_id, "assign")
    found = get_department(conn, department)
    if not found.active:
        raise ConflictError(tr("department {code} is inactive and takes no cases", code=found.code))
    if row.status not in ("reported", "accepted"):
        raise ConflictError(
            tr(
                "case {case_id} is {status}; a department can be assigned only before dispatch "
                "(a department returns a dispatched case first)",
                case_id=case_id,
                status=row.status,
                status_zh=STATUS_ZH[row.status],
            )
        )
    conn.execute(
        text("UPDATE civic_case SET department_code = :d, updated_at = now() WHERE id = :id"),
        {"d": found.code, "id": case_id},
    )
    _event(
        conn,
        case_id,
        principal,
        "assigned",
        reason,
        {"from_department": row.department_code, "to_department": found.code},
    )
    return get_case(conn, case_id)


def _event(
    conn: Connection,
    case_id: int,
    principal: Principal,
    kind: str,
    note: str,
    details: dict[str, Any],
    from_status: str | None = None,
    to_status: str | None = None,
) -> None:
    conn.execute(
        text(
            "INSERT INTO case_event (case_id, actor, kind, from_status, to_status, note, details) "
            "VALUES (:id, :actor, :kind, :from, :to, :note, CAST(:details AS jsonb))"
        ),
        {
            "id": case_id,
            "actor": _actor(principal),
            "kind": kind,
            "from": from_status,
            "to": to_status,
            "note": note,
            "details": json.dumps(details),
        },
    )


def waiting_for(conn: Connection, principal: Principal, limit: int = 200) -> list[Case]:
    """The cases of ``principal``'s department waiting for its handlers: dispatched ones to
    sign for (签收) and those in hand to report handled (反馈), the soonest due first."""
    if principal.department is None:
        return []
    rows = conn.execute(
        text(
            "SELECT * FROM case_view WHERE department_code = :d "
            "AND status IN ('dispatched', 'in_progress') "
            "ORDER BY due_at NULLS LAST, id LIMIT :limit"
        ),
        {"d": principal.department, "limit": limit},
    )
    return [case_from_row(r) for r in rows]


def may_add_photo(principal: Principal, created_by: str, department: str | None) -> bool:
    """Whether ``principal`` may add a photo to a case reported by ``created_by`` (an actor)
    and with ``department``: whoever handles cases at the centre; whoever only reports cases
    (a reporter: a courier), to the cases they reported — seeing more of another's case, they
    report it, and the dispatcher merges the duplicate; a department's handler on its own
    department's cases (the before and after photos of 处置)."""
    if principal.may(Permission.handle_cases):
        return True
    if principal.may(Permission.report_cases) and created_by == principal.actor:
        return True
    return may(principal, "handle", department, None)


def authorize_photo(conn: Connection, principal: Principal, case_id: int) -> None:
    """Raise unless ``principal`` may add a photo to the case (:func:`may_add_photo`)."""
    if principal.may(Permission.handle_cases):
        return
    row = _locked(conn, case_id)
    if principal.may(Permission.report_cases) and row.created_by == principal.actor:
        return
    if principal.may(Permission.handle_department_cases):
        authorize(conn, principal, case_id, "handle")
        return
    raise PermissionDeniedError(
        tr(
            "a reporter adds photos to the cases they reported; case {case_id} was reported "
            "by someone else (report what you see as a new case)",
            case_id=case_id,
        )
    )
