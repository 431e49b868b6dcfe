"""What a case page shows and offers after dispatch (extensions, 回访, 督办), apart from the
routes that change them (console/followup.py) so the case page can read it without a cycle."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from geogrid import cases
from geogrid.access.roles import Permission
from geogrid.access.sessions import SignedIn
from geogrid.cases import duties, supervision, visits
from geogrid.cases.stages import STAGE_ZH, URGENCY_ZH, WARNING_ZH
from geogrid.cases.supervision import EXTENSION_STATUS_ZH
from geogrid.cases.visits import SATISFACTION_ZH


def followup_context(conn: Connection, user: SignedIn, case: cases.Case) -> dict[str, Any]:
    """What a case page shows and offers after dispatch, for ``user``."""
    principal = user.principal
    staff = any(
        principal.may(p)
        for p in (
            Permission.handle_cases,
            Permission.supervise_cases,
            Permission.handle_department_cases,
        )
    )
    department = None if case.department is None else case.department.code

    def may(move: str) -> bool:
        return duties.may(principal, move, department, None)

    return {
        "stage_name": STAGE_ZH,
        "urgency_zh": URGENCY_ZH,
        "warning_zh": WARNING_ZH,
        "extension_status_zh": EXTENSION_STATUS_ZH,
        "satisfaction_zh": SATISFACTION_ZH,
        "extensions": supervision.list_extensions(conn, case_id=case.id) if staff else [],
        "visits": visits.list_visits(conn, case.id) if staff else [],
        "may_supervise": may("supervise"),
        "may_decide": may("decide"),
        "may_extend": may("extend"),
        "may_urge": may("urge"),
        "may_visit": may("visit"),
        "may_reopen": may("reopen"),
        "may_follow": staff,
    }
