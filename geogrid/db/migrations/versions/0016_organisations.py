"""The register of people and organisations of every grid (geogrid/organisations).

One table per register: grid staff (网格长, 专职/兼职网格员), grid party branches, building party
groups (楼栋党小组), party-member households (党员中心户), volunteer teams (小巷管家) and their
members, politics-and-law grid members (政法网格员), consultation platforms (协商议事平台) and
mobile-grid members (流动网格). Every row is versioned: it served from ``valid_from`` until
``valid_to`` (NULL while current); loading a register closes its current rows and inserts the
new ones in one transaction, so ``org_valid_at(valid_from, valid_to, t)`` — the one rule of
"served at t" — answers who served at any moment.

Compound ids are not foreign keys (as ``civic_case.compound_id`` is not): loading a compounds
layer replaces every compound, which a key would forbid once a register names one; a row
whose compound is gone counts nowhere, and a load checks the ids that exist then.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

PHONE = r"^(1[3-9][0-9]{9}|0[0-9]{2,3}-[0-9]{7,8})$"
NAME = "CHECK (length({column}) BETWEEN 1 AND 50)"
VERSIONED = """
    valid_from  timestamptz NOT NULL DEFAULT now(),
    valid_to    timestamptz,
    CHECK (valid_to IS NULL OR valid_to >= valid_from)"""
TABLES = (
    "org_grid_staff",
    "org_party_branch",
    "org_building_group",
    "org_party_household",
    "org_volunteer_member",
    "org_volunteer_team",
    "org_law_member",
    "org_platform",
    "org_mobile_member",
)


def _person(prefix: str = "", *, required: bool = True) -> str:
    null = "NOT NULL" if required else ""
    return (
        f"{prefix}name text {null} {NAME.format(column=prefix + 'name')},\n"
        f"    {prefix}phone text {null} CHECK ({prefix}phone ~ '{PHONE}'),"
    )


def upgrade() -> None:
    op.execute(
        f"""
        CREATE FUNCTION org_valid_at(valid_from timestamptz, valid_to timestamptz,
                                     t timestamptz) RETURNS boolean
            LANGUAGE sql IMMUTABLE PARALLEL SAFE
            AS $$ SELECT valid_from <= t AND (valid_to IS NULL OR valid_to > t) $$;
        COMMENT ON FUNCTION org_valid_at IS
            'A register row served at t: from valid_from (inclusive) to valid_to (exclusive)';

        CREATE TABLE org_grid_staff (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            grid_code char(15) NOT NULL REFERENCES grid (code),
            role text NOT NULL CHECK (role IN ('leader', 'full_time', 'part_time')),
            {_person()}
            {VERSIONED}
        );
        CREATE TABLE org_party_branch (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            grid_code char(15) NOT NULL REFERENCES grid (code),
            name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
            {_person("secretary_")}
            {VERSIONED}
        );
        CREATE UNIQUE INDEX org_party_branch_one_per_grid ON org_party_branch (grid_code)
            WHERE valid_to IS NULL;
        CREATE TABLE org_building_group (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            compound_id bigint NOT NULL,  -- no FK: a compounds layer is replaced whole
            building text NOT NULL DEFAULT '' CHECK (length(building) <= 50),
            name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
            {_person("leader_")}
            {VERSIONED}
        );
        CREATE TABLE org_party_household (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            compound_id bigint NOT NULL,  -- no FK: a compounds layer is replaced whole
            building text NOT NULL DEFAULT '' CHECK (length(building) <= 50),
            group_name text NOT NULL DEFAULT '' CHECK (length(group_name) <= 100),
            {_person()}
            {VERSIONED}
        );
        CREATE TABLE org_volunteer_team (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
            compound_ids bigint[] NOT NULL DEFAULT '{{}}',
            {VERSIONED}
        );
        CREATE TABLE org_volunteer_member (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            team_id bigint NOT NULL REFERENCES org_volunteer_team (id),
            role text NOT NULL CHECK (role IN ('captain', 'member')),
            {_person()}
            {VERSIONED}
        );
        CREATE TABLE org_law_member (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            role text NOT NULL CHECK (role IN ('police', 'prosecutor', 'judge', 'mediator',
                                               'lawyer', 'other')),
            unit text NOT NULL DEFAULT '' CHECK (length(unit) <= 100),
            community_codes char(12)[] NOT NULL CHECK (cardinality(community_codes) > 0),
            {_person()}
            {VERSIONED}
        );
        CREATE TABLE org_platform (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
            kind text NOT NULL CHECK (kind IN ('co_governance', 'party_mass_council',
                                               'red_property', 'peacemaker', 'other')),
            grid_codes char(15)[] NOT NULL CHECK (cardinality(grid_codes) > 0),
            {_person("convener_", required=False)}
            {VERSIONED}
        );
        CREATE TABLE org_mobile_member (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            mobile_grid text NOT NULL CHECK (length(mobile_grid) BETWEEN 1 AND 100),
            street_code char(9) NOT NULL REFERENCES street (code),
            role text NOT NULL CHECK (role IN ('leader', 'member')),
            occupation text NOT NULL CHECK (occupation IN ('courier', 'rider', 'driver',
                                                           'other')),
            party_member boolean NOT NULL DEFAULT false,
            {_person()}
            {VERSIONED}
        );
        CREATE INDEX org_grid_staff_grid ON org_grid_staff (grid_code, valid_from);
        CREATE INDEX org_building_group_compound ON org_building_group (compound_id, valid_from);
        CREATE INDEX org_party_household_compound ON org_party_household (compound_id, valid_from);
        CREATE INDEX org_volunteer_member_team ON org_volunteer_member (team_id);
        COMMENT ON TABLE org_grid_staff IS 'Grid staff: 网格长 (leader), 专职/兼职网格员';
        COMMENT ON TABLE org_party_branch IS 'Grid party branches (网格党支部), one per grid';
        COMMENT ON TABLE org_building_group IS 'Building party groups (楼栋党小组)';
        COMMENT ON TABLE org_party_household IS
            'Party-member households (党员中心户): never shown to viewers';
        COMMENT ON TABLE org_volunteer_team IS 'Volunteer teams (小巷管家) and their compounds';
        COMMENT ON TABLE org_law_member IS 'Politics-and-law grid members (政法网格员)';
        COMMENT ON TABLE org_platform IS 'Consultation platforms (协商议事平台) and their grids';
        COMMENT ON TABLE org_mobile_member IS 'Mobile grids (流动网格): couriers, riders, leader';
        """
    )


def downgrade() -> None:
    op.execute(f"DROP TABLE {', '.join(TABLES)}; DROP FUNCTION org_valid_at")
