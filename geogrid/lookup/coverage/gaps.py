"""Coverage gaps of the 15-minute life circle (docs/architecture.md, "Service areas").

What a tier of service areas does not reach, per district, street, community or grid: the
share of area reached and the gap polygons, and the compounds and households covered and not.
A compound is covered when its point-on-surface lies in a counted service area, and it counts
in the grid of the boundary release holding that point (and in that grid's community and
street), so every level adds up to the one above it.

Each station kind counts at its own tier by default (settings ``tier_by_kind``, README "The
walking model"); ``minutes`` counts every kind at that tier instead. Only residents' services
count unless kinds are named (settings ``resident_kinds``: not the courier rest stops).

By default the stored service areas count (their method, distance and detour factor are read
back and reported). With ``detour_factor`` given, circles are drawn on the fly from station
points instead, in metres (EPSG:4548), as ``geogrid.lookup.service_areas`` would draw them.

The overlay is done in PostGIS, each unit against the union of only the areas that touch it
(0.05 s for the district, 0.3 s for the 596 demo grids), and its result is kept in a small
in-process LRU keyed by the release, level, tier, kinds and factors and a digest of every row
it was computed from (stations, service areas, compounds, units, grid names; a few
milliseconds to read). A load that changes any of them changes the digest, so a stale figure
is never served, and the cache needs no invalidation hook.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import h3
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from geogrid.boundaries.releases import current_release, get_release
from geogrid.db.sqlfiles import sql
from geogrid.errors import InvalidInputError, NotFoundError
from geogrid.i18n import tr
from geogrid.lookup.coverage.checks import (
    check_detour_factor,
    check_kinds,
    check_level,
    check_minutes,
    check_unit_code,
)
from geogrid.lookup.coverage.report import (
    CODE_DIGITS,
    LEVEL_ZH,
    CompoundCoverage,
    CoverageMethod,
    CoverageReport,
    H3Cell,
    H3Coverage,
    KindMethod,
    Tally,
    UnitCoverage,
)
from geogrid.lookup.service_areas import STATION_KINDS
from geogrid.lookup.walking import tier_of_kind
from geogrid.settings import ServiceAreaSettings


@dataclass(frozen=True)
class _UnitArea:
    code: str
    name: str
    area_m2: float
    covered_area_m2: float
    gap_area_m2: float
    gap: BaseGeometry


@dataclass(frozen=True)
class _Overlay:
    """The expensive part of a figure, cached: unit areas and gaps, compound coverage."""

    method: CoverageMethod
    units: tuple[_UnitArea, ...]
    compounds: tuple[CompoundCoverage, ...]


class CoverageCache:
    """A small thread-safe LRU of computed overlays, keyed by what they were computed from."""

    def __init__(self, maxsize: int = 32) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[tuple[Any, ...], _Overlay] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> _Overlay | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: tuple[Any, ...], overlay: _Overlay) -> None:
        with self._lock:
            self._entries[key] = overlay
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


#: The process-wide cache used unless a caller passes its own.
DEFAULT_CACHE = CoverageCache()


def coverage_gaps(
    conn: Connection,
    *,
    minutes: int | None = None,
    level: str = "district",
    code: str | None = None,
    kinds: Iterable[str] | None = None,
    detour_factor: float | None = None,
    release: int | None = None,
    settings: ServiceAreaSettings | None = None,
    cache: CoverageCache | None = None,
) -> CoverageReport:
    """Coverage of every unit of ``level`` (or of unit ``code``) by one tier of service areas.

    Parameters
    ----------
    conn
        An open connection.
    minutes
        Count every kind at this tier (5, 10 or 15); default: each kind at its own tier
        (settings ``tier_by_kind``).
    level
        "district", "street", "community" or "grid" (the grids of ``release``).
    code
        Only this unit of ``level`` (its official code).
    kinds
        Station kinds counted (default the residents' services, settings ``resident_kinds``).
    detour_factor
        When given (0.5 to 3), circles of radius walking distance / ``detour_factor`` are
        drawn from station points instead of using the stored service areas.
    release
        Boundary release whose grids hold the compounds (default: the current one).
    settings
        Tiers, per-kind tiers, detour factors (default: from the environment).
    cache
        Where computed overlays are kept (default: the process-wide cache).

    Returns
    -------
    CoverageReport

    Raises
    ------
    InvalidInputError
        A bad tier, level, kind, factor or code format (the message names what is allowed).
    NotFoundError
        No such release, or no unit ``code`` at ``level``.

    Examples
    --------
    >>> report = coverage_gaps(conn, level="street")  # doctest: +SKIP
    >>> report.units[0].name, round(report.units[0].covered_share, 2)  # doctest: +SKIP
    ('明光路街道', 0.99)
    """
    found = _prepare(conn, minutes, level, code, kinds, detour_factor, release, settings, cache)
    members: dict[str, list[CompoundCoverage]] = defaultdict(list)
    for compound in found.overlay.compounds:
        if compound.grid_code is not None:
            members[compound.grid_code[: CODE_DIGITS[level]]].append(compound)
    units = []
    for unit in found.units:
        tally = Tally()
        for compound in members[unit.code]:
            tally = tally.add(compound)
        uncovered = sorted(
            (c for c in members[unit.code] if not c.covered), key=lambda c: (-c.households, c.id)
        )
        units.append(
            UnitCoverage(
                unit.code,
                unit.name,
                unit.area_m2,
                unit.covered_area_m2,
                unit.gap_area_m2,
                unit.gap,
                tally,
                tuple(uncovered),
            )
        )
    outside = sum(1 for c in found.overlay.compounds if c.grid_code is None)
    return CoverageReport(
        found.release,
        minutes,
        level,
        code,
        found.kinds,
        found.overlay.method,
        tuple(units),
        outside,
    )


def coverage_h3(
    conn: Connection,
    *,
    resolution: int = 9,
    minutes: int | None = None,
    level: str = "district",
    code: str | None = None,
    kinds: Iterable[str] | None = None,
    detour_factor: float | None = None,
    release: int | None = None,
    settings: ServiceAreaSettings | None = None,
    cache: CoverageCache | None = None,
) -> H3Coverage:
    """Households covered and not per H3 cell (h3 v4), for heat maps.

    Takes the parameters of :func:`coverage_gaps` and an H3 ``resolution`` (0 to 15). A
    compound counts in the cell of its point-on-surface; with ``code`` only the compounds of
    that unit count, else every compound in a grid of the release. Cells holding no compound
    are left out; the rest come in cell-index order.

    Examples
    --------
    >>> cells = coverage_h3(conn, resolution=9).cells  # doctest: +SKIP
    >>> sum(c.tally.households for c in cells)  # doctest: +SKIP
    257270
    """
    if not 0 <= resolution <= 15:
        raise InvalidInputError(
            tr("res was {resolution} but must be an H3 resolution in 0..15", resolution=resolution),
        )
    found = _prepare(conn, minutes, level, code, kinds, detour_factor, release, settings, cache)
    codes = {unit.code for unit in found.units}
    digits = CODE_DIGITS[level]
    cells: dict[str, Tally] = defaultdict(Tally)
    for compound in found.overlay.compounds:
        if compound.grid_code is not None and compound.grid_code[:digits] in codes:
            cell = h3.latlng_to_cell(compound.lat, compound.lon, resolution)
            cells[cell] = cells[cell].add(compound)
    return H3Coverage(
        found.release,
        minutes,
        level,
        code,
        found.kinds,
        found.overlay.method,
        resolution,
        tuple(H3Cell(c, cells[c]) for c in sorted(cells)),
    )


@dataclass(frozen=True)
class _Prepared:
    release: int
    kinds: tuple[str, ...]
    overlay: _Overlay
    units: tuple[_UnitArea, ...]


def _prepare(
    conn: Connection,
    minutes: int | None,
    level: str,
    code: str | None,
    kinds: Iterable[str] | None,
    detour_factor: float | None,
    release: int | None,
    settings: ServiceAreaSettings | None,
    cache: CoverageCache | None,
) -> _Prepared:
    settings = settings or ServiceAreaSettings()
    if minutes is not None:
        check_minutes(minutes)
    check_level(level)
    resident = tuple(k for k in STATION_KINDS if k in settings.resident_kinds)
    chosen = check_kinds(kinds, default=resident)
    if detour_factor is not None:
        check_detour_factor(detour_factor)
    if code is not None:
        check_unit_code(level, code)
    cache = DEFAULT_CACHE if cache is None else cache
    release_id = _release_id(conn, release)
    tiers = {k: minutes if minutes is not None else tier_of_kind(k, settings) for k in chosen}
    distances = {}
    for kind, tier in tiers.items():
        if tier not in settings.tier_distances_m:
            raise InvalidInputError(
                f"minutes was {tier} but walking distances are configured "
                f"for {sorted(settings.tier_distances_m)} only"
            )
        distances[kind] = settings.tier_distances_m[tier]
    factors = {kind: detour_factor for kind in chosen} if detour_factor is not None else {}
    params: dict[str, Any] = {
        "release": release_id,
        "minutes": minutes,
        "level": level,
        "kinds": list(chosen),
        "tiers": [tiers[k] for k in chosen],
        "radii_m": [distances[k] / factors[k] if factors else 0.0 for k in chosen],
        "drawn": detour_factor is not None,
    }
    fingerprint = conn.execute(text(sql("coverage_fingerprint")), params).scalar_one()
    key = (
        fingerprint,
        release_id,
        level,
        params["minutes"],
        tuple(tiers.items()),
        tuple(sorted(settings.tier_distances_m.items())),
        detour_factor,
    )
    overlay = cache.get(key)
    if overlay is None:
        overlay = _compute(conn, params, tiers, distances, factors, settings.tier_distances_m)
        cache.put(key, overlay)
    units = tuple(u for u in overlay.units if code is None or u.code == code)
    if code is not None and not units:
        raise NotFoundError(
            tr("grid {code} does not exist in release {release}", code=code, release=release_id)
            if level == "grid"
            else tr(
                "{level} {code} does not exist", level=level, code=code, level_zh=LEVEL_ZH[level]
            )
        )
    return _Prepared(release_id, chosen, overlay, units)


def _release_id(conn: Connection, release: int | None) -> int:
    if release is not None:
        return get_release(conn, release).id
    current = current_release(conn)
    if current is None:
        raise NotFoundError(tr("no boundary release is published yet"))
    return current.id


def _with_circles(name: str) -> str:
    # One definition of the counted service areas, inlined where a query needs them.
    return sql(name).replace("/*circles*/", sql("coverage_circles"))


def _compute(
    conn: Connection,
    params: dict[str, Any],
    tiers: dict[str, int],
    distances: dict[str, float],
    factors: dict[str, float],
    tiers_m: dict[int, float],
) -> _Overlay:
    # PostGIS functions carry high planner costs, so PostgreSQL would JIT-compile these
    # queries: that takes ~0.3 s, ten times what running them takes. geogrid's engines turn
    # JIT off per session (db.make_engine); this covers a connection from elsewhere, for its
    # transaction (and does nothing on an autocommit connection, where make_engine's holds).
    conn.execute(text("SELECT set_config('jit', 'off', true)"))
    units = tuple(
        _UnitArea(
            r.code,
            r.name,
            float(r.area_m2),
            float(r.covered_area_m2),
            float(r.gap_area_m2),
            shapely.from_wkb(bytes(r.gap_wkb)),
        )
        for r in conn.execute(text(_with_circles("coverage_units")), params)
    )
    compounds = tuple(
        CompoundCoverage(
            int(r.id),
            r.name,
            int(r.households),
            float(r.lon),
            float(r.lat),
            r.grid_code,
            bool(r.covered),
            r.measured_from,
        )
        for r in conn.execute(text(_with_circles("coverage_compounds")), params)
    )
    if factors:
        kinds = tuple(
            KindMethod(k, "circle", tiers[k], distances[k], f, distances[k] / f, n)
            for k, f, n in _station_counts(conn, factors)
        )
        source = "drawn"
    else:
        kinds = tuple(
            KindMethod(
                r.kind,
                r.method,
                int(r.minutes),
                float(r.distance_m),
                float(r.detour_factor),
                float(r.distance_m) / float(r.detour_factor) if r.method == "circle" else None,
                int(r.stations),
            )
            for r in sorted(
                conn.execute(text(sql("coverage_methods")), params),
                key=lambda r: STATION_KINDS.index(r.kind),
            )
        )
        source = "stored"
    methods = {k.method for k in kinds}
    distances_used = {k.distance_m for k in kinds} or set(distances.values())
    factors_used = {k.detour_factor for k in kinds}
    method = CoverageMethod(
        source=source,
        method=_one(methods) or ("mixed" if methods else "circle"),
        minutes=params["minutes"],
        distance_m=_one(distances_used),
        detour_factor=_one(factors_used),
        tiers=dict(tiers),
        tier_rule="per_kind" if params["minutes"] is None else "minutes",
        tiers_m=dict(sorted(tiers_m.items())),
        kinds=kinds,
        measured_from={
            rule: sum(1 for c in compounds if c.measured_from == rule)
            for rule in ("gate", "footprint")
        },
    )
    return _Overlay(method, units, compounds)


def _one(values: set[Any]) -> Any:
    # The value all kinds share, or None when they differ (or there are none).
    return next(iter(values)) if len(values) == 1 else None


def _station_counts(conn: Connection, factors: dict[str, float]) -> list[tuple[str, float, int]]:
    counts: dict[str, int] = {
        r.kind: int(r.n)
        for r in conn.execute(
            text("SELECT kind, count(*) AS n FROM station WHERE kind = ANY(:kinds) GROUP BY kind"),
            {"kinds": list(factors)},
        )
    }
    return [(k, f, counts[k]) for k, f in factors.items() if k in counts]
