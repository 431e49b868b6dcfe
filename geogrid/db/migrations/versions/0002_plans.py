"""Boundary plans: plans, their edits, grid lineage and the audit log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE plan (
    id                 integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    comment            text NOT NULL DEFAULT '',
    base_release       integer NOT NULL REFERENCES boundary_release (id),
    status             text NOT NULL DEFAULT 'open'
                       CHECK (status IN ('open', 'published', 'discarded')),
    created_by         text NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    closed_at          timestamptz,
    published_release  integer REFERENCES boundary_release (id),
    CHECK ((status = 'published') = (published_release IS NOT NULL))
);

-- An edit's parameters are kept as sent, normalised to storage coordinates (GeoJSON, EPSG:4490).
CREATE TABLE plan_edit (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    plan_id     integer NOT NULL REFERENCES plan (id),
    op          text NOT NULL,
    params      jsonb NOT NULL,
    comment     text NOT NULL DEFAULT '',
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    undone_at   timestamptz
);
CREATE INDEX plan_edit_plan ON plan_edit (plan_id, id);

ALTER TABLE boundary_release ADD COLUMN plan_id integer REFERENCES plan (id);

-- Which grids of a release came from which grids of the release before, with area shares.
CREATE TABLE grid_lineage (
    release_id   integer NOT NULL REFERENCES boundary_release (id),
    grid_code    char(15) NOT NULL REFERENCES grid (code),
    source_code  char(15) NOT NULL REFERENCES grid (code),
    area_share   double precision NOT NULL CHECK (area_share > 0 AND area_share <= 1.000001),
    PRIMARY KEY (release_id, grid_code, source_code)
);

CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,
    action      text NOT NULL,
    plan_id     integer REFERENCES plan (id),
    edit_id     integer REFERENCES plan_edit (id),
    release_id  integer REFERENCES boundary_release (id),
    comment     text NOT NULL DEFAULT '',
    details     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_plan ON audit_log (plan_id, id);
"""

DOWNGRADE = """
DROP TABLE IF EXISTS audit_log, grid_lineage;
ALTER TABLE boundary_release DROP COLUMN IF EXISTS plan_id;
DROP TABLE IF EXISTS plan_edit, plan;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
