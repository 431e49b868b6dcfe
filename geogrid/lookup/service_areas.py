"""5/10/15-minute service areas of service stations (docs/architecture.md, "Service areas").

Default method: a circle whose radius is the tier's walking distance (GB 50180-2018: 300, 500
and 1000 m) divided by a detour factor (default 1.3, per station kind configurable). Once a
walking network is published (``geogrid load FILE --layer paths``), every area is drawn on it
instead (``method = 'network'``, :mod:`geogrid.network.areas`): the paths walked within the
tier's distance, buffered by the distance left, the door at most ``network_access_m`` from a
path. Each stored area records its method, distance and factor, so every answer can say how
it was drawn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from geogrid.boundaries.grids import Unit
from geogrid.db.sqlfiles import sql
from geogrid.geo.datum import from_metric, to_metric
from geogrid.network.paths import WalkingNetwork, current_network, network_graph
from geogrid.network.stations import station_areas
from geogrid.settings import ServiceAreaSettings

#: The NOTIFY channel telling every process that the stations or the walking network changed
#: (geogrid.lookup.walks rebuilds its walks on it).
NETWORK_CHANNEL = "geogrid_network"

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
    """Redraw every station's service areas, on the current walking network when there is one,
    else as circles; returns how many were drawn."""
    conn.execute(text("DELETE FROM service_area"))
    conn.execute(  # every process's walks from the stations are stale at commit
        text("SELECT pg_notify(:channel, '')"), {"channel": NETWORK_CHANNEL}
    )
    network = current_network(conn)
    if network is not None:
        return _rebuild_on_network(conn, settings, network)
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


_INSERT_NETWORK_AREAS = text(  # every area in one statement
    "INSERT INTO service_area (station_id, minutes, method, distance_m, detour_factor, geom) "
    "SELECT a.station, a.minutes, 'network', a.distance_m, 1.0, "
    "ST_Multi(ST_GeomFromWKB(a.wkb, 4490)) "
    "FROM unnest(CAST(:stations AS bigint[]), CAST(:minutes AS smallint[]), "
    "CAST(:distances AS float8[]), CAST(:wkbs AS bytea[])) AS a(station, minutes, distance_m, wkb)"
)


def _rebuild_on_network(
    conn: Connection, settings: ServiceAreaSettings, network: WalkingNetwork
) -> int:
    """Every station's areas walked on ``network`` (a station too far from every path for a
    tier gets no area for it, and covers nothing at that tier)."""
    stations = conn.execute(text("SELECT id, ST_AsBinary(geom) FROM station ORDER BY id")).all()
    if not stations:
        return 0
    points = [to_metric(shapely.from_wkb(bytes(wkb))).coords[0] for _, wkb in stations]
    drawn = station_areas(
        network_graph(conn, network.id),
        points,
        settings.tier_distances_m,
        settings.network_access_m,
    )
    rows = []
    for (station_id, _), found in zip(stations, drawn, strict=True):
        for minutes, area in found.areas.items():
            storage = shapely.make_valid(from_metric(area))  # unprojecting may fold a sliver
            storage = shapely.union_all(
                [g for g in shapely.get_parts(storage) if g.geom_type == "Polygon"]
            )
            rows.append(
                {
                    "station": station_id,
                    "minutes": minutes,
                    "distance_m": settings.tier_distances_m[minutes],
                    "wkb": shapely.to_wkb(storage),
                }
            )
    if rows:
        conn.execute(
            _INSERT_NETWORK_AREAS,
            {
                "stations": [r["station"] for r in rows],
                "minutes": [r["minutes"] for r in rows],
                "distances": [r["distance_m"] for r in rows],
                "wkbs": [r["wkb"] for r in rows],
            },
        )
    return len(rows)
