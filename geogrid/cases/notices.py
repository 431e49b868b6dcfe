"""What the outbox says about a case (geogrid.notify): one payload for every case event.

The grid leader's name and phone are in it because an SMS gateway behind a webhook texts
them; the reporter's are not, since no receiver needs them (docs/notifications.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from geogrid.notify import emit

if TYPE_CHECKING:  # records imports this module
    from geogrid.cases.records import Case


def case_payload(case: Case) -> dict[str, Any]:
    """The facts a receiver of a case event needs: what, where, whose, by when."""
    grid = case.grid
    return {
        "case_id": case.id,
        "status": case.status,
        "category": {"code": case.category.code, "name": case.category.name},
        "description": case.description,
        "address": case.address,
        "lon": case.lon,
        "lat": case.lat,
        "grid": {
            "code": grid.code,
            "name": grid.name,
            "community": {"code": grid.community.code, "name": grid.community.name},
            "street": {"code": grid.street.code, "name": grid.street.name},
            "leader": {"name": grid.leader.name, "phone": grid.leader.phone},
        },
        "department": None
        if case.department is None
        else {"code": case.department.code, "name": case.department.name},
        "release": case.release,
        "due_at": case.due_at,
        "urgency": case.urgency,
        "stage": case.stage,
        "stage_due_at": case.stage_due_at,
        "flags": list(case.flags),
    }


def announce(conn: Connection, kind: str, case: Case, **extra: Any) -> int:
    """Emit event ``kind`` about ``case`` in ``conn``'s transaction; returns the event id."""
    return emit(conn, kind, {**case_payload(case), **extra}, case_id=case.id)
