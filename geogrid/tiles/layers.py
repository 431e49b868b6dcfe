"""What each vector tile layer holds: one layer per OGC collection, plus the district outline.

A layer reads its collection's rows (``geogrid/db/sql/ogc_*.sql``, or ``tiles_*.sql`` where
the collection's SQL would read more than a tile needs) and keeps only the properties listed
here: codes, names, kinds and counts. **No personal field is ever in a tile**, whatever the
caller's role: tiles are shared by every caller and cached for all of them, so the layers
leave out what :mod:`geogrid.features.catalogue` marks personal (leaders' and secretaries'
names and phones), and :func:`_check_impersonal` refuses, at import, a layer that would name
one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from geogrid.errors import NotFoundError
from geogrid.features.catalogue import COLLECTIONS, collection
from geogrid.i18n import tr

FieldType = Literal["String", "Number"]


@dataclass(frozen=True)
class LayerField:
    """One property of a layer's features, typed as TileJSON's ``vector_layers`` type them."""

    name: str
    type: FieldType
    description: str


@dataclass(frozen=True)
class Layer:
    """One MVT layer: its name, the SQL it reads and the properties its features carry."""

    id: str
    title: str
    #: the sql/ file: one row per feature, the fields below and ``geom`` in EPSG:4490
    sql: str
    geometry: Literal["polygon", "point"]
    fields: tuple[LayerField, ...]
    #: True when the rows depend on a boundary release (``:release`` in the SQL)
    per_release: bool = False
    #: computed in Python and handed to SQL as arrays (coverage gaps)
    computed: bool = False


def _s(name: str, description: str) -> LayerField:
    return LayerField(name, "String", description)


def _n(name: str, description: str) -> LayerField:
    return LayerField(name, "Number", description)


_RELEASE = _n("release", "Boundary release the feature was read from")

LAYERS: tuple[Layer, ...] = (
    Layer(
        "district",
        "District outline (瑶海区)",
        "tiles_district",
        "polygon",
        (_s("code", "District code (6 digits)"), _s("name", "District name")),
    ),
    Layer(
        "streets",
        "Streets, towns and zones",
        "ogc_streets",
        "polygon",
        (_s("code", "Street code"), _s("name", "Name"), _s("kind", "street, town or zone")),
    ),
    Layer(
        "communities",
        "Communities",
        "ogc_communities",
        "polygon",
        (
            _s("code", "Community code"),
            _s("name", "Name"),
            _s("street_code", "Street code"),
            _s("street_name", "Street name"),
        ),
    ),
    Layer(
        "grids",
        "Grids",
        "tiles_grids",
        "polygon",
        (
            _s("code", "Grid code (15 digits)"),
            _s("name", "Grid name"),
            _s("kind", "resident or dedicated"),
            _s("community_code", "Community code"),
            _s("community_name", "Community name"),
            _s("street_code", "Street code"),
            _s("street_name", "Street name"),
            _RELEASE,
        ),
        per_release=True,
    ),
    Layer(
        "compounds",
        "Residential compounds",
        "ogc_compounds",
        "polygon",
        (
            _n("id", "Compound id"),
            _s("name", "Name"),
            _s("kind", "organised or scattered"),
            _n("households", "Households"),
            _n("population", "Residents"),
            _s("grid_code", "Grid holding its point-on-surface"),
            _RELEASE,
        ),
        per_release=True,
    ),
    Layer(
        "service-areas",
        "Service areas",
        "ogc_service_areas",
        "polygon",
        (
            _n("station_id", "Station id"),
            _s("station_name", "Station name"),
            _s("station_kind", "Station kind"),
            _n("minutes", "Tier (walking minutes)"),
        ),
    ),
    Layer(
        "coverage-gaps",
        "Coverage gaps",
        "ogc_coverage_gaps",
        "polygon",
        (
            _s("code", "Grid code"),
            _s("name", "Grid name"),
            _n("minutes", "Tier (walking minutes)"),
            _n("gap_area_m2", "Area not reached, m²"),
            _n("covered_share", "Share of the area reached"),
            _n("households_uncovered", "Households not reached"),
            _n("compounds_uncovered", "Compounds not reached"),
            _RELEASE,
        ),
        per_release=True,
        computed=True,
    ),
    Layer(
        "stations",
        "Service stations",
        "ogc_stations",
        "point",
        (
            _n("id", "Station id"),
            _s("name", "Name"),
            _s("kind", "Station kind"),
            _s("community_code", "Community it serves"),
        ),
    ),
)
_BY_ID = {layer.id: layer for layer in LAYERS}
#: The layers a collection's tiles hold: the collection's own, by the collection's id.
COLLECTION_LAYERS = tuple(layer for layer in LAYERS if layer.id != "district")


def collection_layer(collection_id: str) -> Layer:
    """The layer of the OGC collection ``collection_id`` (NotFoundError naming them)."""
    collection(collection_id)  # the same 404 as the features' routes for an unknown one
    found = _BY_ID.get(collection_id)
    if found is None:  # a collection without tiles: none today
        raise NotFoundError(
            tr("collection {collection_id} has no tiles", collection_id=collection_id)
        )
    return found


def _check_impersonal() -> None:
    """Refuse a layer that names a property its collection marks personal."""
    personal = {p.name for c in COLLECTIONS for p in c.properties if p.personal is not None}
    for layer in LAYERS:
        leaked = personal & {f.name for f in layer.fields}
        if leaked:
            raise RuntimeError(f"tile layer {layer.id} names personal fields {sorted(leaked)}")


_check_impersonal()
