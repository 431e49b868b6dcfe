"""The ``replace`` op: grids redrawn by the planner, the drawing's union equal to the union of
the grids it replaces.

A drawing comes as a GeoJSON FeatureCollection in the edit (``layer``) or as a file
(GeoPackage, GeoJSON or a zipped Shapefile, read with pyogrio: :func:`read_drawing`), in any
supported CRS.
Features may carry ``code`` (a grid they keep), ``name`` and ``kind``; features without a code
become new grids with new codes.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pyogrio
import shapely
from sqlalchemy import Connection

from geogrid.boundaries.releases import GRID_FIELDS
from geogrid.boundaries.validation import Violation
from geogrid.errors import InvalidInputError
from geogrid.geo.datum import CRS_NAMES
from geogrid.i18n import tr
from geogrid.limits import TITLE, check_text
from geogrid.plans.fitting import fit
from geogrid.plans.geometry import clean, metric_area, multi, single_part
from geogrid.plans.layer import Layer, next_code, reject
from geogrid.plans.params import crs_name, grid_code, grid_codes, polygon

#: The drawing's union may differ from the union it replaces by less than this (m²).
REPLACE_TOLERANCE_M2 = 1.0
#: A drawing file may hold at most this many features (a few grids are redrawn at once).
MAX_FEATURES = 1000

log = logging.getLogger("geogrid.plans")


def read_drawing(
    source: bytes | str | Path, crs: str | None = None, name: str = "drawing"
) -> tuple[dict[str, Any], str]:
    """A drawing file (GeoPackage, GeoJSON or a zipped Shapefile) as a FeatureCollection and
    the CRS of its numbers.

    Parameters
    ----------
    source : bytes, str or Path
        The file's content (an upload, read in memory) or its path.
    crs : str, optional
        wgs84, cgcs2000, gcj02, bd09 or EPSG:n; defaults to the file's own. GCJ-02 and BD-09
        files are usually labelled EPSG:4326: say so.
    name : str
        What to call the file in messages.

    Returns
    -------
    (dict, str)
        The features with ``code``, ``name`` and ``kind`` properties (where the file has
        them), coordinates as in the file; and the canonical CRS name they are in. Together
        they are the ``layer`` and ``crs`` of a replace edit.
    """
    data: Any = source if isinstance(source, bytes) else Path(source)
    try:
        layers = pyogrio.list_layers(data)
        if len(layers) == 0:
            raise InvalidInputError(f"{name}: holds no layer")
        names = [str(n) for n in layers[:, 0]]
        chosen = next((n for n in ("grids", "drawing") if n in names), names[0])
        if len(names) > 1 and chosen not in ("grids", "drawing"):
            raise InvalidInputError(
                f'{name}: has layers {names}; call the drawing "grids" or send one layer'
            )
        # A GeoJSON's one layer is named after its file, and pyogrio names bytes afresh on
        # every read (/vsimem/pyogrio_<uuid>): name a layer only to choose among several.
        layer = chosen if len(names) > 1 else None
        frame = pyogrio.read_dataframe(data, layer=layer, max_features=MAX_FEATURES + 1)
    except InvalidInputError:
        raise
    except Exception as exc:  # pyogrio raises several error types for unreadable files
        # GDAL's reason names the in-memory path the bytes were given: it stays in the log.
        log.info("drawing %s unreadable: %s", name, exc)
        raise InvalidInputError(
            tr(
                "{name}: cannot be read as a GeoPackage, GeoJSON or zipped Shapefile",
                name=name,
            )
        ) from None
    if len(frame) == 0 or len(frame) > MAX_FEATURES:
        raise InvalidInputError(
            f"{name}: holds {len(frame)} features; a drawing has 1 to {MAX_FEATURES}"
        )
    return _collection(frame), _drawing_crs(frame, name, crs)


def _drawing_crs(frame: Any, name: str, crs: str | None) -> str:
    """The CRS the file's numbers are in: ``crs`` when given, else the file's own."""
    epsg = frame.crs.to_epsg() if frame.crs is not None else None
    if crs:
        chosen = crs_name({"crs": crs})
        # GCJ-02/BD-09 files are routinely labelled EPSG:4326; a projected label is a clash.
        if chosen in CRS_NAMES and frame.crs is not None and not frame.crs.is_geographic:
            raise InvalidInputError(
                f"{name}: the file says its coordinates are "
                f"{frame.crs.name} (EPSG:{epsg}) but crs was {crs}; "
                f"send crs=EPSG:{epsg}"
            )
        return chosen
    if epsg is None:
        raise InvalidInputError(
            f"{name}: the file names no coordinate system with an EPSG "
            f"code; send crs, one of {list(CRS_NAMES)} or EPSG:n"
        )
    return crs_name({"crs": f"EPSG:{epsg}"})


def _collection(frame: Any) -> dict[str, Any]:
    features = []
    for record in frame.to_dict("records"):
        geom = record.pop("geometry")
        props = {
            k: v
            for k, v in record.items()
            if k in ("code", "name", "kind")
            and v is not None
            and not (isinstance(v, float) and v != v)
        }
        if isinstance(props.get("code"), float):
            props["code"] = f"{props['code']:.0f}"  # a numeric column of 15-digit codes
        features.append(
            {
                "type": "Feature",
                "properties": props,
                "geometry": None if geom is None else shapely.geometry.mapping(geom),
            }
        )
    return {"type": "FeatureCollection", "features": features}


def normalise_replace(params: dict[str, Any], layer: Layer) -> dict[str, Any]:
    """Check a replace edit; features come back in storage coordinates."""
    codes = grid_codes(params, "grids")
    drawing = params.get("layer")
    if (
        not isinstance(drawing, dict)
        or not isinstance(drawing.get("features"), list)
        or not drawing["features"]
    ):
        raise InvalidInputError('"layer" must be a GeoJSON FeatureCollection with features')
    features = []
    for n, feature in enumerate(drawing["features"]):
        if not isinstance(feature, dict):
            raise InvalidInputError(f"feature {n} of the layer is not a GeoJSON Feature")
        props = feature.get("properties") or {}
        code = props.get("code")
        found: dict[str, Any] = {
            "code": None if code in (None, "") else grid_code({"code": code}, "code"),
            "geometry": polygon(
                {"geometry": feature.get("geometry"), "crs": params.get("crs")}, "geometry", layer
            ),
        }
        if props.get("name"):
            found["name"] = check_text(f"feature {n}: name", str(props["name"]).strip(), TITLE)
        if props.get("kind"):
            kind = str(props["kind"])
            if kind not in ("resident", "dedicated"):
                raise InvalidInputError(
                    f'feature {n}: "kind" was "{kind}" but must be "resident" or "dedicated"'
                )
            found["kind"] = kind
        features.append(found)
    return {"grids": sorted(set(codes)), "features": features}


def apply_replace(conn: Connection, layer: Layer, params: dict[str, Any]) -> None:
    """Replace grids ``params["grids"]`` with the drawing ``params["features"]``."""
    codes: list[str] = params["grids"]
    olds = {c: layer.grid(c) for c in codes}
    communities = sorted({g["community_code"] for g in olds.values()})
    if len(communities) > 1:
        reject(
            [
                Violation(
                    "different_community",
                    f"grids {codes} are in {len(communities)} "
                    "communities; a drawing replaces grids of one",
                    tuple(codes),
                )
            ]
        )
    features = params["features"]
    kept = [f["code"] for f in features if f["code"] is not None]
    foreign = sorted(set(kept) - set(codes))
    if foreign:
        reject(
            [
                Violation(
                    "unknown_code",
                    f"the drawing names grids {foreign} that are not "
                    f"among those it replaces ({codes})",
                    tuple(foreign),
                )
            ]
        )
    twice = sorted({c for c in kept if kept.count(c) > 1})
    if twice:
        reject(
            [
                Violation(
                    "duplicate_code",
                    f"the drawing names grids {twice} more than once",
                    tuple(twice),
                )
            ]
        )
    before = shapely.union_all([g["geometry"] for g in olds.values()])
    reference = shapely.union_all([g["geometry"].boundary for g in olds.values()])
    shapes = _fitted(before, reference, features, codes)
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
            grid = {k: None for k in GRID_FIELDS}
            grid.update(
                code=new_code,
                community_code=community,
                kind=template["kind"],
                name=f"{template['name']}（新）",
            )
            layer.grids[new_code] = grid
            layer.created.add(new_code)
            changed.add(new_code)
        grid["geometry"] = clean(geom)
        for key in ("name", "kind"):
            if key in feature:
                grid[key] = feature[key]
        if grid.get("kind") != "dedicated":
            grid["dedicated_unit_name"] = grid["dedicated_unit_type"] = None
    layer.touched |= changed
    layer.share_vertices(changed & set(layer.grids))


def _fitted(
    before: Any, reference: Any, features: list[dict[str, Any]], codes: list[str]
) -> list[Any]:
    """The drawn shapes fitted to the outlines they replace, or EditRejectedError."""
    # A drawing's outline comes back through a CRS conversion and the drawing tool's
    # rounding: the precision pipeline puts its vertices back on the outlines of the grids it
    # replaces (geogrid.plans.fitting), and it is kept inside, so neighbours still fit.
    shapes = [fit(shapely.geometry.shape(f["geometry"]), reference) for f in features]
    violations: list[Violation] = []
    for n, (feature, geom) in enumerate(zip(features, shapes, strict=True)):
        violations += single_part("drawn grid", feature["code"] or f"#{n + 1}", geom)
    reject(violations)
    for i, a in enumerate(shapes):
        for j in range(i + 1, len(shapes)):
            overlap = shapely.intersection(a, shapes[j])
            if not overlap.is_empty and metric_area(overlap) >= 0.01:
                violations.append(
                    Violation("overlap", f"drawn grids #{i + 1} and #{j + 1} overlap", (), overlap)
                )
    reject(violations)
    after = shapely.union_all(shapes)
    difference = shapely.symmetric_difference(before, after)
    if not difference.is_empty and metric_area(difference) >= REPLACE_TOLERANCE_M2:
        reject(
            [
                Violation(
                    "union_differs",
                    f"the drawing covers {metric_area(difference):.1f}"
                    " m² more or less than the grids it replaces; its union must "
                    "equal theirs",
                    tuple(codes),
                    difference,
                )
            ]
        )
    shapes = [
        geom if before.covers(geom) else multi(shapely.intersection(geom, before))
        for geom in shapes
    ]
    for n, (feature, geom) in enumerate(zip(features, shapes, strict=True)):
        violations += single_part("drawn grid", feature["code"] or f"#{n + 1}", geom)
    reject(violations)
    return shapes
