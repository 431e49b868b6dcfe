"""Nearest service stations, their walking distance and minutes, and the tiers that reach a point."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from geogrid.errors import InvalidInputError
from geogrid.i18n import tr
from geogrid.lookup.service_areas import STATION_KINDS, Station, detour_factor
from geogrid.lookup.snapshot import Snapshot
from geogrid.lookup.walking import STRAIGHT_LINE, WalkingModel
from geogrid.lookup.walks import Walks
from geogrid.settings import ServiceAreaSettings


@dataclass(frozen=True)
class NearbyStation:
    """A station near a point: straight-line and walking metres, walking minutes, the tiers
    that reach it (``walk_minutes <= t`` exactly for the tiers t listed)."""

    station: Station
    distance_m: float
    walk_distance_m: float
    walk_minutes: float
    within_minutes: list[int]
    #: How the walking distance was measured: "network", or the straight line x detour
    #: factor (no network, or the point is farther than the access leg from every path).
    method: str = STRAIGHT_LINE


def parse_kinds(kinds: Iterable[str] | None) -> set[str] | None:
    """Validate station kinds (None or empty = all)."""
    chosen = {k.strip() for k in kinds or () if k.strip()}
    unknown = sorted(chosen - set(STATION_KINDS))
    if unknown:
        raise InvalidInputError(
            tr(
                "kind was {unknown} but must be among {STATION_KINDS}",
                unknown=unknown,
                STATION_KINDS=list(STATION_KINDS),
            ),
        )
    return chosen or None


def nearest_stations(
    snapshot: Snapshot,
    lon: float,
    lat: float,
    k: int,
    kinds: set[str] | None,
    settings: ServiceAreaSettings,
    walks: Walks | None = None,
) -> list[NearbyStation]:
    """The ``k`` stations nearest to a storage-CRS point by walking, nearest first.

    On a walking network (``walks``) the walking distance is walked along the paths
    (:mod:`geogrid.network.areas`: the same walk the network's service areas are drawn
    from); without one, or for a point farther than the access leg from every path, it is
    the straight line (EPSG:4548 metres) x the kind's detour factor, and each station says
    which. Minutes and tiers come from the one walking model (:mod:`geogrid.lookup.walking`),
    so ``within_minutes`` lists exactly the tiers t with ``walk_minutes <= t``, decided on the
    unrounded walking distance.
    """
    if k < 1:
        raise InvalidInputError(f"k must be at least 1 but was {k}")
    if kinds is None:
        chosen: list[int] | slice = slice(None)
        stations = snapshot.stations
    else:
        chosen = [i for i, s in enumerate(snapshot.stations) if s.kind in kinds]
        stations = [snapshot.stations[i] for i in chosen]
    if not stations:
        return []
    qx, qy = snapshot.metric.xy(lon, lat)
    xy = snapshot.station_xy[chosen]
    distance = np.hypot(xy[:, 0] - qx, xy[:, 1] - qy)
    if settings.detour_factor_by_kind:
        walk = distance * np.array([detour_factor(s.kind, settings) for s in stations])
    else:  # one factor for every kind (the default): no loop over the stations
        walk = distance * settings.detour_factor
    on_network = np.zeros(len(stations), dtype=bool)
    if walks is not None:
        walked = walks.metres_to(walks.rows_of(snapshot.stations)[chosen], qx, qy)
        on_network = np.isfinite(walked)
        walk = np.where(on_network, walked, walk)
    if k < len(walk):
        nearest = np.argpartition(walk, k - 1)[:k]
        order = nearest[np.argsort(walk[nearest], kind="stable")]
    else:
        order = np.argsort(walk, kind="stable")
    model = WalkingModel.from_settings(settings)
    found = []
    for j in order.tolist():
        metres_j = float(walk[j])
        found.append(
            NearbyStation(
                stations[j],
                round(float(distance[j]), 1),
                round(metres_j, 1),
                model.shown_minutes(metres_j),
                model.within(metres_j),
                "network" if on_network[j] else STRAIGHT_LINE,
            )
        )
    return found
