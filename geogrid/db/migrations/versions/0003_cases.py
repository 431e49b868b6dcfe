"""Case dispatch: the category catalogue, cases and every change made to them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import csv
import io
from importlib import resources

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UPGRADE = r"""
-- GB/T 30428-style catalogue: event (事件, E) and component (部件, C) classes are separate
-- lists whose major codes overlap, so a code carries its type: letter + major + minor.
CREATE TABLE case_category (
    code            text PRIMARY KEY CHECK (code ~ '^[EC][0-9]{2}[0-9]{2}$'),
    type            text NOT NULL CHECK (type IN ('event', 'component')),
    major_name      text NOT NULL,
    name            text NOT NULL,
    handling_hours  double precision NOT NULL CHECK (handling_hours > 0),
    active          boolean NOT NULL DEFAULT true,
    CHECK ((type = 'event') = (left(code, 1) = 'E'))
);

CREATE TABLE civic_case (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    category         text NOT NULL REFERENCES case_category (code),
    description      text NOT NULL,
    channel          text NOT NULL,
    reporter_name    text,
    reporter_phone   text,
    address          text,
    photos           text[] NOT NULL DEFAULT '{}',
    input_lon        double precision,
    input_lat        double precision,
    input_crs        text,
    location         geometry(Point, 4490) NOT NULL,
    compound_id      integer,
    grid_code        char(15) NOT NULL REFERENCES grid (code),
    release_id       integer NOT NULL REFERENCES boundary_release (id),
    routed_by        text NOT NULL DEFAULT 'auto' CHECK (routed_by IN ('auto', 'release', 'manual')),
    flags            text[] NOT NULL DEFAULT '{}',
    status           text NOT NULL DEFAULT 'reported' CHECK (status IN (
                         'reported', 'accepted', 'dispatched', 'in_progress', 'handled',
                         'verified', 'closed', 'void', 'on_hold')),
    -- on_hold returns to the status it was put on hold from
    held_from        text,
    hold_started_at  timestamptz,
    held_seconds     double precision NOT NULL DEFAULT 0,
    accepted_at      timestamptz,
    dispatched_at    timestamptz,
    closed_at        timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    created_by       text NOT NULL,
    idempotency_key  text,
    request_hash     text,
    UNIQUE (created_by, idempotency_key),
    CHECK ((status = 'on_hold') = (held_from IS NOT NULL AND hold_started_at IS NOT NULL))
);
CREATE INDEX civic_case_location ON civic_case USING gist (location);
CREATE INDEX civic_case_grid ON civic_case (grid_code, created_at);
CREATE INDEX civic_case_status ON civic_case (status, created_at);
CREATE INDEX civic_case_created ON civic_case (created_at);
CREATE INDEX civic_case_flags ON civic_case USING gin (flags);

-- Every change to a case: creation, transitions, re-routing (manual or by a release), flags.
CREATE TABLE case_event (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id      bigint NOT NULL REFERENCES civic_case (id),
    at           timestamptz NOT NULL DEFAULT now(),
    actor        text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('created', 'transition', 'reroute', 'flag')),
    from_status  text,
    to_status    text,
    from_grid    char(15),
    to_grid      char(15),
    release_id   integer REFERENCES boundary_release (id),
    note         text NOT NULL DEFAULT '',
    details      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX case_event_case ON case_event (case_id, id);

-- A case with its category, grid, community and street, and its clock: due_at is acceptance
-- + handling hours + time spent on hold (a case on hold does not run late).
CREATE VIEW case_view AS
SELECT c.*, ST_X(c.location) AS lon, ST_Y(c.location) AS lat,
       k.type AS category_type, k.major_name AS category_major, k.name AS category_name,
       k.handling_hours,
       g.name AS grid_name, g.kind AS grid_kind, g.community_code, cm.name AS community_name,
       cm.street_code, s.name AS street_name, g.leader_name, g.leader_phone,
       g.party_branch_name, g.party_secretary_name, g.party_secretary_phone,
       d.due_at,
       (c.status NOT IN ('closed', 'void') AND d.due_at < now()) AS overdue,
       CASE WHEN c.status = 'closed' THEN c.closed_at <= d.due_at END AS closed_on_time,
       CASE WHEN c.status = 'closed' THEN
           (extract(epoch FROM c.closed_at - c.accepted_at) - c.held_seconds) / 3600.0
       END AS handling_hours_taken
FROM civic_case c
JOIN case_category k ON k.code = c.category
JOIN grid g ON g.code = c.grid_code
JOIN community cm ON cm.code = g.community_code
JOIN street s ON s.code = cm.street_code
CROSS JOIN LATERAL (SELECT c.accepted_at + make_interval(secs => k.handling_hours * 3600
    + c.held_seconds + CASE WHEN c.status = 'on_hold'
                            THEN extract(epoch FROM now() - c.hold_started_at) ELSE 0 END)
    AS due_at) d;
"""

DOWNGRADE = "DROP VIEW IF EXISTS case_view; DROP TABLE IF EXISTS case_event, civic_case, case_category;"


def _default_catalogue() -> list[dict[str, object]]:
    text = resources.files("geogrid.cases").joinpath("catalogues", "case_categories.csv").read_text(
        encoding="utf-8")
    return [dict(row) for row in csv.DictReader(io.StringIO(text))]


def upgrade() -> None:
    op.execute(UPGRADE)
    op.get_bind().execute(
        sa.text("INSERT INTO case_category (code, type, major_name, name, handling_hours) "
                "VALUES (:code, :type, :major_name, :name, CAST(:handling_hours AS float8))"),
        _default_catalogue())


def downgrade() -> None:
    op.execute(DOWNGRADE)
