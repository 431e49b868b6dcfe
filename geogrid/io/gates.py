"""Compound gates (and vacant public land) from a layer: checked whole, then replacing the
layer.

A gate names its compound (``compound_id``) and lies on or near its footprint: a gate more
than :data:`GATE_REACH_M` from its compound is a wrong id or a wrong coordinate system, and
the layer is refused naming every such gate, with nothing changed. Coverage measures a
compound from its nearest gate (docs/walking-network.md, "Gates").
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, text

from geogrid.errors import LoadError
from geogrid.geo.datum import to_metric

#: How far from its compound's footprint a gate may lie (metres).
GATE_REACH_M = 50.0


def check_gates(conn: Connection, frame: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """The gates as rows to insert, or LoadError naming every bad gate."""
    ids = pd.to_numeric(frame["compound_id"], errors="coerce")
    footprints = {
        int(r.id): to_metric(shapely.from_wkb(bytes(r.wkb)))
        for r in conn.execute(text("SELECT id, ST_AsBinary(geom) AS wkb FROM compound"))
    }
    problems, rows = [], []
    names = frame["name"] if "name" in frame.columns else [None] * len(frame)
    for i, (raw, value, name, point) in enumerate(
        zip(frame["compound_id"], ids, names, frame.geometry, strict=True)
    ):
        if pd.isna(value) or not float(value).is_integer():
            problems.append(f"gate {i}: compound_id must be a whole number, was {raw!r}")
            continue
        compound = int(value)
        footprint = footprints.get(compound)
        if footprint is None:
            problems.append(f"gate {i}: compound {compound} does not exist")
            continue
        away = float(shapely.distance(to_metric(point), footprint))
        if away > GATE_REACH_M:
            problems.append(
                f"gate {i} of compound {compound} is {away:.0f} m from it "
                f"(at most {GATE_REACH_M:.0f} m)"
            )
            continue
        label = "" if name is None or (isinstance(name, float) and np.isnan(name)) else str(name)
        rows.append({"compound": compound, "name": label.strip()[:200], "wkb": point.wkb})
    if problems:
        raise LoadError(
            f"the gates layer has {len(problems)} bad gate(s); nothing was changed: "
            + "; ".join(problems[:10]),
            details=problems,
        )
    return rows


def replace_gates(conn: Connection, frame: gpd.GeoDataFrame) -> int:
    """Check the gates layer ``frame`` (storage lon/lat) and make it every compound's gates."""
    rows = check_gates(conn, frame)
    conn.execute(text("DELETE FROM compound_gate"))
    if rows:
        conn.execute(
            text(
                "INSERT INTO compound_gate (compound_id, name, geom) "
                "VALUES (:compound, :name, ST_GeomFromWKB(:wkb, 4490))"
            ),
            rows,
        )
    return len(rows)


__all__ = ["GATE_REACH_M", "check_gates", "replace_gates", "replace_land"]


def replace_land(conn: Connection, frame: gpd.GeoDataFrame) -> int:
    """Make the layer ``frame`` (storage lon/lat polygons) the vacant public land; an invalid
    parcel refuses the layer naming it, with nothing changed."""
    bad = [
        f"parcel {i}: {shapely.is_valid_reason(g)}"
        for i, g in enumerate(frame.geometry)
        if not shapely.is_valid(g)
    ]
    if bad:
        raise LoadError(
            f"the land layer has {len(bad)} invalid parcel(s); nothing was changed: "
            + "; ".join(bad[:10]),
            details=bad,
        )
    names = frame["name"] if "name" in frame.columns else [None] * len(frame)
    conn.execute(text("DELETE FROM vacant_land"))
    rows = [
        {"name": "" if n is None or n != n else str(n).strip()[:200], "wkb": g.wkb}
        for n, g in zip(names, frame.geometry, strict=True)
    ]
    if rows:
        conn.execute(
            text(
                "INSERT INTO vacant_land (name, geom) "
                "VALUES (:name, ST_Multi(ST_GeomFromWKB(:wkb, 4490)))"
            ),
            rows,
        )
    return len(rows)
