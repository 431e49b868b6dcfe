"""The documents of OGC API – Tiles and TileJSON 3.0.0 (``/ogc/tiles``, ``/ogc/tileMatrixSets``).

Used to document the routes; the routes write their answers with orjson directly.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from geogrid.api.schemas.ogc import OgcLink


class TileMatrixSetRef(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    title: str
    uri: str | None = None
    links: list[OgcLink]


class TileMatrixSetList(BaseModel):
    tileMatrixSets: list[TileMatrixSetRef]


class TileMatrixSetDefinition(BaseModel):
    """OGC Two Dimensional Tile Matrix Set 2.0 (JSON)."""

    model_config = ConfigDict(extra="allow")

    id: str
    title: str
    crs: str
    orderedAxes: list[str]
    tileMatrices: list[dict[str, Any]]


class TileSetSummary(BaseModel):
    model_config = ConfigDict(extra="allow")

    title: str
    dataType: str = Field(description="vector")
    crs: str
    tileMatrixSetURI: str | None = None
    links: list[OgcLink]


class TileSetList(BaseModel):
    links: list[OgcLink]
    tilesets: list[TileSetSummary]


class TileSetLayer(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    title: str
    dataType: str
    geometryDimension: int
    propertiesSchema: dict[str, Any]


class TileSet(BaseModel):
    """Tileset metadata (OGC 2D TMS 2.0 tileset, as OGC API – Tiles Part 1 serves it)."""

    model_config = ConfigDict(extra="allow")

    title: str
    dataType: str
    crs: str
    tileMatrixSetURI: str | None = None
    links: list[OgcLink]
    layers: list[TileSetLayer]


class TileJSON(BaseModel):
    """TileJSON 3.0.0."""

    model_config = ConfigDict(extra="allow")

    tilejson: str
    tiles: list[str]
    vector_layers: list[dict[str, Any]]
    minzoom: int
    maxzoom: int
    bounds: list[float]
