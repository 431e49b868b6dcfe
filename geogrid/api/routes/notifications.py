"""Notifications (admin): the outbox's state and the webhooks events go to.

Webhooks hold signing secrets, as API keys do, so they are managed with the keys' permission.
"""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Response

from geogrid import notify
from geogrid.access.roles import Permission
from geogrid.api.deps import ConnDep, PrincipalDep, require
from geogrid.api.openapi import problems
from geogrid.api.schemas.notify import (
    NotificationStatus,
    WebhookCreate,
    WebhookCreated,
    WebhookInfo,
    WebhookState,
)
from geogrid.limits import Word

router = APIRouter(
    prefix="/v1/notifications",
    tags=["notifications"],
    dependencies=[require(Permission.manage_keys)],
)


@router.get("/status")
def notification_status(conn: ConnDep) -> NotificationStatus:
    """Pending, failing, delivered and dead deliveries, overall and per webhook."""
    s = notify.outbox_status(conn)
    return NotificationStatus(
        events=s.events,
        pending=s.pending,
        failing=s.failing,
        delivered=s.delivered,
        dead=s.dead,
        oldest_pending_at=s.oldest_pending_at,
        kinds=notify.KINDS,
        webhooks=[WebhookState(**{**asdict(h), "kinds": list(h.kinds)}) for h in s.webhooks],
    )


@router.get("/webhooks")
def list_webhooks(conn: ConnDep) -> list[WebhookInfo]:
    """Every webhook (never its secret)."""
    return [
        WebhookInfo(
            name=h.name,
            url=h.url,
            kinds=list(h.kinds),
            active=h.active,
            created_at=h.created_at,
            created_by=h.created_by,
        )
        for h in notify.list_webhooks(conn)
    ]


@router.post("/webhooks", status_code=201, responses=problems(409, 422))
def add_webhook(conn: ConnDep, principal: PrincipalDep, body: WebhookCreate) -> WebhookCreated:
    """Add a webhook; the answer carries its signing secret, shown this once."""
    h = notify.add_webhook(
        conn,
        body.name,
        body.url,
        kinds=body.kinds,
        secret=body.secret,
        actor=principal.actor,
    )
    return WebhookCreated(
        name=h.name,
        url=h.url,
        kinds=list(h.kinds),
        active=h.active,
        created_at=h.created_at,
        created_by=h.created_by,
        secret=h.secret,
    )


@router.delete("/webhooks/{name}", status_code=204, responses=problems(404))
def remove_webhook(conn: ConnDep, name: Word) -> Response:
    """Remove a webhook and its deliveries, pending ones included."""
    notify.remove_webhook(conn, name)
    return Response(status_code=204)
