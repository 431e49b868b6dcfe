"""Bodies of /v1/notifications: webhooks and the outbox's state."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class WebhookCreate(BaseModel):
    """A webhook to add (``POST /v1/notifications/webhooks``)."""

    name: str = Field(max_length=64, examples=["sms-gateway"])
    url: str = Field(max_length=2000, examples=["https://sms.example.gov.cn/geogrid"])
    kinds: list[str] = Field(
        default=[], max_length=50, description="Event kinds to send; empty: every kind"
    )
    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=200,
        description="The signing secret; unset: one is made and answered once",
    )


class WebhookInfo(BaseModel):
    """A webhook as listed (never with its secret)."""

    name: str
    url: str
    kinds: list[str]
    active: bool
    created_at: datetime
    created_by: str


class WebhookCreated(WebhookInfo):
    """A webhook just added, with its signing secret: the only time it is shown."""

    secret: str


class WebhookState(BaseModel):
    """One webhook's deliveries."""

    name: str
    url: str
    kinds: list[str]
    active: bool
    pending: int = Field(description="Deliveries not yet answered with a 2xx")
    failing: int = Field(description="Pending deliveries that failed at least once")
    delivered: int
    dead: int = Field(description="Given up after GEOGRID_NOTIFY_MAX_AGE_H (off by default)")
    oldest_pending_at: datetime | None
    next_attempt_at: datetime | None
    last_delivered_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None


class NotificationStatus(BaseModel):
    """The outbox: totals over every webhook, and each webhook's state."""

    events: int
    pending: int
    failing: int
    delivered: int
    dead: int
    oldest_pending_at: datetime | None
    kinds: dict[str, str] = Field(description="Every event kind and when it is emitted")
    webhooks: list[WebhookState]
