"""Notifications through an outbox (geogrid/notify, docs/notifications.md).

- ``notify_event``: what happened (a case assigned, warned, escalated …), written in the same
  transaction as the change it announces, so it exists exactly when the change committed;
- ``notify_webhook``: where events go (url, the secret that signs them, which kinds);
- ``notify_delivery``: one row per event and webhook, made with the event; workers claim due
  rows with ``FOR UPDATE SKIP LOCKED`` and retry them with backoff until the webhook answers.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE notify_event (
            id bigserial PRIMARY KEY,
            kind text NOT NULL CHECK (kind ~ '^[a-z_]+\\.[a-z_]+$'),
            case_id bigint REFERENCES civic_case (id),
            payload jsonb NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX notify_event_case ON notify_event (case_id) WHERE case_id IS NOT NULL;
        COMMENT ON TABLE notify_event IS
            'The outbox: events written in the transaction of the change they announce';
        CREATE TABLE notify_webhook (
            id serial PRIMARY KEY,
            name text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9_.-]{1,64}$'),
            url text NOT NULL CHECK (url ~ '^https?://'),
            secret text NOT NULL CHECK (length(secret) >= 16),
            kinds text[] NOT NULL DEFAULT '{}',
            active boolean NOT NULL DEFAULT true,
            created_at timestamptz NOT NULL DEFAULT now(),
            created_by text NOT NULL
        );
        COMMENT ON COLUMN notify_webhook.kinds IS 'Event kinds sent to it; empty: every kind';
        CREATE TABLE notify_delivery (
            event_id bigint NOT NULL REFERENCES notify_event (id) ON DELETE CASCADE,
            webhook_id integer NOT NULL REFERENCES notify_webhook (id) ON DELETE CASCADE,
            status text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'delivered', 'dead')),
            attempts integer NOT NULL DEFAULT 0,
            next_at timestamptz NOT NULL DEFAULT now(),
            last_attempt_at timestamptz,
            last_status integer,
            last_error text,
            delivered_at timestamptz,
            PRIMARY KEY (event_id, webhook_id)
        );
        CREATE INDEX notify_delivery_due ON notify_delivery (next_at) WHERE status = 'pending';
        CREATE INDEX notify_delivery_webhook ON notify_delivery (webhook_id, status);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE notify_delivery; DROP TABLE notify_webhook; DROP TABLE notify_event;")
