"""The feature collections geogrid publishes, and what each one is made of.

A :class:`Collection` names its SQL (``geogrid/db/sql/ogc_*.sql``: one row per feature, a
``fid`` column, properties and ``geom`` in storage EPSG:4490), its properties with their types,
which of them are personal (masked for viewers, never queryable) and whether it follows the
boundary releases. The query engine (:mod:`geogrid.features.items`) turns a collection and a
request into one parametrised ``SELECT``; nothing here knows of HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Boolean, DateTime, Float, Integer, String
from sqlalchemy.types import TypeEngine

from geogrid.errors import NotFoundError
from geogrid.i18n import tr

#: JSON Schema types of queryable properties, with the SQL type each column is read as
PropertyType = Literal["string", "integer", "number", "boolean", "date-time"]
SQL_TYPES: dict[PropertyType, TypeEngine[Any]] = {
    "string": String(),
    "integer": Integer(),
    "number": Float(),
    "boolean": Boolean(),
    "date-time": DateTime(timezone=True),
}
#: How a release-following collection is read: the grids of one release, or every version
#: valid in a time interval
Temporal = Literal["release", "versions", None]


@dataclass(frozen=True)
class Property:
    """One property of a collection's features."""

    name: str
    type: PropertyType
    title: str
    #: masked for callers who may not see personal data; never queryable or sortable
    personal: Literal["name", "phone", None] = None
    enum: tuple[str, ...] = ()


@dataclass(frozen=True)
class Collection:
    """A feature collection: its id, words, SQL and properties."""

    id: str
    title: str
    description: str
    #: the sql/ file read when the collection follows one release (or has no releases)
    sql: str
    geometry: Literal["polygon", "point"]
    properties: tuple[Property, ...]
    #: the type of the feature id (``fid``)
    id_type: Literal["string", "integer"] = "string"
    #: the sql/ file of every version in a time interval; None when features have no versions
    versions_sql: str | None = None
    #: True when the features depend on a boundary release (``:release`` in the SQL)
    per_release: bool = False
    #: computed in Python instead of read from a table (coverage gaps)
    computed: bool = False
    keywords: tuple[str, ...] = field(default=())

    @property
    def queryables(self) -> tuple[Property, ...]:
        """The properties a filter or sortby may name: every one that is not personal."""
        return tuple(p for p in self.properties if p.personal is None)

    def property(self, name: str) -> Property | None:
        return next((p for p in self.properties if p.name == name), None)


_STATION_KINDS = ("party_mass", "doorstep", "courier_rest", "happiness", "mediation", "legal")
_VALIDITY = (
    Property("release", "integer", "Boundary release the feature was read from"),
    Property("valid_from_release", "integer", "First release with this geometry"),
    Property("valid_to_release", "integer", "First release without it (null: still current)"),
    Property("valid_from", "date-time", "When this geometry took effect"),
    Property("valid_to", "date-time", "When it stopped (null: still current)"),
)

COLLECTIONS: tuple[Collection, ...] = (
    Collection(
        "grids",
        "Grids (网格)",
        "The base grids of a boundary release: resident and dedicated grids tiling the district, "
        "each inside one community. datetime as an instant gives the release valid then; as an "
        "interval, every version of a grid valid at some moment of it (id code@release).",
        "ogc_grids",
        "polygon",
        (
            Property("code", "string", "Grid code (15 digits)"),
            Property("name", "string", "Grid name"),
            Property("kind", "string", "Resident or dedicated", enum=("resident", "dedicated")),
            Property("dedicated_unit_name", "string", "Unit of a dedicated grid"),
            Property("dedicated_unit_type", "string", "Type of that unit"),
            Property("community_code", "string", "Community code (12 digits)"),
            Property("community_name", "string", "Community name"),
            Property("street_code", "string", "Street code (9 digits)"),
            Property("street_name", "string", "Street name"),
            Property("leader_name", "string", "Grid leader", personal="name"),
            Property("leader_phone", "string", "Grid leader's phone", personal="phone"),
            Property("party_branch_name", "string", "Party branch"),
            Property("party_secretary_name", "string", "Party secretary", personal="name"),
            Property("party_secretary_phone", "string", "Secretary's phone", personal="phone"),
            *_VALIDITY,
        ),
        versions_sql="ogc_grid_versions",
        per_release=True,
        keywords=("grid", "网格"),
    ),
    Collection(
        "communities",
        "Communities (社区)",
        "Communities and the street each lies in. Fixed data: valid at every moment.",
        "ogc_communities",
        "polygon",
        (
            Property("code", "string", "Community code (12 digits)"),
            Property("name", "string", "Community name"),
            Property("street_code", "string", "Street code (9 digits)"),
            Property("street_name", "string", "Street name"),
        ),
        keywords=("community", "社区"),
    ),
    Collection(
        "streets",
        "Streets, towns and zones (镇街开发区)",
        "Streets, towns and development zones of the district. Fixed data.",
        "ogc_streets",
        "polygon",
        (
            Property("code", "string", "Street code (9 digits)"),
            Property("name", "string", "Name"),
            Property("kind", "string", "Street, town or zone", enum=("street", "town", "zone")),
            Property("district_code", "string", "District code (6 digits)"),
        ),
        keywords=("street", "街道"),
    ),
    Collection(
        "compounds",
        "Residential compounds (小区)",
        "Organised compounds and scattered buildings, each with the grid of the release that "
        "holds its point-on-surface.",
        "ogc_compounds",
        "polygon",
        (
            Property("id", "integer", "Compound id"),
            Property("name", "string", "Name"),
            Property("kind", "string", "Organised or scattered", enum=("organised", "scattered")),
            Property("households", "integer", "Households"),
            Property("population", "integer", "Residents"),
            Property("smart_safe", "boolean", "Smart safe compound (智慧平安小区)"),
            Property("three_no", "boolean", "Three-no compound (三无小区)"),
            Property("grid_code", "string", "Grid holding its point-on-surface"),
            Property("grid_name", "string", "That grid's name"),
            Property("community_code", "string", "That grid's community"),
            Property("community_name", "string", "Community name"),
            Property("release", "integer", "Boundary release of the grid"),
        ),
        id_type="integer",
        per_release=True,
        keywords=("compound", "小区"),
    ),
    Collection(
        "stations",
        "Service stations (服务站)",
        "Party-mass, doorstep, courier rest, happiness, mediation and legal stations.",
        "ogc_stations",
        "point",
        (
            Property("id", "integer", "Station id"),
            Property("name", "string", "Name"),
            Property("kind", "string", "Station kind", enum=_STATION_KINDS),
            Property("community_code", "string", "Community it serves"),
            Property("community_name", "string", "Community name"),
            Property("opening_hours", "string", "Opening hours"),
            Property("address", "string", "Address"),
        ),
        id_type="integer",
        keywords=("station", "服务站"),
    ),
    Collection(
        "service-areas",
        "Service areas (服务范围)",
        "The 5-, 10- and 15-minute service area of every station (id station-minutes), with "
        "the method, walking distance and detour factor it was drawn with.",
        "ogc_service_areas",
        "polygon",
        (
            Property("station_id", "integer", "Station id"),
            Property("station_name", "string", "Station name"),
            Property("station_kind", "string", "Station kind", enum=_STATION_KINDS),
            Property("minutes", "integer", "Tier (walking minutes)"),
            Property("method", "string", "How it was drawn", enum=("circle", "network")),
            Property("distance_m", "number", "Walking distance of the tier, metres"),
            Property("detour_factor", "number", "Detour factor"),
        ),
        keywords=("service area", "15-minute life circle", "生活圈"),
    ),
    Collection(
        "coverage-gaps",
        "Coverage gaps (覆盖缺口)",
        "What each tier of the residents' services' areas (every kind at that tier; not the "
        "courier rest stops) does not reach, per grid of the release (id minutes-code): the "
        "gap polygon and the uncovered households and compounds.",
        "",
        "polygon",
        (
            Property("code", "string", "Grid code"),
            Property("name", "string", "Grid name"),
            Property("minutes", "integer", "Tier (walking minutes)"),
            Property("area_m2", "number", "Grid area, m²"),
            Property("gap_area_m2", "number", "Area not reached, m²"),
            Property("covered_share", "number", "Share of the area reached"),
            Property("households", "integer", "Households in the grid"),
            Property("households_uncovered", "integer", "Households not reached"),
            Property("compounds_uncovered", "integer", "Compounds not reached"),
            Property("release", "integer", "Boundary release"),
        ),
        per_release=True,
        computed=True,
        keywords=("coverage", "gap", "覆盖"),
    ),
)
_BY_ID = {c.id: c for c in COLLECTIONS}


def collection(collection_id: str) -> Collection:
    """The collection called ``collection_id``, or NotFoundError naming those that exist."""
    found = _BY_ID.get(collection_id)
    if found is None:
        raise NotFoundError(
            tr(
                'collection "{collection_id}" does not exist; the collections are {ids}',
                collection_id=collection_id,
                ids=list(_BY_ID),
            )
        )
    return found
