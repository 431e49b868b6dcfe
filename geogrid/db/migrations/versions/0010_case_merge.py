"""Duplicates merged into the case they repeat, keeping every reporter
(geogrid/cases/duplicates.py, records.merge_case).

- ``civic_case.merged_into``: the case a duplicate was merged into (the duplicate is void);
- ``case_reporter``: the other people who reported the same thing, on the surviving case;
- event kinds ``merged`` (on the duplicate) and ``merged_in`` (on the case it went into).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

KINDS = "'created', 'transition', 'reroute', 'flag', 'photo'"


def upgrade() -> None:
    op.execute(
        f"""
        ALTER TABLE civic_case ADD COLUMN merged_into bigint REFERENCES civic_case (id);
        CREATE TABLE case_reporter (
            case_id bigint NOT NULL REFERENCES civic_case (id),
            from_case_id bigint NOT NULL REFERENCES civic_case (id),
            name text,
            phone text,
            channel text NOT NULL,
            reported_at timestamptz NOT NULL,
            PRIMARY KEY (case_id, from_case_id)
        );
        COMMENT ON TABLE case_reporter IS
            'People who reported a case again: the reporters of duplicates merged into it';
        ALTER TABLE case_event DROP CONSTRAINT case_event_kind_check;
        ALTER TABLE case_event ADD CONSTRAINT case_event_kind_check
            CHECK (kind IN ({KINDS}, 'merged', 'merged_in'));
        """
    )


def downgrade() -> None:
    op.execute(
        f"""
        DELETE FROM case_event WHERE kind IN ('merged', 'merged_in');
        ALTER TABLE case_event DROP CONSTRAINT case_event_kind_check;
        ALTER TABLE case_event ADD CONSTRAINT case_event_kind_check CHECK (kind IN ({KINDS}));
        DROP TABLE case_reporter;
        ALTER TABLE civic_case DROP COLUMN merged_into;
        """
    )
