"""Answers of the case routes (/v1/cases, /v1/cases/preview, /v1/case-categories).

The routes build these answers as dicts and send them with orjson (the case routes are hot);
the models are what they declare, and the contract tests hold the dicts to them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from geogrid.api.schemas.lookup import CompoundRef, Person, UnitRef
from geogrid.cases.duplicates import SIMILAR_LIMIT

Time = str  # ISO 8601 with the +08:00 offset


class UrgencyLevelInfo(BaseModel):
    """One urgency level of a category and its stage limits, in hours on its clock."""

    urgency: str = Field(examples=["urgent"])
    urgency_zh: str
    condition: str = Field(description="What makes a case this urgent (empty: the only level)")
    clock: Literal["working", "calendar"]
    accept_hours: float = Field(description="立案: reported → accepted")
    dispatch_hours: float = Field(description="派遣: accepted → dispatched")
    handling_hours: float = Field(description="处置: dispatched → handled (the grid's)")
    verify_hours: float = Field(description="核查: handled → verified")


class CategoryInfo(BaseModel):
    """A case category (GB/T 30428 style: event or component class)."""

    code: str = Field(examples=["E0102"])
    name: str
    type: Literal["event", "component"]
    type_zh: str
    major_code: str
    major_name: str
    handling_hours: float
    clock: Literal["working", "calendar"] = Field(
        description="working: the hours count in office hours of working days (the Chinese "
        "working calendar); calendar: round the clock"
    )
    requires_after_photo: bool = Field(
        description="A case of this category cannot be reported handled (反馈) without a "
        "photo of stage after"
    )
    levels: list[UrgencyLevelInfo] = Field(
        description="Its urgency levels, most urgent first: the condition each names and the "
        "limit of each stage (a category with none listed has one level, normal)"
    )


class CaseCategory(BaseModel):
    code: str
    name: str
    type: Literal["event", "component"]
    major_name: str
    handling_hours: float
    clock: Literal["working", "calendar"] = Field(
        description="working: the hours count in office hours of working days (the Chinese "
        "working calendar); calendar: round the clock"
    )


class CaseLocation(BaseModel):
    lon: float
    lat: float
    crs: Literal["cgcs2000"]


class PartyBranch(BaseModel):
    name: str | None
    secretary: Person


class CaseGridInfo(BaseModel):
    """The grid a case is routed to and whom to call (masked for viewers)."""

    code: str
    name: str
    kind: Literal["resident", "dedicated"]
    community: UnitRef
    street: UnitRef
    leader: Person
    party_branch: PartyBranch


class CaseEvent(BaseModel):
    """One step of a case's history."""

    id: int
    at: Time
    actor: str | None
    kind: str
    from_status: str | None
    to_status: str | None
    from_grid: str | None
    to_grid: str | None
    release: int | None
    note: str | None
    details: dict[str, Any] | None


class DepartmentInfo(BaseModel):
    """A functional department (职能部门)."""

    code: str
    name: str
    kind: str
    contact: str
    active: bool = True


class ResponsibilityInfo(BaseModel):
    """One row of the responsibility list: category × area → department."""

    category: str = Field(description="A category code, a major class or a type letter")
    area: str = Field(description="District, street, community or grid code")
    area_level: Literal["district", "street", "community", "grid"]
    department: str


class CaseAnswer(BaseModel):
    """One case: what was reported, where it was routed, and where it stands."""

    id: int
    status: str
    status_zh: str
    held_from: str | None
    next: list[str] = Field(description="The statuses it may move to now")
    category: CaseCategory
    description: str
    channel: str
    channel_zh: str
    reporter: Person
    address: str | None
    photos: list[str]
    location: CaseLocation
    input: dict[str, Any] | None = Field(description="The point as reported, in its own crs")
    compound_id: int | None
    grid: CaseGridInfo
    release: int = Field(description="The boundary release it was routed with")
    routed_by: Literal["auto", "release", "manual"]
    flags: list[str]
    flags_zh: list[str]
    created_at: Time
    created_by: str
    accepted_at: Time | None
    dispatched_at: Time | None
    closed_at: Time | None
    due_at: Time | None
    overdue: bool
    calendar_missing: bool = Field(
        description="The due time would reach a year with no working calendar loaded: it is "
        "not guessed (due_at is null) until that year's notice is loaded"
    )
    held_hours: float
    events: list[CaseEvent]
    merged_into: int | None = Field(
        description="A duplicate merged into another case (this one is void): that case"
    )
    other_reporters: list[Person] = Field(
        description="Others who reported the same (the reporters of duplicates merged in); "
        "masked for viewers"
    )
    urgency: str = Field(description="The case's urgency level: urgent (紧急) or normal (一般)")
    urgency_zh: str
    stage: Literal["accept", "dispatch", "handle", "verify"] | None = Field(
        description="The stage it is in: accept (立案), dispatch (派遣), handle (处置, the grid's "
        "or department's), verify (核查); null once verified, closed or void"
    )
    stage_zh: str | None
    stage_due_at: Time | None = Field(description="When the stage it is in runs out")
    warning: Literal["green", "yellow", "red"] | None = Field(
        description="The stage's warning: yellow once most of its time is used, red once over"
    )
    handled_at: Time | None = Field(description="When it was (last) reported handled (反馈)")
    responsible_hours: float = Field(
        description="Hours its grids held it in 处置, on its clock (working or calendar hours)"
    )
    extended_hours: float = Field(description="处置 hours added by approved extensions (延期)")
    supervised_at: Time | None = Field(description="When a supervisor put it under 督办")
    urged: int = Field(description="How many times it was urged (催办)")
    reopened: int = Field(description="How many times it was reopened after closing")
    satisfaction: int | None = Field(
        description="The reporter's satisfaction at the latest 回访, 1 (very dissatisfied) to 5"
    )
    department: DepartmentInfo | None = Field(
        description="The department dispatch sends it to besides its grid (the responsibility "
        "list's most specific row); null: its grid's street office"
    )
    escalation: Literal["street", "district"] | None = Field(
        description="吹哨报到: the level it was escalated to"
    )
    mobile_grid: str | None = Field(
        default=None,
        description="The mobile grid (流动网格) its reporter was a member of when reporting "
        "(a signed-in member, or a member's key); null for everyone else. The case is routed "
        "by its location all the same",
    )


class RoutingInfo(BaseModel):
    """Why the case goes to its grid."""

    on_boundary: bool = Field(description="On an edge or vertex shared by several grids")
    candidates: list[str] = Field(description="Every grid that covers the point")
    boundary_distance_m: float | None = Field(
        description="Metres to the nearest other grid; null outside the district"
    )
    outside_distance_m: float | None = Field(
        description="Metres outside the district's grids; null inside"
    )


class SimilarCaseInfo(BaseModel):
    """An open case of the same category near the report (reporter masked for viewers)."""

    id: int
    status: str
    status_zh: str
    grid: str = Field(description="The grid code the case is routed to")
    distance_m: float = Field(description="Metres from the report's point")
    created_at: Time
    description: str
    reporter: Person


class SimilarRule(BaseModel):
    """Which cases count as similar: same category, open, this near and this recent."""

    distance_m: float = Field(description="GEOGRID_CASE_SIMILAR_DISTANCE_M")
    days: float = Field(description="GEOGRID_CASE_SIMILAR_DAYS")


PREVIEW_EXAMPLE: dict[str, Any] = {
    "at": "2026-06-01T09:30:00+08:00",
    "grid": {
        "code": "340102006004001",
        "name": "第1网格",
        "kind": "resident",
        "community": {"code": "340102006004", "name": "站北社区"},
        "street": {"code": "340102006", "name": "胜利路街道"},
        "leader": {"name": "张**", "phone": "138****0000"},
        "party_branch": {
            "name": "站北社区第一网格党支部",
            "secretary": {"name": "王**", "phone": "139****2222"},
        },
    },
    "release": 1,
    "flags": ["near_boundary"],
    "flags_zh": ["临近网格边界"],
    "routing": {
        "on_boundary": False,
        "candidates": ["340102006004001"],
        "boundary_distance_m": 6.2,
        "outside_distance_m": None,
    },
    "location": {"lon": 117.328, "lat": 31.8735, "crs": "cgcs2000"},
    "compound": {"id": 231, "name": "海棠小区"},
    "category": {
        "code": "E0102",
        "name": "暴露垃圾",
        "type": "event",
        "major_name": "市容环境",
        "handling_hours": 4.0,
        "clock": "working",
    },
    "due_at": "2026-06-01T15:00:00+08:00",
    "calendar_missing": False,
    "similar_within": {"distance_m": 100.0, "days": 7.0},
    "similar": [
        {
            "id": 1042,
            "status": "accepted",
            "status_zh": "立案",
            "grid": "340102006004001",
            "distance_m": 38.5,
            "created_at": "2026-05-31T16:05:12+08:00",
            "description": "路口垃圾堆放无人清理",
            "reporter": {"name": "李**", "phone": "139****1111"},
        }
    ],
}


class CasePreviewAnswer(BaseModel):
    """What a case reported with this body would get now; nothing is written."""

    model_config = {"json_schema_extra": {"examples": [PREVIEW_EXAMPLE]}}

    at: Time = Field(description="The moment of the preview (the database's clock)")
    grid: CaseGridInfo
    release: int = Field(description="The boundary release it was routed with")
    flags: list[str]
    flags_zh: list[str]
    routing: RoutingInfo
    location: CaseLocation
    compound: CompoundRef | None = Field(
        description="The compound the point falls in, or the address names"
    )
    category: CaseCategory
    department: DepartmentInfo | None = Field(
        description="The department it would be dispatched to (null: its grid's street office)"
    )
    due_at: Time | None = Field(
        description="When the case would be due if it were accepted now (null with "
        "calendar_missing)"
    )
    calendar_missing: bool
    similar_within: SimilarRule
    similar: list[SimilarCaseInfo] = Field(
        description=f"Open cases of the same category nearby, nearest first (at most "
        f"{SIMILAR_LIMIT})"
    )


class CaseFilterInfo(BaseModel):
    """The filters as applied (times in ISO 8601 with offset)."""

    status: list[str] | None
    grid: str | None
    community: str | None
    street: str | None
    category: str | None
    from_: str | None = Field(alias="from")
    to: str | None
    overdue: bool | None
    open: bool | None
    flags: list[str] | None
    mobile_grid: str | None = None


class CaseLink(BaseModel):
    rel: str
    href: str


class CasePage(BaseModel):
    filter: CaseFilterInfo
    numberMatched: int
    numberReturned: int
    limit: int
    limit_requested: int
    next: str | None
    links: list[CaseLink]
    cases: list[CaseAnswer]


class UnitCountInfo(BaseModel):
    code: str
    name: str
    cases: int
    open: int
    overdue: int


class CaseCounts(BaseModel):
    by: str
    filter: CaseFilterInfo
    total: int
    counts: list[UnitCountInfo]


class CellCountInfo(BaseModel):
    cell: str
    cases: int
    open: int
    overdue: int


class CaseCells(BaseModel):
    resolution: int
    filter: CaseFilterInfo
    total: int
    cells: list[CellCountInfo]


class UnitPerformanceInfo(BaseModel):
    """A unit's record: only the time it was responsible for counts against it."""

    code: str | None
    name: str
    cases: int
    closed: int
    closed_on_time: int = Field(
        description="Closed cases it reported handled (反馈) by their 处置 due time"
    )
    closed_on_time_share: float | None
    mean_handling_hours: float | None = Field(
        description="Mean hours its grids held a closed case in 处置 (from dispatch to 反馈, "
        "time on hold and the centre's stages not counted), on each case's clock"
    )
    open: int
    overdue: int = Field(description="Open cases past the limit of their 处置 stage")
    void: int


class CasePerformance(BaseModel):
    by: str
    filter: CaseFilterInfo
    total: UnitPerformanceInfo
    units: list[UnitPerformanceInfo]


class PhotoInfo(BaseModel):
    """A photo of a case: what it is; its bytes are at ``url`` and ``thumbnail_url``."""

    id: int
    case_id: int
    stage: Literal["report", "before", "after"] = Field(
        description="report: sent with the case (上报); before, after: the work (处置前, 处置后)"
    )
    stage_zh: str
    caption: str
    content_type: Literal["image/jpeg", "image/png", "image/webp"]
    size_bytes: int = Field(description="Of the file as uploaded")
    sha256: str = Field(
        description="SHA-256 of the file as uploaded (hex); the same file is stored once a case"
    )
    width: int = Field(description="As served: after the EXIF orientation is applied")
    height: int
    uploaded_at: Time
    uploaded_by: str = Field(description="Masked for viewers")
    url: str = Field(description="The image, without EXIF, XMP or location")
    thumbnail_url: str = Field(description="A JPEG of at most 320 px, without metadata")


class RefusedRow(BaseModel):
    line: int
    reason: str


class CaseImportAnswer(BaseModel):
    """What an import did: the cases created, the rows already imported (their cases), the
    rows refused (only with skip_bad; else one bad row refuses the file, 422)."""

    created: list[int]
    already: list[int]
    refused: list[RefusedRow]
