"""Compound gates: where a compound's residents walk out (coverage measures from the nearest).

A compound may have any number of gates (``geogrid load FILE --layer gates``, a
``compound_id`` column). Coverage measures a compound from its nearest gate when it has
gates, else from the nearest point of its footprint. Reloading the compounds removes their
gates with them (the ids may name other compounds then).

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE compound_gate (
            id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            compound_id bigint NOT NULL REFERENCES compound (id) ON DELETE CASCADE,
            name text NOT NULL DEFAULT '',
            geom geometry(Point, 4490) NOT NULL
        );
        CREATE INDEX compound_gate_compound ON compound_gate (compound_id);
        CREATE INDEX compound_gate_geom ON compound_gate USING gist (geom);
        COMMENT ON TABLE compound_gate IS
            'Gates of compounds: coverage measures a compound from its nearest gate';
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE compound_gate")
