"""What the organisations leave uncovered, area by area and grid by grid: the summary's
coverage figures per street or community (one query for all the areas), and what the
overview map's organisation layers draw (each grid's branch and platforms, the compounds no
小巷管家 team covers, the communities no law member serves) — at any moment (``at``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection, text

from geogrid.boundaries.grids import Person
from geogrid.db.sqlfiles import sql
from geogrid.errors import InvalidInputError
from geogrid.i18n import tr
from geogrid.organisations.queries import reading_moment, reading_release
from geogrid.organisations.records import PartyBranch

#: What an area breakdown may be by, and the length of that area's code.
AREA_LEVELS = {"street": 9, "community": 12}


@dataclass(frozen=True)
class AreaCoverage:
    """The coverage figures of one street or community: its grids, resident grids,
    compounds and communities, and how many of them a party branch, a consultation platform,
    a 小巷管家 team or a politics-and-law grid member serves (the rules of the summary)."""

    code: str
    name: str
    grids: int
    grids_with_branch: int
    resident_grids: int
    resident_grids_with_platform: int
    compounds: int
    compounds_with_volunteer_team: int
    communities: int
    communities_with_law_member: int

    @property
    def grids_without_branch(self) -> int:
        return self.grids - self.grids_with_branch

    @property
    def resident_grids_without_platform(self) -> int:
        return self.resident_grids - self.resident_grids_with_platform

    @property
    def compounds_without_volunteer_team(self) -> int:
        return self.compounds - self.compounds_with_volunteer_team

    @property
    def communities_without_law_member(self) -> int:
        return self.communities - self.communities_with_law_member


@dataclass(frozen=True)
class CoverageByArea:
    """The coverage figures of every street or every community (``by``) at ``at``, over the
    grids of boundary release ``release`` (None: none was published then)."""

    by: str
    at: datetime
    release: int | None
    areas: tuple[AreaCoverage, ...]


def coverage_by_area(
    conn: Connection, by: str = "street", at: datetime | None = None
) -> CoverageByArea:
    """The organisations' coverage of every street or community (``by``) as they served at
    ``at`` (default now), in one query; the areas add up to the district's :func:`summary`.

    Parameters
    ----------
    conn
        An open connection.
    by
        "street" or "community"; anything else is an InvalidInputError naming the value.
    at
        The moment the registers and the boundary release are read at; None: now.

    Returns
    -------
    CoverageByArea
        One :class:`AreaCoverage` per street or community, in code order, zeros where an
        area holds nothing.
    """
    digits = AREA_LEVELS.get(by)
    if digits is None:
        raise InvalidInputError(
            tr(
                'by was "{by}" but must be one of {allowed}',
                by=by[:20],
                allowed=", ".join(AREA_LEVELS),
            )
        )
    moment, release = reading_moment(conn, at), reading_release(conn, at)
    rows = conn.execute(
        text(sql("organisations_coverage")), {"digits": digits, "at": moment, "release": release}
    )
    return CoverageByArea(
        by=by,
        at=moment,
        release=release,
        areas=tuple(AreaCoverage(**row._mapping) for row in rows),
    )


@dataclass(frozen=True)
class GridCoverage:
    """One grid's party branch (None: it has none) and the consultation platforms serving
    it, as (name, kind) pairs. :meth:`masked` masks the branch's secretary."""

    code: str
    kind: str
    branch: PartyBranch | None
    platforms: tuple[tuple[str, str], ...]

    def masked(self) -> GridCoverage:
        return replace(self, branch=None if self.branch is None else self.branch.masked())


@dataclass(frozen=True)
class OrganisationCoverage:
    """What the organisations cover, grid by grid, at ``at`` over release ``release``: each
    grid's branch and platforms, the compounds no 小巷管家 team covers (their ids; only
    compounds a grid holds, as the summary counts them) and the communities no law member
    serves (their codes). No party-member household is in it, so no map can show one."""

    at: datetime
    release: int | None
    grids: tuple[GridCoverage, ...]
    uncovered_compound_ids: tuple[int, ...]
    communities_without_law_member: tuple[str, ...]

    def masked(self) -> OrganisationCoverage:
        return replace(self, grids=tuple(g.masked() for g in self.grids))


def organisation_coverage(conn: Connection, at: datetime | None = None) -> OrganisationCoverage:
    """Each grid's party branch and platforms, the compounds no volunteer team covers and
    the communities no law member serves, as the registers served at ``at`` (default now)
    over the grids of the release current then.

    Returns the full answer (secretaries' names and phones); callers show viewers
    ``principal.visible(answer)``.
    """
    moment, release = reading_moment(conn, at), reading_release(conn, at)
    values = {"at": moment, "release": release}
    grids = tuple(
        GridCoverage(
            r.code,
            r.kind,
            None
            if r.branch is None
            else PartyBranch(r.code, r.branch, Person(r.secretary_name, r.secretary_phone)),
            tuple(zip(r.platforms, r.platform_kinds, strict=True)),
        )
        for r in conn.execute(text(sql("organisations_grids")), values)
    )
    uncovered = tuple(
        int(i) for i in conn.execute(text(sql("organisations_uncovered")), values).scalars()
    )
    communities = tuple(
        str(c)
        for c in conn.execute(
            text(
                "SELECT trim(cm.code) FROM community cm WHERE NOT EXISTS ("
                "SELECT 1 FROM org_law_member l WHERE cm.code = ANY (l.community_codes) "
                "AND org_valid_at(l.valid_from, l.valid_to, :at)) ORDER BY cm.code"
            ),
            {"at": moment},
        ).scalars()
    )
    return OrganisationCoverage(moment, release, grids, uncovered, communities)
