"""Answers of the plan routes (/v1/plans)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from geogrid.api.schemas.lookup import ViolationCollection


class PlanCreated(BaseModel):
    id: int
    base_release: int


class PlanEditInfo(BaseModel):
    edit_id: int
    op: str
    comment: str
    created_by: str
    created_at: str


class PlanSummary(BaseModel):
    id: int
    comment: str
    base_release: int
    status: str
    created_by: str
    created_at: str
    edits: list[PlanEditInfo]


class EditAdded(BaseModel):
    edit_id: int


class PlanPublished(BaseModel):
    release: int = Field(description="The new boundary release, already served by this process")


class GridFigures(BaseModel):
    """A grid's figures on one side of the plan (areas in EPSG:4548 m²)."""

    code: str
    name: str | None
    kind: str | None
    area_m2: float
    households: int
    population: int
    compounds: list[int]
    polsby_popper: float | None = Field(description="Compactness, 4πA/P² (1 = a disc)")
    parts: int
    households_within_norm: bool | None


class GridBeforeAfter(BaseModel):
    code: str
    before: GridFigures | None
    after: GridFigures | None


class CompoundMove(BaseModel):
    model_config = {"populate_by_name": True}

    id: int
    name: str
    households: int
    from_: str | None = Field(alias="from")
    to: str | None


class CompoundCut(BaseModel):
    id: int
    name: str
    shares: dict[str, float] = Field(description="Share of the footprint in each grid")


class CaseReroute(BaseModel):
    model_config = {"extra": "allow"}

    id: int
    status: str
    from_: str = Field(alias="from")
    to: str


class ResponsibilityMove(BaseModel):
    """A grid's responsibility row that follows the lineage when the plan is published."""

    model_config = {"populate_by_name": True}

    category: str
    department: str
    from_: str = Field(alias="from", description="The grid whose row it is now")
    to: str | None = Field(
        description="The grid that takes it; null: dropped (its grid is gone and gave no area "
        "to a grid without such a row): the community, street or district rows answer there"
    )
    share: float | None = Field(description="The share of the new grid's area that came from")


class MembershipMove(BaseModel):
    """A staff, party-branch or platform row of a retired grid, following the lineage on
    publishing (docs/organisations.md, "When plans change grids")."""

    model_config = {"populate_by_name": True}

    register_: Literal["staff", "branches", "platforms"] = Field(alias="register")
    id: int = Field(description="The row's id in its register")
    name: str = Field(description="The staff member's, branch's or platform's name")
    role: str | None = Field(description="The staff role, or the platform's kind")
    from_: str = Field(alias="from", description="The retired grid it serves now")
    to: str | None = Field(
        description="The grid that takes it: of the grids holding the retired grid's area, "
        "the one with most of its compounds (tie or none: the largest share of its area); "
        "null: flagged for the planner, it stays on the retired code"
    )
    grids: list[str] = Field(description="The grids it serves after publishing")
    flag: Literal["grid_has_branch", "no_heir"] | None = Field(
        description="Why it does not move: its heir already has a party branch, or no grid "
        "holds the retired grid's area"
    )


class PlanPreview(BaseModel):
    plan: int
    base_release: int
    edits: int
    grids: list[GridBeforeAfter]
    vertices_shared: list[str] = Field(description="Grids whose outline only gained vertices")
    compounds_moved: list[CompoundMove]
    compounds_cut: list[CompoundCut]
    open_cases_rerouted: list[CaseReroute]
    responsibility_moved: list[ResponsibilityMove] = Field(
        description="Responsibility rows of grids that follow the grid lineage on publishing"
    )
    memberships_moved: list[MembershipMove] = Field(
        description="Grid staff, party branches and platforms of retired grids that move "
        "with the lineage on publishing, or are flagged for the planner"
    )
    household_norm: list[int]
    valid: bool
    violations: ViolationCollection


class PlanMapEdit(BaseModel):
    id: int
    op: str
    comment: str


class PlanLayers(BaseModel):
    """What the plan map redraws after each change (``/maps/plans/{id}/layers``)."""

    plan: int
    status: str
    base_release: int
    edits: list[PlanMapEdit]
    touched: list[str]
    before: dict[str, Any] = Field(description="GeoJSON FeatureCollection of touched grids")
    after: dict[str, Any] = Field(description="GeoJSON FeatureCollection of touched grids")
