"""Boundary releases: grids, their history, the invariant checks, and what a publish sets off.

Modules: ``grids``, ``history``, ``hooks``, ``releases``, ``validation``.
"""

from geogrid.boundaries.grids import Grid, Person, Unit, check_code, get_grid
from geogrid.boundaries.releases import (
    GRID_ATTRIBUTES,
    GRID_FIELDS,
    GRID_PEOPLE,
    PUBLISH_LOCK,
    BoundaryRelease,
    current_release,
    get_release,
    grid_layer,
    newest_release_id,
    release_at,
)
from geogrid.boundaries.validation import (
    UnitShape,
    Violation,
    check_layer,
    check_release,
    fixed_units,
    invalid_geometry,
)

__all__ = [
    "GRID_ATTRIBUTES",
    "GRID_FIELDS",
    "GRID_PEOPLE",
    "PUBLISH_LOCK",
    "BoundaryRelease",
    "Grid",
    "Person",
    "Unit",
    "UnitShape",
    "Violation",
    "check_code",
    "check_layer",
    "check_release",
    "current_release",
    "fixed_units",
    "get_grid",
    "get_release",
    "grid_layer",
    "invalid_geometry",
    "newest_release_id",
    "release_at",
]
