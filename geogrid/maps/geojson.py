"""Map data as GeoJSON, as every geogrid map page holds it: coordinates rounded to 1e-6
degree (about 10 cm, far below a pixel at any zoom these maps are read at) and wound as RFC
7946 says."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

DECIMALS = 6


def _round(xy: np.ndarray) -> np.ndarray:
    return np.round(xy, DECIMALS)


def geometry(shape: BaseGeometry) -> dict[str, Any]:
    """A shapely geometry as a GeoJSON geometry, rounded to DECIMALS and wound as RFC 7946
    says (exterior rings counter-clockwise, holes clockwise), as every answer's are."""
    return dict(mapping(shapely.orient_polygons(shapely.transform(shape, _round))))


def feature(shape: BaseGeometry, **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry(shape), "properties": properties}


def collection(items: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(items)}
