"""An open plan as a collection of features that a desktop GIS edits one feature at a time
(OGC API – Features Part 4: create, replace, update, delete).

QGIS (3.32 and later) writes each changed feature on its own — ``PUT`` or ``PATCH`` per
feature, no transaction, no ``If-Match`` — so each write here becomes one plan edit that stands
on its own, checked like any other (geogrid.plans.lifecycle.add_edit):

- a replace or update becomes a ``reshape`` (geogrid.plans.reshape): the neighbours give and
  take the difference; one that changes nothing is stored as nothing (a no-op);
- a new feature becomes a ``carve``: a dedicated grid cut out of the resident grids it covers;
- a delete becomes an ``absorb``: the grid's area goes to the neighbour of its community that
  shares the longest edge (or the one named earlier by the grid's ``merge_into``), which
  keeps its code.

Features show no personal field (leaders, party contacts): their people are not edited here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import shapely
from sqlalchemy import Connection

from geogrid.boundaries.validation import Violation
from geogrid.errors import InvalidInputError, NotFoundError, PreconditionFailedError
from geogrid.geo.datum import to_metric
from geogrid.i18n import tr
from geogrid.plans.layer import Layer, reject
from geogrid.plans.lifecycle import (
    Plan,
    apply_edit,
    build_layer,
    get_plan,
    lock_plan,
    require_open,
)
from geogrid.plans.reshape import (
    ATTRIBUTES,
    UNCHANGED_M2,
    longest_edge_neighbour,
    normalise_reshape,
)

#: Properties every feature of a plan's collection has, in this order.
PROPERTIES = (
    "code",
    "name",
    "kind",
    "community_code",
    "dedicated_unit_name",
    "dedicated_unit_type",
    "merge_into",
)
#: Properties a write may not change (sent unchanged, as QGIS sends every field, they pass).
FIXED = ("code", "kind", "community_code")


@dataclass(frozen=True)
class PlanFeature:
    """One grid of a plan's working layer, as a feature (storage coordinates)."""

    code: str
    properties: dict[str, Any]
    geometry: shapely.Geometry
    etag: str


@dataclass(frozen=True)
class Written:
    """What a write did: the edit stored (None for a no-op) and the feature it left."""

    edit_id: int | None
    feature: PlanFeature | None


def collection_id(plan_id: int) -> str:
    """The collection id of plan ``plan_id`` under /ogc (``plan-7``)."""
    return f"plan-{plan_id}"


def feature(grid: dict[str, Any]) -> PlanFeature:
    """Grid attributes of a layer as a feature, with an entity tag of what it shows."""
    properties = {key: grid.get(key) for key in PROPERTIES}
    digest = hashlib.blake2b(digest_size=12)
    digest.update(shapely.to_wkb(grid["geometry"]))
    digest.update(repr(sorted(properties.items())).encode())
    return PlanFeature(grid["code"], properties, grid["geometry"], f'"{digest.hexdigest()}"')


def plan_layer(conn: Connection, plan_id: int, *, lock: bool = False) -> tuple[Plan, Layer]:
    """Plan ``plan_id`` (open) and its working layer; ``lock`` holds the plan for a write."""
    if lock:
        lock_plan(conn, plan_id)
    plan = get_plan(conn, plan_id)
    require_open(plan)
    return plan, build_layer(conn, plan)


def plan_features(conn: Connection, plan_id: int) -> tuple[Plan, list[PlanFeature]]:
    """Every grid of open plan ``plan_id``, as features, by code."""
    plan, layer = plan_layer(conn, plan_id)
    return plan, [feature(layer.grids[code]) for code in sorted(layer.grids)]


def plan_feature(conn: Connection, plan_id: int, code: str) -> PlanFeature:
    """Grid ``code`` of open plan ``plan_id``; NotFoundError when the plan has no such grid."""
    _, layer = plan_layer(conn, plan_id)
    return _found(layer, plan_id, code)


def _found(layer: Layer, plan_id: int, code: str) -> PlanFeature:
    grid = layer.grids.get(code)
    if grid is None:
        raise NotFoundError(
            tr("plan {plan_id} has no grid {code}", plan_id=plan_id, code=code),
        )
    return feature(grid)


def write_feature(
    conn: Connection,
    plan_id: int,
    code: str,
    geometry: dict[str, Any] | None,
    properties: dict[str, Any],
    crs: str,
    actor: str,
    *,
    replace: bool,
    if_match: str | None = None,
) -> Written:
    """Replace (``replace=True``, PUT) or update (PATCH) grid ``code`` of plan ``plan_id``.

    Parameters
    ----------
    geometry : dict or None
        The new outline as GeoJSON in ``crs`` (lon/lat order), None to keep it (PATCH).
    properties : dict
        Properties as the client sent them; ``code``, ``kind`` and ``community_code`` may be
        sent but not changed, unknown ones are refused.
    replace : bool
        PUT: the feature is replaced whole, so it must carry a geometry.
    if_match : str, optional
        The client's ``If-Match``: the write goes ahead only if it names the feature's
        current entity tag (or is ``*``); never required.

    Returns
    -------
    Written
        ``edit_id`` None when the write matches the plan already (nothing is stored).
    """
    _, layer = plan_layer(conn, plan_id, lock=True)
    current = _found(layer, plan_id, code)
    _check_match(current, if_match)
    if replace and geometry is None:
        raise InvalidInputError(tr("a replaced feature needs its geometry; send PATCH to keep it"))
    params: dict[str, Any] = {"op": "reshape", "grid": code, "crs": crs}
    for key, value in _changes(current, properties).items():
        params[key] = value
    if geometry is not None:
        params["geometry"] = geometry
        fitted = normalise_reshape(params, layer)["geometry"]
        outline = shapely.geometry.shape(fitted)
        difference = shapely.symmetric_difference(current.geometry, outline)
        if float(to_metric(difference).area) < UNCHANGED_M2:
            del params["geometry"]
    if set(params) <= {"op", "grid", "crs"}:
        return Written(None, current)
    applied = apply_edit(conn, plan_id, params, actor, layer)
    return Written(applied.edit_id, feature(applied.layer.grids[code]))


def _check_match(current: PlanFeature, if_match: str | None) -> None:
    """PreconditionFailedError unless ``if_match`` is absent, ``*`` or names ``current``."""
    if if_match is None or if_match.strip() == "*":
        return
    sent = [tag.strip().removeprefix("W/") for tag in if_match.split(",")]
    if current.etag not in sent:
        raise PreconditionFailedError(
            tr(
                "grid {code} has changed since it was read (If-Match {sent}, now {etag}); "
                "read it again",
                code=current.code,
                sent=if_match.strip()[:100],
                etag=current.etag,
            )
        )


def _refuse_unknown(properties: dict[str, Any]) -> None:
    """InvalidInputError naming what in ``properties`` a plan's grid does not have."""
    unknown = sorted(set(properties) - set(PROPERTIES))
    if unknown:
        raise InvalidInputError(
            tr(
                "properties {unknown} are not properties of a plan's grid; it has {known}",
                unknown=unknown,
                known=list(PROPERTIES),
            )
        )


def _changes(current: PlanFeature, sent: dict[str, Any]) -> dict[str, Any]:
    """The properties ``sent`` changes, refusing changes to fixed and unknown ones."""
    _refuse_unknown(sent)
    changes = {}
    for key, value in sent.items():
        was = current.properties.get(key)
        if value == was or (value in (None, "") and was in (None, "")):
            continue
        if key in FIXED:
            raise InvalidInputError(
                tr(
                    "{key} is {was} and cannot be changed by a write (it was sent as {value})",
                    key=key,
                    was=was,
                    value=value,
                )
            )
        changes[key] = value
    assert set(changes) <= set(ATTRIBUTES)
    return changes


def create_feature(
    conn: Connection,
    plan_id: int,
    geometry: dict[str, Any] | None,
    properties: dict[str, Any],
    crs: str,
    actor: str,
) -> Written:
    """A new feature of plan ``plan_id``: a dedicated grid carved out of the grids it covers.

    ``properties`` need ``name`` and ``dedicated_unit_type``; ``dedicated_unit_name``
    defaults to the name.
    """
    if geometry is None:
        raise InvalidInputError(tr("a new grid needs a geometry"))
    _refuse_unknown(properties)
    if properties.get("kind") not in (None, "", "dedicated"):
        raise InvalidInputError(
            tr(
                "a new feature is a dedicated grid carved out of resident ones; kind must be dedicated"
            )
        )
    name = properties.get("name")
    params = {
        "op": "carve",
        "area": geometry,
        "crs": crs,
        "name": name,
        "unit_name": properties.get("dedicated_unit_name") or name,
        "unit_type": properties.get("dedicated_unit_type"),
    }
    applied = apply_edit(conn, plan_id, params, actor)
    [code] = sorted(applied.created)
    return Written(applied.edit_id, feature(applied.layer.grids[code]))


def delete_feature(
    conn: Connection, plan_id: int, code: str, actor: str, if_match: str | None = None
) -> Written:
    """Give grid ``code`` to its ``merge_into`` or to the neighbour of its community that
    shares the longest edge (an ``absorb``); that neighbour is the returned feature."""
    _, layer = plan_layer(conn, plan_id, lock=True)
    grid = layer.grids.get(code)
    if grid is None:
        raise NotFoundError(tr("plan {plan_id} has no grid {code}", plan_id=plan_id, code=code))
    _check_match(feature(grid), if_match)
    into = grid.get("merge_into") or longest_edge_neighbour(layer, code)
    if into is None:
        reject(
            [
                Violation(
                    "no_neighbour",
                    f"grid {code} shares no edge with another grid of community "
                    f"{grid['community_code']}: deleting it would leave a gap",
                    (code,),
                    grid["geometry"].representative_point(),
                )
            ]
        )
    params = {"op": "absorb", "grid": code, "into": str(into)}
    applied = apply_edit(conn, plan_id, params, actor, layer)
    return Written(applied.edit_id, feature(applied.layer.grids[str(into)]))
