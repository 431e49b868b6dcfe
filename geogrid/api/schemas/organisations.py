"""Answers of /v1/organisations/summary, /v1/organisations/coverage and
/v1/grids/{code}/organisations."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from geogrid.api.schemas.lookup import Person, UnitRef


class OrganisationsSummary(BaseModel):
    """The organisations of the district, a street or a community, and what they leave
    uncovered; ``party_member_households`` is null for viewers."""

    street: str | None
    community: str | None
    at: datetime = Field(description="The moment the registers are read at")
    release: int | None = Field(description="The boundary release whose grids are counted")
    grids: int
    resident_grids: int
    compounds: int
    communities: int
    grid_leaders: int
    full_time_grid_workers: int
    part_time_grid_workers: int
    party_branches: int
    building_party_groups: int
    party_member_households: int | None = Field(description="null for viewers")
    volunteer_teams: int
    volunteer_members: int
    compounds_with_volunteer_team: int
    law_grid_members: int
    communities_with_law_member: int
    consultation_platforms: int
    resident_grids_with_platform: int
    mobile_grids: int | None = Field(description="null for a community: mobile grids serve streets")
    mobile_grid_members: int | None
    grids_without_branch: int
    compounds_without_volunteer_team: int
    communities_without_law_member: int
    resident_grids_without_platform: int


class AreaCoverageInfo(BaseModel):
    """One street's or community's coverage figures: the units it holds and how many of
    them no organisation of each kind serves (the summary's rules, so the areas add up)."""

    code: str
    name: str
    grids: int
    grids_without_branch: int
    resident_grids: int
    resident_grids_without_platform: int
    compounds: int
    compounds_without_volunteer_team: int
    communities: int
    communities_without_law_member: int


class OrganisationsCoverage(BaseModel):
    """The organisations' coverage figures of every street or every community."""

    by: Literal["street", "community"]
    at: datetime = Field(description="The moment the registers are read at")
    release: int | None = Field(description="The boundary release whose grids are counted")
    areas: list[AreaCoverageInfo]


class StaffInfo(BaseModel):
    role: Literal["leader", "full_time", "part_time"]
    person: Person


class BranchInfo(BaseModel):
    name: str
    secretary: Person


class BuildingGroupInfo(BaseModel):
    compound_id: int
    building: str
    name: str
    leader: Person


class HouseholdInfo(BaseModel):
    compound_id: int
    building: str
    group_name: str
    person: Person


class PlatformInfo(BaseModel):
    name: str
    kind: Literal["co_governance", "party_mass_council", "red_property", "peacemaker", "other"]
    grids: list[str]
    convener: Person


class VolunteerInfo(BaseModel):
    role: Literal["captain", "member"]
    person: Person


class VolunteerTeamInfo(BaseModel):
    name: str
    compound_ids: list[int]
    members: list[VolunteerInfo]


class LawMemberInfo(BaseModel):
    role: Literal["police", "prosecutor", "judge", "mediator", "lawyer", "other"]
    unit: str
    communities: list[str]
    person: Person


class GridOrganisationsAnswer(BaseModel):
    """Who serves a grid; people masked and households left out (null) for viewers."""

    grid: str
    community: str
    at: datetime
    release: int
    compound_ids: list[int]
    staff: list[StaffInfo]
    branch: BranchInfo | None
    building_groups: list[BuildingGroupInfo]
    party_member_households: list[HouseholdInfo] | None = Field(description="null for viewers")
    platforms: list[PlatformInfo]
    volunteer_teams: list[VolunteerTeamInfo]
    law_members: list[LawMemberInfo]


class MobileGridInfo(BaseModel):
    name: str
    street: UnitRef
    leader: Person = Field(description="Its leader (网格长), masked for viewers")
    members: int = Field(description="Its members, the leader among them")
    party_members: int
    reports: int = Field(
        description="Cases its members reported up to `at` (each carries the mobile grid the "
        "register gave its reporter then, and counts for its grid as every case does)"
    )
    open_reports: int = Field(description="Of those, the ones not closed or void now")


class MobileGridsAnswer(BaseModel):
    """The mobile grids (流动网格) of the district or a street, with their members' reports."""

    street: str | None
    at: datetime
    mobile_grids: list[MobileGridInfo]


class RegisterInfo(BaseModel):
    """A register of people and organisations and how many rows serve now."""

    name: Literal[
        "staff",
        "branches",
        "building-groups",
        "households",
        "volunteers",
        "law-members",
        "platforms",
        "mobile-grids",
    ]
    title: str = Field(description="Its Chinese name, e.g. 网格员")
    rows: int


class RegisterLoaded(BaseModel):
    """A register replaced by a file."""

    model_config = {"populate_by_name": True}

    # "register" itself would shadow BaseModel.register, which pydantic then takes for the
    # field's default: the field would be optional and its schema wrong
    register_: str = Field(alias="register", description="The register's name, e.g. staff")
    rows: int = Field(description="The rows that serve from now on")
