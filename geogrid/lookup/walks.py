"""The current walking network's walks from every station, kept in step with publishes.

Nearest-station answers read walking distances from memory (:class:`StationWalks`), built
from the newest walking network and the stations. Redrawing the service areas (publishing a
network, reloading the stations) notifies ``geogrid_network`` in its transaction; the app's release watcher
passes that on to :meth:`NetworkWalks.invalidate`, and the next answer rebuilds (about a
second on the demo) while it keeps answering from the old walks until then. Without a
network, or while none can be built, answers fall back to the straight line x detour factor
and say so.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from geogrid.geo.datum import to_metric
from geogrid.lookup.service_areas import NETWORK_CHANNEL
from geogrid.network.paths import current_network, network_graph
from geogrid.network.walks import StationWalks

log = logging.getLogger("geogrid.lookup.walks")


@dataclass(frozen=True)
class Walks:
    """Walks on network ``network_id`` from the stations, by station id."""

    network_id: int
    access_m: float
    walks: StationWalks
    row_of: dict[int, int]

    #: Rows of station lists seen before (a snapshot's, read on every nearest answer), by the
    #: list's identity; the list itself is kept so that its id cannot be reused meanwhile.
    _known: dict[int, tuple[Sequence[Any], Any]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def rows_of(self, stations: Sequence[Any]) -> Any:
        """:meth:`rows` of a list of stations that does not change (a snapshot's), worked out
        once per list."""
        found = self._known.get(id(stations))
        if found is None or found[0] is not stations:
            if len(self._known) > 8:
                self._known.clear()
            found = (stations, self.rows([s.id for s in stations]))
            self._known[id(stations)] = found
        return found[1]

    def rows(self, station_ids: Sequence[int]) -> Any:
        """The walk row of each station id (-1 for a station these walks do not know)."""
        return np.array([self.row_of.get(int(i), -1) for i in station_ids], dtype=np.int64)

    def metres_to(self, station_rows: Any, x: float, y: float) -> Any:
        """Walking metres from the stations of ``station_rows`` (from :meth:`rows`) to the
        point (metric x, y); inf for an unknown station or an unreached point."""
        metres = self.walks.metres_to(x, y)
        return np.where(station_rows >= 0, metres[station_rows], np.inf)


def build_walks(conn: Connection, access_m: float) -> Walks | None:
    """Walks from every station on the current network (None without one)."""
    network = current_network(conn)
    if network is None:
        return None
    rows = conn.execute(text("SELECT id, ST_AsBinary(geom) FROM station ORDER BY id")).all()
    points = [to_metric(shapely.from_wkb(bytes(wkb))).coords[0] for _, wkb in rows]
    walks = StationWalks(network_graph(conn, network.id), points, access_m)
    return Walks(network.id, access_m, walks, {int(r[0]): i for i, r in enumerate(rows)})


class NetworkWalks:
    """The current :class:`Walks`, rebuilt after :meth:`invalidate`."""

    def __init__(self, engine: Engine, access_m: float) -> None:
        self._engine, self._access_m = engine, access_m
        self._walks: Walks | None = None
        self._stale = True
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        self._stale = True

    def current(self) -> Walks | None:
        """The walks (rebuilt first if stale; the old ones if the database is away)."""
        if self._stale and self._lock.acquire(blocking=self._walks is None):
            try:
                if self._stale:
                    self._stale = False
                    with self._engine.connect() as conn:
                        self._walks = build_walks(conn, self._access_m)
            except DBAPIError:
                self._stale = True
                log.warning("walking network not rebuilt: database unreachable")
            finally:
                self._lock.release()
        return self._walks


__all__ = ["NETWORK_CHANNEL", "NetworkWalks", "Walks", "build_walks"]
