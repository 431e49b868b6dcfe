"""People who sign in: accounts, sessions, failed sign-ins and the audit log
(geogrid/access/users.py, sessions.py, audit.py).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE app_user (
            id serial PRIMARY KEY,
            username text NOT NULL,
            display_name text NOT NULL DEFAULT '',
            role text NOT NULL,
            password_hash text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            password_changed_at timestamptz NOT NULL DEFAULT now(),
            disabled_at timestamptz,
            last_sign_in_at timestamptz
        );
        CREATE UNIQUE INDEX app_user_username ON app_user (lower(username));
        COMMENT ON TABLE app_user IS
            'People who sign in to the console; password_hash is Argon2id (PHC string)';

        CREATE TABLE user_session (
            token_hash text PRIMARY KEY,
            user_id integer NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
            created_at timestamptz NOT NULL DEFAULT now(),
            last_seen_at timestamptz NOT NULL DEFAULT now(),
            address text NOT NULL DEFAULT '',
            ended_at timestamptz
        );
        CREATE INDEX user_session_user ON user_session (user_id) WHERE ended_at IS NULL;
        COMMENT ON TABLE user_session IS
            'Sign-in sessions; the cookie holds the token, only its SHA-256 is stored';

        CREATE TABLE sign_in_failure (
            user_id integer NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
            address text NOT NULL,
            failures integer NOT NULL DEFAULT 0,
            last_failed_at timestamptz NOT NULL DEFAULT now(),
            locked_until timestamptz,
            PRIMARY KEY (user_id, address)
        );
        COMMENT ON TABLE sign_in_failure IS
            'Consecutive failed sign-ins per account and client address, and the lock-out';

        CREATE TABLE audit_event (
            id bigserial PRIMARY KEY,
            at timestamptz NOT NULL DEFAULT now(),
            event text NOT NULL,
            username text,
            actor text,
            address text,
            details jsonb NOT NULL DEFAULT '{}'
        );
        CREATE INDEX audit_event_at ON audit_event (at DESC);
        CREATE INDEX audit_event_username ON audit_event (lower(username), at DESC);
        COMMENT ON TABLE audit_event IS
            'Sign-ins, failures, lock-outs and account changes; never a password';
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE audit_event, sign_in_failure, user_session, app_user")
