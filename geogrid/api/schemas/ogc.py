"""The documents of OGC API – Features (``/ogc``), as its OpenAPI fragments define them.

Used to document the routes (``/openapi.json`` and the OpenAPI 3.0 ``/ogc/api``); the routes
write their answers with orjson directly, feature geometries embedded as GEOS wrote them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from geogrid.api.schemas.bodies import GeoJSONGeometry


class OgcLink(BaseModel):
    """A link: where, what relation, what media type."""

    model_config = ConfigDict(extra="allow")

    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class LandingPage(BaseModel):
    title: str
    description: str
    links: list[OgcLink]


class ConformanceClasses(BaseModel):
    conformsTo: list[str]


class SpatialExtent(BaseModel):
    bbox: list[list[float]] = Field(description="min lon, min lat, max lon, max lat")
    crs: str


class TemporalExtent(BaseModel):
    interval: list[list[str | None]]
    trs: str


class Extent(BaseModel):
    spatial: SpatialExtent | None = None
    temporal: TemporalExtent | None = None


class CollectionInfo(BaseModel):
    id: str
    title: str
    description: str
    keywords: list[str]
    itemType: Literal["feature"]
    crs: list[str] = Field(description="CRS URIs the items can be read in (crs=)")
    storageCrs: str
    extent: Extent
    links: list[OgcLink]


class CollectionList(BaseModel):
    links: list[OgcLink]
    collections: list[CollectionInfo]
    crs: list[str]


class Queryables(BaseModel):
    """A JSON Schema of the properties a filter or sortby may name."""

    model_config = ConfigDict(extra="allow")

    type: Literal["object"]
    title: str
    properties: dict[str, dict[str, Any]]


class OgcFeature(BaseModel):
    """A GeoJSON Feature (RFC 7946 winding; coordinates in the axis order of Content-Crs)."""

    type: Literal["Feature"]
    id: str | int
    geometry: dict[str, Any] | None
    properties: dict[str, Any]
    links: list[OgcLink] | None = None


class OgcFeatureCollection(BaseModel):
    """One page of features; follow the ``next`` link for the rest."""

    type: Literal["FeatureCollection"]
    numberMatched: int
    numberReturned: int
    links: list[OgcLink]
    features: list[OgcFeature]


class FeatureBody(BaseModel):
    """A GeoJSON Feature sent to a plan's collection (POST, PUT), in the ``Content-Crs``."""

    model_config = ConfigDict(extra="allow")  # links, bbox ... as clients echo them

    type: Literal["Feature"]
    id: str | int | None = Field(default=None, description="The grid code (PUT); ignored on POST")
    geometry: GeoJSONGeometry | None = None
    properties: dict[str, Any] | None = None


class FeaturePatch(BaseModel):
    """A JSON merge patch of a plan's grid (PATCH): the geometry, properties, or both."""

    model_config = ConfigDict(extra="allow")

    type: Literal["Feature"] | None = None
    id: str | int | None = None
    geometry: GeoJSONGeometry | None = None
    properties: dict[str, Any] | None = None
