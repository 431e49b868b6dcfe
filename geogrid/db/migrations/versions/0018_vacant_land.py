"""Vacant public land: parcels a planner could build a station on (siting candidates).

``geogrid load FILE --layer land`` replaces the layer; ``GET /v1/siting?candidates=land``
proposes sites at the parcels (each at its point-on-surface).

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE vacant_land (
            id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name text NOT NULL DEFAULT '',
            geom geometry(MultiPolygon, 4490) NOT NULL CHECK (ST_IsValid(geom))
        );
        CREATE INDEX vacant_land_geom ON vacant_land USING gist (geom);
        COMMENT ON TABLE vacant_land IS
            'Vacant public land a station could be built on (siting candidates)';
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE vacant_land")
