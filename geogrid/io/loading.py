"""Loading layers: the Yaohai demo and users' files. All or nothing, in the caller's transaction.

Grids: a file is a complete layer. It is snapped (0.5 m), validated against every invariant
and published as a new boundary release; a layer equal to the current release publishes
nothing. Compounds and stations: a file replaces the layer (rows keep their ``id`` when the file
has one). Fixed units (district, streets, communities) come only with the demo or an official
division dataset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, text

from geogrid.boundaries import releases
from geogrid.boundaries.releases import GRID_PEOPLE
from geogrid.boundaries.validation import (
    UnitShape,
    Violation,
    check_layer,
    fixed_units,
    invalid_geometry,
)
from geogrid.db.sqlfiles import sql
from geogrid.errors import LoadError
from geogrid.geo.datum import STORAGE_SRID, from_metric, to_metric
from geogrid.geo.snapping import snap_layer
from geogrid.io.files import read_layer
from geogrid.io.gates import replace_gates, replace_land
from geogrid.lookup import service_areas
from geogrid.lookup.service_areas import STATION_KINDS
from geogrid.network.paths import publish_paths
from geogrid.responsibility import load_departments, load_responsibility
from geogrid.settings import ServiceAreaSettings

GRID_KINDS = ("resident", "dedicated")
COMPOUND_KINDS = ("organised", "scattered")


@dataclass
class LoadReport:
    """What a load did."""

    layer: str
    features: int
    release: int | None = None
    new_release: bool = False
    snapped: int = 0
    notes: list[str] = field(default_factory=list)


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    out = str(value).strip()
    return out or None


def _wkb(geom: Any) -> bytes:
    return shapely.to_wkb(geom)  # type: ignore[no-any-return]


def _check_values(frame: pd.DataFrame, column: str, allowed: tuple[str, ...], what: str) -> None:
    values = frame[column].astype(str).str.strip()
    bad = ~values.isin(allowed)
    if bad.any():
        rows = list(np.flatnonzero(bad)[:5])
        raise LoadError(
            f'{what} column "{column}" has {sorted(set(values[bad]))[:5]} '
            f"(features {rows}); allowed: {list(allowed)}"
        )


def _invalid_geometries(frame: gpd.GeoDataFrame, label: str, key: str) -> list[Violation]:
    found = [
        invalid_geometry(label, str(name), geom)
        for name, geom in zip(frame[key], frame.geometry, strict=True)
    ]
    return [v for v in found if v is not None]


def check_grids(
    conn: Connection, frame: gpd.GeoDataFrame, snap: bool = True
) -> tuple[gpd.GeoDataFrame, int, list[Violation]]:
    """Normalise, snap and check a grid layer (EPSG:4490) against every invariant.

    Returns the layer as it would be published, how many grids snapping changed, and the
    violations (empty: the layer may be published).
    """
    grids = frame.copy()
    grids["code"] = grids["code"].map(lambda v: _text(v) or "")
    grids["code"] = [c[:-2] if c.endswith(".0") else c for c in grids["code"]]
    grids["community_code"] = grids["code"].str[:12]
    _check_values(grids, "kind", GRID_KINDS, "grids")
    # A dedicated grid names its unit (its own name when the file gives none); a resident
    # grid has none.
    unit = (
        grids["dedicated_unit_name"].map(_text)
        if "dedicated_unit_name" in grids.columns
        else pd.Series([None] * len(grids), index=grids.index)
    )
    dedicated = grids["kind"].astype(str).str.strip() == "dedicated"
    grids["dedicated_unit_name"] = [
        (u or _text(n)) if d else None
        for u, n, d in zip(unit, grids["name"], dedicated, strict=True)
    ]
    district, streets, communities = fixed_units(conn)
    if district is None:
        raise LoadError(
            "no district is loaded yet: run `geogrid load demo` (or load the "
            "official division) before loading grids"
        )
    bounds = shapely.box(*grids.total_bounds)
    if not bounds.intersects(district.geom):
        raise LoadError(
            f"the layer (bbox {np.round(grids.total_bounds, 4).tolist()}) lies "
            f"outside district {district.code}: wrong --crs?"
        )
    invalid = _invalid_geometries(grids, "grid", "code")
    if invalid:
        return grids, 0, invalid
    units = [UnitShape(c, c[:12], g) for c, g in zip(grids["code"], grids.geometry, strict=True)]
    violations = check_layer(units, communities, streets, district)
    if not violations or not snap:
        return grids, 0, violations
    # Snap only a layer that needs it, so a clean layer is published exactly as drawn.
    by_code = {c.code: c for c in communities}
    metric = [to_metric(g) for g in grids.geometry]
    snapped = snap_layer(metric, [c.metric.boundary for c in by_code.values()])
    geoms, changed = [], 0
    for before, after, original in zip(metric, snapped, grids.geometry, strict=True):
        if after is before:
            geoms.append(original)
            continue
        changed += 1
        back = from_metric(after)
        geoms.append(
            back
            if back.geom_type == "MultiPolygon"
            else shapely.geometry.MultiPolygon(shapely.get_parts(back))
        )
    grids = grids.set_geometry(geoms, crs=STORAGE_SRID)
    units = [UnitShape(c, c[:12], g) for c, g in zip(grids["code"], grids.geometry, strict=True)]
    return grids, changed, check_layer(units, communities, streets, district)


def prepare_grids(
    conn: Connection, frame: gpd.GeoDataFrame, snap: bool = True
) -> tuple[gpd.GeoDataFrame, int]:
    """:func:`check_grids`, raising LoadError (with every violation) unless the layer is clean."""
    grids, changed, violations = check_grids(conn, frame, snap)
    if violations:
        raise LoadError(
            f"the grid layer breaks {len(violations)} invariant(s); nothing was "
            f"loaded. First: {violations[0].message}",
            details=violations,
        )
    return grids, changed


def load_grids(
    conn: Connection,
    frame: gpd.GeoDataFrame,
    *,
    source: str,
    published_by: str,
    comment: str = "",
    snap: bool = True,
) -> LoadReport:
    """Validate a complete grid layer and publish it as a new boundary release.

    The people a file names (``leader_name`` … ``party_secretary_phone``) are not stored with
    the grids: they are kept in the registers (``geogrid organisations load staff|branches``),
    the one place that says who serves a grid; the report says how many grids named any.
    """
    people = [c for c in GRID_PEOPLE if c in frame.columns]
    naming = int(frame[people].notna().any(axis=1).sum()) if people else 0
    frame = frame.drop(columns=people)
    grids, changed = prepare_grids(conn, frame, snap=snap)
    release, new = releases.publish(
        conn,
        grids,
        published_by=published_by,
        comment=comment or f"loaded from {source}",
        source=source,
    )
    notes = []
    if naming:
        notes.append(
            f"{naming} grids name people (leader, party branch) in the file: not stored with "
            "the grids; the registers keep who serves a grid "
            "(geogrid organisations load staff|branches FILE)"
        )
    return LoadReport("grids", len(grids), release.id, new, changed, notes)


def load_compounds(conn: Connection, frame: gpd.GeoDataFrame) -> LoadReport:
    """Replace the compound layer."""
    _check_values(frame, "kind", COMPOUND_KINDS, "compounds")
    key = "id" if "id" in frame.columns else "name"
    invalid = _invalid_geometries(frame, "compound", key)
    if invalid:
        raise LoadError(f"{len(invalid)} compound geometries are invalid", details=invalid)
    households = pd.to_numeric(frame["households"], errors="coerce")
    if households.isna().any() or (households < 0).any():
        first = int(np.flatnonzero(households.isna() | (households < 0))[0])
        raise LoadError(
            f'compounds column "households" must be a whole number >= 0; feature '
            f"{first} has {frame['households'].iloc[first]!r}"
        )
    rows = []
    for i, record in enumerate(frame.to_dict("records")):
        rows.append(
            {
                "id": int(record["id"]) if "id" in record and _text(record["id"]) else None,
                "name": _text(record["name"]) or f"compound {i}",
                "kind": str(record["kind"]).strip(),
                "households": int(households.iloc[i]),
                "population": (
                    int(record["population"]) if _text(record.get("population")) else None
                ),
                "smart_safe": bool(record.get("smart_safe") or False),
                "three_no": bool(record.get("three_no") or False),
                "wkb": _wkb(record["geometry"]),
            }
        )
    conn.execute(text("DELETE FROM compound"))
    conn.execute(text(sql("insert_compound")), rows)
    conn.execute(
        text(
            "SELECT setval(pg_get_serial_sequence('compound', 'id'), "
            "greatest((SELECT max(id) FROM compound), 1))"
        )
    )
    return LoadReport("compounds", len(rows))


def load_stations(
    conn: Connection, frame: gpd.GeoDataFrame, settings: ServiceAreaSettings
) -> LoadReport:
    """Replace the station layer and redraw every service area."""
    _check_values(frame, "kind", STATION_KINDS, "stations")
    rows = []
    for record in frame.to_dict("records"):
        rows.append(
            {
                "id": int(record["id"]) if "id" in record and _text(record["id"]) else None,
                "name": _text(record["name"]) or "",
                "kind": str(record["kind"]).strip(),
                "community_code": _text(record.get("community_code")),
                "opening_hours": _text(record.get("opening_hours")) or "",
                "address": _text(record.get("address")) or "",
                "wkb": _wkb(record["geometry"]),
            }
        )
    conn.execute(text("DELETE FROM station"))
    conn.execute(text(sql("insert_station")), rows)
    conn.execute(
        text(
            "SELECT setval(pg_get_serial_sequence('station', 'id'), "
            "greatest((SELECT max(id) FROM station), 1))"
        )
    )
    areas = service_areas.rebuild(conn, settings)
    return LoadReport("stations", len(rows), notes=[f"{areas} service areas drawn"])


def load_fixed_units(
    conn: Connection,
    district: gpd.GeoDataFrame,
    streets: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
) -> None:
    """Insert or update the district, streets and communities (official division data)."""
    conn.execute(
        text(sql("upsert_district")),
        [
            {"code": str(r["code"]), "name": r["name"], "wkb": _wkb(r["geometry"])}
            for r in district.to_dict("records")
        ],
    )
    conn.execute(
        text(sql("upsert_street")),
        [
            {
                "code": str(r["code"]),
                "name": r["name"],
                "kind": r["kind"],
                "district": str(r["code"])[:6],
                "wkb": _wkb(r["geometry"]),
            }
            for r in streets.to_dict("records")
        ],
    )
    conn.execute(
        text(sql("upsert_community")),
        [
            {
                "code": str(r["code"]),
                "name": r["name"],
                "street": str(r["street_code"]),
                "wkb": _wkb(r["geometry"]),
            }
            for r in communities.to_dict("records")
        ],
    )


def load_demo(conn: Connection, path: Path, settings: ServiceAreaSettings) -> list[LoadReport]:
    """Load the Yaohai demo dataset (idempotent: a second load publishes no new release)."""
    if not path.exists():
        raise LoadError(
            f"demo dataset {path} is missing; regenerate it with `python data/generate.py`"
        )
    layers = {
        name: gpd.read_file(path, layer=name, engine="pyogrio")
        for name in ("district", "streets", "communities")
    }
    load_fixed_units(conn, layers["district"], layers["streets"], layers["communities"])
    reports = [
        load_grids(
            conn,
            # the demo's people are in its registers (data/organisations/), loaded after it
            read_layer(path, "grids").drop(columns=list(GRID_PEOPLE), errors="ignore"),
            source="demo:" + path.name,
            published_by="geogrid load demo",
            comment="Yaohai demo grid layer",
            snap=False,
        ),
        load_compounds(conn, read_layer(path, "compounds")),
        load_stations(conn, read_layer(path, "stations"), settings),
    ]
    load_demo_departments(conn, path.parent)
    return reports


def load_demo_departments(conn: Connection, folder: Path) -> None:
    """The demo's illustrative departments and responsibility list (``departments.csv`` and
    ``responsibility.csv`` beside the demo file), when they are there: with them every category
    of the shipped catalogue routes to a department."""
    departments, rows = folder / "departments.csv", folder / "responsibility.csv"
    if departments.exists() and rows.exists():
        load_departments(conn, departments)
        load_responsibility(conn, rows)


def load_file(
    conn: Connection,
    path: Path,
    layer: str,
    crs: str | None,
    settings: ServiceAreaSettings,
    published_by: str = "geogrid load",
) -> LoadReport:
    """Load a user's file as ``layer`` (grids, compounds, stations, paths, gates or land)."""
    frame = read_layer(path, layer, crs)
    if layer == "paths":
        network = publish_paths(conn, frame, source=str(path), published_by=published_by)
        areas = service_areas.rebuild(conn, settings)
        return LoadReport(
            "paths",
            network.paths,
            release=network.id,
            new_release=True,
            notes=[
                f"walking network {network.id}: {network.length_m / 1000:.1f} km of paths",
                f"{areas} service areas drawn on it",
            ],
        )
    if layer == "land":
        parcels = replace_land(conn, frame)
        return LoadReport(
            "land", parcels, notes=["siting candidates: GET /v1/siting?candidates=land"]
        )
    if layer == "gates":
        gates = replace_gates(conn, frame)
        return LoadReport("gates", gates, notes=["coverage measures each compound from them"])
    if layer == "grids":
        return load_grids(conn, frame, source=str(path), published_by=published_by)
    if layer == "compounds":
        return load_compounds(conn, frame)
    return load_stations(conn, frame, settings)
