"""Read-only, versioned in-memory snapshots of one boundary release, for fast answers.

PostGIS stays the source of truth. A snapshot holds what the hot paths need — the point-in-grid
index, grid attributes, metric geometries for distances, compounds and stations — for one
release, and is replaced, never patched: :class:`SnapshotStore` builds the new one aside while
the old one keeps answering, then swaps a single reference. A background watcher learns of new
releases by PostgreSQL ``LISTEN geogrid_release`` (publishers ``NOTIFY`` in their transaction),
with a release-counter poll every half second as a fallback, so a process answers from a new
release within a second of its publication. A hot standby carries no NOTIFY (``LISTEN`` fails
during recovery): there the watcher follows releases by the poll alone, and listens again once
the server is promoted.
"""

from __future__ import annotations

import bisect
import logging
import math
import select
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, Engine, text

from geogrid.boundaries.grids import Grid, Unit
from geogrid.boundaries.releases import (
    BoundaryRelease,
    get_release,
    newest_release_id,
    release_at,
)
from geogrid.db.sqlfiles import sql
from geogrid.errors import NotFoundError
from geogrid.geo.datum import METRIC_SRID, STORAGE_SRID, LocalMetric, to_metric
from geogrid.geo.locator import OUTSIDE, GridIndex, Location
from geogrid.i18n import tr
from geogrid.lookup.service_areas import Station
from geogrid.organisations.serving import EMPTY as EMPTY_SERVING
from geogrid.organisations.serving import NOBODY, GridServing, load_serving, registers_version

log = logging.getLogger("geogrid.lookup.snapshot")
CHANNEL = "geogrid_release"
#: SQLSTATE of LISTEN on a server in recovery (a hot standby): read_only_sql_transaction.
_READ_ONLY = "25006"
_COMPOUND_CELL = 0.002  # degrees, about 200 m: a lookup cell for compound footprints
_POINT_WKB = struct.Struct("<BIdd")


@dataclass(frozen=True)
class Snapshot:
    """Everything the hot paths need about one release, immutable once built."""

    release: BoundaryRelease
    index: GridIndex
    grids: list[Grid]
    metric_grids: list[BaseGeometry]
    metric_grids_array: npt.NDArray[np.object_]
    grid_boundaries: list[BaseGeometry]
    neighbours: list[npt.NDArray[np.int64]]  # grids within 1 cm; only for grids not enclosed
    metric_tree: shapely.STRtree
    metric: LocalMetric
    compound_ids: npt.NDArray[np.int64]
    compound_names: list[str]
    compound_geoms: list[BaseGeometry]
    compound_cells: dict[tuple[int, int], list[int]]
    stations: list[Station]
    station_xy: npt.NDArray[np.float64]  # metric (EPSG:4548) x, y per station
    built_in_s: float
    #: who serves each grid (the registers, with their history); the grids' leader and
    #: party branch are what it says serves now
    serving: GridServing = EMPTY_SERVING

    def with_serving(self, serving: GridServing) -> Snapshot:
        """The same release with the registers as ``serving`` holds them (a new snapshot:
        the heavy parts are shared, nothing is patched)."""
        return replace(self, serving=serving, grids=[_people(g, serving) for g in self.grids])

    def grid(self, code: str) -> Grid | None:
        """The grid with ``code`` in this release, if there is one."""
        i = bisect.bisect_left(self.index.codes, code)
        if i < len(self.grids) and self.index.codes[i] == code:
            return self.grids[i]
        return None

    def locate(self, lon: float, lat: float) -> Location:
        """Grid of one storage-CRS point (see geogrid.geo.locator for the tie-break rule)."""
        return self.index.locate_one(lon, lat)

    def compound_at(self, lon: float, lat: float) -> tuple[int, str] | None:
        """The compound whose footprint covers the point, if any (smallest id on overlap)."""
        key = (math.floor(lon / _COMPOUND_CELL), math.floor(lat / _COMPOUND_CELL))
        for i in self.compound_cells.get(key, ()):
            if shapely.intersects_xy(self.compound_geoms[i], lon, lat):
                return int(self.compound_ids[i]), self.compound_names[i]
        return None

    def metric_point(self, lon: float, lat: float) -> BaseGeometry:
        """A storage-CRS point as an EPSG:4548 shapely Point (metres)."""
        return shapely.from_wkb(_POINT_WKB.pack(1, 1, *self.metric.xy(lon, lat)))

    def nearest_grid(self, metric_point: BaseGeometry) -> tuple[int, float]:
        """Index of the nearest grid and its distance in metres."""
        found, dist = self.metric_tree.query_nearest(metric_point, return_distance=True)
        return int(found[0]), float(dist[0])

    def distance_to_other_grid(self, metric_point: BaseGeometry, grid: int) -> float | None:
        """Metres from a point in ``grid`` to the nearest other grid (None: there is none).

        Any other grid is at least as far as ``grid``'s own boundary. When the grid is enclosed
        (every edge of it is another grid's too) the nearest boundary point lies in another
        grid, so that is the answer; otherwise a neighbour sharing that boundary usually
        attains it, and only failing that is the whole layer searched.
        """
        to_edge = float(shapely.distance(metric_point, self.grid_boundaries[grid]))
        if self.index.enclosed[grid]:
            return to_edge
        neighbours = self.neighbours[grid]
        best = (
            float(shapely.distance(metric_point, self.metric_grids_array[neighbours]).min())
            if len(neighbours)
            else math.inf
        )
        if best <= to_edge + 1e-6:
            return best
        near = self.metric_tree.query(
            metric_point, predicate="dwithin", distance=min(best, 200_000.0)
        )
        others = [int(j) for j in near if j != grid]
        if not others:
            return None if math.isinf(best) else best
        return float(shapely.distance(metric_point, self.metric_grids_array[others]).min())


def build(conn: Connection, release_id: int) -> Snapshot:
    """Build the snapshot of release ``release_id`` (about half a second for Yaohai)."""
    started = time.perf_counter()
    release = get_release(conn, release_id)
    rows = conn.execute(text(sql("snapshot_grids")), {"release": release_id}).all()
    if not rows:
        raise NotFoundError(f"release {release_id} has no grids")
    geoms = shapely.from_wkb([bytes(r.wkb) for r in rows])
    codes = [r.code.strip() for r in rows]
    index = GridIndex.build(codes, list(geoms), release_id)
    by_code = {r.code.strip(): r for r in rows}
    grids = [
        Grid(
            code=code,
            name=row.name,
            kind=row.kind,
            community=Unit(row.community_code, row.community_name),
            street=Unit(row.street_code, row.street_name),
            leader=NOBODY,
            party_branch=None,
            party_secretary=NOBODY,
            release=release_id,
            geometry=geometry,
        )
        for code, geometry in zip(index.codes, index.geoms, strict=True)
        for row in (by_code[code],)
    ]
    serving = load_serving(conn)
    compounds = conn.execute(
        text("SELECT id, name, ST_AsBinary(geom) AS wkb FROM compound ORDER BY id")
    ).all()
    return assemble(
        release,
        index,
        grids,
        Compounds(
            np.array([r.id for r in compounds], dtype=np.int64),
            [r.name for r in compounds],
            shapely.from_wkb([bytes(r.wkb) for r in compounds]),
        ),
        _stations(conn),
        started,
    ).with_serving(serving)


def _people(grid: Grid, serving: GridServing) -> Grid:
    now = serving.at(grid.code)
    branch = now.branch
    return replace(
        grid,
        leader=now.leader,
        party_branch=None if branch is None else branch.name,
        party_secretary=NOBODY if branch is None else branch.secretary,
    )


@dataclass(frozen=True)
class Compounds:
    """Compounds as a snapshot takes them: ids, names and footprints (storage lon/lat)."""

    ids: npt.NDArray[np.int64]
    names: list[str]
    geoms: npt.NDArray[np.object_]


NO_COMPOUNDS = Compounds(np.array([], dtype=np.int64), [], np.array([], dtype=object))


def assemble(
    release: BoundaryRelease,
    index: GridIndex,
    grids: list[Grid],
    compounds: Compounds = NO_COMPOUNDS,
    stations: list[Station] | None = None,
    started: float | None = None,
) -> Snapshot:
    """The snapshot of an indexed release: what :func:`build` makes of what it reads.

    ``grids`` are in the index's order; ``started`` (a ``time.perf_counter()``) dates
    ``built_in_s``. Neighbours (grids within 1 cm) are found only for grids that are not
    enclosed, the only ones whose distance to another grid asks them.
    """
    started = time.perf_counter() if started is None else started
    stations = [] if stations is None else stations
    metric_array = to_metric(np.array(index.geoms))
    tree = shapely.STRtree(metric_array)
    open_grids = np.flatnonzero(~index.enclosed)
    pairs = tree.query(metric_array[open_grids], predicate="dwithin", distance=0.01)
    first, second = open_grids[pairs[0]], pairs[1]
    keep = first != second
    first, second = first[keep], second[keep]
    order = np.argsort(first, kind="stable")
    nearby = np.split(second[order], np.searchsorted(first[order], open_grids[1:]))
    neighbours = [np.empty(0, dtype=np.int64)] * len(grids)
    for g, found in zip(open_grids.tolist(), nearby, strict=True):
        neighbours[g] = found
    bounds = tuple(float(v) for v in shapely.total_bounds(np.array(index.geoms)))
    station_xy = np.array([[s.lon, s.lat] for s in stations]).reshape(-1, 2)
    if len(stations):
        points = to_metric(shapely.points(station_xy))
        station_xy = shapely.get_coordinates(points)
    return Snapshot(
        release=release,
        index=index,
        grids=grids,
        metric_grids=list(metric_array),
        metric_grids_array=metric_array,
        grid_boundaries=list(shapely.boundary(metric_array)),
        neighbours=neighbours,
        metric_tree=tree,
        metric=LocalMetric(bounds),  # type: ignore[arg-type]
        compound_ids=compounds.ids,
        compound_names=compounds.names,
        compound_geoms=list(compounds.geoms),
        compound_cells=_cells(compounds.geoms),
        stations=stations,
        station_xy=station_xy,
        built_in_s=time.perf_counter() - started,
    )


def _cells(geoms: npt.NDArray[np.object_]) -> dict[tuple[int, int], list[int]]:
    """Coarse cells -> indices of the prepared geometries whose box meets the cell, id order."""
    cells: dict[tuple[int, int], list[int]] = {}
    for i, geom in enumerate(geoms):
        shapely.prepare(geom)
        minx, miny, maxx, maxy = geom.bounds
        for cx in range(math.floor(minx / _COMPOUND_CELL), math.floor(maxx / _COMPOUND_CELL) + 1):
            for cy in range(
                math.floor(miny / _COMPOUND_CELL), math.floor(maxy / _COMPOUND_CELL) + 1
            ):
                cells.setdefault((cx, cy), []).append(i)
    return cells


def _stations(conn: Connection) -> list[Station]:
    areas: dict[int, dict[int, BaseGeometry]] = {}
    for r in conn.execute(
        text("SELECT station_id, minutes, ST_AsBinary(geom) AS wkb FROM service_area")
    ):
        geom = shapely.from_wkb(bytes(r.wkb))
        shapely.prepare(geom)
        areas.setdefault(r.station_id, {})[int(r.minutes)] = geom
    rows = conn.execute(
        text(
            "SELECT s.id, s.name, s.kind, s.opening_hours, s.address, s.community_code, "
            "c.name AS community_name, ST_AsBinary(s.geom) AS wkb "
            "FROM station s LEFT JOIN community c ON c.code = s.community_code ORDER BY s.id"
        )
    )
    return [
        Station(
            r.id,
            r.name,
            r.kind,
            None if r.community_code is None else Unit(r.community_code.strip(), r.community_name),
            r.opening_hours,
            r.address,
            shapely.from_wkb(bytes(r.wkb)),
            areas.get(r.id, {}),
        )
        for r in rows
    ]


class SnapshotStore:
    """The current snapshot, kept in step with published releases, plus older ones on demand.

    ``current()`` never blocks on a rebuild once the first snapshot exists: a new release is
    built aside by the watcher thread and swapped in whole.
    """

    def __init__(self, engine: Engine, keep_old: int = 4) -> None:
        self._engine = engine
        self._current: Snapshot | None = None
        self._old: OrderedDict[int, Snapshot] = OrderedDict()
        self._keep_old = keep_old
        self._lock = threading.Lock()
        self._build_lock = threading.Lock()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self.on_swap: Callable[[Snapshot], None] | None = None
        #: The newest release this process knows is published (it may still be building its
        #: snapshot): a read that must not miss a release needs at least this one.
        self.newest: int | None = None
        #: Whether the watcher follows releases by polling alone (the database is a standby).
        self.polling = False
        #: Other NOTIFY channels the watcher listens on, with what to call when one fires.
        self._listeners: dict[str, Callable[[], None]] = {}

    # ---- reading ---------------------------------------------------------------------------

    def current(self) -> Snapshot:
        """The snapshot of the newest release.

        Built on first use, unless a watcher thread keeps it: then this never blocks and
        raises NotFoundError until the first release has been built.
        """
        snap = self._current
        if snap is None and self._watcher is None:
            self.refresh()
            snap = self._current
        if snap is None:
            raise NotFoundError(
                tr("no boundary release is published yet; run: geogrid load demo"),
            )
        return snap

    @property
    def serving(self) -> Snapshot | None:
        """The snapshot served now, without building one (None before the first)."""
        return self._current

    def release(self, release_id: int) -> Snapshot:
        """The snapshot of any release (older ones are kept in a small LRU)."""
        snap = self._current
        if snap is not None and snap.release.id == release_id:
            return snap
        with self._lock:
            if release_id in self._old:
                self._old.move_to_end(release_id)
                return self._old[release_id]
        with self._engine.connect() as conn:
            built = build(conn, release_id)
        with self._lock:
            self._old[release_id] = built
            while len(self._old) > self._keep_old:
                self._old.popitem(last=False)
        return built

    def at(self, moment: datetime) -> Snapshot:
        """The snapshot of the release that was current at ``moment`` (timezone-aware)."""
        with self._engine.connect() as conn:
            release = release_at(conn, moment)
        if release is None:
            raise NotFoundError(
                tr(
                    "no boundary release was published by {isoformat}", isoformat=moment.isoformat()
                ),
            )
        return self.release(release.id)

    # ---- keeping up ------------------------------------------------------------------------

    def refresh(self) -> bool:
        """Build and swap in the newest release if it is not the current one."""
        with self._build_lock:
            with self._engine.connect() as conn:
                newest = newest_release_id(conn)
                if newest is None:
                    return False
                self.newest = max(newest, self.newest or 0)
                current = self._current
                if current is not None and current.release.id == newest:
                    return False
                built = build(conn, newest)
            self._current = built
            log.info(
                "serving boundary release %s (snapshot built in %.2f s)", newest, built.built_in_s
            )
            if self.on_swap is not None:
                self.on_swap(built)
            return True

    def reload_serving(self) -> None:
        """Read who serves each grid again (on ``NOTIFY geogrid_organisations``) and serve
        it from every snapshot held; the old snapshots keep answering meanwhile."""
        with self._engine.connect() as conn:
            current = self._current
            if current is not None and current.serving.version == registers_version(conn):
                return  # nothing changed (a watcher reconnecting asks too)
            serving = load_serving(conn)
        with self._build_lock:
            if self._current is not None:
                self._current = self._current.with_serving(serving)
        with self._lock:
            for release_id, snap in list(self._old.items()):
                self._old[release_id] = snap.with_serving(serving)

    def listen(self, channel: str, callback: Callable[[], None]) -> None:
        """Also call ``callback`` when a NOTIFY arrives on ``channel`` (set before watching).

        After the watcher loses the database every callback is called too, since
        notifications may have been missed meanwhile.
        """
        self._listeners[channel] = callback

    def start_watching(self, poll_s: float = 0.5) -> None:
        """Follow new releases in a daemon thread (LISTEN/NOTIFY plus a counter poll)."""
        if self._watcher is not None:
            return
        self._watcher = threading.Thread(
            target=self._watch, args=(poll_s,), daemon=True, name="geogrid-release-watcher"
        )
        self._watcher.start()

    def stop(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)

    def _watch(self, poll_s: float) -> None:
        while not self._stop.is_set():
            try:
                raw = self._engine.raw_connection()
                try:
                    dbapi = raw.driver_connection
                    dbapi.set_session(autocommit=True)  # type: ignore[union-attr]
                    if self._listen(dbapi):
                        self._follow_notifications(dbapi, poll_s)
                    else:
                        self._follow_by_polling(dbapi, poll_s)
                finally:
                    raw.invalidate()
            except Exception:  # the database went away: keep the old snapshot, retry
                log.warning("release watcher lost the database; retrying", exc_info=True)
                self._stop.wait(2.0)

    def _listen(self, dbapi: Any) -> bool:
        """LISTEN on every channel; False on a hot standby, which refuses LISTEN."""
        with dbapi.cursor() as cur:
            for channel in (CHANNEL, *self._listeners):
                try:
                    cur.execute(f"LISTEN {channel}")
                except Exception as error:
                    if getattr(error, "pgcode", None) == _READ_ONLY:
                        return False
                    raise
        return True

    def _follow_notifications(self, dbapi: Any, poll_s: float) -> None:
        self.polling = False
        # Notifications may have been missed while no one listened.
        for callback in self._listeners.values():
            callback()
        while not self._stop.is_set():
            if select.select([dbapi], [], [], poll_s)[0]:
                dbapi.poll()
                fired = {n.channel for n in dbapi.notifies}
                dbapi.notifies.clear()
                for channel in fired & set(self._listeners):
                    self._listeners[channel]()
            self.refresh()

    def _follow_by_polling(self, dbapi: Any, poll_s: float) -> None:
        """On a hot standby: poll the release counter until the server is promoted."""
        if not self.polling:
            # Said once: a standby stays one, and the poll is how it is followed.
            log.info(
                "the database is a hot standby (no NOTIFY): following releases by polling "
                "every %.1f s",
                poll_s,
            )
            self.polling = True
        with dbapi.cursor() as cur:
            while not self._stop.is_set():
                self.refresh()
                self._stop.wait(poll_s)
                cur.execute("SELECT pg_is_in_recovery()")
                if not cur.fetchone()[0]:
                    log.info("the database was promoted: listening for releases again")
                    return


__all__ = [
    "CHANNEL",
    "METRIC_SRID",
    "NO_COMPOUNDS",
    "OUTSIDE",
    "STORAGE_SRID",
    "Compounds",
    "Snapshot",
    "SnapshotStore",
    "assemble",
    "build",
]
