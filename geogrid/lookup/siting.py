"""Where to build next: k new station sites covering the most uncovered households.

The maximal covering location problem (Church & ReVelle, 1974): choose k of the candidate
sites so that the households within reach of at least one chosen site are as many as
possible. It is solved exactly as an integer programme by PySAL's ``spopt`` (``MCLP``) with
PuLP's bundled CBC solver; nothing of the model is written here, only the cost matrix it is
given and the reading of its answer. :func:`greedy_sites` (add, k times, the site that covers
the most households not yet covered) is the usual heuristic, kept as the yardstick the
optimum is compared with.

Demand is the compounds a tier leaves uncovered (their households); what stations already
cover is not counted again. A compound is reached as coverage measures it: at its nearest gate
when it has gates, else at the nearest point of its footprint (on a network, its nearest
vertex). Reach is measured
as coverage measures it: on the walking network when one is published (the tier's walking
distance, the door at most ``network_access_m`` from a path), else in a straight line within
the tier's distance over the kind's detour factor.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import h3
import numpy as np
import shapely
from sqlalchemy import Connection, text

from geogrid.errors import InvalidInputError
from geogrid.geo.datum import from_storage
from geogrid.i18n import tr
from geogrid.lookup.coverage import coverage_gaps
from geogrid.lookup.coverage.checks import check_minutes
from geogrid.lookup.coverage.uncovered import measuring_shapes
from geogrid.lookup.service_areas import STATION_KINDS, detour_factor
from geogrid.network.areas import Doors, Reach
from geogrid.network.paths import current_network, network_graph
from geogrid.settings import ServiceAreaSettings

#: Where candidate sites come from.
CANDIDATE_SOURCES = ("compounds", "land", "h3")
#: The H3 resolution of ``candidates=h3`` cells (resolution 9: cells of about 0.1 km²).
H3_RESOLUTION = 9
MAX_SITES = 20
_METRIC = "EPSG:4548"


@dataclass(frozen=True)
class Candidate:
    """A place a station could be built."""

    id: str
    name: str
    lon: float
    lat: float


@dataclass(frozen=True)
class Site:
    """A proposed site and the households it newly covers (each counted once, for the first
    proposed site that reaches it)."""

    candidate: Candidate
    households: int
    compounds: tuple[int, ...]


@dataclass(frozen=True)
class SitingResult:
    """k proposed sites, with coverage before and after."""

    minutes: int
    kind: str
    k: int
    candidates: str
    candidates_considered: int
    method: str
    reach_m: float
    households: int
    covered_before: int
    covered_after: int
    sites: tuple[Site, ...]
    solver: str
    optimal: bool
    greedy_covered_after: int


def check_siting(k: int, kind: str, candidates: str) -> None:
    """Refuse a bad k, kind or candidate source, naming what is allowed."""
    if not 1 <= k <= MAX_SITES:
        raise InvalidInputError(tr("k was {k} but must be from 1 to {most}", k=k, most=MAX_SITES))
    if kind not in STATION_KINDS:
        raise InvalidInputError(
            tr(
                'kind was "{kind}" but must be one of {kinds}',
                kind=kind,
                kinds=", ".join(STATION_KINDS),
            )
        )
    if candidates not in CANDIDATE_SOURCES:
        raise InvalidInputError(
            tr(
                'candidates was "{candidates}" but must be one of {sources}',
                candidates=candidates,
                sources=", ".join(CANDIDATE_SOURCES),
            )
        )


def coverage_matrix(cost: Any, radius: float) -> Any:
    """Which demand (rows) each candidate (columns) reaches."""
    return np.asarray(cost) <= radius


def optimal_sites(reach: Any, weights: Sequence[float], k: int) -> tuple[list[int], bool]:
    """The k candidates (columns of the boolean ``reach``) covering the most weight, by
    spopt's MCLP with CBC; and whether CBC proved the answer optimal."""
    import pulp
    from spopt.locate import MCLP

    reach = np.asarray(reach, dtype=bool)
    k = min(k, reach.shape[1])
    # spopt takes costs and a radius: reached pairs cost 0, others 1, within a radius of 0.5
    cost = np.where(reach, 0.0, 1.0)
    model = MCLP.from_cost_matrix(cost, np.asarray(weights, dtype=float), 0.5, p_facilities=k)
    model = model.solve(pulp.PULP_CBC_CMD(msg=False))
    optimal = pulp.LpStatus[model.problem.status] == "Optimal"
    chosen = [j for j, var in enumerate(model.fac_vars) if (var.value() or 0) > 0.5]
    return chosen, optimal


def greedy_sites(reach: Any, weights: Sequence[float], k: int) -> list[int]:
    """k candidates chosen one at a time, each covering the most weight not yet covered."""
    reach = np.asarray(reach, dtype=bool)
    left = np.asarray(weights, dtype=float).copy()
    chosen: list[int] = []
    for _ in range(min(k, reach.shape[1])):
        gain = left @ reach
        gain[chosen] = -1
        best = int(np.argmax(gain))
        if gain[best] <= 0:
            break
        chosen.append(best)
        left[reach[:, best]] = 0
    return chosen


def covered_weight(reach: Any, weights: Sequence[float], chosen: Sequence[int]) -> int:
    if not chosen:
        return 0
    hit = np.asarray(reach, dtype=bool)[:, list(chosen)].any(axis=1)
    return int(np.asarray(weights)[hit].sum())


def _metric(lon: Any, lat: Any) -> Any:
    x, y = from_storage(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float), _METRIC)
    return np.column_stack([x, y])


def _candidates(conn: Connection, source: str) -> list[Candidate]:
    if source == "compounds":
        rows = conn.execute(
            text(
                "SELECT id, name, ST_X(p) AS lon, ST_Y(p) AS lat FROM "
                "(SELECT id, name, ST_PointOnSurface(geom) AS p FROM compound) c ORDER BY id"
            )
        ).all()
        return [Candidate(f"compound:{r.id}", r.name, float(r.lon), float(r.lat)) for r in rows]
    if source == "land":
        rows = conn.execute(
            text(
                "SELECT id, name, ST_X(p) AS lon, ST_Y(p) AS lat FROM "
                "(SELECT id, name, ST_PointOnSurface(geom) AS p FROM vacant_land) l ORDER BY id"
            )
        ).all()
        return [
            Candidate(f"land:{r.id}", r.name or f"land {r.id}", float(r.lon), float(r.lat))
            for r in rows
        ]
    district = conn.execute(text("SELECT ST_AsGeoJSON(ST_Union(geom)) FROM district")).scalar()
    if district is None:
        return []
    shape = h3.geo_to_h3shape(json.loads(district))
    cells = sorted(h3.h3shape_to_cells(shape, H3_RESOLUTION))
    return [Candidate(f"h3:{c}", c, *reversed(h3.cell_to_latlng(c))) for c in cells]


def _costs(
    conn: Connection,
    shapes: Any,
    site_xy: Any,
    distance: float,
    settings: ServiceAreaSettings,
) -> tuple[Any, str]:
    """Metres from every candidate (columns) to every demand compound (rows), measured to its
    shape (its gates, else its footprint: metric), and the method."""
    shapes = np.asarray(shapes, dtype=object)
    sites = shapely.points(site_xy)
    network = current_network(conn)
    if network is None:
        return shapely.distance(shapes[:, None], sites[None, :]), "circle"
    graph = network_graph(conn, network.id)
    joints = graph.join(site_xy[:, 0], site_xy[:, 1])
    # a footprint is walked to at its nearest vertex, a gated compound at its nearest gate
    xy, owner = shapely.get_coordinates(shapes, return_index=True)
    doors = Doors(graph, xy[:, 0], xy[:, 1], settings.network_access_m)
    cost = np.empty((len(shapes), len(site_xy)))
    for j, joint in enumerate(joints):
        column = np.full(len(shapes), np.inf)
        np.minimum.at(column, owner, doors.metres(Reach.from_origin(graph, joint, distance)))
        cost[:, j] = column
    return cost, "network"


def propose_sites(
    conn: Connection,
    *,
    minutes: int = 15,
    kind: str = "party_mass",
    k: int = 5,
    candidates: str = "compounds",
    settings: ServiceAreaSettings | None = None,
) -> SitingResult:
    """k new sites for a station of ``kind`` that cover the most households the ``minutes``
    tier leaves uncovered, chosen among ``candidates`` (compounds or H3 cells)."""
    check_minutes(minutes)
    check_siting(k, kind, candidates)
    settings = settings or ServiceAreaSettings()
    report = coverage_gaps(conn, minutes=minutes, settings=settings)
    tally = report.tally
    households = tally.households_covered + tally.households_uncovered
    before = tally.households_covered
    demand = [c for u in report.units for c in u.uncovered_compounds if c.households > 0]
    places = _candidates(conn, candidates)
    distance = settings.tier_distances_m[minutes]
    result: dict[str, Any] = dict(
        minutes=minutes,
        kind=kind,
        k=k,
        candidates=candidates,
        households=households,
        covered_before=before,
    )
    if not demand or not places:
        return SitingResult(
            **result,
            candidates_considered=len(places),
            method="none",
            reach_m=distance,
            covered_after=before,
            sites=(),
            solver="none: nothing to cover",
            optimal=True,
            greedy_covered_after=before,
        )
    # measured as coverage measures a compound: from its gates, else its footprint
    measures = measuring_shapes(conn, [c.id for c in demand])
    site_xy = _metric([p.lon for p in places], [p.lat for p in places])
    shapes = [measures[c.id][1] for c in demand]
    cost, method = _costs(conn, shapes, site_xy, distance, settings)
    reach_m = distance if method == "network" else distance / detour_factor(kind, settings)
    reach = coverage_matrix(cost, reach_m)
    useful = np.flatnonzero(reach.any(axis=0))  # a site reaching nothing uncovered is no use
    reach, places = reach[:, useful], [places[j] for j in useful]
    weights = [c.households for c in demand]
    chosen, optimal = optimal_sites(reach, weights, k) if places else ([], True)
    greedy = covered_weight(reach, weights, greedy_sites(reach, weights, k))
    sites = []
    taken = np.zeros(len(demand), dtype=bool)
    gains = [(int(np.asarray(weights)[reach[:, j]].sum()), j) for j in chosen]
    for _, j in sorted(gains, reverse=True):  # the largest first: it gets the shared ones
        new = reach[:, j] & ~taken
        taken |= new
        sites.append(
            Site(
                places[j],
                int(np.asarray(weights)[new].sum()),
                tuple(demand[i].id for i in np.flatnonzero(new)),
            )
        )
    return SitingResult(
        **result,
        candidates_considered=len(useful),
        method=method,
        reach_m=reach_m,
        covered_after=before + covered_weight(reach, weights, chosen),
        sites=tuple(sites),
        solver="spopt MCLP, PuLP CBC",
        optimal=optimal,
        greedy_covered_after=before + greedy,
    )


__all__ = [
    "CANDIDATE_SOURCES",
    "Candidate",
    "Site",
    "SitingResult",
    "check_siting",
    "coverage_matrix",
    "greedy_sites",
    "optimal_sites",
    "propose_sites",
]
