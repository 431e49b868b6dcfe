"""What a case would get, before it is reported: its grid and people, flags, due time, and the
open cases like it nearby.

A preview places the report exactly as :func:`geogrid.cases.records.create_case` does (one
function, :func:`geogrid.cases.records.place_report`, with the same snapshot) and writes
nothing: one read for the category (and an address's compound) and one indexed query for the
similar cases.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from geogrid.boundaries.grids import Person
from geogrid.boundaries.releases import BoundaryRelease
from geogrid.calendar import load_calendar
from geogrid.cases.deadlines import due_after
from geogrid.cases.records import Placement, place_report
from geogrid.cases.report import CaseReport
from geogrid.db.sqlfiles import sql
from geogrid.lookup.snapshot import Snapshot
from geogrid.settings import CaseSettings

#: At most this many similar cases, the nearest.
SIMILAR_LIMIT = 20


@dataclass(frozen=True)
class SimilarCase:
    """An open case of the same category near the report."""

    id: int
    status: str
    grid_code: str
    distance_m: float
    created_at: datetime
    description: str
    reporter: Person

    def masked(self) -> SimilarCase:
        return replace(self, reporter=self.reporter.masked())


@dataclass(frozen=True)
class SimilarCases:
    """The open cases like a report's, as of ``at`` (the database's clock)."""

    at: datetime
    distance_m: float
    days: float
    cases: tuple[SimilarCase, ...]


@dataclass(frozen=True)
class CasePreview:
    """What a report would get if it were reported (and accepted) at ``similar.at``."""

    placement: Placement
    release: BoundaryRelease
    #: when the case would be due if it were accepted now (the category's handling hours on
    #: its clock); None with ``calendar_missing``
    due_at: datetime | None
    similar: SimilarCases
    calendar_missing: bool = False

    def masked(self) -> CasePreview:
        """The same preview with grid people and reporters masked (for viewers)."""
        return replace(
            self,
            placement=replace(self.placement, grid=self.placement.grid.masked()),
            similar=replace(self.similar, cases=tuple(c.masked() for c in self.similar.cases)),
        )


def similar_cases(
    conn: Connection,
    category: str,
    lon: float,
    lat: float,
    settings: CaseSettings,
    limit: int = SIMILAR_LIMIT,
) -> SimilarCases:
    """Open cases of ``category`` within ``settings.case_similar_distance_m`` metres of a
    storage-CRS point, reported within ``settings.case_similar_days`` days, nearest first.

    Closed and void cases are left out; one query, on the index of case locations.
    """
    rows = conn.execute(
        text(sql("case_similar")),
        {
            "x": float(lon),
            "y": float(lat),
            "category": category,
            "distance_m": settings.case_similar_distance_m,
            "days": settings.case_similar_days,
            "limit": limit,
        },
    ).all()
    return SimilarCases(
        at=rows[0].now,
        distance_m=settings.case_similar_distance_m,
        days=settings.case_similar_days,
        cases=tuple(_similar(r) for r in rows if r.id is not None),
    )


def _similar(row: Any) -> SimilarCase:
    return SimilarCase(
        id=int(row.id),
        status=row.status,
        grid_code=row.grid_code.strip(),
        distance_m=round(float(row.distance_m), 1),
        created_at=row.created_at,
        description=row.description,
        reporter=Person(row.reporter_name, row.reporter_phone),
    )


def preview_case(
    conn: Connection, snapshot: Snapshot, report: CaseReport, settings: CaseSettings
) -> CasePreview:
    """What ``report`` would get as a case now, writing nothing.

    The grid, flags, compound and release are those :func:`geogrid.cases.create_case` gives
    the same report with the same snapshot; ``due_at`` counts the category's handling hours
    on its clock from now, as accepting the case now would (:func:`due_after`, the function
    acceptance uses).

    Raises
    ------
    InvalidInputError
        Unknown category, a bad point or an address naming no compound (422).
    UnroutableError
        The point is too far outside the district's grids (422), as when creating.
    """
    placement = place_report(conn, snapshot, report, settings)
    found = similar_cases(conn, placement.category.code, placement.lon, placement.lat, settings)
    category = placement.category
    calendar = load_calendar(conn, settings.office_hours)
    due = due_after(calendar, category.clock, found.at, category.handling_hours)
    return CasePreview(placement, snapshot.release, due.at, found, due.calendar_missing)
