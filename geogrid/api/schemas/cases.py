"""Answers of the case routes (/v1/cases, /v1/case-categories).

The routes build these answers as dicts and send them with orjson (the case routes are hot);
the models are what they declare, and the contract tests hold the dicts to them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from geogrid.api.schemas.lookup import Person, UnitRef

Time = str  # ISO 8601 with the +08:00 offset


class CategoryInfo(BaseModel):
    """A case category (GB/T 30428 style: event or component class)."""

    code: str = Field(examples=["E0102"])
    name: str
    type: Literal["event", "component"]
    type_zh: str
    major_code: str
    major_name: str
    handling_hours: float


class CaseCategory(BaseModel):
    code: str
    name: str
    type: Literal["event", "component"]
    major_name: str
    handling_hours: float


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
    held_hours: float
    events: list[CaseEvent]


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
    code: str | None
    name: str
    cases: int
    closed: int
    closed_on_time: int
    closed_on_time_share: float | None
    mean_handling_hours: float | None
    open: int
    overdue: int
    void: int


class CasePerformance(BaseModel):
    by: str
    filter: CaseFilterInfo
    total: UnitPerformanceInfo
    units: list[UnitPerformanceInfo]
