"""Uncovered compounds as a list a planner acts on: per community, each compound the tiers
leave out, its households, and the nearest counted station with its walking distance.

The list is the coverage answer's own (:func:`coverage_gaps` at community level, the same
kinds and tiers), so it never disagrees with the figures. The nearest station is measured as
coverage measures: from the compound's gates when it has gates, else from its footprint; on a
walking network along the paths (from the gates, or from the footprint's vertices), else the
straight line x the kind's detour factor. The station named may be outside its own tier's
reach: that is why the compound is on the list, and the distance says by how much.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import shapely
from sqlalchemy import Connection, text

from geogrid.geo.datum import to_metric
from geogrid.lookup.coverage.gaps import coverage_gaps
from geogrid.lookup.service_areas import detour_factor
from geogrid.lookup.walking import STRAIGHT_LINE, WalkingModel, tier_of_kind
from geogrid.lookup.walks import Walks, build_walks
from geogrid.settings import ServiceAreaSettings


@dataclass(frozen=True)
class UncoveredCompound:
    """One compound the counted service areas do not reach, and what is nearest."""

    street: str
    community_code: str
    community: str
    compound_id: int
    name: str
    households: int
    measured_from: str
    station_id: int | None
    station: str
    station_kind: str
    station_tier: int | None
    walk_distance_m: float | None
    walk_minutes: float | None
    method: str


@dataclass(frozen=True)
class UncoveredList:
    release: int
    minutes: int | None
    kinds: tuple[str, ...]
    method: str
    compounds: tuple[UncoveredCompound, ...]


def measuring_shapes(conn: Connection, ids: list[int]) -> dict[int, tuple[str, shapely.Geometry]]:
    """Each compound's measuring geometry (metric): its gates, else its footprint."""
    rows = conn.execute(
        text(
            "SELECT c.id, ST_AsBinary(coalesce(g.geom, c.geom)) AS wkb, g.geom IS NOT NULL AS gated "
            "FROM compound c LEFT JOIN (SELECT compound_id, ST_Collect(geom) AS geom "
            "FROM compound_gate GROUP BY compound_id) g ON g.compound_id = c.id "
            "WHERE c.id = ANY(:ids)"
        ),
        {"ids": ids},
    ).all()
    return {
        int(r.id): ("gate" if r.gated else "footprint", to_metric(shapely.from_wkb(bytes(r.wkb))))
        for r in rows
    }


def uncovered_compounds(
    conn: Connection,
    *,
    minutes: int | None = None,
    kinds: Iterable[str] | None = None,
    community: str | None = None,
    settings: ServiceAreaSettings | None = None,
    walks: Walks | None = None,
) -> UncoveredList:
    """Every compound the counted areas leave out, by community, most households first."""
    settings = settings or ServiceAreaSettings()
    report = coverage_gaps(
        conn, minutes=minutes, level="community", code=community, kinds=kinds, settings=settings
    )
    communities = {
        r.code: (r.street, r.name)
        for r in conn.execute(
            text(
                "SELECT trim(c.code) AS code, c.name, s.name AS street FROM community c "
                "JOIN street s ON s.code = c.street_code"
            )
        )
    }
    listed = [(u, c) for u in report.units for c in u.uncovered_compounds]
    measures = measuring_shapes(conn, [c.id for _, c in listed])
    stations = conn.execute(
        text(
            "SELECT id, name, kind, ST_AsBinary(geom) AS wkb FROM station "
            "WHERE kind = ANY(:kinds) ORDER BY id"
        ),
        {"kinds": list(report.kinds)},
    ).all()
    points = np.array(
        [to_metric(shapely.from_wkb(bytes(s.wkb))).coords[0] for s in stations]
    ).reshape(-1, 2)
    factors = np.array([detour_factor(s.kind, settings) for s in stations])
    network = report.method.method == "network"
    if network and walks is None:
        walks = build_walks(conn, settings.network_access_m)
    model = WalkingModel.from_settings(settings)
    rows = walks.rows([s.id for s in stations]) if walks is not None else None
    found = []
    for unit, compound in listed:
        rule, shape = measures[compound.id]
        walk, method = np.full(len(stations), np.inf), STRAIGHT_LINE
        if len(stations) and network and walks is not None:
            for x, y in shapely.get_coordinates(shape):
                walk = np.minimum(walk, walks.metres_to(rows, x, y))
            method = "network"
        if len(stations) and not np.isfinite(walk).any():
            straight = shapely.distance(shapely.points(points), shape)
            walk, method = straight * factors, STRAIGHT_LINE
        best = int(np.argmin(walk)) if len(stations) else -1
        street, name = communities.get(unit.code, ("", unit.name))
        near = stations[best] if best >= 0 else None
        metres = float(walk[best]) if near is not None else None
        found.append(
            UncoveredCompound(
                street=street,
                community_code=unit.code,
                community=name,
                compound_id=compound.id,
                name=compound.name,
                households=compound.households,
                measured_from=rule,
                station_id=int(near.id) if near is not None else None,
                station=near.name if near is not None else "",
                station_kind=near.kind if near is not None else "",
                station_tier=(
                    (minutes or tier_of_kind(near.kind, settings)) if near is not None else None
                ),
                walk_distance_m=round(metres, 1) if metres is not None else None,
                walk_minutes=model.shown_minutes(metres) if metres is not None else None,
                method=method,
            )
        )
    found.sort(key=lambda c: (c.community_code, -c.households, c.compound_id))
    return UncoveredList(
        report.release, report.minutes, report.kinds, report.method.method, tuple(found)
    )


#: Chinese column headers of the spreadsheet, in order, with the field each shows.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("街道", "street"),
    ("社区编码", "community_code"),
    ("社区", "community"),
    ("小区编号", "compound_id"),
    ("小区名称", "name"),
    ("户数", "households"),
    ("测量起点", "measured_from"),
    ("最近服务站", "station"),
    ("服务站类型", "station_kind"),
    ("服务站层级（分钟）", "station_tier"),
    ("步行距离（米）", "walk_distance_m"),
    ("步行分钟", "walk_minutes"),
    ("测距方法", "method"),
)
MEASURED_ZH = {"gate": "大门", "footprint": "轮廓"}


def table(found: UncoveredList) -> tuple[list[str], list[list[object]]]:
    """Headers and rows for a spreadsheet (gate/footprint in Chinese)."""
    rows = []
    for c in found.compounds:
        row: list[object] = []
        for _, name in COLUMNS:
            value = getattr(c, name)
            row.append(MEASURED_ZH.get(value, value) if name == "measured_from" else value)
        rows.append(row)
    return [h for h, _ in COLUMNS], rows


__all__ = [
    "COLUMNS",
    "UncoveredCompound",
    "UncoveredList",
    "measuring_shapes",
    "table",
    "uncovered_compounds",
]
