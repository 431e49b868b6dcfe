"""A plan's working layer: the grids of a release in memory, edited by ops, never stored.

Every op takes a :class:`Layer`, changes it in place or raises :class:`EditRejectedError` with
located violations; ``touched`` and ``created`` say which grids an edit changed and made.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from geogrid.boundaries import releases
from geogrid.boundaries.validation import Violation
from geogrid.errors import InvalidInputError
from geogrid.i18n import tr
from geogrid.plans.fitting import fit, outlines
from geogrid.plans.geometry import insert_vertices, share_vertices


class EditRejectedError(InvalidInputError):
    """An edit (or a plan) that breaks a rule; ``details`` holds the violations."""

    code = "edit_rejected"


def reject(violations: list[Violation]) -> None:
    """Raise EditRejectedError for ``violations`` (the first names the rule); none: return."""
    if violations:
        raise EditRejectedError(violations[0].message, details=violations)


@dataclass
class Layer:
    """A working copy of a grid layer: code -> attributes (incl. ``geometry``)."""

    grids: dict[str, dict[str, Any]]
    release: int
    touched: set[str] = field(default_factory=set)
    created: set[str] = field(default_factory=set)

    def copy(self) -> Layer:
        """A copy whose grids can be edited without touching this one's (geometries are
        immutable, so they are shared)."""
        grids = {code: dict(grid) for code, grid in self.grids.items()}
        return Layer(grids, self.release, set(self.touched), set(self.created))

    def grid(self, code: str) -> dict[str, Any]:
        """Grid ``code``'s attributes; EditRejectedError when the layer has no such grid."""
        found = self.grids.get(str(code))
        if found is None:
            raise EditRejectedError(tr("grid {code} is not in the plan's layer", code=code))
        return found

    def fit(self, geom: BaseGeometry) -> BaseGeometry:
        """Incoming ``geom`` with its vertices put on the outlines of the grids it comes
        near, within centimetres: the precision pipeline every edit's geometry goes
        through before it is checked (geogrid.plans.fitting).

        A vertex put on a grid's edge (not on one of its vertices) becomes a vertex of that
        edge too, on both sides: then the edit's outline and the grids' meet vertex for
        vertex, and no overlay leaves a sliver between a point computed on an edge and the
        edge itself.
        """
        fitted = fit(geom, outlines((g["geometry"] for g in self.grids.values()), geom))
        # Even an exact geometry has vertices computed on an edge (where a cut crosses it),
        # a float's width off it.
        vertices = shapely.multipoints(shapely.get_coordinates(fitted))
        self.touched |= insert_vertices(self.grids, vertices)
        return fitted

    def share_vertices(self, codes: set[str]) -> None:
        """Give neighbours the new vertices of ``codes`` (see plan_geometry.share_vertices)."""
        self.touched |= share_vertices(self.grids, codes)


class RecentLayers:
    """The last few plan layers this process built, by what fixes them: the database, the
    plan, its base release and its active edits (stored edits never change; an undone one
    leaves the key).

    A plan's layer is its base with every edit replayed, and each new edit is checked against
    it: without this, a desktop GIS saving one feature after another would replay the whole
    plan on every save (40 ms more per edit already in the plan). Layers go in and out as
    copies, so no caller edits another's.
    """

    def __init__(self, size: int = 16) -> None:
        self._size = size
        self._layers: OrderedDict[tuple[Any, ...], Layer] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> Layer | None:
        with self._lock:
            found = self._layers.get(key)
            if found is None:
                return None
            self._layers.move_to_end(key)
        return found.copy()

    def put(self, key: tuple[Any, ...], layer: Layer) -> None:
        kept = layer.copy()
        with self._lock:
            self._layers[key] = kept
            self._layers.move_to_end(key)
            while len(self._layers) > self._size:
                self._layers.popitem(last=False)


def base_layer(conn: Connection, release_id: int) -> Layer:
    """The grids of a release as a working copy."""
    frame = releases.grid_layer(conn, release_id)
    grids: dict[str, dict[str, Any]] = {}
    for record in frame.to_dict("records"):
        # Missing text comes back as NaN from pandas; plans compare attributes, so use None.
        record = {k: (None if isinstance(v, float) and v != v else v) for k, v in record.items()}
        code = str(record["code"]).strip()
        record["code"] = code
        record["community_code"] = str(record["community_code"]).strip()
        grids[code] = record
    return Layer(grids, release_id)


def next_code(conn: Connection, layer: Layer, community: str) -> str:
    """A grid code never used before in ``community`` (codes are never reused)."""
    used = conn.execute(
        text("SELECT coalesce(max(right(code, 3)::int), 0) FROM grid WHERE community_code = :c"),
        {"c": community},
    ).scalar_one()
    in_plan = [int(c[-3:]) for c in layer.grids if c.startswith(community)]
    sequence = max([int(used), *in_plan]) + 1
    if sequence > 999:
        raise EditRejectedError(f"community {community} has used all 999 grid codes")
    return f"{community}{sequence:03d}"
