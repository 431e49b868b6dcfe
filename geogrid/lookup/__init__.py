"""Answers from a release: the in-memory snapshot, locate, nearest stations, service areas,
coverage, the one walking model and the feature collections.

Modules: ``collections``, ``coverage``, ``health``, ``locate``, ``service_areas``, ``snapshot``,
``stations``, ``walking``.
"""

from geogrid.lookup.collections import MAX_LIMIT, Compound
from geogrid.lookup.coverage import CoverageCache, coverage_gaps, coverage_h3
from geogrid.lookup.locate import PointAnswer, code_table, locate_point, locate_points
from geogrid.lookup.service_areas import STATION_KINDS, Station
from geogrid.lookup.snapshot import Snapshot, SnapshotStore
from geogrid.lookup.stations import nearest_stations, parse_kinds
from geogrid.lookup.walking import WalkingModel, tier_of_kind

__all__ = [
    "MAX_LIMIT",
    "STATION_KINDS",
    "Compound",
    "CoverageCache",
    "PointAnswer",
    "Snapshot",
    "SnapshotStore",
    "Station",
    "WalkingModel",
    "code_table",
    "coverage_gaps",
    "coverage_h3",
    "locate_point",
    "locate_points",
    "nearest_stations",
    "parse_kinds",
    "tier_of_kind",
]
