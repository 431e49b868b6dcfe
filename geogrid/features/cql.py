"""CQL2 filters (OGC API – Features Part 3) to SQLAlchemy expressions, by pygeofilter.

pygeofilter parses CQL2 text and CQL2 JSON into one syntax tree and its SQLAlchemy backend
turns the tree into column expressions whose values are bound parameters: no filter text ever
reaches SQL. What geogrid adds is what that backend cannot know:

- property names are checked against the collection's queryables (a personal property is not
  one), so an unknown name is a clear error and not a SQL one;
- geometry literals are in ``filter-crs`` (CRS84 by default, or EPSG:4326 latitude first, or
  GCJ-02 …); they are converted to storage EPSG:4490 here and bound as WKB, where the backend
  would write EWKT with the literal's own SRID and PostGIS would refuse to compare SRIDs;
- distance predicates (``DWITHIN``) are refused: storage is in degrees, and CQL2's basic and
  spatial classes do not have them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, cast

import numpy as np
import shapely
from lark.exceptions import LarkError
from pygeofilter import ast, values
from pygeofilter.backends.evaluator import handle as _handle
from pygeofilter.backends.sqlalchemy.evaluate import SQLAlchemyFilterEvaluator
from pygeofilter.parsers.cql2_json import parse as parse_cql2_json
from pygeofilter.parsers.cql2_text import parse as parse_cql2_text
from shapely.geometry.base import BaseGeometry
from sqlalchemy import LargeBinary, bindparam, func
from sqlalchemy.sql.elements import ColumnElement

from geogrid.errors import InvalidInputError
from geogrid.geo.crs_uris import CRS84, CrsRef, crs_ref, unproject
from geogrid.geo.datum import geometry_to_storage
from geogrid.i18n import tr

LANGUAGES = ("cql2-text", "cql2-json")

#: pygeofilter's handler decorator, typed (it has no annotations of its own)
handle = cast(Callable[..., Callable[[Callable[..., Any]], Callable[..., Any]]], _handle)
#: The name a filter uses for a feature's geometry
GEOMETRY = "geometry"


@lru_cache(maxsize=256)  # a map or a client asks the same filter again and again
def parse_filter(text: str, language: str = "cql2-text") -> ast.Node:
    """The syntax tree of ``text`` in ``language``, or InvalidInputError saying what is wrong.

    Examples
    --------
    >>> parse_filter("kind = 'dedicated'")
    Equal(lhs=ATTRIBUTE kind, rhs='dedicated')
    >>> parse_filter("kind = ")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    geogrid.errors.InvalidInputError: filter was "kind = " but is not valid cql2-text: ...
    """
    if language not in LANGUAGES:
        raise InvalidInputError(
            tr(
                'filter-lang was "{language}" but must be one of {allowed}',
                language=language,
                allowed=list(LANGUAGES),
            )
        )
    try:
        tree = (
            parse_cql2_json(json.loads(text)) if language == "cql2-json" else parse_cql2_text(text)
        )
    except (LarkError, ValueError, TypeError, KeyError, AttributeError, IndexError) as error:
        reason = (
            str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        )
        raise InvalidInputError(
            tr(
                'filter was "{text}" but is not valid {language}: {reason}',
                text=text[:200],
                language=language,
                reason=reason,
            )
        ) from None
    if not isinstance(tree, ast.Node):
        raise InvalidInputError(
            tr(
                'filter was "{text}" but is not a {language} predicate',
                text=text[:200],
                language=language,
            )
        )
    return tree


def _storage(geometry: BaseGeometry, ref: CrsRef) -> BaseGeometry:
    lon_lat = unproject(np.asarray([geometry], dtype=object), ref)[0]
    return geometry_to_storage(lon_lat, ref.datum)


def _wkb(geometry: BaseGeometry) -> ColumnElement[Any]:
    if geometry.is_empty or not shapely.is_valid(geometry):
        raise InvalidInputError(tr("a geometry in the filter is empty or not valid"))
    value = bindparam(None, shapely.to_wkb(geometry), type_=LargeBinary, unique=True)
    return func.ST_GeomFromWKB(value, 4490)


class _Evaluator(SQLAlchemyFilterEvaluator):  # type: ignore[misc]
    """pygeofilter's SQLAlchemy evaluator with geometry literals moved to storage."""

    def __init__(self, fields: Mapping[str, Any], crs: CrsRef) -> None:
        super().__init__(dict(fields), undefined_as_null=False)
        self.crs = crs

    @handle(values.Geometry)
    def geometry(self, node: values.Geometry) -> ColumnElement[Any]:
        try:
            shape = shapely.geometry.shape(node.__geo_interface__)
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise InvalidInputError(
                tr("a geometry in the filter is not valid: {reason}", reason=str(error)[:200])
            ) from None
        return _wkb(_storage(shape, self.crs))

    @handle(values.Envelope)
    def envelope(self, node: values.Envelope) -> ColumnElement[Any]:
        return _wkb(_storage(shapely.box(node.x1, node.y1, node.x2, node.y2), self.crs))

    @handle(ast.BBox)
    def bbox(self, node: ast.BBox, lhs: Any) -> ColumnElement[Any]:
        box = _storage(shapely.box(node.minx, node.miny, node.maxx, node.maxy), self.crs)
        return lhs.ST_Intersects(_wkb(box))  # type: ignore[no-any-return]

    @handle(ast.SpatialDistancePredicate, ast.Relate, subclasses=True)
    def spatial_distance(self, node: ast.Node, *args: Any) -> ColumnElement[Any]:
        raise InvalidInputError(
            tr(
                "the filter uses {operator}, which geogrid does not support; use S_INTERSECTS, "
                "S_WITHIN, S_CONTAINS, S_DISJOINT, S_EQUALS, S_TOUCHES, S_CROSSES or S_OVERLAPS",
                operator=type(node).__name__,
            )
        )


def _attributes(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, ast.Attribute):
        found.add(node.name)
    if isinstance(node, ast.Node):
        for child in node.get_sub_nodes():
            found |= _attributes(child)
    elif isinstance(node, list | tuple):
        for child in node:
            found |= _attributes(child)
    return found


def filter_expression(
    tree: ast.Node, fields: Mapping[str, Any], filter_crs: str | None = None
) -> ColumnElement[bool]:
    """``tree`` as a SQLAlchemy boolean expression over ``fields`` (queryable -> column).

    ``fields`` maps every queryable name, and :data:`GEOMETRY`, to a column; any other name
    is an InvalidInputError listing the queryables. Geometry literals are read in
    ``filter_crs`` (a URI, default CRS84).
    """
    ref = crs_ref(filter_crs or CRS84, "filter-crs")
    unknown = sorted(_attributes(tree) - set(fields))
    if unknown:
        raise InvalidInputError(
            tr(
                "the filter names {unknown}, which are not queryables; the queryables are "
                "{allowed}",
                unknown=unknown,
                allowed=sorted(fields),
            )
        )
    try:
        expression = _Evaluator(fields, ref).evaluate(tree)
    except InvalidInputError:
        raise
    except (KeyError, ValueError, TypeError, AttributeError, NotImplementedError) as error:
        raise InvalidInputError(
            tr(
                "the filter cannot be evaluated: {reason}",
                reason=(str(error) or type(error).__name__)[:200],
            )
        ) from None
    if not isinstance(expression, ColumnElement):
        raise InvalidInputError(tr("the filter is not a predicate"))
    return expression
