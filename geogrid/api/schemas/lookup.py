"""Answers about places: grids, collections, locate, nearest stations, releases, health."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from geogrid.limits import Kinds, Latitude, Longitude, Word


class Health(BaseModel):
    status: Literal["ok"]
    database: bool
    postgres_version: str
    postgis_version: str
    release: int | None


CRS_DOC = "wgs84, cgcs2000, gcj02 (AMap/Tencent/WeChat) or bd09 (Baidu)"


class PointQuery(BaseModel):
    """A point in one of the supported geographic coordinate systems."""

    # Ranges are checked with the point (geogrid/geo/points.py), which names the rule.
    lon: Longitude = Field(description="Longitude, in the crs given", examples=[117.3338])
    lat: Latitude = Field(description="Latitude, in the crs given", examples=[31.8717])
    crs: Word = Field(default="wgs84", description=CRS_DOC, examples=["gcj02"])


class LocateQuery(PointQuery):
    """The query of ``GET /v1/locate``."""

    at: Word | None = Field(
        default=None,
        description="ISO 8601 moment; no offset = Asia/Shanghai; 1900-01-01 to 2100-12-31",
        examples=["2026-06-01"],
    )


class NearestQuery(PointQuery):
    """The query of ``GET /v1/stations/nearest`` (answers use ``crs`` too)."""

    k: int = Field(default=3, ge=1, le=50, description="How many stations")
    kind: Kinds | None = Field(default=None, description="Station kinds, comma-separated")


class Liveness(BaseModel):
    status: Literal["ok"]
    release: int | None = Field(description="The boundary release this process serves")
    release_published_at: datetime | None
    uptime_s: float
    pid: int = Field(description="The process that answered (one of several behind a port)")


class Readiness(BaseModel):
    status: Literal["ready"]
    database_ms: float = Field(description="How long the database took to answer")
    release: int | None


class Person(BaseModel):
    name: str | None
    phone: str | None


class UnitRef(BaseModel):
    code: str
    name: str


class GridProperties(BaseModel):
    code: str
    name: str
    kind: Literal["resident", "dedicated"]
    dedicated_unit_name: str | None
    dedicated_unit_type: str | None
    community: UnitRef
    street: UnitRef
    leader: Person
    party_branch: str | None
    party_secretary: Person
    release: int


class GridFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: str
    geometry: dict[str, Any]
    properties: GridProperties


class Me(BaseModel):
    name: str | None
    role: Literal["viewer", "reporter", "dispatcher", "planner", "handler", "supervisor", "admin"]
    sees_personal_data: bool
    #: the department a handler acts for
    department: str | None = None


class KeyInfo(BaseModel):
    name: str
    role: str
    prefix: str
    created_at: str
    revoked_at: str | None
    department: str | None = None
    #: the user name of the person the key acts for (null: a system's key)
    owner: str | None = None


# --- feature collections (GET /v1/grids, /communities, /streets, /stations, /compounds) ------


class Link(BaseModel):
    rel: str
    href: str
    type: str = "application/geo+json"


class FeatureCollectionPage(BaseModel):
    """Common members of every paged collection, after OGC API Features. The coordinate
    system is not a member (RFC 7946 has none): the answer's Content-Crs header names it."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    numberMatched: int
    numberReturned: int
    limit: int
    limit_requested: int
    links: list[Link]


class GridCollection(FeatureCollectionPage):
    release: int
    features: list[GridFeature]


class StreetProperties(BaseModel):
    code: str
    name: str
    kind: Literal["street", "town", "zone"]
    district_code: str


class StreetFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: str
    geometry: dict[str, Any]
    properties: StreetProperties


class StreetCollection(FeatureCollectionPage):
    features: list[StreetFeature]


class CommunityProperties(BaseModel):
    code: str
    name: str
    street: UnitRef


class CommunityFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: str
    geometry: dict[str, Any]
    properties: CommunityProperties


class CommunityCollection(FeatureCollectionPage):
    features: list[CommunityFeature]


class StationProperties(BaseModel):
    id: int
    name: str
    kind: Literal["party_mass", "doorstep", "courier_rest", "happiness", "mediation", "legal"]
    community: UnitRef | None
    opening_hours: str
    address: str


class StationFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: int
    geometry: dict[str, Any]
    properties: StationProperties


class StationCollection(FeatureCollectionPage):
    features: list[StationFeature]


class LonLat(BaseModel):
    lon: float
    lat: float


class CompoundProperties(BaseModel):
    id: int
    name: str
    kind: Literal["organised", "scattered"]
    households: int
    population: int | None
    smart_safe: bool
    three_no: bool
    grid: UnitRef | None
    community: UnitRef | None
    point: LonLat = Field(
        description="Point-on-surface, where its households count (a marker's place), in the "
        "answer's crs"
    )


class CompoundFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: int
    geometry: dict[str, Any]
    properties: CompoundProperties


class CompoundCollection(FeatureCollectionPage):
    release: int
    features: list[CompoundFeature]


class GridDetail(GridFeature):
    """One grid (GET /v1/grids/{code}) with the simplification used (its coordinate system is
    the answer's Content-Crs)."""

    simplify_m: float


# --- tiling check (GET /v1/tiling) -----------------------------------------------------------


class ViolationProperties(BaseModel):
    rule: str
    message: str
    codes: list[str]
    area_m2: float | None


class ViolationFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    geometry: dict[str, Any] | None
    properties: ViolationProperties


class ViolationCollection(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[ViolationFeature]


class TilingReport(BaseModel):
    release: int
    valid: bool
    violations: int
    crs: Literal["wgs84", "cgcs2000", "gcj02", "bd09"]
    features: ViolationCollection


class StaffRef(BaseModel):
    role: Literal["leader", "full_time", "part_time"] = Field(
        description="网格长, 专职网格员 or 兼职网格员"
    )
    name: str | None
    phone: str | None


class BranchRef(BaseModel):
    name: str
    secretary: Person


class PlatformRef(BaseModel):
    name: str
    kind: Literal["co_governance", "party_mass_council", "red_property", "peacemaker", "other"]
    convener: Person


class ServedBy(BaseModel):
    """Who serves the grid (the registers of people and organisations, as served at ``at``):
    names and phones masked for viewers."""

    staff: list[StaffRef] = Field(description="Leader first, then full- and part-time workers")
    party_branch: BranchRef | None = Field(description="网格党支部; null where the grid has none")
    platforms: list[PlatformRef] = Field(description="协商议事平台 serving the grid")


class LocatedGrid(BaseModel):
    code: str
    name: str
    kind: Literal["resident", "dedicated"]
    community: UnitRef
    street: UnitRef
    leader: Person
    served_by: ServedBy


class CompoundRef(BaseModel):
    id: int
    name: str


class NearestGrid(BaseModel):
    code: str
    distance_m: float


LOCATE_EXAMPLE: dict[str, Any] = {
    "grid": {
        "code": "340102006004001",
        "name": "第1网格",
        "kind": "resident",
        "community": {"code": "340102006004", "name": "站北社区"},
        "street": {"code": "340102006", "name": "胜利路街道"},
        "leader": {"name": "张**", "phone": "138****0000"},
        "served_by": {
            "staff": [
                {"role": "leader", "name": "张**", "phone": "138****0000"},
                {"role": "full_time", "name": "李*", "phone": "139****1234"},
            ],
            "party_branch": {
                "name": "站北社区第1网格党支部",
                "secretary": {"name": "王*", "phone": "137****5678"},
            },
            "platforms": [
                {
                    "name": "站北社区第1网格共治委员会",
                    "kind": "co_governance",
                    "convener": {"name": "赵*", "phone": "186****4321"},
                }
            ],
        },
    },
    "on_boundary": False,
    "candidates": ["340102006004001"],
    "boundary_distance_m": 41.7,
    "compound": {"id": 231, "name": "海棠小区"},
    "nearest": None,
    "release": 1,
}


class LocateAnswer(BaseModel):
    model_config = {"json_schema_extra": {"examples": [LOCATE_EXAMPLE]}}

    grid: LocatedGrid | None
    on_boundary: bool
    candidates: list[str]
    boundary_distance_m: float | None
    compound: CompoundRef | None
    nearest: NearestGrid | None
    release: int


class BatchResult(BaseModel):
    grid: str | None
    on_boundary: bool


class BatchLocateAnswer(BaseModel):
    release: int
    results: list[BatchResult]


class NearStation(BaseModel):
    id: int
    name: str
    kind: str
    lon: float
    lat: float
    distance_m: float = Field(description="straight line, metres")
    walk_distance_m: float = Field(description="walking distance, metres (method.method)")
    walk_minutes: float = Field(
        description="read off the tiers (method.walk_minutes), rounded up to 0.1"
    )
    within_minutes: list[int] = Field(
        description="the tiers t whose walking distance reaches here: exactly those with "
        "walk_minutes <= t"
    )
    method: str = Field(
        description='"network" (walked along the paths) or straight_line_x_detour_factor (no '
        "network, or this point is farther than method.access_m from every path)"
    )
    opening_hours: str


class NearestStations(BaseModel):
    stations: list[NearStation]
    release: int
    method: dict[str, Any]


# --- history (GET /v1/releases, /v1/releases/{n}/diff/{m}, /v1/grids/{code}/history) --------


class ReleaseInfo(BaseModel):
    """A boundary release; counts are against the ``previous`` release."""

    id: int
    published_at: str
    published_by: str
    comment: str
    source: str
    previous: int | None
    grids: int
    added: int
    removed: int
    changed: int


class ChangedGridInfo(BaseModel):
    code: str
    name: str
    from_geometry_id: int
    to_geometry_id: int
    from_area_m2: float
    to_area_m2: float
    gained_m2: float
    lost_m2: float


class ChangeProperties(BaseModel):
    code: str
    name: str
    change: Literal["gained", "lost"]
    area_m2: float


class ChangeFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    geometry: dict[str, Any]
    properties: ChangeProperties


class ChangeCollection(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[ChangeFeature]


class ReleaseDiffAnswer(BaseModel):
    from_release: int
    to_release: int
    crs: Literal["wgs84", "cgcs2000", "gcj02", "bd09"]
    added: list[UnitRef]
    removed: list[UnitRef]
    changed: list[ChangedGridInfo]
    changes: ChangeCollection


class GridVersionProperties(BaseModel):
    code: str
    geometry_id: int
    valid_from_release: int
    valid_to_release: int | None
    valid_from: str
    valid_to: str | None
    current: bool
    area_m2: float
    made_by: str
    comment: str
    plan: int | None


class GridVersionFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: int
    geometry: dict[str, Any]
    properties: GridVersionProperties


class GridHistoryAnswer(BaseModel):
    """Every geometry of one grid, oldest first, as a GeoJSON FeatureCollection."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    code: str
    name: str
    kind: Literal["resident", "dedicated"]
    community: UnitRef
    features: list[GridVersionFeature]
