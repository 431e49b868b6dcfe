"""Parsing the parameters of plan edits: grid codes, geometries in any supported CRS, text.

Each helper names the bad value and what is allowed (docs/architecture.md, "Conventions"); geometries come back as
GeoJSON mappings in storage coordinates (EPSG:4490), the form edits are stored in.
"""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from geogrid.boundaries.validation import Violation
from geogrid.errors import InvalidInputError
from geogrid.geo.datum import geometry_to_storage, normalise_crs
from geogrid.limits import TITLE, ascii_digits, check_text
from geogrid.plans.fitting import to_storage_fitted
from geogrid.plans.geometry import clean
from geogrid.plans.layer import EditRejectedError, Layer

#: What a dedicated grid may serve (docs/architecture.md).
UNIT_TYPES = (
    "school",
    "hospital",
    "market",
    "transport",
    "industrial_park",
    "government",
    "enterprise",
)


def grid_code(params: dict[str, Any], key: str) -> str:
    """``params[key]`` as a 15-digit grid code."""
    value = str(params.get(key) or "").strip()
    if len(value) != 15 or not ascii_digits(value):
        raise InvalidInputError(f'"{key}" was "{value}" but must be a 15-digit grid code')
    return value


def grid_codes(params: dict[str, Any], key: str, minimum: int = 1) -> list[str]:
    """``params[key]`` as a list of at least ``minimum`` grid codes."""
    codes = params.get(key)
    if not isinstance(codes, list) or len(codes) < minimum:
        raise InvalidInputError(f'"{key}" must list at least {minimum} grid code(s)')
    return [grid_code({key: c}, key) for c in codes]


def crs_name(params: dict[str, Any]) -> str:
    """``params["crs"]`` normalised (default wgs84)."""
    try:
        return normalise_crs(str(params.get("crs") or "wgs84"))
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None


def shape(
    params: dict[str, Any],
    key: str,
    kinds: tuple[str, ...],
    what: str,
    layer: Layer | None = None,
) -> BaseGeometry:
    """``params[key]``, a GeoJSON geometry of one of ``kinds``, converted to storage (and
    fitted to ``layer``'s grids where it lies on them, geogrid.plans.fitting)."""
    try:
        geom = shapely.geometry.shape(params.get(key))
    except Exception:  # shapely raises several types for malformed GeoJSON
        raise InvalidInputError(f'"{key}" must be a GeoJSON {what}') from None
    if geom.is_empty or geom.geom_type not in kinds:
        raise InvalidInputError(
            f'"{key}" must be a non-empty {" or ".join(kinds)}, not {geom.geom_type}'
        )
    crs = crs_name(params)
    if layer is None:
        return geometry_to_storage(geom, crs)
    return to_storage_fitted(geom, crs, (g["geometry"] for g in layer.grids.values()))


def polygon(params: dict[str, Any], key: str, layer: Layer | None = None) -> dict[str, Any]:
    """``params[key]``, a (Multi)Polygon in ``params["crs"]``, as valid storage GeoJSON
    (fitted to ``layer``'s grids where it lies on them)."""
    stored = shape(params, key, ("Polygon", "MultiPolygon"), "geometry object", layer)
    if not stored.is_valid:
        # A zero-width spike (no area) can cross itself after a datum shift: drop spikes, and
        # refuse only what is still invalid (a real self-intersection is not guessed at).
        despiked = clean(stored)
        stored = despiked if despiked.is_valid else stored
    if not stored.is_valid:
        raise EditRejectedError(
            f'"{key}" is not a valid polygon: {shapely.is_valid_reason(stored)}',
            details=[
                Violation(
                    "invalid_geometry",
                    f"the {key} is not a valid polygon",
                    (),
                    stored.representative_point(),
                )
            ],
        )
    return dict(shapely.geometry.mapping(stored))


def required_text(params: dict[str, Any], key: str, limit: int = TITLE) -> str:
    """``params[key]`` as non-empty text of at most ``limit`` characters (no control
    characters: the grid table stores it)."""
    value = str(params.get(key) or "").strip()
    if not value:
        raise InvalidInputError(f'"{key}" is required')
    return check_text(key, value, limit)
