"""Yellow and red warnings (黄灯预警, 红灯超时), given once per stage of each case.

The warning a case shows is computed whenever it is read (case_view: from the stage's yellow and
due times, with the clock standing still on hold); this module *gives* the warnings: it finds the
cases that have crossed into yellow or red since the last pass, records a ``warning`` event on
each (so the history says when the centre was told) and a ``case.warning`` event in the
outbox (so whoever holds the case is told, geogrid.notify), and returns them. A case is warned
yellow once and red once per stage; a new stage, a resumed hold or an approved extension that
moves the due time into the future warn afresh.
Safe with several workers at once: each claims its cases with ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text

from geogrid.cases.notices import announce
from geogrid.cases.records import get_case
from geogrid.cases.stages import STAGE_ZH


@dataclass(frozen=True)
class Warning:
    """A warning just given."""

    case_id: int
    level: str  # yellow or red
    stage: str
    due_at: datetime
    grid_code: str


def issue_warnings(conn: Connection, *, limit: int = 1000) -> list[Warning]:
    """Give the warnings due now (at most ``limit`` cases a pass), in the caller's transaction."""
    rows = conn.execute(
        text(
            """
            WITH due AS (
                SELECT id, CASE WHEN now() > stage_due_at THEN 'red' ELSE 'yellow' END AS level
                FROM civic_case
                WHERE status NOT IN ('verified', 'closed', 'void', 'on_hold')
                  AND stage_yellow_at <= now()
                  AND (stage_warned IS NULL OR (stage_warned = 'yellow' AND now() > stage_due_at))
                ORDER BY stage_yellow_at
                LIMIT :n
                FOR UPDATE SKIP LOCKED
            )
            UPDATE civic_case c SET stage_warned = due.level FROM due WHERE c.id = due.id
            RETURNING c.id, due.level, CASE c.status
                WHEN 'reported' THEN 'accept' WHEN 'accepted' THEN 'dispatch'
                WHEN 'handled' THEN 'verify' ELSE 'handle' END AS stage,
                c.stage_due_at, c.grid_code
            """
        ),
        {"n": limit},
    ).all()
    given = [Warning(r.id, r.level, r.stage, r.stage_due_at, r.grid_code.strip()) for r in rows]
    if given:
        conn.execute(
            text(
                "INSERT INTO case_event (case_id, actor, kind, note, details) "
                "VALUES (:id, 'geogrid', 'warning', :note, CAST(:details AS jsonb))"
            ),
            [
                {
                    "id": w.case_id,
                    "note": f"{STAGE_ZH[w.stage]}{'超时' if w.level == 'red' else '即将超时'}",
                    "details": json.dumps(
                        {"level": w.level, "stage": w.stage, "due_at": w.due_at.isoformat()}
                    ),
                }
                for w in given
            ],
        )
        for w in given:  # whoever holds the case is told (geogrid.notify)
            announce(
                conn,
                "case.warning",
                get_case(conn, w.case_id),
                actor="geogrid",
                level=w.level,
                warned_stage=w.stage,
            )
    return given
