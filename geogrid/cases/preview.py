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

from sqlalchemy import Connection

from geogrid.boundaries.releases import BoundaryRelease
from geogrid.calendar import stamped_calendar
from geogrid.cases.deadlines import due_after
from geogrid.cases.duplicates import SimilarCases, similar_cases
from geogrid.cases.records import Placement, place_report
from geogrid.cases.report import CaseReport
from geogrid.lookup.snapshot import Snapshot
from geogrid.settings import CaseSettings


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
    if found.cases:  # as creating would flag it
        flags = (*placement.routing.flags, "possible_duplicate")
        placement = replace(placement, routing=replace(placement.routing, flags=flags))
    category = placement.category
    calendar = stamped_calendar(conn, placement.calendar_stamp, settings.office_hours)
    due = due_after(calendar, category.clock, found.at, category.handling_hours)
    return CasePreview(placement, snapshot.release, due.at, found, due.calendar_missing)
