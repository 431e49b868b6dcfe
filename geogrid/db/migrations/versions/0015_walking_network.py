"""Walking networks (geogrid/network): the paths people walk, versioned like boundary releases.

Every load of a paths layer publishes a new network (``walking_network``, numbered, with when,
by whom and from which file); the newest is current and the older ones stay, so an answer can
say which network it was measured on. ``walking_path`` holds each network's lines (EPSG:4490).

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE walking_network (
            id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            published_at timestamptz NOT NULL DEFAULT now(),
            published_by text NOT NULL,
            source text NOT NULL,
            paths integer NOT NULL CHECK (paths > 0),
            length_m double precision NOT NULL CHECK (length_m > 0),
            comment text NOT NULL DEFAULT ''
        );
        CREATE TABLE walking_path (
            network_id integer NOT NULL REFERENCES walking_network (id) ON DELETE CASCADE,
            id integer NOT NULL,
            name text NOT NULL DEFAULT '',
            kind text NOT NULL DEFAULT '',
            geom geometry(LineString, 4490) NOT NULL,
            PRIMARY KEY (network_id, id)
        );
        CREATE INDEX walking_path_geom ON walking_path USING gist (geom);
        COMMENT ON TABLE walking_network IS
            'Published walking networks; the newest is current (geogrid load --layer paths)';
        COMMENT ON TABLE walking_path IS
            'The paths of each walking network; they meet where they share a vertex';
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE walking_path; DROP TABLE walking_network")
