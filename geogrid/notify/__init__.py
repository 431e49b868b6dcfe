"""Notifications: an outbox written with the change it announces, delivered to webhooks.

Call :func:`emit` on the connection that makes a change (a case assigned, warned, escalated);
``geogrid notify run`` workers deliver what committed to the configured webhooks, signed, with
retries until each answers. See docs/notifications.md for the protocol receivers implement.
"""

from geogrid.notify.delivery import Tally, backoff_s, run_worker, signature
from geogrid.notify.outbox import KINDS, emit
from geogrid.notify.status import OutboxStatus, WebhookState, outbox_status
from geogrid.notify.webhooks import (
    Webhook,
    add_webhook,
    list_webhooks,
    remove_webhook,
    set_active,
)

__all__ = [
    "KINDS",
    "OutboxStatus",
    "Tally",
    "Webhook",
    "WebhookState",
    "add_webhook",
    "backoff_s",
    "emit",
    "list_webhooks",
    "outbox_status",
    "remove_webhook",
    "run_worker",
    "set_active",
    "signature",
]
