"""Nearest service stations, their walking distance and minutes, and the tiers that reach a point."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from geogrid.errors import InvalidInputError
from geogrid.i18n import tr
from geogrid.lookup.service_areas import STATION_KINDS, Station, detour_factor
from geogrid.lookup.snapshot import Snapshot
from geogrid.lookup.walking import WalkingModel
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
) -> list[NearbyStation]:
    """The ``k`` stations nearest to a storage-CRS point, nearest first.

    Distances are straight lines in EPSG:4548 metres; the walking distance is that x the
    kind's detour factor, and its minutes and tiers come from the one walking model
    (:mod:`geogrid.lookup.walking`), so ``within_minutes`` lists exactly the tiers t with
    ``walk_minutes <= t``. The tiers are decided on the unrounded walking distance.
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
    if k < len(distance):
        nearest = np.argpartition(distance, k - 1)[:k]
        order = nearest[np.argsort(distance[nearest], kind="stable")]
    else:
        order = np.argsort(distance, kind="stable")
    model = WalkingModel.from_settings(settings)
    found = []
    for j in order.tolist():
        station = stations[j]
        metres = float(distance[j])
        walk = metres * detour_factor(station.kind, settings)
        found.append(
            NearbyStation(
                station,
                round(metres, 1),
                round(walk, 1),
                model.shown_minutes(walk),
                model.within(walk),
            )
        )
    return found
