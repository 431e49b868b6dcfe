"""Rate-limit counters every process shares (geogrid/access/ratelimits.py).

UNLOGGED: a counter is worth nothing after a crash, so it skips the write-ahead log (cheaper
writes, and nothing of it goes to a standby, which never limits anyone).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE UNLOGGED TABLE rate_limit_counter (
            key text PRIMARY KEY,
            hits integer NOT NULL,
            expires_at timestamptz NOT NULL
        );
        CREATE INDEX rate_limit_counter_expires_at ON rate_limit_counter (expires_at);
        COMMENT ON TABLE rate_limit_counter IS
            'Fixed-window rate-limit counters: hits of key until expires_at';
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE rate_limit_counter")
