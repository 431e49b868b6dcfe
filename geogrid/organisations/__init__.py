"""The people and organisations of every grid (issue 17): grid staff, the party's tiers (grid
branches, building groups, party-member households), 小巷管家 volunteer teams, politics-and-law
grid members, consultation platforms and mobile grids — versioned, so ``at`` answers who
served then.

Modules: ``records`` (what a register holds), ``registers`` (their files' columns and row
checks), ``files`` (loading a file, all or nothing), ``store`` (replacing a register, keeping
history), ``queries`` (the summary with its coverage gaps; who serves a grid), ``mobile``
(mobile grids and their members' reports), ``demo``.
"""

from geogrid.organisations.demo import load_demo_registers
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

__all__ = [
    "REGISTERS",
    "SUMMARY_FIGURES",
    "BuildingGroup",
    "GridOrganisations",
    "LawMember",
    "MobileGrid",
    "MobileGrids",
    "MobileMember",
    "PartyBranch",
    "PartyHousehold",
    "Platform",
    "StaffMember",
    "Summary",
    "VolunteerMember",
    "VolunteerTeam",
    "area_code",
    "check_phone",
    "grid_organisations",
    "load_demo_registers",
    "load_register",
    "mobile_grids",
    "read_register",
    "register_named",
    "summary",
]
