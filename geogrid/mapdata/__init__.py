"""What the web maps draw, gathered from the database as plain data (the types live in ``types``).

Modules: ``cases``, ``history`` (the release diff map), ``plans``, ``types``, ``views``.
"""

from geogrid.mapdata.types import (
    HEX_RESOLUTION,
    Area,
    CaseCell,
    CaseMapView,
    CasePlace,
    CommunityCoverage,
    CompoundPlace,
    CoverageView,
    GridCases,
    GridOrganisationPlace,
    GridPlace,
    GridView,
    HexCell,
    LocateView,
    OrganisationLayers,
    Overview,
    PlanGrid,
    PlanView,
    ServiceArea,
    StationPlace,
)

__all__ = [
    "HEX_RESOLUTION",
    "Area",
    "CaseCell",
    "CaseMapView",
    "CasePlace",
    "CommunityCoverage",
    "CompoundPlace",
    "CoverageView",
    "GridCases",
    "GridOrganisationPlace",
    "GridPlace",
    "GridView",
    "HexCell",
    "LocateView",
    "OrganisationLayers",
    "Overview",
    "PlanGrid",
    "PlanView",
    "ServiceArea",
    "StationPlace",
]
