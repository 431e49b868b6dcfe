"""Reading features: one parametrised SELECT per page, whatever the filters.

A page request (:class:`ItemsQuery`) is turned into SQLAlchemy Core over the collection's SQL
as a subquery: ``bbox`` and a CQL2 filter as WHERE clauses (bound parameters only), ``sortby``
then the feature id as ORDER BY (so pages never overlap), ``count(*) OVER ()`` for
``numberMatched`` in the same round trip, LIMIT and OFFSET. Geometries come back as WKB and
are put in the answer's CRS in one vectorised pass (datum, projection, axis order, RFC 7946
winding, rounding to about 1 cm) and written as GeoJSON text by GEOS, which the caller embeds
without parsing it again.

Which features a page holds in time (:func:`resolve_window`): a collection that follows the
boundary releases reads one release (the one pinned by a previous page, or valid at a
``datetime`` instant, or the current one); grids read every version valid in a ``datetime``
interval instead. Other collections are the current state and every ``datetime`` holds them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import numpy as np
import shapely
from geoalchemy2 import Geometry
from pygeofilter import ast
from sqlalchemy import (
    BigInteger,
    Connection,
    Float,
    Integer,
    LargeBinary,
    Select,
    String,
    bindparam,
    func,
    select,
    text,
)
from sqlalchemy.sql import ColumnElement, Subquery, column

from geogrid.access.roles import mask_name, mask_phone
from geogrid.boundaries.releases import current_release, get_release, release_at
from geogrid.db import prepared
from geogrid.db.sqlfiles import sql
from geogrid.errors import InvalidInputError, NotFoundError
from geogrid.features.catalogue import SQL_TYPES, Collection
from geogrid.features.cql import GEOMETRY, filter_expression
from geogrid.features.gaps import gap_rows
from geogrid.geo.crs_uris import CRS84_REF, CrsRef, project
from geogrid.geo.output import output_geometries
from geogrid.i18n import tr

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000


@dataclass(frozen=True)
class TimeWindow:
    """A ``datetime`` parameter: an instant (``start == end``) or an interval (None = open)."""

    start: datetime | None
    end: datetime | None

    @property
    def instant(self) -> bool:
        return self.start is not None and self.start == self.end


@dataclass(frozen=True)
class ItemsQuery:
    """What one page asks for. ``bbox`` is a storage (EPSG:4490) envelope."""

    limit: int = DEFAULT_LIMIT
    offset: int = 0
    bbox: tuple[float, float, float, float] | None = None
    datetime: TimeWindow | None = None
    release: int | None = None
    properties: tuple[str, ...] | None = None
    sortby: tuple[tuple[str, bool], ...] = ()
    filter: ast.Node | None = None
    filter_crs: str | None = None
    crs: CrsRef = CRS84_REF


@dataclass(frozen=True)
class Window:
    """Which features a page reads in time: one release, or the versions of an interval."""

    release: int | None
    versions: TimeWindow | None = None
    #: True when no release was valid at the instant asked: nothing matches
    empty: bool = False


@dataclass(frozen=True)
class Feature:
    """One feature: id, properties (masked as the caller may see them), GeoJSON geometry text."""

    id: str | int
    properties: dict[str, Any]
    geometry: str | None


@dataclass(frozen=True)
class FeaturePage:
    """One page of features and what it was read from."""

    features: list[Feature]
    number_matched: int
    window: Window
    crs: CrsRef
    #: the offset of the next page, None on the last one
    next_offset: int | None


# --- time --------------------------------------------------------------------------------


def resolve_window(
    conn: Connection,
    collection: Collection,
    moment: TimeWindow | None,
    release: int | None,
    current: int | None = None,
) -> Window:
    """The release or versions a request on ``collection`` reads (see the module text).

    ``current`` is the newest published release when the caller knows it (an API process
    follows releases as they are published); else it is read from the database.
    """
    if not collection.per_release:
        return Window(None)
    if release is not None:
        return Window(release if release == current else get_release(conn, release).id)
    if moment is not None and not moment.instant and collection.versions_sql is not None:
        return Window(None, moment)
    if moment is not None:
        at = moment.end if not moment.instant else moment.start
        if at is not None:
            found = release_at(conn, at)
            if found is None:
                return Window(None, empty=True)
            return Window(found.id)
    if current is not None:
        return Window(current)
    newest = current_release(conn)
    if newest is None:
        raise NotFoundError(tr("no boundary release is published yet"))
    return Window(newest.id)


# --- SQL ---------------------------------------------------------------------------------


@cache
def _source(collection: Collection, versions: bool = False) -> Subquery:
    """The collection's SQL as a subquery with typed columns; its parameters are bound when a
    statement over it runs (:func:`_parameters`), so statements can be built once and reused."""
    if collection.computed:
        name = "ogc_coverage_gaps"
    elif versions:
        assert collection.versions_sql is not None
        name = collection.versions_sql
    else:
        name = collection.sql
    columns = [
        column("fid", BigInteger() if collection.id_type == "integer" else String()),
        *(column(p.name, SQL_TYPES[p.type]) for p in collection.properties),
        column("geom", Geometry(srid=4490)),
    ]
    return text(sql(name)).columns(*columns).subquery("f")


def _parameters(conn: Connection, collection: Collection, window: Window) -> dict[str, Any]:
    """The values of the source's parameters for ``window``."""
    if collection.computed:
        assert window.release is not None
        return {**gap_rows(conn, window.release), "release": window.release}
    if window.versions is not None:
        return {"start": window.versions.start, "end": window.versions.end}
    return {"release": window.release} if collection.per_release else {}


def _window_source(collection: Collection, window: Window) -> Subquery:
    return _source(collection, window.versions is not None)


def _fields(collection: Collection, source: Subquery) -> dict[str, ColumnElement[Any]]:
    fields: dict[str, ColumnElement[Any]] = {
        p.name: source.c[p.name] for p in collection.queryables
    }
    fields[GEOMETRY] = source.c.geom
    return fields


def _where(
    collection: Collection, source: Subquery, query: ItemsQuery
) -> list[ColumnElement[bool]]:
    """The WHERE clauses of ``query``; the bbox's corners are bound as ``:bbox_*``."""
    where: list[ColumnElement[bool]] = []
    if query.bbox is not None:
        corners = (bindparam(f"bbox_{n}", type_=Float()) for n in ("x0", "y0", "x1", "y1"))
        where.append(func.ST_Intersects(source.c.geom, func.ST_MakeEnvelope(*corners, 4490)))
    if query.filter is not None:
        where.append(_filter_clause(source, collection, query.filter, query.filter_crs))
    return where


def _bbox_parameters(query: ItemsQuery) -> dict[str, float]:
    if query.bbox is None:
        return {}
    return dict(zip(("bbox_x0", "bbox_y0", "bbox_x1", "bbox_y1"), query.bbox, strict=True))


_PAGES: OrderedDict[tuple[Any, ...], Select[Any]] = OrderedDict()


def _page_statement(
    source: Subquery, names: Sequence[str], query: ItemsQuery, collection: Collection
) -> Select[Any]:
    """The SELECT of one page (limit and offset bound as ``:limit``/``:offset``), built once
    per source, properties, filter and sort order and kept for the next request."""
    # sources are built once per collection and kept (their ids are stable); a filter is
    # known by its syntax tree, values included
    shape = None if query.filter is None else (repr(query.filter), query.filter_crs)
    key = (id(source), tuple(names), query.bbox is None, shape, query.sortby)
    with _CLAUSES_LOCK:
        cached = _PAGES.get(key)
        if cached is not None:
            _PAGES.move_to_end(key)
            return cached
    where = _where(collection, source, query)
    order = [
        source.c[name].desc() if descending else source.c[name].asc()
        for name, descending in query.sortby
    ]
    found: Select[Any] = (
        select(
            source.c.fid,
            *(source.c[name] for name in names),
            func.ST_AsBinary(source.c.geom, type_=LargeBinary).label("wkb"),
            func.count().over().label("number_matched"),
        )
        .where(*where)
        .order_by(*order, source.c.fid)
        .limit(bindparam("limit", type_=Integer()))
        .offset(bindparam("offset", type_=Integer()))
    )
    with _CLAUSES_LOCK:
        _PAGES[key] = found
        while len(_PAGES) > 256:
            _PAGES.popitem(last=False)
    return found


_CLAUSES: OrderedDict[tuple[int, str, str | None], ColumnElement[bool]] = OrderedDict()
_CLAUSES_LOCK = threading.Lock()


def _filter_clause(
    source: Subquery, collection: Collection, tree: ast.Node, filter_crs: str | None
) -> ColumnElement[bool]:
    """The filter as a WHERE clause over ``source``, kept for the next request with the same
    filter (an expression is immutable; its values are bound parameters inside it)."""
    key = (id(source), repr(tree), filter_crs)
    with _CLAUSES_LOCK:
        found = _CLAUSES.get(key)
        if found is not None:
            _CLAUSES.move_to_end(key)
            return found
    found = filter_expression(tree, _fields(collection, source), filter_crs)
    with _CLAUSES_LOCK:
        _CLAUSES[key] = found
        while len(_CLAUSES) > 256:
            _CLAUSES.popitem(last=False)
    return found


def check_properties(collection: Collection, names: Sequence[str], parameter: str) -> None:
    """InvalidInputError unless every one of ``names`` is a property ``parameter`` may name."""
    allowed = [
        p.name for p in (collection.queryables if parameter == "sortby" else collection.properties)
    ]
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise InvalidInputError(
            tr(
                "{parameter} names {unknown}, which are not properties of {collection} it may "
                "name; those are {allowed}",
                parameter=parameter,
                unknown=unknown,
                collection=collection.id,
                allowed=allowed,
            )
        )


# --- features ----------------------------------------------------------------------------


def geometries_json(wkbs: Sequence[bytes | None], crs: CrsRef) -> list[str | None]:
    """Storage WKB as GeoJSON geometry text in ``crs``: datum, winding, projection, rounding."""
    present = [i for i, w in enumerate(wkbs) if w is not None]
    out: list[str | None] = [None] * len(wkbs)
    if not present:
        return out
    shapes = shapely.from_wkb([wkbs[i] for i in present])
    # in lon/lat with RFC 7946 winding (geo.output), before any axis swap, which mirrors it
    shapes = np.asarray(output_geometries(shapes, crs.datum), dtype=object)
    if crs.projection is not None or crs.swap_axes:
        shapes = project(shapes, crs)
        if crs.projection is not None:
            shapes = shapely.transform(shapes, lambda xy: np.round(xy, crs.decimals))
    for i, written in zip(present, shapely.to_geojson(shapes), strict=True):
        out[i] = str(written)
    return out


def _features(
    collection: Collection,
    rows: Sequence[Any],
    names: Sequence[str],
    crs: CrsRef,
    personal: bool,
) -> list[Feature]:
    """Rows of ``fid, *names, wkb, ...`` as Features (personal fields masked unless allowed)."""
    geometries = geometries_json([None if r.wkb is None else bytes(r.wkb) for r in rows], crs)
    kinds = {p.name: p for p in collection.properties}
    times = [n for n in names if kinds[n].type == "date-time"]
    masks = [] if personal else [(n, kinds[n].personal) for n in names if kinds[n].personal]
    end = 1 + len(names)
    features = []
    for row, geometry in zip(rows, geometries, strict=True):
        values = dict(zip(names, row[1:end], strict=True))
        for name in times:
            if values[name] is not None:
                values[name] = values[name].isoformat()
        for name, kind in masks:
            values[name] = mask_name(values[name]) if kind == "name" else mask_phone(values[name])
        features.append(Feature(row[0], values, geometry))
    return features


def items(
    conn: Connection,
    collection: Collection,
    query: ItemsQuery,
    *,
    personal: bool,
    current: int | None = None,
) -> FeaturePage:
    """One page of ``collection``'s features answering ``query``.

    Parameters
    ----------
    conn : Connection
        An open connection.
    collection : Collection
        From :data:`geogrid.features.catalogue.COLLECTIONS`.
    query : ItemsQuery
        Paging, bbox, time, properties, sort order, filter and output CRS.
    personal : bool
        Whether the caller may see personal data; if not, names and phones are masked.
    current : int, optional
        The newest published release, when the caller knows it (else read from the database).

    Returns
    -------
    FeaturePage
        ``number_matched`` counts every feature matching the query, not only this page's.
    """
    if query.limit < 1 or query.offset < 0:
        raise InvalidInputError(tr("limit must be at least 1 and offset at least 0"))
    limit = min(query.limit, MAX_LIMIT)
    names = (
        list(query.properties)
        if query.properties is not None
        else [p.name for p in collection.properties]
    )
    check_properties(collection, names, "properties")
    check_properties(collection, [name for name, _ in query.sortby], "sortby")
    window = resolve_window(conn, collection, query.datetime, query.release, current)
    if window.empty:
        return FeaturePage([], 0, window, query.crs, None)
    source = _window_source(collection, window)
    statement = _page_statement(source, names, query, collection)
    parameters = {
        **_parameters(conn, collection, window),
        **_bbox_parameters(query),
        "limit": limit,
        "offset": query.offset,
    }
    rows = prepared.run(conn, statement, parameters)
    if rows:
        matched = int(rows[0].number_matched)
    else:
        where = _where(collection, source, query)
        counted = select(func.count()).select_from(source).where(*where)
        matched = int(conn.execute(counted, parameters).scalar_one())
    following = query.offset + len(rows)
    next_offset = following if following < matched and rows else None
    return FeaturePage(
        _features(collection, rows, [*names], query.crs, personal),
        matched,
        window,
        query.crs,
        next_offset,
    )


@cache
def _by_id(collection: Collection, versions: bool) -> Select[Any]:
    """The statement reading one feature by ``:feature_id``, built once per collection."""
    source = _source(collection, versions)
    # grids of one release are looked up by their indexed code, the rest by id
    key = source.c.code if collection.id == "grids" and not versions else source.c.fid
    return select(
        source.c.fid,
        *(source.c[p.name] for p in collection.properties),
        func.ST_AsBinary(source.c.geom, type_=LargeBinary).label("wkb"),
    ).where(key == bindparam("feature_id"))


def item(
    conn: Connection,
    collection: Collection,
    feature_id: str,
    *,
    crs: CrsRef,
    release: int | None = None,
    personal: bool,
    current: int | None = None,
) -> tuple[Feature, Window]:
    """One feature of ``collection`` by id (grids: ``code``, or ``code@release`` for a version).

    ``release`` and ``current`` work as in :func:`items`. Raises NotFoundError when there is
    none.
    """
    versions = collection.versions_sql is not None and "@" in feature_id
    window = (
        Window(None, TimeWindow(None, None))
        if versions
        else resolve_window(conn, collection, None, release, current)
    )
    fid: str | int = feature_id
    if collection.id_type == "integer":
        fid = (
            int(feature_id)
            if feature_id.isascii() and feature_id.isdigit() and len(feature_id) < 19
            else -1
        )
    parameters = {**_parameters(conn, collection, window), "feature_id": fid}
    rows = prepared.run(conn, _by_id(collection, versions), parameters)
    if not rows:
        raise NotFoundError(
            tr(
                'collection {collection} has no feature "{feature_id}"',
                collection=collection.id,
                feature_id=feature_id,
            )
        )
    names = [p.name for p in collection.properties]
    return _features(collection, rows, names, crs, personal)[0], window
