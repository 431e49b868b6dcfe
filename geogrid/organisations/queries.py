"""What the registers answer: the organisations of an area with their coverage gaps, and
who serves one grid — at any moment (``at``), since every row is versioned."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from geogrid.boundaries.grids import Person, get_grid
from geogrid.boundaries.releases import current_release, release_at
from geogrid.db.sqlfiles import sql
from geogrid.errors import InvalidInputError
from geogrid.i18n import tr
from geogrid.organisations.records import (
    BuildingGroup,
    LawMember,
    PartyBranch,
    PartyHousehold,
    Platform,
    StaffMember,
    VolunteerMember,
    VolunteerTeam,
)

#: The one rule of "served at :at" (migration 0016's org_valid_at), for the queries here.
_SERVED = "org_valid_at({t}.valid_from, {t}.valid_to, :at)"


@dataclass(frozen=True)
class Summary:
    """The organisations of an area and what they leave uncovered.

    ``party_member_households`` is None in a viewer's copy (:meth:`masked`): viewers never
    see the households, not even how many. The mobile-grid figures are None for a community,
    since a mobile grid serves a street.
    """

    street: str | None
    community: str | None
    at: datetime
    release: int | None
    grids: int
    resident_grids: int
    compounds: int
    communities: int
    grid_leaders: int
    full_time_grid_workers: int
    part_time_grid_workers: int
    party_branches: int
    building_party_groups: int
    party_member_households: int | None
    volunteer_teams: int
    volunteer_members: int
    compounds_with_volunteer_team: int
    law_grid_members: int
    communities_with_law_member: int
    consultation_platforms: int
    resident_grids_with_platform: int
    mobile_grids: int | None
    mobile_grid_members: int | None

    def masked(self) -> Summary:
        return replace(self, party_member_households=None)

    @property
    def grids_without_branch(self) -> int:
        return self.grids - self.party_branches

    @property
    def compounds_without_volunteer_team(self) -> int:
        return self.compounds - self.compounds_with_volunteer_team

    @property
    def communities_without_law_member(self) -> int:
        return self.communities - self.communities_with_law_member

    @property
    def resident_grids_without_platform(self) -> int:
        return self.resident_grids - self.resident_grids_with_platform


def moment_of(conn: Connection, at: datetime | None) -> datetime:
    """``at``, or the database's now."""
    moment = conn.execute(text("SELECT now()")).scalar_one() if at is None else at
    assert isinstance(moment, datetime)
    return moment


def _release(conn: Connection, at: datetime | None) -> int | None:
    found = current_release(conn) if at is None else release_at(conn, at)
    return None if found is None else found.id


def area_code(conn: Connection, street: str | None, community: str | None) -> str | None:
    """The code an area filter means (the community when both are given, which must lie in
    the street); InvalidInputError naming a code that names no street or community."""
    for value, table, digits in ((street, "street", 9), (community, "community", 12)):
        if value is None:
            continue
        exists = conn.execute(
            text(f"SELECT count(*) FROM {table} WHERE code = :code"),  # table: a constant
            {"code": value},
        ).scalar_one()
        if len(value) != digits or not exists:
            raise InvalidInputError(
                tr(
                    '{level} was "{code}" but no {level} has that code ({digits} digits)',
                    level=table,
                    code=value[:20],
                    digits=digits,
                )
            )
    if street is not None and community is not None and not community.startswith(street):
        raise InvalidInputError(
            tr(
                "community {community} is not in street {street}",
                community=community,
                street=street,
            )
        )
    return community or street


def summary(
    conn: Connection,
    *,
    street: str | None = None,
    community: str | None = None,
    at: datetime | None = None,
) -> Summary:
    """The organisations of the district, a street or a community as they served at ``at``
    (default now), over the grids of the release current then, with their coverage.

    Returns the full figures; callers show viewers ``principal.visible(summary)``.
    """
    area = area_code(conn, street, community)
    moment, release = moment_of(conn, at), _release(conn, at)
    row = conn.execute(
        text(sql("organisations_summary")), {"area": area, "at": moment, "release": release}
    ).one()
    counts: dict[str, Any] = dict(row._mapping)
    if community is not None:
        counts["mobile_grids"] = counts["mobile_grid_members"] = None
    return Summary(street=street, community=community, at=moment, release=release, **counts)


@dataclass(frozen=True)
class GridOrganisations:
    """Who serves one grid at a moment: its staff and branch, the building groups and
    party-member households of its compounds, the platforms serving it, the volunteer teams
    covering its compounds and the law members of its community.

    ``party_member_households`` is None in a viewer's copy (:meth:`masked`)."""

    grid_code: str
    community_code: str
    at: datetime
    release: int
    compound_ids: tuple[int, ...]
    staff: tuple[StaffMember, ...]
    branch: PartyBranch | None
    building_groups: tuple[BuildingGroup, ...]
    party_member_households: tuple[PartyHousehold, ...] | None
    platforms: tuple[Platform, ...]
    volunteer_teams: tuple[VolunteerTeam, ...]
    law_members: tuple[LawMember, ...]

    def masked(self) -> GridOrganisations:
        return replace(
            self,
            staff=tuple(s.masked() for s in self.staff),
            branch=None if self.branch is None else self.branch.masked(),
            building_groups=tuple(g.masked() for g in self.building_groups),
            party_member_households=None,
            platforms=tuple(p.masked() for p in self.platforms),
            volunteer_teams=tuple(t.masked() for t in self.volunteer_teams),
            law_members=tuple(m.masked() for m in self.law_members),
        )


def _rows(conn: Connection, query: str, table: str, **values: Any) -> list[Any]:
    where = _SERVED.format(t=table)
    return list(conn.execute(text(query.format(served=where)), values))


def grid_organisations(
    conn: Connection, code: str, at: datetime | None = None
) -> GridOrganisations:
    """Who served grid ``code`` at ``at`` (default now), its compounds those of the release
    current then; NotFoundError when the grid is not in that release.

    Returns the full answer; callers show viewers ``principal.visible(answer)``.
    """
    moment, release = moment_of(conn, at), _release(conn, at)
    grid = get_grid(conn, code, release)
    assert grid.release is not None
    at_grid = {"at": moment, "code": grid.code}
    compounds = tuple(
        int(i)
        for i in conn.execute(
            text(
                "SELECT cp.id FROM compound cp WHERE (SELECT gg.grid_code "
                "FROM grid_geometry_in(:release) gg WHERE ST_Covers(gg.geom, cp.point) "
                "ORDER BY gg.grid_code LIMIT 1) = :code ORDER BY cp.id"
            ),
            {"release": grid.release, "code": grid.code},
        ).scalars()
    )
    in_compounds = {"at": moment, "ids": list(compounds)}
    staff = _rows(
        conn,
        "SELECT role, name, phone FROM org_grid_staff s WHERE grid_code = :code AND {served} "
        "ORDER BY array_position(ARRAY['leader', 'full_time', 'part_time'], role), id",
        "s",
        **at_grid,
    )
    branches = _rows(
        conn,
        "SELECT name, secretary_name, secretary_phone FROM org_party_branch b "
        "WHERE grid_code = :code AND {served}",
        "b",
        **at_grid,
    )
    groups = _rows(
        conn,
        "SELECT compound_id, building, name, leader_name, leader_phone FROM org_building_group g "
        "WHERE compound_id = ANY (:ids) AND {served} ORDER BY compound_id, building, id",
        "g",
        **in_compounds,
    )
    households = _rows(
        conn,
        "SELECT compound_id, building, group_name, name, phone FROM org_party_household h "
        "WHERE compound_id = ANY (:ids) AND {served} ORDER BY compound_id, building, id",
        "h",
        **in_compounds,
    )
    platforms = _rows(
        conn,
        "SELECT name, kind, grid_codes, convener_name, convener_phone FROM org_platform p "
        "WHERE :code = ANY (grid_codes) AND {served} ORDER BY kind, name, id",
        "p",
        **at_grid,
    )
    teams = _rows(
        conn,
        "SELECT t.id, t.name, t.compound_ids, m.role, m.name AS member, m.phone "
        "FROM org_volunteer_team t JOIN org_volunteer_member m ON m.team_id = t.id "
        "WHERE t.compound_ids && CAST(:ids AS bigint[]) AND {served} "
        "ORDER BY t.name, t.id, m.role, m.id",
        "t",
        **in_compounds,
    )
    law = _rows(
        conn,
        "SELECT role, unit, community_codes, name, phone FROM org_law_member l "
        "WHERE :community = ANY (community_codes) AND {served} ORDER BY role, id",
        "l",
        at=moment,
        community=grid.community.code,
    )
    return GridOrganisations(
        grid_code=grid.code,
        community_code=grid.community.code,
        at=moment,
        release=grid.release,
        compound_ids=compounds,
        staff=tuple(StaffMember(grid.code, r.role, Person(r.name, r.phone)) for r in staff),
        branch=next(
            (
                PartyBranch(grid.code, r.name, Person(r.secretary_name, r.secretary_phone))
                for r in branches
            ),
            None,
        ),
        building_groups=tuple(
            BuildingGroup(r.compound_id, r.building, r.name, Person(r.leader_name, r.leader_phone))
            for r in groups
        ),
        party_member_households=tuple(
            PartyHousehold(r.compound_id, r.building, r.group_name, Person(r.name, r.phone))
            for r in households
        ),
        platforms=tuple(
            Platform(
                r.name,
                r.kind,
                tuple(c.strip() for c in r.grid_codes),
                Person(r.convener_name, r.convener_phone),
            )
            for r in platforms
        ),
        volunteer_teams=_teams(teams),
        law_members=tuple(
            LawMember(r.role, r.unit, tuple(r.community_codes), Person(r.name, r.phone))
            for r in law
        ),
    )


def _teams(rows: list[Any]) -> tuple[VolunteerTeam, ...]:
    """Teams from their member rows (one row per member, grouped by team id)."""
    teams: dict[int, VolunteerTeam] = {}
    for r in rows:
        member = VolunteerMember(r.name, r.role, Person(r.member, r.phone))
        team = teams.get(r.id) or VolunteerTeam(r.name, tuple(r.compound_ids), ())
        teams[r.id] = replace(team, members=(*team.members, member))
    return tuple(teams.values())


#: The figures of a :class:`Summary`, in order (for the command line's table).
SUMMARY_FIGURES = tuple(
    f.name for f in fields(Summary) if f.name not in ("street", "community", "at", "release")
)
