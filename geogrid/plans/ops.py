"""The edit ops of boundary plans and their registry :data:`OPS`.

An op checks and stores its parameters (``normalise``), applies them to a plan's working
layer (``apply``: changes it or raises EditRejectedError with located violations) and says
which grids it edits (``touches``: ``"*"`` for any, used to decide whether a plan rebases).

Here: ``transfer`` (an area from one grid to an adjacent grid of the same community),
``merge`` (adjacent grids of one community into a new grid with a new code), ``split`` (a grid
cut by a line into new grids with new codes), ``revert`` (grids, or the whole layer, back to
their geometry in an earlier release), ``reassign`` (the responsible people) and ``carve`` (a
dedicated grid cut out of resident grids of one community). ``move_compound`` lives in
geogrid.plans.move, ``replace`` in geogrid.plans.replace, ``reshape`` and ``absorb`` in
geogrid.plans.reshape.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from shapely.ops import split
from sqlalchemy import Connection

from geogrid.boundaries.releases import GRID_FIELDS
from geogrid.boundaries.validation import Violation
from geogrid.errors import InvalidInputError
from geogrid.i18n import tr
from geogrid.limits import NAME, TITLE, check_text
from geogrid.organisations.registers import check_phone as register_phone
from geogrid.plans.geometry import (
    MIN_AREA_M2,
    adjacent,
    clean,
    metric_area,
    reassign_faces,
    single_part,
)
from geogrid.plans.layer import EditRejectedError, Layer, base_layer, next_code, reject
from geogrid.plans.move import apply_move_compound, normalise_move_compound, touches_move_compound
from geogrid.plans.params import (
    UNIT_TYPES,
    grid_code,
    grid_codes,
    polygon,
    required_text,
    shape,
)
from geogrid.plans.replace import apply_replace, normalise_replace
from geogrid.plans.reshape import (
    apply_absorb,
    apply_reshape,
    normalise_absorb,
    normalise_reshape,
    touches_reshape,
)


@dataclass(frozen=True)
class Op:
    """An edit operation: how its parameters are checked and stored (geometries fitted to the
    layer as it stands when the edit comes in), and how it applies."""

    normalise: Callable[[dict[str, Any], Layer], dict[str, Any]]
    apply: Callable[[Connection, Layer, dict[str, Any]], None]
    touches: Callable[[dict[str, Any]], set[str]]


def same_community(
    what: str,
    code_from: str,
    source: dict[str, Any],
    code_to: str,
    target: dict[str, Any],
    where: BaseGeometry | None = None,
) -> None:
    """Refuse unless the two grids are in one community and share an edge."""
    if source["community_code"] != target["community_code"]:
        reject(
            [
                Violation(
                    "different_community",
                    f"grids {code_from} and {code_to} are in "
                    f"different communities ({source['community_code']} and "
                    f"{target['community_code']}); {what} moves only within one",
                    (code_from, code_to),
                    where,
                )
            ]
        )
    if not adjacent(source["geometry"], target["geometry"]):
        reject(
            [
                Violation(
                    "not_adjacent",
                    f"grids {code_from} and {code_to} do not share an edge",
                    (code_from, code_to),
                    where or target["geometry"].representative_point(),
                )
            ]
        )


# ---- transfer ------------------------------------------------------------------------------


def _normalise_transfer(params: dict[str, Any], layer: Layer) -> dict[str, Any]:
    return {
        "from": grid_code(params, "from"),
        "to": grid_code(params, "to"),
        "area": polygon(params, "area", layer),
    }


def _apply_transfer(conn: Connection, layer: Layer, params: dict[str, Any]) -> None:
    code_from, code_to = params["from"], params["to"]
    source, target = layer.grid(code_from), layer.grid(code_to)
    if code_from == code_to:
        raise EditRejectedError('"from" and "to" name the same grid')
    same_community("an area", code_from, source, code_to, target)
    area = layer.fit(shapely.geometry.shape(params["area"]))
    piece = shapely.intersection(source["geometry"], area)
    if piece.is_empty or metric_area(piece) < MIN_AREA_M2:
        reject(
            [
                Violation(
                    "empty_transfer",
                    f"the area does not cover any of grid {code_from}",
                    (code_from,),
                    area.representative_point(),
                )
            ]
        )
    gained, lost = reassign_faces(source["geometry"], target["geometry"], area)
    reject(single_part("grid", code_to, gained) + single_part("grid", code_from, lost))
    target["geometry"], source["geometry"] = clean(gained), clean(lost)
    layer.touched |= {code_from, code_to}
    layer.share_vertices({code_from, code_to})


# ---- merge and split -----------------------------------------------------------------------


def _normalise_merge(params: dict[str, Any], layer: Layer) -> dict[str, Any]:
    found: dict[str, Any] = {"grids": grid_codes(params, "grids", minimum=2)}
    twice = sorted({c for c in found["grids"] if found["grids"].count(c) > 1})
    if twice:
        raise InvalidInputError(
            tr("grids lists {twice} more than once; a merge takes distinct grids", twice=twice)
        )
    if params.get("name"):
        found["name"] = check_text("name", str(params["name"]).strip(), TITLE)
    return found


def _apply_merge(conn: Connection, layer: Layer, params: dict[str, Any]) -> None:
    codes = params["grids"]
    grids = [layer.grid(c) for c in codes]
    communities = {g["community_code"] for g in grids}
    if len(communities) > 1:
        reject(
            [
                Violation(
                    "different_community",
                    f"grids {codes} are in {len(communities)} "
                    "communities; only grids of one community merge",
                    tuple(codes),
                )
            ]
        )
    if len({g["kind"] for g in grids}) > 1:
        reject(
            [
                Violation(
                    "different_kind", "a resident and a dedicated grid do not merge", tuple(codes)
                )
            ]
        )
    merged = clean(shapely.union_all([g["geometry"] for g in grids]))
    reject(single_part("merged grid", "+".join(codes), merged))
    community = communities.pop()
    code = next_code(conn, layer, community)
    first = grids[0]
    new = {k: first.get(k) for k in GRID_FIELDS}
    new.update(
        code=code,
        community_code=community,
        geometry=merged,
        name=params.get("name") or f"{first['name']}（合并）",
    )
    for c in codes:
        del layer.grids[c]
    layer.grids[code] = new
    layer.touched |= {*codes, code}
    layer.created.add(code)
    layer.share_vertices({code})


def _normalise_split(params: dict[str, Any], layer: Layer) -> dict[str, Any]:
    line = shape(params, "line", ("LineString", "MultiLineString"), "LineString", layer)
    return {"grid": grid_code(params, "grid"), "line": dict(shapely.geometry.mapping(line))}


def _apply_split(conn: Connection, layer: Layer, params: dict[str, Any]) -> None:
    code = params["grid"]
    grid = layer.grid(code)
    line = layer.fit(shapely.geometry.shape(params["line"]))
    # Cut a box far larger than the grid (its imprecise noding lands far away), then keep
    # the grid's own vertices by intersecting the grid with each side.
    frame = shapely.box(*grid["geometry"].bounds).buffer(0.01, join_style="mitre")
    line = _through(line, grid["geometry"], frame)
    sides = shapely.get_parts(split(frame, shapely.intersection(line, frame)))
    pieces = [
        clean(p)
        for side in sides
        for p in shapely.get_parts(shapely.intersection(grid["geometry"], side))
        if p.geom_type == "Polygon" and metric_area(p) >= MIN_AREA_M2
    ]
    if len(pieces) < 2:
        reject(
            [
                Violation(
                    "split_not_across",
                    f"the line does not cut grid {code} in two",
                    (code,),
                    line.representative_point(),
                )
            ]
        )
    # Reading order: north to south, then west to east, by centroid.
    pieces.sort(key=lambda p: (-round(p.centroid.y, 5), p.centroid.x))
    violations = []
    for n, piece in enumerate(pieces, start=1):
        violations += single_part("part", f"{code}/{n}", piece)
    reject(violations)
    del layer.grids[code]
    layer.touched.add(code)
    for n, piece in enumerate(pieces, start=1):
        new_code = next_code(conn, layer, grid["community_code"])
        layer.grids[new_code] = {
            **grid,
            "code": new_code,
            "geometry": piece,
            "name": f"{grid['name']}（{n}）",
        }
        layer.touched.add(new_code)
        layer.created.add(new_code)
        layer.share_vertices({new_code})


def _through(line: BaseGeometry, grid: BaseGeometry, frame: BaseGeometry) -> BaseGeometry:
    """``line`` with every end that lies outside ``grid`` carried on straight out of ``frame``.

    A planner's line only has to cross the grid; the frame it cuts is much larger. An end
    inside the grid stays where it is (such a line does not cut the grid across).
    """
    reach = math.dist(frame.bounds[:2], frame.bounds[2:])
    parts = []
    for part in shapely.get_parts(line):
        coords = [tuple(c) for c in shapely.get_coordinates(part)]
        for end, inner in ((0, 1), (-1, -2)):
            (x, y), (ix, iy) = coords[end], coords[inner]
            length = math.hypot(x - ix, y - iy)
            if length > 0 and not grid.covers(shapely.Point(x, y)):
                scale = reach / length
                coords[end] = (x + (x - ix) * scale, y + (y - iy) * scale)
        parts.append(shapely.LineString(coords))
    return shapely.MultiLineString(parts) if len(parts) > 1 else parts[0]


# ---- revert and reassign -------------------------------------------------------------------


def _normalise_revert(params: dict[str, Any], layer: Layer) -> dict[str, Any]:
    release = params.get("release")
    if isinstance(release, bool) or not isinstance(release, int) or release < 1:
        raise InvalidInputError('"release" must be the number of an earlier boundary release')
    found: dict[str, Any] = {"release": release}
    if params.get("grids") is not None:
        found["grids"] = grid_codes(params, "grids")
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
            raise EditRejectedError(
                f"grid {code} is in neither release {params['release']} nor the plan"
            )
        layer.touched.add(code)


def _normalise_reassign(params: dict[str, Any], layer: Layer) -> dict[str, Any]:
    # The people of a grid live in the registers (geogrid.organisations), which publishing
    # writes: a person there has a name and a phone the registers accept, so a plan that
    # previews valid also publishes.
    found: dict[str, Any] = {"grid": grid_code(params, "grid")}
    for key in ("leader", "party_secretary"):
        person = params.get(key)
        if person is not None:
            if not isinstance(person, dict):
                raise InvalidInputError(f'"{key}" must be {{"name", "phone"}}')
            name = _optional_text(f"{key}.name", person.get("name"), NAME)
            phone = _optional_text(f"{key}.phone", person.get("phone"), 20)
            if name is None or phone is None:
                raise InvalidInputError(
                    f"{key} needs both a name and a phone: the registers keep a person by both"
                )
            try:
                phone = register_phone(phone, f"{key}.phone")
            except ValueError as error:
                raise InvalidInputError(str(error)) from None
            found[key] = {"name": name, "phone": phone}
    if params.get("party_branch") is not None:
        found["party_branch"] = _optional_text("party_branch", params["party_branch"], TITLE)
    return found


def _optional_text(name: str, value: Any, limit: int) -> str | None:
    """``value`` as checked text, or None when it is missing or blank."""
    if value is None or not str(value).strip():
        return None
    return check_text(name, str(value).strip(), limit)


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


# ---- carve ---------------------------------------------------------------------------------


def _normalise_carve(params: dict[str, Any], layer: Layer) -> dict[str, Any]:
    unit_type = str(params.get("unit_type") or "").strip()
    if unit_type not in UNIT_TYPES:
        raise InvalidInputError(
            f'"unit_type" was "{unit_type}" but must be one of {list(UNIT_TYPES)}'
        )
    return {
        "area": polygon(params, "area", layer),
        "name": required_text(params, "name"),
        "unit_name": required_text(params, "unit_name"),
        "unit_type": unit_type,
    }


def _apply_carve(conn: Connection, layer: Layer, params: dict[str, Any]) -> None:
    area = layer.fit(shapely.geometry.shape(params["area"]))
    parts: dict[str, BaseGeometry] = {}
    for code, grid in sorted(layer.grids.items()):
        if not grid["geometry"].intersects(area):
            continue
        piece = shapely.intersection(grid["geometry"], area)
        if not piece.is_empty and metric_area(piece) >= MIN_AREA_M2:
            parts[code] = piece
    if not parts:
        reject(
            [Violation("empty_carve", "the area covers no grid", (), area.representative_point())]
        )
    communities = sorted({layer.grids[c]["community_code"] for c in parts})
    if len(communities) > 1:
        reject(
            [
                Violation(
                    "different_community",
                    f"the area spans {len(communities)} "
                    f"communities ({', '.join(communities)}); a dedicated grid is "
                    "carved out of one",
                    tuple(sorted(parts)),
                    area,
                )
            ]
        )
    dedicated = [c for c in parts if layer.grids[c]["kind"] == "dedicated"]
    if dedicated:
        reject(
            [
                Violation(
                    "dedicated_cut",
                    f"the area cuts dedicated grid(s) {dedicated}; "
                    "carve only out of resident grids",
                    tuple(dedicated),
                    shapely.union_all([parts[c] for c in dedicated]),
                )
            ]
        )
    carved = shapely.union_all(list(parts.values()))
    violations = single_part("dedicated grid", params["name"], carved)
    remains = {c: shapely.difference(layer.grids[c]["geometry"], p) for c, p in parts.items()}
    for code, rest in remains.items():
        violations += single_part("grid", code, rest)
    reject(violations)
    community = communities[0]
    new_code = next_code(conn, layer, community)
    for code, rest in remains.items():
        layer.grids[code]["geometry"] = clean(rest)
    new: dict[str, Any] = {k: None for k in GRID_FIELDS}
    new.update(
        code=new_code,
        community_code=community,
        name=params["name"],
        kind="dedicated",
        dedicated_unit_name=params["unit_name"],
        dedicated_unit_type=params["unit_type"],
        geometry=clean(carved),
    )
    layer.grids[new_code] = new
    layer.touched |= {*remains, new_code}
    layer.created.add(new_code)
    params["grids"] = sorted(remains)  # stored with the edit: what it touches
    layer.share_vertices({*remains, new_code})


OPS: dict[str, Op] = {
    "transfer": Op(_normalise_transfer, _apply_transfer, lambda p: {p["from"], p["to"]}),
    "merge": Op(_normalise_merge, _apply_merge, lambda p: set(p["grids"])),
    "split": Op(_normalise_split, _apply_split, lambda p: {p["grid"]}),
    "revert": Op(_normalise_revert, _apply_revert, lambda p: set(p.get("grids") or ["*"])),
    "reassign": Op(_normalise_reassign, _apply_reassign, lambda p: set()),
    "move_compound": Op(normalise_move_compound, apply_move_compound, touches_move_compound),
    "carve": Op(_normalise_carve, _apply_carve, lambda p: set(p.get("grids") or ["*"])),
    "replace": Op(normalise_replace, apply_replace, lambda p: set(p["grids"])),
    "reshape": Op(normalise_reshape, apply_reshape, touches_reshape),
    "absorb": Op(normalise_absorb, apply_absorb, lambda p: {p["grid"], p["into"]}),
}
