"""Supervision of cases in 处置: extensions (延期), urging (催办) and 督办.

A handler who cannot finish in time asks for more hours, with a reason (延期申请); a supervisor
approves or rejects the request, and never their own. An approved extension moves the 处置 due
time on by its hours, on the case's clock, and the case's yellow and red warnings with it. One
request at a time is pending on a case.

催办 (urging) is a reminder that a case is waiting: anyone who handles cases may send one, and
each is counted on the case. 督办 is a supervisor's formal order to see a case through: the case
is marked supervised from then on. Both are events in the case's history, and both may only be
given to a case that is still open.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from geogrid.calendar import WorkCalendar
from geogrid.cases.categories import MAX_HANDLING_HOURS
from geogrid.cases.deadlines import due_after
from geogrid.cases.lifecycle import STATUS_ZH
from geogrid.cases.notices import announce
from geogrid.cases.records import get_case
from geogrid.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    SeparationOfDutiesError,
)
from geogrid.i18n import tr

#: Statuses in which a case is in 处置 (on hold from them too): extensions apply there.
IN_HANDLING = frozenset({"dispatched", "in_progress"})
#: Statuses in which a case may be urged or put under 督办.
OPEN = frozenset({"reported", "accepted", "dispatched", "in_progress", "handled", "on_hold"})
EXTENSION_STATUS_ZH = {
    "pending": "待审批",
    "approved": "已批准",
    "rejected": "已驳回",
    "withdrawn": "已撤回",
}


@dataclass(frozen=True)
class Extension:
    """A request for more 处置 hours and its decision."""

    id: int
    case_id: int
    hours: float
    reason: str
    requested_by: str
    requested_at: datetime
    status: str
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str


_COLUMNS = (
    "id, case_id, hours, reason, requested_by, requested_at, status, decided_by, decided_at, "
    "decision_note"
)


def _case(conn: Connection, case_id: int) -> Any:
    row = conn.execute(
        text(
            "SELECT id, status, held_from, clock, clock_due_at, stage_yellow_at, "
            "stage_due_at, now() AS now FROM civic_case WHERE id = :id FOR UPDATE"
        ),
        {"id": case_id},
    ).one_or_none()
    if row is None:
        raise NotFoundError(tr("case {case_id} does not exist", case_id=case_id))
    return row


def _event(
    conn: Connection, case_id: int, actor: str, kind: str, note: str, details: dict[str, Any]
) -> None:
    conn.execute(
        text(
            "INSERT INTO case_event (case_id, actor, kind, note, details) "
            "VALUES (:id, :actor, :kind, :note, CAST(:details AS jsonb))"
        ),
        {
            "id": case_id,
            "actor": actor,
            "kind": kind,
            "note": note,
            "details": json.dumps(details, ensure_ascii=False),
        },
    )


def request_extension(
    conn: Connection, case_id: int, hours: float, reason: str, actor: str
) -> Extension:
    """Ask for ``hours`` more 处置 time on a case in 处置.

    Raises
    ------
    InvalidInputError
        No reason, or hours not within (0, :data:`MAX_HANDLING_HOURS`] (422).
    ConflictError
        The case is not in 处置, or a request is already pending on it (409).
    """
    if not reason.strip():
        raise InvalidInputError(tr("an extension request needs a reason"))
    if not 0 < hours <= MAX_HANDLING_HOURS:  # also refuses NaN
        raise InvalidInputError(
            tr(
                "an extension was {hours} hours but must be more than 0 and at most {maximum}",
                hours=f"{hours:g}",
                maximum=MAX_HANDLING_HOURS,
            )
        )
    case = _case(conn, case_id)
    if (case.held_from or case.status) not in IN_HANDLING:
        raise ConflictError(
            tr(
                "case {case_id} is {status}: only a case in 处置 (dispatched or in progress) "
                "can be given more time",
                case_id=case_id,
                status=case.status,
                status_zh=STATUS_ZH[case.status],
            )
        )
    pending = conn.execute(
        text("SELECT id FROM case_extension WHERE case_id = :id AND status = 'pending'"),
        {"id": case_id},
    ).scalar()
    if pending is not None:
        raise ConflictError(
            tr(
                "extension request {pending} on case {case_id} is still waiting for a "
                "supervisor; ask again once it is decided",
                pending=pending,
                case_id=case_id,
            ),
            details={"pending": pending},
        )
    row = conn.execute(
        text(
            "INSERT INTO case_extension (case_id, hours, reason, requested_by) "
            f"VALUES (:id, :hours, :reason, :actor) RETURNING {_COLUMNS}"
        ),
        {"id": case_id, "hours": hours, "reason": reason.strip(), "actor": actor},
    ).one()
    _event(
        conn,
        case_id,
        actor,
        "extension",
        reason.strip(),
        {"action": "requested", "extension": row.id, "hours": hours},
    )
    return Extension(*row)


def decide_extension(
    conn: Connection,
    case_id: int,
    extension_id: int,
    approve: bool,
    actor: str,
    note: str,
    calendar: WorkCalendar,
) -> Extension:
    """Approve or reject a pending request; approval moves the 处置 due time on.

    Raises
    ------
    NotFoundError
        No such request on this case (404).
    ConflictError
        The request was decided already (409).
    SeparationOfDutiesError
        ``actor`` asked for it (403): nobody approves their own extension.
    InvalidInputError
        A rejection without a note saying why (422).
    """
    case = _case(conn, case_id)
    found = conn.execute(
        text(f"SELECT {_COLUMNS} FROM case_extension WHERE id = :e AND case_id = :id FOR UPDATE"),
        {"e": extension_id, "id": case_id},
    ).one_or_none()
    if found is None:
        raise NotFoundError(
            tr(
                "case {case_id} has no extension request {extension_id}",
                case_id=case_id,
                extension_id=extension_id,
            )
        )
    extension = Extension(*found)
    if extension.status != "pending":
        raise ConflictError(
            tr(
                "extension request {extension_id} was {status} already",
                extension_id=extension_id,
                status=extension.status,
                status_zh=EXTENSION_STATUS_ZH[extension.status],
            )
        )
    if extension.requested_by == actor:
        raise SeparationOfDutiesError(
            tr(
                "separation of duties: {actor} asked for this extension and cannot decide it; "
                "another supervisor must",
                actor=actor,
            ),
            details={"rule": "approver_is_not_requester"},
        )
    if not approve and not note.strip():
        raise InvalidInputError(tr("rejecting an extension needs a note saying why"))
    decided = "approved" if approve else "rejected"
    if approve and (case.held_from or case.status) in IN_HANDLING:
        clock = case.clock or "working"

        def later(at: datetime | None) -> datetime | None:
            return None if at is None else due_after(calendar, clock, at, extension.hours).at

        due = later(case.clock_due_at)
        conn.execute(
            text(
                "UPDATE civic_case SET extended_hours = extended_hours + :h, clock_due_at = :due, "
                "stage_due_at = :due, stage_yellow_at = :yellow, calendar_missing = :missing, "
                "stage_warned = CASE WHEN :due > now() THEN NULL ELSE stage_warned END "
                "WHERE id = :id"
            ),
            {
                "h": extension.hours,
                "due": due,
                "yellow": later(case.stage_yellow_at),
                "missing": due is None,
                "id": case_id,
            },
        )
    elif approve:  # it left 处置 while the request waited: nothing to extend
        raise ConflictError(
            tr(
                "case {case_id} is {status} and no longer in 处置: reject the request instead",
                case_id=case_id,
                status=case.status,
                status_zh=STATUS_ZH[case.status],
            )
        )
    row = conn.execute(
        text(
            "UPDATE case_extension SET status = :s, decided_by = :actor, decided_at = now(), "
            f"decision_note = :note WHERE id = :e RETURNING {_COLUMNS}"
        ),
        {"s": decided, "actor": actor, "note": note.strip(), "e": extension_id},
    ).one()
    _event(
        conn,
        case_id,
        actor,
        "extension",
        note.strip(),
        {"action": decided, "extension": extension_id, "hours": extension.hours},
    )
    return Extension(*row)


def list_extensions(
    conn: Connection, *, case_id: int | None = None, status: str | None = None, limit: int = 200
) -> list[Extension]:
    """Extension requests, newest first: a case's, or every one waiting (``status='pending'``)."""
    rows = conn.execute(
        text(
            f"SELECT {_COLUMNS} FROM case_extension WHERE (CAST(:id AS bigint) IS NULL "
            "OR case_id = :id) AND (CAST(:s AS text) IS NULL OR status = :s) "
            "ORDER BY id DESC LIMIT :n"
        ),
        {"id": case_id, "s": status, "n": limit},
    )
    return [Extension(*row) for row in rows]


def urge(conn: Connection, case_id: int, actor: str, note: str) -> int:
    """催办: remind whoever holds an open case that it is waiting. Returns the case's count."""
    case = _case(conn, case_id)
    _open(case, case_id, "催办")
    count = conn.execute(
        text("UPDATE civic_case SET urged = urged + 1 WHERE id = :id RETURNING urged"),
        {"id": case_id},
    ).scalar_one()
    _event(conn, case_id, actor, "urged", note.strip(), {"count": count})
    announce(conn, "case.supervised", get_case(conn, case_id), actor=actor, how="催办", note=note)
    return int(count)


def supervise(conn: Connection, case_id: int, actor: str, note: str) -> None:
    """督办: a supervisor orders an open case seen through; it is marked supervised."""
    if not note.strip():
        raise InvalidInputError(tr("督办 needs a note saying what is required"))
    case = _case(conn, case_id)
    _open(case, case_id, "督办")
    conn.execute(
        text("UPDATE civic_case SET supervised_at = coalesce(supervised_at, now()) WHERE id = :id"),
        {"id": case_id},
    )
    _event(conn, case_id, actor, "supervised", note.strip(), {})
    announce(conn, "case.supervised", get_case(conn, case_id), actor=actor, how="督办", note=note)


def _open(case: Any, case_id: int, what: str) -> None:
    if case.status not in OPEN:
        raise ConflictError(
            tr(
                "case {case_id} is {status}: {what} is for open cases",
                case_id=case_id,
                status=case.status,
                status_zh=STATUS_ZH[case.status],
                what=what,
            )
        )
