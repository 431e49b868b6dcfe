"""Mobile grids (流动网格) and the reports of their members (issue 17).

A courier or rider reports a problem as they ride (随手拍) with their own account or a key
it owns. The register knows a person by name and phone, and a register is replaced whole on
each load, so nothing links to its rows: an account's person is its display name and phone
(:func:`geogrid.access.users.set_person`), and a case reported by that account — signed in,
or through a key it owns — carries the mobile grid whose register row with that name and
phone served at the report's time (``civic_case.mobile_grid``, looked up inside the case's
insert: :func:`geogrid.cases.records.create_case`). The case is routed by its location like
every case, so it counts for its grid, community and street as any case does, and for its
mobile grid here and in the case counts (``by="mobile_grid"``, ``CaseFilter.mobile_grid``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection, text

from geogrid.boundaries.grids import Person, Unit
from geogrid.db.sqlfiles import sql
from geogrid.organisations.queries import area_code, reading_moment


@dataclass(frozen=True)
class MobileGrid:
    """A mobile grid as it served at a moment, with its members' reports.

    ``members`` counts its leader too; ``reports`` are the cases its members reported up to
    that moment (the register as it stood at each report), ``open_reports`` those of them
    not closed or void now.
    """

    name: str
    street: Unit
    leader: Person
    members: int
    party_members: int
    reports: int
    open_reports: int

    def masked(self) -> MobileGrid:
        return replace(self, leader=self.leader.masked())


@dataclass(frozen=True)
class MobileGrids:
    """The mobile grids of the district or of one street at ``at``."""

    street: str | None
    at: datetime
    grids: tuple[MobileGrid, ...]

    def masked(self) -> MobileGrids:
        return replace(self, grids=tuple(g.masked() for g in self.grids))


def mobile_grids(
    conn: Connection, *, street: str | None = None, at: datetime | None = None
) -> MobileGrids:
    """The mobile grids serving at ``at`` (default now), of ``street`` when given, each with
    its street, leader, members and the reports of its members.

    Returns the full answer; callers show viewers ``principal.visible(answer)``.

    Raises
    ------
    InvalidInputError
        ``street`` names no street (422).
    """
    area_code(conn, street, None)
    moment = reading_moment(conn, at)
    rows = conn.execute(
        text(sql("organisations_mobile_grids")), {"street": street, "at": moment}
    ).all()
    return MobileGrids(
        street=street,
        at=moment,
        grids=tuple(
            MobileGrid(
                name=r.mobile_grid,
                street=Unit(r.street_code.strip(), r.street_name),
                leader=Person(r.leader_name, r.leader_phone),
                members=r.members,
                party_members=r.party_members,
                reports=r.reports,
                open_reports=r.open_reports,
            )
            for r in rows
        ),
    )
