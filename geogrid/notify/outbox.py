"""The outbox: events written in the same transaction as the change they announce.

A change that others must hear about (a case assigned to a grid, a warning, an escalation)
calls :func:`emit` on the connection that makes the change. The event and one delivery row
per subscribed webhook are inserted by that transaction, so they commit with the change and
vanish with its rollback: no event announces a change that did not happen, and no committed
change goes unannounced. A paused webhook gets its deliveries too: they wait for it.
Workers (:mod:`geogrid.notify.delivery`) send them afterwards.

An event no webhook takes is not stored (``emit`` returns 0): a webhook receives the events
emitted after it was added, so such an event could never be delivered, and the case's own
history (``case_event``) already records the change.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, text

from geogrid.db import prepared

#: Every kind of event, and when it is emitted (docs/notifications.md lists the payloads).
#: A kind is ``<subject>.<what happened>``; add new ones here (the name is checked by emit).
KINDS: dict[str, str] = {
    "case.reported": "a case was reported and routed to a grid (its grid is told)",
    "case.assigned": "a case was dispatched (派遣) to its grid, or a dispatched case re-routed "
    "to another grid: the grid (and, with departments, the department) now answers for it",
    "case.warning": "a case's time limit is near (yellow) or past (red)",
    "case.escalated": "a case was escalated to the street or the district (吹哨报到)",
    "case.returned": "a handler returned a case with a reason (退单)",
    "case.supervised": "a supervisor urged a case on (督办/催办)",
}

#: One round trip: the event and its deliveries, or nothing when no webhook takes the kind.
_INSERT = text(
    """
    WITH target AS (
        SELECT id FROM notify_webhook WHERE kinds = '{}' OR CAST(:kind AS text) = ANY (kinds)
    ), event AS (
        INSERT INTO notify_event (kind, case_id, payload)
        SELECT :kind, :case_id, CAST(:payload AS jsonb) WHERE EXISTS (SELECT 1 FROM target)
        RETURNING id
    ), fanned AS (
        INSERT INTO notify_delivery (event_id, webhook_id)
        SELECT event.id, target.id FROM event, target
    )
    SELECT coalesce((SELECT id FROM event), 0)
    """
)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def emit(
    conn: Connection, kind: str, payload: dict[str, Any], *, case_id: int | None = None
) -> int:
    """Write an event to the outbox in ``conn``'s transaction; returns the event id.

    The id is unique and stable: each delivery of the event carries it (``X-Geogrid-Event``
    and ``"id"`` in the body), and a receiver deduplicates by it, since a webhook may receive
    an event more than once (a worker that dies after sending, before recording it).

    Parameters
    ----------
    conn
        The connection (and transaction) that makes the change the event announces.
    kind
        One of :data:`KINDS`.
    payload
        JSON-able facts the receiver needs (datetimes become ISO 8601 with their offset).
    case_id
        The case the event is about, if any.

    Returns
    -------
    int
        The event id; 0 when no webhook takes ``kind`` (nothing is stored).

    Raises
    ------
    ValueError
        ``kind`` is not in :data:`KINDS` (a programming error, not a user's).
    """
    if kind not in KINDS:
        raise ValueError(f'event kind was "{kind}" but must be one of {sorted(KINDS)}')
    body = orjson.dumps(payload, default=_json_default).decode()
    ((event_id,),) = prepared.run(
        conn, _INSERT, {"kind": kind, "case_id": case_id, "payload": body}
    )
    return int(event_id)
