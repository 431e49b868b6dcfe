"""The people and organisations of every grid (issue 17): grid staff, the party's tiers (grid
branches, building groups, party-member households), 小巷管家 volunteer teams, politics-and-law
grid members, consultation platforms and mobile grids — versioned, so ``at`` answers who
served then.

Modules: ``records`` (what a register holds), ``registers`` (their files' columns and row
checks), ``files`` (loading a file, all or nothing), ``store`` (replacing a register, keeping
history), ``queries`` (the summary with its coverage gaps; who serves a grid), ``coverage``
(the coverage figures per street or community; what the overview map's layers draw),
``mobile`` (mobile grids and their members' reports), ``serving`` (who serves each grid, in
memory, for locate), ``demo``.
"""

from geogrid.organisations.coverage import (
    AREA_LEVELS,
    AreaCoverage,
    CoverageByArea,
    GridCoverage,
    OrganisationCoverage,
    coverage_by_area,
    organisation_coverage,
)
from geogrid.organisations.demo import load_demo_registers
from geogrid.organisations.export import register_table
from geogrid.organisations.files import load_register, read_register, register_named
from geogrid.organisations.mobile import MobileGrid, MobileGrids, mobile_grids
from geogrid.organisations.queries import (
    SUMMARY_FIGURES,
    GridOrganisations,
    Summary,
    area_code,
    grid_organisations,
    summary,
)
from geogrid.organisations.records import (
    BuildingGroup,
    LawMember,
    MobileMember,
    PartyBranch,
    PartyHousehold,
    Platform,
    StaffMember,
    VolunteerMember,
    VolunteerTeam,
)
from geogrid.organisations.registers import REGISTERS, check_phone
from geogrid.organisations.store import current_rows

__all__ = [
    "AREA_LEVELS",
    "REGISTERS",
    "SUMMARY_FIGURES",
    "AreaCoverage",
    "BuildingGroup",
    "CoverageByArea",
    "GridCoverage",
    "GridOrganisations",
    "LawMember",
    "MobileGrid",
    "MobileGrids",
    "MobileMember",
    "OrganisationCoverage",
    "PartyBranch",
    "PartyHousehold",
    "Platform",
    "StaffMember",
    "Summary",
    "VolunteerMember",
    "VolunteerTeam",
    "area_code",
    "check_phone",
    "coverage_by_area",
    "current_rows",
    "grid_organisations",
    "load_demo_registers",
    "load_register",
    "mobile_grids",
    "organisation_coverage",
    "read_register",
    "register_named",
    "register_table",
    "summary",
]
