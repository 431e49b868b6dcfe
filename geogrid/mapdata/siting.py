"""What the siting map draws: the gaps of a tier, the uncovered compounds, and the proposed
sites with the reach of each (:func:`geogrid.lookup.siting.propose_sites`)."""

from __future__ import annotations

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from geogrid.geo.datum import from_metric, to_metric
from geogrid.lookup import coverage
from geogrid.lookup.siting import propose_sites
from geogrid.mapdata.types import SitePlace, SitingView, UncoveredPlace
from geogrid.mapdata.views import COVERAGE_ZOOM, district_area, simplify_one, tolerance_m
from geogrid.network.areas import Reach, service_area
from geogrid.network.paths import current_network, network_graph
from geogrid.settings import ServiceAreaSettings


def _reach(
    conn: Connection, points: list[BaseGeometry], metres: float, method: str
) -> list[BaseGeometry]:
    """The area each site would reach (storage lon/lat), drawn as coverage draws it."""
    settings = ServiceAreaSettings()
    metric = [to_metric(p) for p in points]
    network = current_network(conn) if method == "network" else None
    if network is None:
        return [from_metric(m.buffer(metres, 16)) for m in metric]
    graph = network_graph(conn, network.id)
    joints = graph.join([m.x for m in metric], [m.y for m in metric])
    return [
        from_metric(
            service_area(Reach.from_origin(graph, j, metres), metres, settings.network_access_m)
        )
        for j in joints
    ]


def siting_view(
    conn: Connection, *, minutes: int, kind: str, k: int, candidates: str
) -> SitingView:
    """The siting answer with what a planner needs to see it on a map."""
    result = propose_sites(conn, minutes=minutes, kind=kind, k=k, candidates=candidates)
    tolerance = tolerance_m(COVERAGE_ZOOM)
    report = coverage.coverage_gaps(conn, minutes=minutes)
    gaps = shapely.union_all([u.gap for u in report.units])
    listed = {c.id: c for u in report.units for c in u.uncovered_compounds}
    rows = conn.execute(
        text("SELECT id, ST_AsBinary(geom) AS wkb FROM compound WHERE id = ANY(:ids)"),
        {"ids": list(listed)},
    ).all()
    uncovered = tuple(
        UncoveredPlace(listed[r.id].name, listed[r.id].households, shapely.from_wkb(bytes(r.wkb)))
        for r in rows
    )
    points = [shapely.Point(s.candidate.lon, s.candidate.lat) for s in result.sites]
    reaches = _reach(conn, points, result.reach_m, result.method) if points else []
    sites = tuple(
        SitePlace(s.candidate.name, s.households, len(s.compounds), p, simplify_one(r, 1.0))
        for s, p, r in zip(result.sites, points, reaches, strict=True)
    )
    return SitingView(
        report.release,
        result.minutes,
        result.kind,
        result.k,
        result.candidates,
        result.method,
        result.reach_m,
        result.households,
        result.covered_before,
        result.covered_after,
        result.greedy_covered_after,
        result.optimal,
        district_area(conn, tolerance),
        simplify_one(gaps, tolerance),
        uncovered,
        sites,
    )


__all__ = ["siting_view"]
