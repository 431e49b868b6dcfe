"""Prometheus metrics at ``/metrics``: requests per route, latencies, the database gate, the
release served.

Each app has its own registry (tests build many apps in one process). With several worker
processes (``geogrid serve --workers N`` sets ``PROMETHEUS_MULTIPROC_DIR``), every worker
writes its samples there and ``/metrics`` answers for all of them, as prometheus-client's
multiprocess mode does; the gauges then say how to combine workers (sum of connections in
use, newest release).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any, Literal

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

_Mode = Literal["livesum", "max", "min"]

#: Latency buckets in seconds: from a locate (sub-millisecond) to a long publish.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Metrics:
    """The app's metrics; :meth:`observe` is called once per request."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Histogram(
            "geogrid_http_request_duration_seconds",
            "Time to answer a request, by method, route template and status",
            ("method", "route", "status"),
            buckets=BUCKETS,
            registry=self.registry,
        )
        self._children: dict[tuple[str, str, int], Any] = {}

        def gauge(name: str, doc: str, mode: _Mode) -> Gauge:
            return Gauge(name, doc, registry=self.registry, multiprocess_mode=mode)

        self.db_slots = gauge(
            "geogrid_db_slots", "Requests that may use the database at once", "livesum"
        )
        self.db_in_use = gauge(
            "geogrid_db_slots_in_use", "Requests using the database now", "livesum"
        )
        self.pool_checked_out = gauge(
            "geogrid_db_pool_checked_out", "Pooled connections checked out now", "livesum"
        )
        self.release = gauge("geogrid_release", "The boundary release served", "max")
        self.release_age = gauge(
            "geogrid_release_age_seconds", "Seconds since the served release was published", "min"
        )
        self.snapshot_build = gauge(
            "geogrid_snapshot_build_seconds", "Time to build the served snapshot", "max"
        )
        self.replica_release = gauge(
            "geogrid_replica_release",
            "The newest release seen replayed on the hot standby (GEOGRID_DATABASE_REPLICA_URL)",
            "max",
        )
        self.replica_in_use = gauge(
            "geogrid_db_replica_slots_in_use", "Requests using the hot standby now", "livesum"
        )
        self.pinned_reads = Counter(
            "geogrid_release_reads",
            "Release-pinned reads, by the database that served them (replica or primary)",
            ("database",),
            registry=self.registry,
        )
        self._pinned = {name: self.pinned_reads.labels(name) for name in ("replica", "primary")}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.requests.labels(method, route, str(status))
        child.observe(seconds)

    def pinned_read(self, database: Literal["replica", "primary"]) -> None:
        """Count a release-pinned read served by ``database``."""
        self._pinned[database].inc()

    def sample(self, app_state: Any) -> None:
        """Refresh the gauges from the app's live state (called about once a second)."""
        database = getattr(app_state, "database", None)
        if database is not None:
            self.db_slots.set(database.slots)
            self.db_in_use.set(database.in_use)
            self.pool_checked_out.set(database.engine.pool.checkedout())
        replica = getattr(app_state, "replica", None)
        if replica is not None:
            self.replica_release.set(replica.release)
            self.replica_in_use.set(replica.database.in_use)
        snapshots = getattr(app_state, "snapshots", None)
        snapshot = None if snapshots is None else snapshots.serving
        if snapshot is not None:
            self.release.set(snapshot.release.id)
            published = snapshot.release.published_at
            if published.tzinfo is None:
                published = published.replace(tzinfo=UTC)
            self.release_age.set((datetime.now(UTC) - published).total_seconds())
            self.snapshot_build.set(snapshot.built_in_s)

    def exposition(self) -> tuple[bytes, str]:
        """The text Prometheus scrapes, and its content type."""
        if multiprocess_dir():
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


__all__ = ["BUCKETS", "Metrics", "multiprocess_dir"]
