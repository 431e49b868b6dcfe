"""What a case page shows and offers after dispatch (extensions, 回访, 督办), apart from the
routes that change them (console/followup.py) so the case page can read it without a cycle."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from geogrid import cases
from geogrid.access.roles import Permission
from geogrid.access.sessions import SignedIn
from geogrid.cases import supervision, visits
from geogrid.cases.stages import STAGE_ZH, URGENCY_ZH, WARNING_ZH
from geogrid.cases.supervision import EXTENSION_STATUS_ZH
from geogrid.cases.visits import SATISFACTION_ZH


def followup_context(conn: Connection, user: SignedIn, case: cases.Case) -> dict[str, Any]:
    """What a case page shows and offers after dispatch, for ``user``."""
    principal = user.principal
    staff = principal.may(Permission.handle_cases) or principal.may(Permission.supervise_cases)
    return {
        "stage_name": STAGE_ZH,
        "urgency_zh": URGENCY_ZH,
        "warning_zh": WARNING_ZH,
        "extension_status_zh": EXTENSION_STATUS_ZH,
        "satisfaction_zh": SATISFACTION_ZH,
        "extensions": supervision.list_extensions(conn, case_id=case.id) if staff else [],
        "visits": visits.list_visits(conn, case.id) if staff else [],
        "may_supervise": principal.may(Permission.supervise_cases),
        "may_follow": staff,
    }
