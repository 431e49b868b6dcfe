"""Boundary plans: edits checked one by one, the whole plan checked again, published at once.

A plan is based on a release. Its layer is the base release's grids with the plan's active
edits replayed in order, in memory; nothing reaches ``grid_geometry`` until publish, which runs
in one transaction under the publishers' lock: either every edit becomes part of a new boundary
release (with lineage and an audit entry) or nothing changes.

Ops in this module: ``transfer`` (an area from one grid to an adjacent grid of the same
community), ``merge`` (adjacent grids of one community into a new grid with a new code),
``split`` (a grid cut by a line into new grids with new codes), ``revert`` (grids, or the whole
layer, back to their geometry in an earlier release), ``reassign`` (the responsible people),
``move_compound`` (a compound's footprint to an adjacent grid), ``carve`` (a dedicated grid cut
out of resident grids of one community) and ``replace`` (grids redrawn by the planner, the
drawing's union equal to the union it replaces).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import geopandas as gpd
import shapely
from shapely.geometry.base import BaseGeometry
from shapely.ops import split
from sqlalchemy import Connection, text

from geogrid import releases
from geogrid.datum import STORAGE_SRID, geometry_to_storage, normalise_crs, to_metric
from geogrid.errors import ConflictError, InvalidInputError, NotFoundError
from geogrid.releases import GRID_ATTRIBUTES, BoundaryRelease
from geogrid.validation import Unit, Violation, check_layer, fixed_units

#: Pieces smaller than this (m²) are slivers, not edits.
MIN_AREA_M2 = 1.0
_PUBLISH_LOCK = 340102  # the same key releases.publish takes


class EditRejectedError(InvalidInputError):
    """An edit (or a plan) that breaks a rule; ``details`` holds the violations."""

    code = "edit_rejected"


@dataclass(frozen=True)
class Edit:
    """One stored edit of a plan."""

    id: int
    op: str
    params: dict[str, Any]
    comment: str
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class Plan:
    """A plan with its active edits, oldest first."""

    id: int
    comment: str
    base_release: int
    status: str
    created_by: str
    created_at: datetime
    edits: list[Edit] = field(default_factory=list)


@dataclass
class Layer:
    """A working copy of a grid layer: code -> attributes (incl. ``geometry``)."""

    grids: dict[str, dict[str, Any]]
    release: int
    touched: set[str] = field(default_factory=set)
    created: set[str] = field(default_factory=set)

    def grid(self, code: str) -> dict[str, Any]:
        found = self.grids.get(str(code))
        if found is None:
            raise EditRejectedError(f"grid {code} is not in the plan's layer",
                                    zh=f"方案的网格图层中没有网格 {code}")
        return found


# ---- reading and writing plans ------------------------------------------------------------


def _plan(conn: Connection, row: Any) -> Plan:
    edits = [Edit(e.id, e.op, e.params, e.comment, e.created_by, e.created_at) for e in
             conn.execute(text("SELECT id, op, params, comment, created_by, created_at "
                               "FROM plan_edit WHERE plan_id = :p AND undone_at IS NULL "
                               "ORDER BY id"), {"p": row.id})]
    return Plan(row.id, row.comment, row.base_release, row.status, row.created_by,
                row.created_at, edits)


def get_plan(conn: Connection, plan_id: int) -> Plan:
    """Plan ``plan_id`` with its active edits; NotFoundError if there is none."""
    row = conn.execute(text("SELECT * FROM plan WHERE id = :id"), {"id": plan_id}).one_or_none()
    if row is None:
        raise NotFoundError(f"plan {plan_id} does not exist", zh=f"方案 {plan_id} 不存在")
    return _plan(conn, row)


def open_plans(conn: Connection) -> list[Plan]:
    """Every open plan, oldest first."""
    rows = conn.execute(text("SELECT * FROM plan WHERE status = 'open' ORDER BY id")).all()
    return [_plan(conn, r) for r in rows]


def _audit(conn: Connection, actor: str, action: str, *, plan_id: int | None = None,
           edit_id: int | None = None, release_id: int | None = None, comment: str = "",
           details: dict[str, Any] | None = None) -> None:
    conn.execute(text("INSERT INTO audit_log (actor, action, plan_id, edit_id, release_id, "
                      "comment, details) VALUES (:actor, :action, :plan, :edit, :release, "
                      ":comment, CAST(:details AS jsonb))"),
                 {"actor": actor, "action": action, "plan": plan_id, "edit": edit_id,
                  "release": release_id, "comment": comment,
                  "details": json.dumps(details or {}, ensure_ascii=False)})


def create_plan(conn: Connection, comment: str, actor: str) -> Plan:
    """Open a plan on the current release."""
    current = releases.current_release(conn)
    if current is None:
        raise NotFoundError("no boundary release is published yet; load grids first",
                            zh="尚未发布任何网格边界版本")
    row = conn.execute(text("INSERT INTO plan (comment, base_release, created_by) "
                            "VALUES (:c, :b, :a) RETURNING *"),
                       {"c": comment, "b": current.id, "a": actor}).one()
    _audit(conn, actor, "plan.create", plan_id=row.id, comment=comment)
    return _plan(conn, row)


def _require_open(plan: Plan) -> None:
    if plan.status != "open":
        state = "发布" if plan.status == "published" else "废弃"
        raise ConflictError(f"plan {plan.id} is {plan.status}; only open plans change",
                            zh=f"方案 {plan.id} 已{state}")


def discard_plan(conn: Connection, plan_id: int, actor: str) -> None:
    """Discard an open plan (kept for the record, never published)."""
    plan = get_plan(conn, plan_id)
    _require_open(plan)
    conn.execute(text("UPDATE plan SET status = 'discarded', closed_at = now() WHERE id = :id"),
                 {"id": plan_id})
    _audit(conn, actor, "plan.discard", plan_id=plan_id, comment=plan.comment)


# ---- the plan's layer ----------------------------------------------------------------------


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


def build_layer(conn: Connection, plan: Plan, base: int | None = None) -> Layer:
    """The plan's layer: its base (or ``base``) with every active edit replayed."""
    layer = base_layer(conn, plan.base_release if base is None else base)
    for edit in plan.edits:
        OPS[edit.op].apply(conn, layer, edit.params)
    return layer


def _metric_area(geom: BaseGeometry) -> float:
    return float(to_metric(geom).area)


def _single_part(label: str, code: str, geom: BaseGeometry) -> list[Violation]:
    found = []
    if geom.is_empty or _metric_area(geom) < MIN_AREA_M2:
        found.append(Violation("empty_geometry", f"{label} {code} would be left empty",
                               (code,)))
    elif not geom.is_valid:
        found.append(Violation("invalid_geometry", f"{label} {code} would not be a valid "
                               f"polygon: {shapely.is_valid_reason(geom)}", (code,),
                               geom.representative_point()))
    elif shapely.get_num_geometries(geom) > 1:
        found.append(Violation("not_contiguous", f"{label} {code} would be in "
                               f"{shapely.get_num_geometries(geom)} separate pieces", (code,),
                               geom))
    return found


def _adjacent(a: BaseGeometry, b: BaseGeometry) -> bool:
    return bool(to_metric(shapely.intersection(a.boundary, b.boundary)).length > 0.01)


def _multi(geom: BaseGeometry) -> BaseGeometry:
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon"]
    return shapely.MultiPolygon(parts)


#: Degrees: a vertex this close to a neighbour's edge is on it (about 0.1 mm).
_ON_EDGE = 1e-9


def _share_vertices(layer: Layer, codes: set[str]) -> None:
    """Insert the new vertices of ``codes`` into every neighbour edge they lie on.

    A cut that ends on a neighbour's edge makes a T-junction; projected to metres (where
    validation measures) a straight edge bends slightly away from the new vertex. Neighbours
    must share vertices (DESIGN.md "Storage"), so the neighbour gets the vertex too.
    """
    for code in sorted(codes):
        if code not in layer.grids:
            continue
        geom = layer.grids[code]["geometry"]
        vertices = shapely.multipoints(shapely.get_coordinates(geom))
        box = shapely.box(*geom.bounds).buffer(_ON_EDGE)
        for other, grid in layer.grids.items():
            if other == code or not box.intersects(shapely.box(*grid["geometry"].bounds)):
                continue
            snapped = shapely.snap(grid["geometry"], vertices, _ON_EDGE)
            if not shapely.equals_exact(snapped, grid["geometry"], 0.0) and snapped.is_valid:
                grid["geometry"] = _multi(snapped)
                layer.touched.add(other)


def _reject(violations: list[Violation]) -> None:
    if violations:
        raise EditRejectedError(violations[0].message, details=violations)


# ---- ops -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Op:
    """An edit operation: how its parameters are checked and stored, and how it applies."""

    normalise: Callable[[dict[str, Any]], dict[str, Any]]
    apply: Callable[[Connection, Layer, dict[str, Any]], None]
    touches: Callable[[dict[str, Any]], set[str]]


def _code(params: dict[str, Any], key: str) -> str:
    value = str(params.get(key) or "").strip()
    if len(value) != 15 or not value.isdigit():
        raise InvalidInputError(f'"{key}" was "{value}" but must be a 15-digit grid code')
    return value


def _geometry(params: dict[str, Any], key: str) -> dict[str, Any]:
    raw = params.get(key)
    try:
        geom = shapely.geometry.shape(raw)
    except Exception:  # shapely raises several types for malformed GeoJSON
        raise InvalidInputError(f'"{key}" must be a GeoJSON geometry object') from None
    if geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise InvalidInputError(f'"{key}" must be a non-empty Polygon or MultiPolygon, '
                                f"not {geom.geom_type}")
    try:
        crs = normalise_crs(str(params.get("crs") or "wgs84"))
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None
    stored = geometry_to_storage(geom, crs)
    if not stored.is_valid:
        raise EditRejectedError(
            f'"{key}" is not a valid polygon: {shapely.is_valid_reason(stored)}',
            details=[Violation("invalid_geometry", f"the {key} is not a valid polygon",
                               (), stored.representative_point())])
    return dict(shapely.geometry.mapping(stored))


def _normalise_transfer(params: dict[str, Any]) -> dict[str, Any]:
    return {"from": _code(params, "from"), "to": _code(params, "to"),
            "area": _geometry(params, "area")}


def _apply_transfer(conn: Connection, layer: Layer, params: dict[str, Any]) -> None:
    source, target = layer.grid(params["from"]), layer.grid(params["to"])
    code_from, code_to = params["from"], params["to"]
    if code_from == code_to:
        raise EditRejectedError('"from" and "to" name the same grid')
    if source["community_code"] != target["community_code"]:
        _reject([Violation("different_community", f"grids {code_from} and {code_to} are in "
                           f"different communities ({source['community_code']} and "
                           f"{target['community_code']}); an area moves only within one",
                           (code_from, code_to))])
    if not _adjacent(source["geometry"], target["geometry"]):
        _reject([Violation("not_adjacent", f"grids {code_from} and {code_to} do not share an "
                           "edge", (code_from, code_to),
                           target["geometry"].representative_point())])
    area = shapely.geometry.shape(params["area"])
    piece = shapely.intersection(source["geometry"], area)
    if piece.is_empty or _metric_area(piece) < MIN_AREA_M2:
        _reject([Violation("empty_transfer", f"the area does not cover any of grid {code_from}",
                           (code_from,), area.representative_point())])
    gained, lost = _reassign_faces(source["geometry"], target["geometry"], area)
    _reject(_single_part("grid", code_to, gained) + _single_part("grid", code_from, lost))
    target["geometry"], source["geometry"] = _clean(gained), _clean(lost)
    layer.touched |= {code_from, code_to}
    _share_vertices(layer, {code_from, code_to})


def _reassign_faces(source: BaseGeometry, target: BaseGeometry, area: BaseGeometry
                    ) -> tuple[BaseGeometry, BaseGeometry]:
    """``target`` plus, and ``source`` minus, the part of ``source`` inside ``area``.

    Both results are assembled from the faces of ONE noding of the three outlines, so the new
    edge between them has the very same vertices on both sides.
    """
    lines = shapely.union_all([source.boundary, target.boundary, area.boundary])
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(lines)))
    moved: list[BaseGeometry] = []
    kept: list[BaseGeometry] = []
    own: list[BaseGeometry] = []
    for face in faces:
        inside = face.representative_point()
        if source.covers(inside):
            (moved if area.covers(inside) else kept).append(face)
        elif target.covers(inside):
            own.append(face)
    gained = shapely.coverage_union_all(own + moved)
    lost = shapely.coverage_union_all(kept) if kept else shapely.Polygon()
    return gained, lost


def _normalise_merge(params: dict[str, Any]) -> dict[str, Any]:
    codes = params.get("grids")
    if not isinstance(codes, list) or len(codes) < 2:
        raise InvalidInputError('"grids" must list at least two grid codes')
    found = {"grids": [_code({"g": c}, "g") for c in codes]}
    if params.get("name"):
        found["name"] = str(params["name"])[:100]  # type: ignore[assignment]
    return found


def next_code(conn: Connection, layer: Layer, community: str) -> str:
    """A grid code never used before in ``community`` (codes are never reused)."""
    used = conn.execute(text("SELECT coalesce(max(right(code, 3)::int), 0) FROM grid "
                             "WHERE community_code = :c"), {"c": community}).scalar_one()
    in_plan = [int(c[-3:]) for c in layer.grids if c.startswith(community)]
    sequence = max([int(used), *in_plan]) + 1
    if sequence > 999:
        raise EditRejectedError(f"community {community} has used all 999 grid codes")
    return f"{community}{sequence:03d}"


def _apply_merge(conn: Connection, layer: Layer, params: dict[str, Any]) -> None:
    codes = params["grids"]
    grids = [layer.grid(c) for c in codes]
    communities = {g["community_code"] for g in grids}
    kinds = {g["kind"] for g in grids}
    if len(communities) > 1:
        _reject([Violation("different_community", f"grids {codes} are in {len(communities)} "
                           "communities; only grids of one community merge", tuple(codes))])
    if len(kinds) > 1:
        _reject([Violation("different_kind", "a resident and a dedicated grid do not merge",
                           tuple(codes))])
    merged = shapely.union_all([g["geometry"] for g in grids])
    _reject(_single_part("merged grid", "+".join(codes), merged))
    community = communities.pop()
    code = next_code(conn, layer, community)
    first = grids[0]
    new = {k: first.get(k) for k in GRID_ATTRIBUTES}
    new.update(code=code, community_code=community, geometry=_multi(merged),
               name=params.get("name") or f"{first['name']}（合并）")
    for c in codes:
        del layer.grids[c]
    layer.grids[code] = new
    layer.touched |= {*codes, code}
    layer.created.add(code)


def _normalise_reassign(params: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {"grid": _code(params, "grid")}
    for key in ("leader", "party_secretary"):
        person = params.get(key)
        if person is not None:
            if not isinstance(person, dict):
                raise InvalidInputError(f'"{key}" must be {{"name", "phone"}}')
            found[key] = {"name": person.get("name"), "phone": person.get("phone")}
    if params.get("party_branch") is not None:
        found["party_branch"] = str(params["party_branch"])
    return found


def _apply_reassign(conn: Connection, layer: Layer, params: dict[str, Any]) -> None:
    grid = layer.grid(params["grid"])
    if "leader" in params:
        grid["leader_name"] = params["leader"]["name"]
        grid["leader_phone"] = params["leader"]["phone"]
    if "party_secretary" in params:
        grid["party_secretary_name"] = params["party_secretary"]["name"]
        grid["party_secretary_phone"] = params["party_secretary"]["phone"]
    if "party_branch" in params:
        grid["party_branch_name"] = params["party_branch"]


def _normalise_split(params: dict[str, Any]) -> dict[str, Any]:
    raw = params.get("line")
    try:
        line = shapely.geometry.shape(raw)
    except Exception:  # shapely raises several types for malformed GeoJSON
        raise InvalidInputError('"line" must be a GeoJSON LineString') from None
    if line.geom_type not in ("LineString", "MultiLineString") or line.is_empty:
        raise InvalidInputError(f'"line" must be a LineString, not {line.geom_type}')
    try:
        crs = normalise_crs(str(params.get("crs") or "wgs84"))
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None
    return {"grid": _code(params, "grid"),
            "line": dict(shapely.geometry.mapping(geometry_to_storage(line, crs)))}


def _apply_split(conn: Connection, layer: Layer, params: dict[str, Any]) -> None:
    code = params["grid"]
    grid = layer.grid(code)
    line = shapely.geometry.shape(params["line"])
    # Cut a box far larger than the grid (its imprecise noding lands far away), then keep
    # the grid's own vertices by intersecting the grid with each side.
    frame = shapely.box(*grid["geometry"].bounds).buffer(0.01, join_style="mitre")
    sides = shapely.get_parts(split(frame, shapely.intersection(line, frame)))
    pieces = [p for side in sides
              for p in shapely.get_parts(shapely.intersection(grid["geometry"], side))
              if p.geom_type == "Polygon" and _metric_area(p) >= MIN_AREA_M2]
    if len(pieces) < 2:
        _reject([Violation("split_not_across", f"the line does not cut grid {code} in two",
                           (code,), line.representative_point())])
    # Reading order: north to south, then west to east, by centroid.
    pieces.sort(key=lambda p: (-round(p.centroid.y, 5), p.centroid.x))
    violations = []
    for n, piece in enumerate(pieces, start=1):
        violations += _single_part("part", f"{code}/{n}", piece)
    _reject(violations)
    del layer.grids[code]
    layer.touched.add(code)
    for n, piece in enumerate(pieces, start=1):
        new_code = next_code(conn, layer, grid["community_code"])
        layer.grids[new_code] = {**grid, "code": new_code, "geometry": _multi(piece),
                                 "name": f"{grid['name']}（{n}）"}
        layer.touched.add(new_code)
        layer.created.add(new_code)
        _share_vertices(layer, {new_code})


def _normalise_revert(params: dict[str, Any]) -> dict[str, Any]:
    release = params.get("release")
    if not isinstance(release, int) or release < 1:
        raise InvalidInputError('"release" must be the number of an earlier boundary release')
    codes = params.get("grids")
    found: dict[str, Any] = {"release": release}
    if codes is not None:
        if not isinstance(codes, list) or not codes:
            raise InvalidInputError('"grids" must list grid codes (leave it out for all grids)')
        found["grids"] = [_code({"g": c}, "g") for c in codes]
    return found


def _apply_revert(conn: Connection, layer: Layer, params: dict[str, Any]) -> None:
    old = base_layer(conn, params["release"])
    codes = params.get("grids") or sorted(set(old.grids) | set(layer.grids))
    for code in codes:
        if code in old.grids:
            layer.grids[code] = dict(old.grids[code])
        elif code in layer.grids:
            del layer.grids[code]
        else:
            raise EditRejectedError(f"grid {code} is in neither release {params['release']} "
                                    "nor the plan")
        layer.touched.add(code)


# ---- move_compound, carve, replace ----------------------------------------------------------


#: A vertex where the ring turns back by more than this (cosine) is a spike.
_SPIKE_COSINE = -0.99999999


def _despike_ring(coords: Any) -> list[tuple[float, float]]:
    points = [(float(x), float(y)) for x, y in list(coords)[:-1]]
    changed = True
    while changed and len(points) > 3:
        changed = False
        for i in range(len(points)):
            (px, py), (cx, cy) = points[i - 1], points[i]
            nx, ny = points[(i + 1) % len(points)]
            ux, uy, vx, vy = cx - px, cy - py, nx - cx, ny - cy
            lengths = math.hypot(ux, uy) * math.hypot(vx, vy)
            if lengths == 0 or (ux * vx + uy * vy) / lengths < _SPIKE_COSINE:
                del points[i]
                changed = True
                break
    return [*points, points[0]]


def _clean(geom: BaseGeometry) -> BaseGeometry:
    """``geom`` as a MultiPolygon without spikes.

    Overlay can leave a zero-width spike where a cut crosses a straight edge near one of its
    own vertices; flat in degrees, it opens a sliver once projected to metres.
    """
    parts = []
    for part in shapely.get_parts(_multi(geom)):
        parts.append(shapely.Polygon(_despike_ring(part.exterior.coords),
                                     [_despike_ring(r.coords) for r in part.interiors]))
    cleaned = shapely.MultiPolygon(parts)
    return cleaned if cleaned.is_valid and not cleaned.is_empty else _multi(geom)


def _normalise_move_compound(params: dict[str, Any]) -> dict[str, Any]:
    compound = params.get("compound")
    if isinstance(compound, bool) or not isinstance(compound, int | str) \
            or not str(compound).strip().isdigit():
        raise InvalidInputError('"compound" must be the id of a compound')
    return {"compound": int(compound), "to": _code(params, "to")}


def _holder(layer: Layer, point: BaseGeometry) -> str | None:
    """The grid holding ``point``: the smallest code on a shared edge (DESIGN.md "Storage")."""
    hits = [c for c, g in layer.grids.items() if g["geometry"].covers(point)]
    return min(hits) if hits else None


def _apply_move_compound(conn: Connection, layer: Layer, params: dict[str, Any]) -> None:
    row = conn.execute(text("SELECT ST_AsBinary(coalesce(point, ST_PointOnSurface(geom))) "
                            "AS p, ST_AsBinary(geom) AS g FROM compound WHERE id = :id"),
                       {"id": params["compound"]}).one_or_none()
    if row is None:
        raise NotFoundError(f"compound {params['compound']} does not exist",
                            zh=f"小区 {params['compound']} 不存在")
    point, footprint = shapely.from_wkb(bytes(row.p)), shapely.from_wkb(bytes(row.g))
    code_to = params["to"]
    target = layer.grid(code_to)
    code_from = _holder(layer, point)
    if code_from is None:
        _reject([Violation("outside_grids", f"compound {params['compound']} lies in no grid",
                           (), point)])
    assert code_from is not None
    if code_from == code_to:
        raise EditRejectedError(f"compound {params['compound']} is already in grid {code_to}")
    source = layer.grid(code_from)
    if source["community_code"] != target["community_code"]:
        _reject([Violation("different_community", f"grids {code_from} and {code_to} are in "
                           f"different communities ({source['community_code']} and "
                           f"{target['community_code']}); a compound moves only within one",
                           (code_from, code_to), point)])
    if not _adjacent(source["geometry"], target["geometry"]):
        _reject([Violation("not_adjacent", f"grids {code_from} and {code_to} do not share an "
                           "edge", (code_from, code_to), point)])
    piece = shapely.intersection(source["geometry"], footprint)
    if piece.is_empty or _metric_area(piece) < MIN_AREA_M2:
        _reject([Violation("empty_transfer", f"compound {params['compound']} covers none of "
                           f"grid {code_from}", (code_from,), point)])
    gained, lost = _reassign_faces(source["geometry"], target["geometry"], footprint)
    _reject(_single_part("grid", code_to, gained) + _single_part("grid", code_from, lost))
    old_to, old_from = target["geometry"], source["geometry"]
    target["geometry"], source["geometry"] = _clean(gained), _clean(lost)
    holder = _holder(layer, point)
    if holder != code_to:
        target["geometry"], source["geometry"] = old_to, old_from
        _reject([Violation("compound_not_moved", f"after the move the point of compound "
                           f"{params['compound']} would be in grid {holder}, not {code_to}",
                           (code_from, code_to), point)])
    params["from"] = code_from  # stored with the edit: what it touches
    layer.touched |= {code_from, code_to}
    _share_vertices(layer, {code_from, code_to})


def _touches_move_compound(params: dict[str, Any]) -> set[str]:
    return {params["to"], *([params["from"]] if "from" in params else [])}


#: What a dedicated grid may serve (DESIGN.md grid kinds).
UNIT_TYPES = ("school", "hospital", "market", "transport", "industrial_park", "government",
              "enterprise")


def _text_param(params: dict[str, Any], key: str, limit: int = 100) -> str:
    value = str(params.get(key) or "").strip()
    if not value:
        raise InvalidInputError(f'"{key}" is required')
    return value[:limit]


def _normalise_carve(params: dict[str, Any]) -> dict[str, Any]:
    unit_type = str(params.get("unit_type") or "").strip()
    if unit_type not in UNIT_TYPES:
        raise InvalidInputError(f'"unit_type" was "{unit_type}" but must be one of '
                                f"{list(UNIT_TYPES)}")
    return {"area": _geometry(params, "area"), "name": _text_param(params, "name"),
            "unit_name": _text_param(params, "unit_name"), "unit_type": unit_type}


def _apply_carve(conn: Connection, layer: Layer, params: dict[str, Any]) -> None:
    area = shapely.geometry.shape(params["area"])
    parts: dict[str, BaseGeometry] = {}
    for code, grid in sorted(layer.grids.items()):
        if not grid["geometry"].intersects(area):
            continue
        piece = shapely.intersection(grid["geometry"], area)
        if not piece.is_empty and _metric_area(piece) >= MIN_AREA_M2:
            parts[code] = piece
    if not parts:
        _reject([Violation("empty_carve", "the area covers no grid", (),
                           area.representative_point())])
    communities = sorted({layer.grids[c]["community_code"] for c in parts})
    if len(communities) > 1:
        _reject([Violation("different_community", f"the area spans {len(communities)} "
                           f"communities ({', '.join(communities)}); a dedicated grid is "
                           "carved out of one", tuple(sorted(parts)), area)])
    dedicated = [c for c in parts if layer.grids[c]["kind"] == "dedicated"]
    if dedicated:
        _reject([Violation("dedicated_cut", f"the area cuts dedicated grid(s) {dedicated}; "
                           "carve only out of resident grids", tuple(dedicated),
                           shapely.union_all([parts[c] for c in dedicated]))])
    carved = shapely.union_all(list(parts.values()))
    violations = _single_part("dedicated grid", params["name"], carved)
    remains = {c: shapely.difference(layer.grids[c]["geometry"], p) for c, p in parts.items()}
    for code, rest in remains.items():
        violations += _single_part("grid", code, rest)
    _reject(violations)
    community = communities[0]
    new_code = next_code(conn, layer, community)
    for code, rest in remains.items():
        layer.grids[code]["geometry"] = _clean(rest)
    new: dict[str, Any] = {k: None for k in GRID_ATTRIBUTES}
    new.update(code=new_code, community_code=community, name=params["name"], kind="dedicated",
               dedicated_unit_name=params["unit_name"],
               dedicated_unit_type=params["unit_type"], geometry=_clean(carved))
    layer.grids[new_code] = new
    layer.touched |= {*remains, new_code}
    layer.created.add(new_code)
    params["grids"] = sorted(remains)  # stored with the edit: what it touches
    _share_vertices(layer, {*remains, new_code})


def _touches_carve(params: dict[str, Any]) -> set[str]:
    return set(params.get("grids") or ["*"])


#: Degrees: a drawn vertex this close to the replaced outline's vertex is that vertex (~1 cm).
_SNAP_DEGREES = 1e-7
#: The drawing's union may differ from the union it replaces by less than this (m²).
REPLACE_TOLERANCE_M2 = 1.0


def _normalise_replace(params: dict[str, Any]) -> dict[str, Any]:
    codes = params.get("grids")
    if not isinstance(codes, list) or not codes:
        raise InvalidInputError('"grids" must list the grid codes the drawing replaces')
    drawing = params.get("layer")
    if not isinstance(drawing, dict) or not isinstance(drawing.get("features"), list) \
            or not drawing["features"]:
        raise InvalidInputError('"layer" must be a GeoJSON FeatureCollection with features')
    features = []
    for n, feature in enumerate(drawing["features"]):
        if not isinstance(feature, dict):
            raise InvalidInputError(f"feature {n} of the layer is not a GeoJSON Feature")
        props = feature.get("properties") or {}
        code = props.get("code")
        found: dict[str, Any] = {
            "code": None if code in (None, "") else _code({"code": code}, "code"),
            "geometry": _geometry({"geometry": feature.get("geometry"),
                                   "crs": params.get("crs")}, "geometry")}
        if props.get("name"):
            found["name"] = str(props["name"])[:100]
        if props.get("kind"):
            kind = str(props["kind"])
            if kind not in ("resident", "dedicated"):
                raise InvalidInputError(f'feature {n}: "kind" was "{kind}" but must be '
                                        '"resident" or "dedicated"')
            found["kind"] = kind
        features.append(found)
    return {"grids": sorted({_code({"g": c}, "g") for c in codes}), "features": features}


def _apply_replace(conn: Connection, layer: Layer, params: dict[str, Any]) -> None:
    codes: list[str] = params["grids"]
    olds = {c: layer.grid(c) for c in codes}
    communities = sorted({g["community_code"] for g in olds.values()})
    if len(communities) > 1:
        _reject([Violation("different_community", f"grids {codes} are in {len(communities)} "
                           "communities; a drawing replaces grids of one", tuple(codes))])
    features = params["features"]
    kept = [f["code"] for f in features if f["code"] is not None]
    foreign = sorted(set(kept) - set(codes))
    if foreign:
        _reject([Violation("unknown_code", f"the drawing names grids {foreign} that are not "
                           f"among those it replaces ({codes})", tuple(foreign))])
    twice = sorted({c for c in kept if kept.count(c) > 1})
    if twice:
        _reject([Violation("duplicate_code", f"the drawing names grids {twice} more than once",
                           tuple(twice))])
    before = shapely.union_all([g["geometry"] for g in olds.values()])
    # A drawing's outline comes back through a CRS conversion: put its vertices back on the
    # outline it replaces (within about 1 cm) and keep it inside, so neighbours still fit.
    outline = shapely.multipoints(shapely.get_coordinates(before))
    shapes = [shapely.snap(shapely.geometry.shape(f["geometry"]), outline, _SNAP_DEGREES)
              for f in features]
    violations: list[Violation] = []
    for n, (feature, geom) in enumerate(zip(features, shapes, strict=True)):
        violations += _single_part("drawn grid", feature["code"] or f"#{n + 1}", geom)
    _reject(violations)
    for i, a in enumerate(shapes):
        for j in range(i + 1, len(shapes)):
            overlap = shapely.intersection(a, shapes[j])
            if not overlap.is_empty and _metric_area(overlap) >= 0.01:
                violations.append(Violation("overlap", f"drawn grids #{i + 1} and #{j + 1} "
                                            "overlap", (), overlap))
    _reject(violations)
    after = shapely.union_all(shapes)
    difference = shapely.symmetric_difference(before, after)
    if not difference.is_empty and _metric_area(difference) >= REPLACE_TOLERANCE_M2:
        _reject([Violation("union_differs", f"the drawing covers {_metric_area(difference):.1f}"
                           " m² more or less than the grids it replaces; its union must "
                           "equal theirs", tuple(codes), difference)])
    shapes = [geom if before.covers(geom) else _multi(shapely.intersection(geom, before))
              for geom in shapes]
    for n, (feature, geom) in enumerate(zip(features, shapes, strict=True)):
        violations += _single_part("drawn grid", feature["code"] or f"#{n + 1}", geom)
    _reject(violations)
    community = communities[0]
    template = olds[min(codes)]
    for code in set(codes) - set(kept):
        del layer.grids[code]
    changed: set[str] = set(codes)
    for feature, geom in zip(features, shapes, strict=True):
        if feature["code"] is not None:
            grid: dict[str, Any] = layer.grids[feature["code"]]
        else:
            new_code = next_code(conn, layer, community)
            grid = {k: None for k in GRID_ATTRIBUTES}
            grid.update(code=new_code, community_code=community, kind=template["kind"],
                        name=f"{template['name']}（新）")
            layer.grids[new_code] = grid
            layer.created.add(new_code)
            changed.add(new_code)
        grid["geometry"] = _clean(geom)
        for key in ("name", "kind"):
            if key in feature:
                grid[key] = feature[key]
        if grid.get("kind") != "dedicated":
            grid["dedicated_unit_name"] = grid["dedicated_unit_type"] = None
    layer.touched |= changed
    _share_vertices(layer, changed & set(layer.grids))


OPS: dict[str, Op] = {
    "transfer": Op(_normalise_transfer, _apply_transfer, lambda p: {p["from"], p["to"]}),
    "merge": Op(_normalise_merge, _apply_merge, lambda p: set(p["grids"])),
    "split": Op(_normalise_split, _apply_split, lambda p: {p["grid"]}),
    "revert": Op(_normalise_revert, _apply_revert, lambda p: set(p.get("grids") or ["*"])),
    "reassign": Op(_normalise_reassign, _apply_reassign, lambda p: set()),
    "move_compound": Op(_normalise_move_compound, _apply_move_compound, _touches_move_compound),
    "carve": Op(_normalise_carve, _apply_carve, _touches_carve),
    "replace": Op(_normalise_replace, _apply_replace, lambda p: set(p["grids"])),
}


# ---- edits ---------------------------------------------------------------------------------


def add_edit(conn: Connection, plan_id: int, params: dict[str, Any], actor: str) -> int:
    """Check an edit against the plan as it stands and store it; returns the edit id."""
    plan = get_plan(conn, plan_id)
    _require_open(plan)
    name = str(params.get("op") or "")
    if name not in OPS:
        raise InvalidInputError(f'op was "{name}" but must be one of {sorted(OPS)}')
    op = OPS[name]
    normalised = op.normalise(params)
    layer = build_layer(conn, plan)
    op.apply(conn, layer, normalised)
    comment = str(params.get("comment") or "")
    edit_id = int(conn.execute(
        text("INSERT INTO plan_edit (plan_id, op, params, comment, created_by) "
             "VALUES (:p, :op, CAST(:params AS jsonb), :c, :a) RETURNING id"),
        {"p": plan_id, "op": name, "params": json.dumps(normalised), "c": comment,
         "a": actor}).scalar_one())
    _audit(conn, actor, f"edit.{name}", plan_id=plan_id, edit_id=edit_id,
           comment=comment or plan.comment, details={"touches": sorted(op.touches(normalised))})
    return edit_id


def undo_edit(conn: Connection, plan_id: int, edit_id: int, actor: str) -> None:
    """Undo an edit; refused when a later edit no longer applies without it."""
    plan = get_plan(conn, plan_id)
    _require_open(plan)
    if edit_id not in {e.id for e in plan.edits}:
        raise NotFoundError(f"plan {plan_id} has no active edit {edit_id}")
    remaining = [e for e in plan.edits if e.id != edit_id]
    build_layer(conn, Plan(plan.id, plan.comment, plan.base_release, plan.status,
                           plan.created_by, plan.created_at, remaining))
    conn.execute(text("UPDATE plan_edit SET undone_at = now() WHERE id = :e"), {"e": edit_id})
    _audit(conn, actor, "edit.undo", plan_id=plan_id, edit_id=edit_id, comment=plan.comment)


# ---- checking, previewing and publishing ---------------------------------------------------


def check_plan_layer(conn: Connection, layer: Layer) -> list[Violation]:
    """Every DESIGN.md invariant on the plan's layer (the shared validation module)."""
    district, streets, communities = fixed_units(conn)
    if district is None:
        return [Violation("no_district", "no district is loaded")]
    units = [Unit(c, g["community_code"], g["geometry"]) for c, g in layer.grids.items()]
    return check_layer(units, communities, streets, district)


def _frame(layer: Layer) -> gpd.GeoDataFrame:
    rows = [{"code": c, **{k: g.get(k) for k in GRID_ATTRIBUTES}, "geometry": g["geometry"]}
            for c, g in sorted(layer.grids.items())]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=STORAGE_SRID)


def _changed_since(conn: Connection, base: int, current: int) -> set[str]:
    rows = conn.execute(text(
        "SELECT grid_code FROM grid_geometry WHERE (valid_from_release > :b "
        "AND valid_from_release <= :c) OR (valid_to_release > :b AND valid_to_release <= :c)"),
        {"b": base, "c": current})
    return {r.grid_code.strip() for r in rows}


def publish_plan(conn: Connection, plan_id: int, actor: str) -> BoundaryRelease:
    """Publish a plan as a new boundary release, all edits or none.

    Raises
    ------
    ConflictError
        The base release moved and the plan touches grids that changed since (409).
    EditRejectedError
        The plan as a whole breaks an invariant; ``details`` locates each violation (422).
    """
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PUBLISH_LOCK})
    plan = get_plan(conn, plan_id)
    _require_open(plan)
    current = releases.current_release(conn)
    assert current is not None  # a plan always has a base release
    base = plan.base_release
    if current.id != base:
        touched = set().union(*(OPS[e.op].touches(e.params) for e in plan.edits))
        changed = _changed_since(conn, base, current.id)
        clash = sorted(changed if "*" in touched else touched & changed)
        if clash:
            raise ConflictError(
                f"plan {plan_id} is based on release {base} but release {current.id} is "
                f"current, and it changed grids this plan edits: {clash}",
                details={"base_release": base, "current_release": current.id,
                         "changed": clash},
                zh=f"方案基于版本 {base}，当前为版本 {current.id}，方案涉及的网格已改：{clash}")
        base = current.id  # rebase: the plan touches none of the grids that changed
    layer = build_layer(conn, plan, base)
    _reject(check_plan_layer(conn, layer))
    before = base_layer(conn, base)
    release, _ = releases.publish(conn, _frame(layer), published_by=actor,
                                  comment=plan.comment, source=f"plan {plan_id}")
    conn.execute(text("UPDATE boundary_release SET plan_id = :p WHERE id = :r"),
                 {"p": plan_id, "r": release.id})
    _record_lineage(conn, release.id, before, layer)
    conn.execute(text("UPDATE plan SET status = 'published', closed_at = now(), "
                      "published_release = :r, base_release = :b WHERE id = :p"),
                 {"r": release.id, "b": base, "p": plan_id})
    _audit(conn, actor, "plan.publish", plan_id=plan_id, release_id=release.id,
           comment=plan.comment, details={"edits": [e.id for e in plan.edits]})
    return release


def _record_lineage(conn: Connection, release_id: int, before: Layer, after: Layer) -> None:
    """For every new or changed grid, the old grids it came from with area shares."""
    old = {c: g["geometry"] for c, g in before.grids.items()}
    tree_codes = list(old)
    tree = shapely.STRtree([old[c] for c in tree_codes])
    rows = []
    for code, grid in after.grids.items():
        geom = grid["geometry"]
        if code in old and shapely.equals_exact(old[code], geom, 0.0):
            continue
        area = _metric_area(geom)
        for j in tree.query(geom, predicate="intersects"):
            share = _metric_area(shapely.intersection(geom, old[tree_codes[j]])) / area
            if share > 1e-4:  # below that: floating-point slivers along shared edges
                rows.append({"r": release_id, "g": code, "s": tree_codes[j],
                             "share": min(share, 1.0)})
    if rows:
        conn.execute(text("INSERT INTO grid_lineage (release_id, grid_code, source_code, "
                          "area_share) VALUES (:r, :g, :s, :share)"), rows)
