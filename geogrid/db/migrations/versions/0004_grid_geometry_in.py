"""The one release-validity rule: grid_geometry_in(release).

A grid geometry row is valid in release r when valid_from_release <= r and valid_to_release is
null or > r. Every query that reads the grids of a release selects FROM grid_geometry_in(r).
The function is plain SQL, STABLE and not STRICT, so PostgreSQL inlines it into the calling
query and the planner still uses the indexes on grid_geometry.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE FUNCTION grid_geometry_in(release integer) RETURNS SETOF grid_geometry
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT * FROM grid_geometry
    WHERE valid_from_release <= $1 AND (valid_to_release IS NULL OR valid_to_release > $1)
$$;
COMMENT ON FUNCTION grid_geometry_in(integer) IS
    'The grid geometry rows valid in boundary release $1 (one row per grid of that release)';
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS grid_geometry_in(integer)")
