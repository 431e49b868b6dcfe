"""Merging a duplicate into the case it repeats, keeping every reporter.

The duplicate becomes void (final) and names the case it went into; its reporter, and the
reporters of cases merged into it before, become reporters of that case; both histories say
who merged what, when and why. A rejected merge changes nothing.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from geogrid.calendar import load_calendar
from geogrid.cases import stages
from geogrid.cases.lifecycle import FINAL
from geogrid.cases.records import Case, get_case
from geogrid.errors import ConflictError, InvalidInputError, NotFoundError
from geogrid.i18n import tr
from geogrid.settings import CaseSettings


def merge_case(conn: Connection, case_id: int, into: int, actor: str, note: str = "") -> Case:
    """Merge case ``case_id`` (a duplicate) into case ``into``; returns the case merged into.

    Raises
    ------
    InvalidInputError
        A case merged into itself (422).
    NotFoundError
        Either case does not exist (404).
    ConflictError
        Either case is closed or void already (409).
    """
    if case_id == into:
        raise InvalidInputError(tr("a case cannot be merged into itself"))
    # both rows locked, in id order, so two merges of the same pair never deadlock
    rows = {
        r.id: r
        for r in conn.execute(
            text(
                "SELECT id, status, reporter_name, reporter_phone, channel, created_at, "
                "coalesce(clock, 'calendar') AS clock, now() AS now "
                "FROM civic_case WHERE id IN (:a, :b) ORDER BY id FOR UPDATE"
            ),
            {"a": case_id, "b": into},
        )
    }
    for wanted in (case_id, into):
        if wanted not in rows:
            raise NotFoundError(tr("case {case_id} does not exist", case_id=wanted))
        if rows[wanted].status in FINAL:
            raise ConflictError(
                tr(
                    "case {case_id} is {status} and cannot be merged",
                    case_id=wanted,
                    status=rows[wanted].status,
                ),
                details={"case": wanted, "status": rows[wanted].status},
            )
    duplicate = rows[case_id]
    params = {"dup": case_id, "into": into, "actor": actor, "note": note.strip()}
    conn.execute(
        text(
            """
            INSERT INTO case_reporter (case_id, from_case_id, name, phone, channel, reported_at)
            SELECT :into, :dup, :name, :phone, :channel, :at
            UNION ALL
            SELECT :into, from_case_id, name, phone, channel, reported_at
            FROM case_reporter WHERE case_id = :dup
            ON CONFLICT DO NOTHING
            """
        ),
        {
            **params,
            "name": duplicate.reporter_name,
            "phone": duplicate.reporter_phone,
            "channel": duplicate.channel,
            "at": duplicate.created_at,
        },
    )
    conn.execute(
        text(
            "UPDATE civic_case SET status = 'void', merged_into = :into, closed_at = now(), "
            "updated_at = now(), held_seconds = held_seconds + CASE WHEN status = 'on_hold' "
            "THEN extract(epoch FROM now() - hold_started_at) ELSE 0 END, held_from = NULL, "
            "hold_started_at = NULL WHERE id = :dup"
        ),
        params,
    )
    conn.execute(
        text(
            """
            INSERT INTO case_event (case_id, actor, kind, from_status, to_status, note, details)
            VALUES (:dup, :actor, 'merged', :status, 'void', :note,
                    jsonb_build_object('into', CAST(:into AS bigint))),
                   (:into, :actor, 'merged_in', NULL, NULL, :note,
                    jsonb_build_object('from', CAST(:dup AS bigint)))
            """
        ),
        {**params, "status": duplicate.status},
    )
    # a duplicate in 处置: its grid's span ends here (its hours stay its grid's)
    calendar = load_calendar(conn, CaseSettings().office_hours)
    hours = stages.end_duty(conn, case_id, duplicate.now, calendar, duplicate.clock)
    if hours:
        conn.execute(
            text("UPDATE civic_case SET responsible_hours = responsible_hours + :h WHERE id = :id"),
            {"h": hours, "id": case_id},
        )
    return get_case(conn, into, with_events=True)
