"""5/10/15-minute service areas of service stations (docs/architecture.md, "Service areas").

Default method: a circle whose radius is the tier's walking distance (GB 50180-2018: 300, 500
and 1000 m) divided by a detour factor (default 1.3, per station kind configurable). Each stored
area records its method, distance and factor, so every answer can say how it was drawn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from geogrid.boundaries.grids import Unit
from geogrid.db.sqlfiles import sql
from geogrid.settings import ServiceAreaSettings

STATION_KINDS = ("party_mass", "doorstep", "courier_rest", "happiness", "mediation", "legal")


@dataclass(frozen=True)
class Station:
    """A service station: the one station type of geogrid.

    ``geometry`` is its point (EPSG:4490); ``areas`` its service areas by tier (minutes ->
    polygon, prepared) when it was read with them, as the snapshot reads stations.
    """

    id: int
    name: str
    kind: str
    community: Unit | None
    opening_hours: str
    address: str
    geometry: BaseGeometry
    areas: dict[int, BaseGeometry] = field(default_factory=dict)

    @cached_property
    def lon(self) -> float:
        return float(self.geometry.x)

    @cached_property
    def lat(self) -> float:
        return float(self.geometry.y)


def detour_factor(kind: str, settings: ServiceAreaSettings) -> float:
    """The detour factor used for stations of ``kind``."""
    return settings.detour_factor_by_kind.get(kind, settings.detour_factor)


def radius_m(minutes: int, kind: str, settings: ServiceAreaSettings) -> float:
    """Circle radius in metres for a tier and station kind.

    Examples
    --------
    >>> round(radius_m(15, "doorstep", ServiceAreaSettings()), 1)
    769.2
    """
    return settings.tier_distances_m[minutes] / detour_factor(kind, settings)


def rebuild(conn: Connection, settings: ServiceAreaSettings) -> int:
    """Redraw every station's service areas as circles; returns how many were drawn."""
    conn.execute(text("DELETE FROM service_area"))
    drawn = 0
    for kind in STATION_KINDS:
        for minutes, distance in sorted(settings.tier_distances_m.items()):
            result = conn.execute(
                text(sql("service_areas")),
                {
                    "minutes": minutes,
                    "distance_m": distance,
                    "kind": kind,
                    "detour_factor": detour_factor(kind, settings),
                },
            )
            drawn += result.rowcount
    return drawn
