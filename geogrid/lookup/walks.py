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
from dataclasses import dataclass

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
