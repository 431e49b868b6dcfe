"""Every plan in one list: what the planners' console shows of each, read in one query.

:func:`geogrid.plans.lifecycle.open_plans` gives open plans with their edits (the API's
``GET /v1/plans``); this gives every plan, open or closed, with counts instead of edits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from geogrid.errors import NotFoundError
from geogrid.i18n import tr

#: One row per plan: active edits counted, last change = the latest of creation, an edit
#: added or undone, and closing (published or discarded).
_LISTING = """
SELECT p.id, p.comment, p.status, p.base_release, p.published_release, p.created_by,
       p.created_at, p.closed_at,
       count(e.id) FILTER (WHERE e.undone_at IS NULL) AS edits,
       greatest(p.created_at, p.closed_at, max(e.created_at), max(e.undone_at)) AS updated_at
FROM plan AS p
LEFT JOIN plan_edit AS e ON e.plan_id = p.id
WHERE CAST(:plan AS integer) IS NULL OR p.id = :plan
GROUP BY p.id
ORDER BY p.id DESC
"""


@dataclass(frozen=True)
class PlanListing:
    """A plan as a list shows it: ``edits`` counts its active edits; ``updated_at`` is its
    last change; ``published_release`` is the release it became (None unless published)."""

    id: int
    comment: str
    status: str
    base_release: int
    published_release: int | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    edits: int


def plan_listings(conn: Connection) -> list[PlanListing]:
    """Every plan, newest first.

    Parameters
    ----------
    conn : Connection
        An open connection.

    Returns
    -------
    list of PlanListing
        Open, published and discarded plans alike.
    """
    return [_listing(r) for r in conn.execute(text(_LISTING), {"plan": None})]


def plan_listing(conn: Connection, plan_id: int) -> PlanListing:
    """Plan ``plan_id`` as :func:`plan_listings` lists it; NotFoundError if there is none."""
    row = conn.execute(text(_LISTING), {"plan": plan_id}).one_or_none()
    if row is None:
        raise NotFoundError(tr("plan {plan_id} does not exist", plan_id=plan_id))
    return _listing(row)


def _listing(r: Any) -> PlanListing:
    return PlanListing(
        id=int(r.id),
        comment=r.comment,
        status=r.status,
        base_release=int(r.base_release),
        published_release=r.published_release,
        created_by=r.created_by,
        created_at=r.created_at,
        updated_at=r.updated_at,
        closed_at=r.closed_at,
        edits=int(r.edits),
    )
