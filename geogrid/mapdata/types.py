"""What the web maps draw, as plain frozen dataclasses: no database, no HTML.

``geogrid.mapdata`` gathers them from the database (views, cases, plans); ``geogrid.maps``
renders them and imports nothing else of the core. Geometries are storage lon/lat (EPSG:4490).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from shapely.geometry.base import BaseGeometry

#: H3 resolution of the coverage hexagons (about 0.1 km² a cell).
HEX_RESOLUTION = 9


@dataclass(frozen=True)
class Area:
    """A district, street or community outline."""

    code: str
    name: str
    geometry: BaseGeometry
    #: The street of a community; None otherwise.
    parent_name: str | None = None


@dataclass(frozen=True)
class GridPlace:
    """A grid with what its tooltip and popup say (leader masked for viewers)."""

    code: str
    name: str
    kind: str
    dedicated_unit_name: str | None
    community_name: str
    street_name: str
    leader_name: str | None
    leader_phone: str | None
    households: int
    compounds: int
    geometry: BaseGeometry


@dataclass(frozen=True)
class CompoundPlace:
    """A residential compound and the grid holding its point."""

    id: int
    name: str
    kind: str
    households: int
    smart_safe: bool
    three_no: bool
    grid_code: str | None
    grid_name: str | None
    geometry: BaseGeometry


@dataclass(frozen=True)
class ServiceArea:
    """One tier of a station's service area: a circle (radius) or a drawn polygon."""

    minutes: int
    method: str
    #: Circle radius in metres (walking distance / detour factor); None for other methods.
    radius_m: float | None
    distance_m: float
    detour_factor: float
    geometry: BaseGeometry


@dataclass(frozen=True)
class StationPlace:
    """A service station with its 5/10/15-minute service areas."""

    id: int
    name: str
    kind: str
    lon: float
    lat: float
    opening_hours: str
    address: str
    community_name: str | None
    areas: tuple[ServiceArea, ...]


@dataclass(frozen=True)
class HexCell:
    """Households in one H3 cell, and how many of them no service area reaches."""

    cell: str
    households: int
    households_uncovered: int
    geometry: BaseGeometry


@dataclass(frozen=True)
class CommunityCoverage:
    """One community of the coverage choropleth."""

    code: str
    name: str
    street_name: str | None
    households: int
    households_covered: int
    #: Covered share of households; None where nobody lives.
    households_share: float | None
    area_share: float
    gap_area_m2: float
    geometry: BaseGeometry
    gap: BaseGeometry


@dataclass(frozen=True)
class GridOrganisationPlace:
    """A grid's party branch (None: it has none) and the consultation platforms serving it,
    as (name, kind) pairs; the secretary masked for viewers. No geometry: the map draws it
    with the shape of the grid of the same code."""

    code: str
    name: str
    kind: str
    branch_name: str | None
    secretary_name: str | None
    secretary_phone: str | None
    platforms: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class OrganisationLayers:
    """What the overview's organisation layers draw: each grid's branch and platforms, the
    compounds no 小巷管家 team covers and the communities no law member serves. Never a
    party-member household."""

    grids: tuple[GridOrganisationPlace, ...]
    uncovered_compounds: tuple[CompoundPlace, ...]
    communities_without_law_member: tuple[Area, ...]


@dataclass(frozen=True)
class Overview:
    """The district at a glance."""

    release: int
    district: Area
    streets: tuple[Area, ...]
    communities: tuple[Area, ...]
    grids: tuple[GridPlace, ...]
    compounds: tuple[CompoundPlace, ...]
    stations: tuple[StationPlace, ...]
    #: The tier of the gaps; None: each station kind at its own tier.
    gap_minutes: int | None
    gap: BaseGeometry
    gap_area_m2: float
    hexes: tuple[HexCell, ...]
    personal_data: bool
    #: The organisation layers (None: the map has none).
    organisations: OrganisationLayers | None = None


@dataclass(frozen=True)
class GridView:
    """One grid, its neighbours, compounds, and the stations whose areas reach it."""

    release: int
    grid: GridPlace
    neighbours: tuple[GridPlace, ...]
    community: Area
    compounds: tuple[CompoundPlace, ...]
    stations: tuple[StationPlace, ...]
    personal_data: bool


@dataclass(frozen=True)
class CoverageView:
    """Households covered per community by one tier, with the gaps."""

    release: int
    #: The tier counted; None: each station kind at its own tier.
    minutes: int | None
    kinds: tuple[str, ...]
    #: How the counted areas were drawn, e.g. "legal 15 min: circle 1000 m / 1.3".
    method: str
    district: Area
    communities: tuple[CommunityCoverage, ...]
    stations: tuple[StationPlace, ...]


@dataclass(frozen=True)
class LocateView:
    """A dispatcher's map: grids as context and the point asked about (if any)."""

    release: int
    district: Area
    communities: tuple[Area, ...]
    grids: tuple[GridPlace, ...]
    #: The point in storage lon/lat; None opens the map without one.
    point: tuple[float, float] | None
    center: tuple[float, float] = field(default=(117.35, 31.88))


@dataclass(frozen=True)
class CasePlace:
    """One case as the case map shows it: no reporter, no description (viewers' view)."""

    id: int
    lon: float
    lat: float
    status: str
    #: The status in Chinese (上报, 立案, …).
    status_name: str
    category: str
    category_name: str
    category_major: str
    #: Creation time in Asia/Shanghai.
    created_at: datetime
    grid_code: str
    grid_name: str
    open: bool
    overdue: bool
    #: the mobile grid (流动网格) whose member reported it, if one did
    mobile_grid: str | None = None


@dataclass(frozen=True)
class GridCases:
    """A grid of the current release and how many of the selected cases lie in it."""

    code: str
    name: str
    community_name: str
    street_name: str
    cases: int
    open: int
    overdue: int
    geometry: BaseGeometry


@dataclass(frozen=True)
class CaseCell:
    """Selected cases whose location lies in one H3 cell."""

    cell: str
    cases: int
    open: int
    overdue: int
    geometry: BaseGeometry


@dataclass(frozen=True)
class CaseMapView:
    """The cases a filter selects: per grid, per H3 cell, and the newest as points."""

    release: int
    district: Area
    #: Every grid of the current release (those without a selected case count 0).
    grids: tuple[GridCases, ...]
    hexes: tuple[CaseCell, ...]
    hex_resolution: int
    #: The newest selected cases, at most :data:`MAX_CASE_MARKERS`.
    cases: tuple[CasePlace, ...]
    total: int
    open: int
    overdue: int
    #: Selected cases routed to grids the current release no longer has (not in ``grids``).
    elsewhere: int
    #: The filter as applied, as (field, value shown) pairs: status, category, street, …
    filters: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class PlanGrid:
    """A grid of a plan's layer (before or after its edits)."""

    code: str
    name: str
    kind: str
    community_code: str
    geometry: BaseGeometry


@dataclass(frozen=True)
class PlanEditItem:
    """One active edit of a plan, as the plan map lists it."""

    id: int
    op: str
    comment: str


@dataclass(frozen=True)
class PlanView:
    """A plan on its base release: every base grid, and the touched grids before and after."""

    plan_id: int
    comment: str
    status: str
    base_release: int
    district: Area
    edits: tuple[PlanEditItem, ...]
    #: Every grid of the base release (drawn faint; clicked to pick "from" and "to").
    base: tuple[PlanGrid, ...]
    #: Grids the plan changes (and their neighbours in the base), as in the base release.
    before: tuple[PlanGrid, ...]
    #: The same grids (and grids the plan creates) after the plan's edits.
    after: tuple[PlanGrid, ...]
    #: Codes of the grids the plan changes or creates.
    touched: tuple[str, ...]


@dataclass(frozen=True)
class DiffGrid:
    """A grid that differs between two releases: ``change`` is "added", "removed" or
    "changed"; ``geometry`` is the later one (the earlier one for a removed grid) and
    ``old_geometry`` the earlier one of a changed grid. Areas in EPSG:4548 m² (None on the
    side the grid is missing from)."""

    code: str
    name: str
    change: str
    geometry: BaseGeometry
    old_geometry: BaseGeometry | None
    area_before_m2: float | None
    area_after_m2: float | None


@dataclass(frozen=True)
class DiffPiece:
    """Area a changed grid ``gained`` or ``lost`` between two releases."""

    code: str
    name: str
    change: str
    area_m2: float
    geometry: BaseGeometry


@dataclass(frozen=True)
class ReleaseDiffView:
    """What the diff map of release ``from_release`` to ``to_release`` draws."""

    from_release: int
    to_release: int
    district: Area
    #: Every grid of ``to_release`` (drawn faint, for orientation).
    context: tuple[PlanGrid, ...]
    grids: tuple[DiffGrid, ...]
    pieces: tuple[DiffPiece, ...]


@dataclass(frozen=True)
class SitePlace:
    """A proposed site: where, what it newly covers, and the area it would reach."""

    name: str
    households: int
    compounds: int
    point: BaseGeometry
    reach: BaseGeometry


@dataclass(frozen=True)
class UncoveredPlace:
    name: str
    households: int
    footprint: BaseGeometry


@dataclass(frozen=True)
class SitingView:
    release: int
    minutes: int
    kind: str
    k: int
    candidates: str
    #: How reach was measured: "network" or "circle".
    method: str
    reach_m: float
    households: int
    covered_before: int
    covered_after: int
    greedy_covered_after: int
    optimal: bool
    district: Area
    gaps: BaseGeometry
    uncovered: tuple[UncoveredPlace, ...]
    sites: tuple[SitePlace, ...]
