"""回访: after a case is closed the centre calls the reporter back and asks how it was handled.

Each call is kept (reached or not, with a satisfaction score of 1, very dissatisfied, to 5,
very satisfied, when reached); the case shows the latest score. A reporter who is not satisfied
is a reason to reopen the case (:func:`geogrid.cases.records.reopen`), which is a separate,
deliberate step.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text

from geogrid.cases.lifecycle import STATUS_ZH
from geogrid.errors import ConflictError, InvalidInputError, NotFoundError
from geogrid.i18n import tr

SATISFACTION_ZH = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}


@dataclass(frozen=True)
class Visit:
    """One 回访 call."""

    id: int
    case_id: int
    at: datetime
    actor: str
    reached: bool
    satisfaction: int | None
    note: str


def record_visit(
    conn: Connection,
    case_id: int,
    actor: str,
    *,
    reached: bool,
    satisfaction: int | None,
    note: str = "",
) -> Visit:
    """Record a 回访 call on a closed case.

    Raises
    ------
    InvalidInputError
        A reached reporter without a score, a score without reaching anyone, or a score
        outside 1-5 (422).
    ConflictError
        The case is not closed (409).
    """
    if reached and satisfaction is None:
        raise InvalidInputError(tr("a reporter who was reached gives a satisfaction score (1-5)"))
    if not reached and satisfaction is not None:
        raise InvalidInputError(tr("a satisfaction score needs the reporter to have been reached"))
    if satisfaction is not None and satisfaction not in SATISFACTION_ZH:
        raise InvalidInputError(
            tr("satisfaction was {satisfaction} but must be 1 to 5", satisfaction=satisfaction)
        )
    status = conn.execute(
        text("SELECT status FROM civic_case WHERE id = :id FOR UPDATE"), {"id": case_id}
    ).scalar()
    if status is None:
        raise NotFoundError(tr("case {case_id} does not exist", case_id=case_id))
    if status != "closed":
        raise ConflictError(
            tr(
                "case {case_id} is {status}: 回访 follows closing (结案)",
                case_id=case_id,
                status=status,
                status_zh=STATUS_ZH[status],
            )
        )
    row = conn.execute(
        text(
            "INSERT INTO case_visit (case_id, actor, reached, satisfaction, note) "
            "VALUES (:id, :actor, :reached, :s, :note) "
            "RETURNING id, case_id, at, actor, reached, satisfaction, note"
        ),
        {"id": case_id, "actor": actor, "reached": reached, "s": satisfaction, "note": note},
    ).one()
    if satisfaction is not None:
        conn.execute(
            text("UPDATE civic_case SET satisfaction = :s WHERE id = :id"),
            {"s": satisfaction, "id": case_id},
        )
    conn.execute(
        text(
            "INSERT INTO case_event (case_id, actor, kind, note, details) "
            "VALUES (:id, :actor, 'visit', :note, CAST(:details AS jsonb))"
        ),
        {
            "id": case_id,
            "actor": actor,
            "note": note,
            "details": json.dumps({"reached": reached, "satisfaction": satisfaction}),
        },
    )
    return Visit(*row)


def list_visits(conn: Connection, case_id: int) -> list[Visit]:
    """A case's 回访 calls, oldest first."""
    rows = conn.execute(
        text(
            "SELECT id, case_id, at, actor, reached, satisfaction, note FROM case_visit "
            "WHERE case_id = :id ORDER BY id"
        ),
        {"id": case_id},
    )
    return [Visit(*row) for row in rows]
