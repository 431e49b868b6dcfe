"""How the outbox stands: what waits, what fails, and each webhook's state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text


@dataclass(frozen=True)
class WebhookState:
    """One webhook's deliveries: counts, the last success and the last failure."""

    name: str
    url: str
    kinds: tuple[str, ...]
    active: bool
    pending: int
    #: pending deliveries that failed at least once (the webhook is down or refusing)
    failing: int
    delivered: int
    dead: int
    oldest_pending_at: datetime | None
    next_attempt_at: datetime | None
    last_delivered_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None


@dataclass(frozen=True)
class OutboxStatus:
    """The whole outbox: totals and the state of every webhook."""

    events: int
    pending: int
    failing: int
    delivered: int
    dead: int
    oldest_pending_at: datetime | None
    webhooks: tuple[WebhookState, ...]


_STATE = text(
    """
    SELECT w.name, w.url, w.kinds, w.active,
        count(*) FILTER (WHERE d.status = 'pending') AS pending,
        count(*) FILTER (WHERE d.status = 'pending' AND d.attempts > 0) AS failing,
        count(*) FILTER (WHERE d.status = 'delivered') AS delivered,
        count(*) FILTER (WHERE d.status = 'dead') AS dead,
        min(e.created_at) FILTER (WHERE d.status = 'pending') AS oldest_pending_at,
        min(d.next_at) FILTER (WHERE d.status = 'pending') AS next_attempt_at,
        max(d.delivered_at) AS last_delivered_at,
        (SELECT f.last_error FROM notify_delivery f
         WHERE f.webhook_id = w.id AND f.status <> 'delivered' AND f.last_error IS NOT NULL
         ORDER BY f.last_attempt_at DESC NULLS LAST LIMIT 1) AS last_error,
        (SELECT max(f.last_attempt_at) FROM notify_delivery f
         WHERE f.webhook_id = w.id AND f.status <> 'delivered' AND f.attempts > 0)
            AS last_error_at
    FROM notify_webhook w
    LEFT JOIN notify_delivery d ON d.webhook_id = w.id
    LEFT JOIN notify_event e ON e.id = d.event_id
    GROUP BY w.id ORDER BY w.name
    """
)


def outbox_status(conn: Connection) -> OutboxStatus:
    """Counts of pending, failing, delivered and dead deliveries, overall and per webhook."""
    hooks = tuple(
        WebhookState(
            name=r.name,
            url=r.url,
            kinds=tuple(r.kinds),
            active=r.active,
            pending=r.pending,
            failing=r.failing,
            delivered=r.delivered,
            dead=r.dead,
            oldest_pending_at=r.oldest_pending_at,
            next_attempt_at=r.next_attempt_at,
            last_delivered_at=r.last_delivered_at,
            last_error=r.last_error,
            last_error_at=r.last_error_at,
        )
        for r in conn.execute(_STATE)
    )
    events = conn.execute(text("SELECT count(*) FROM notify_event")).scalar_one()
    pending = [h.oldest_pending_at for h in hooks if h.oldest_pending_at is not None]
    return OutboxStatus(
        events=int(events),
        pending=sum(h.pending for h in hooks),
        failing=sum(h.failing for h in hooks),
        delivered=sum(h.delivered for h in hooks),
        dead=sum(h.dead for h in hooks),
        oldest_pending_at=min(pending) if pending else None,
        webhooks=hooks,
    )
