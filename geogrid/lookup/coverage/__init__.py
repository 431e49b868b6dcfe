"""Coverage gaps of the 15-minute life circle: what a tier of service areas does not reach.

``gaps`` answers (per district, street, community or grid, and as H3 cells), ``report`` holds
the answer types and constants, ``checks`` the checked parameters.
"""

from geogrid.lookup.coverage.checks import (
    check_detour_factor,
    check_kinds,
    check_level,
    check_minutes,
    check_unit_code,
)
from geogrid.lookup.coverage.gaps import DEFAULT_CACHE, CoverageCache, coverage_gaps, coverage_h3
from geogrid.lookup.coverage.report import (
    CODE_DIGITS,
    DETOUR_FACTOR_RANGE,
    LEVEL_ZH,
    LEVELS,
    TIERS,
    CompoundCoverage,
    CoverageMethod,
    CoverageReport,
    H3Cell,
    H3Coverage,
    KindMethod,
    Tally,
    UnitCoverage,
)

__all__ = [
    "CODE_DIGITS",
    "DEFAULT_CACHE",
    "DETOUR_FACTOR_RANGE",
    "LEVELS",
    "LEVEL_ZH",
    "TIERS",
    "CompoundCoverage",
    "CoverageCache",
    "CoverageMethod",
    "CoverageReport",
    "H3Cell",
    "H3Coverage",
    "KindMethod",
    "Tally",
    "UnitCoverage",
    "check_detour_factor",
    "check_kinds",
    "check_level",
    "check_minutes",
    "check_unit_code",
    "coverage_gaps",
    "coverage_h3",
]
