"""What a coverage answer holds: the method, tallies, per-unit figures, H3 cells."""

from __future__ import annotations

from dataclasses import dataclass, field

from shapely.geometry.base import BaseGeometry

#: Levels a coverage figure is given for, and the digits of their codes.
LEVELS = ("district", "street", "community", "grid")
CODE_DIGITS = {"district": 6, "street": 9, "community": 12, "grid": 15}
LEVEL_ZH = {"district": "区", "street": "街道", "community": "社区", "grid": "网格"}
#: Walking-time tiers (GB 50180-2018).
TIERS = (5, 10, 15)
#: Range accepted for a detour factor given with a request.
DETOUR_FACTOR_RANGE = (0.5, 3.0)


@dataclass(frozen=True)
class KindMethod:
    """How the service areas of one station kind were drawn."""

    kind: str
    method: str
    #: The tier counted for this kind (its own tier, or the one a request named).
    minutes: int
    distance_m: float
    detour_factor: float
    #: Circle radius (distance / detour factor); None for network isochrones.
    radius_m: float | None
    stations: int


@dataclass(frozen=True)
class CoverageMethod:
    """Which service areas a figure counts and how they were drawn."""

    #: "stored" (the service_area rows) or "drawn" (circles drawn for this request).
    source: str
    #: "circle", "network", or "mixed" when kinds differ.
    method: str
    #: The one tier every kind was counted at (None when each kind counts at its own).
    minutes: int | None
    #: The tier's walking distance in metres (None when kinds differ).
    distance_m: float | None
    #: The one detour factor used, or None when kinds use different factors.
    detour_factor: float | None
    #: The tier each kind was counted at.
    tiers: dict[str, int]
    #: The walking distance of every tier (minutes -> metres), as configured.
    tiers_m: dict[int, float]
    #: "per_kind" (each kind at its own tier, the default) or "minutes" (one tier for all).
    tier_rule: str
    kinds: tuple[KindMethod, ...]
    #: How many compounds were measured from their nearest gate ("gate") and how many, having
    #: none, from the nearest point of their footprint ("footprint").
    measured_from: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class CompoundCoverage:
    """One compound: where it counts and whether it is covered."""

    id: int
    name: str
    households: int
    lon: float
    lat: float
    #: The grid holding its point-on-surface; None when the point is in no grid.
    grid_code: str | None
    covered: bool
    #: Where reach was measured from: "gate" (its nearest gate) or "footprint" (the nearest
    #: point of its outline, when it has no gates).
    measured_from: str = "footprint"


@dataclass(frozen=True)
class Tally:
    """Compounds and households covered and not."""

    compounds_covered: int = 0
    compounds_uncovered: int = 0
    households_covered: int = 0
    households_uncovered: int = 0

    @property
    def households(self) -> int:
        return self.households_covered + self.households_uncovered

    @property
    def households_covered_share(self) -> float | None:
        """Covered share of households; None where nobody lives."""
        return self.households_covered / self.households if self.households else None

    def add(self, compound: CompoundCoverage) -> Tally:
        if compound.covered:
            return Tally(
                self.compounds_covered + 1,
                self.compounds_uncovered,
                self.households_covered + compound.households,
                self.households_uncovered,
            )
        return Tally(
            self.compounds_covered,
            self.compounds_uncovered + 1,
            self.households_covered,
            self.households_uncovered + compound.households,
        )

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.compounds_covered + other.compounds_covered,
            self.compounds_uncovered + other.compounds_uncovered,
            self.households_covered + other.households_covered,
            self.households_uncovered + other.households_uncovered,
        )


@dataclass(frozen=True)
class UnitCoverage:
    """Coverage of one district, street, community or grid. Areas in m² (EPSG:4548)."""

    code: str
    name: str
    area_m2: float
    covered_area_m2: float
    gap_area_m2: float
    #: What the service areas leave out of the unit (EPSG:4490; empty when fully covered).
    gap: BaseGeometry
    tally: Tally
    #: Compounds of the unit left uncovered, most households first.
    uncovered_compounds: tuple[CompoundCoverage, ...]

    @property
    def covered_share(self) -> float:
        return self.covered_area_m2 / self.area_m2 if self.area_m2 else 0.0


@dataclass(frozen=True)
class CoverageReport:
    """Coverage of every unit of one level (or the one unit asked for)."""

    release: int
    #: The tier asked for; None when each kind counted at its own tier.
    minutes: int | None
    level: str
    code: str | None
    kinds: tuple[str, ...]
    method: CoverageMethod
    units: tuple[UnitCoverage, ...]
    #: Compounds whose point lies in no grid of the release (counted nowhere).
    compounds_outside: int

    @property
    def tally(self) -> Tally:
        return sum((u.tally for u in self.units), Tally())

    @property
    def area_m2(self) -> float:
        return sum(u.area_m2 for u in self.units)

    @property
    def covered_area_m2(self) -> float:
        return sum(u.covered_area_m2 for u in self.units)


@dataclass(frozen=True)
class H3Cell:
    """Households covered and not in one H3 cell (a compound counts in its point's cell)."""

    cell: str
    tally: Tally


@dataclass(frozen=True)
class H3Coverage:
    """Coverage as H3 cells, for heat maps. Only cells holding a compound are listed."""

    release: int
    #: The tier asked for; None when each kind counted at its own tier.
    minutes: int | None
    level: str
    code: str | None
    kinds: tuple[str, ...]
    method: CoverageMethod
    resolution: int
    cells: tuple[H3Cell, ...]
