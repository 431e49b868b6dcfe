"""The people and organisations of every grid (geogrid.organisations): the summary with its
coverage gaps, the coverage figures per street or community, and who serves one grid — at
any moment (``at``). Names and phones are masked for viewers, and party-member households
never reach them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from geogrid import organisations
from geogrid.api.deps import ConnDep, PrincipalDep
from geogrid.api.openapi import problems
from geogrid.api.schemas.lookup import Person, UnitRef
from geogrid.api.schemas.organisations import (
    AreaCoverageInfo,
    BranchInfo,
    BuildingGroupInfo,
    GridOrganisationsAnswer,
    HouseholdInfo,
    LawMemberInfo,
    MobileGridInfo,
    MobileGridsAnswer,
    OrganisationsCoverage,
    OrganisationsSummary,
    PlatformInfo,
    StaffInfo,
    VolunteerInfo,
    VolunteerTeamInfo,
)
from geogrid.boundaries import grids as people
from geogrid.limits import Word
from geogrid.moments import parse_moment

router = APIRouter(prefix="/v1", tags=["organisations"])

AtQuery = Annotated[
    Word | None,
    Query(
        description="ISO 8601 moment; no offset = Asia/Shanghai; default now",
        examples=["2026-06-01"],
    ),
]


def _person(person: people.Person) -> Person:
    return Person(name=person.name, phone=person.phone)


@router.get("/organisations/summary", response_model=OrganisationsSummary, responses=problems(422))
def read_summary(
    conn: ConnDep,
    principal: PrincipalDep,
    street: Annotated[Word | None, Query(description="Street code (9 digits)")] = None,
    community: Annotated[Word | None, Query(description="Community code (12 digits)")] = None,
    at: AtQuery = None,
) -> Response:
    """The organisations of the district, a street or a community, with their coverage gaps."""
    moment = None if at is None else parse_moment(at)
    found = principal.visible(
        organisations.summary(conn, street=street, community=community, at=moment)
    )
    answer = OrganisationsSummary(
        **vars(found),
        grids_without_branch=found.grids_without_branch,
        compounds_without_volunteer_team=found.compounds_without_volunteer_team,
        communities_without_law_member=found.communities_without_law_member,
        resident_grids_without_platform=found.resident_grids_without_platform,
    )
    return Response(answer.model_dump_json(), media_type="application/json")


@router.get(
    "/organisations/coverage", response_model=OrganisationsCoverage, responses=problems(422)
)
def read_organisation_coverage(
    conn: ConnDep,
    by: Annotated[
        Word,
        Query(
            description="street or community",
            json_schema_extra={"enum": list(organisations.AREA_LEVELS)},
        ),
    ] = "street",
    at: AtQuery = None,
) -> Response:
    """Per street or community: grids without a branch, resident grids without a platform,
    compounds without a volunteer team, communities without a law member, and their totals."""
    moment = None if at is None else parse_moment(at)
    found = organisations.coverage_by_area(conn, by, moment)
    answer = OrganisationsCoverage(
        by=found.by,  # type: ignore[arg-type]
        at=found.at,
        release=found.release,
        areas=[
            AreaCoverageInfo(
                code=a.code,
                name=a.name,
                grids=a.grids,
                grids_without_branch=a.grids_without_branch,
                resident_grids=a.resident_grids,
                resident_grids_without_platform=a.resident_grids_without_platform,
                compounds=a.compounds,
                compounds_without_volunteer_team=a.compounds_without_volunteer_team,
                communities=a.communities,
                communities_without_law_member=a.communities_without_law_member,
            )
            for a in found.areas
        ],
    )
    return Response(answer.model_dump_json(), media_type="application/json")


@router.get(
    "/grids/{code}/organisations",
    response_model=GridOrganisationsAnswer,
    responses=problems(404, 422),
)
def read_grid_organisations(
    conn: ConnDep, principal: PrincipalDep, code: Word, at: AtQuery = None
) -> Response:
    """Who serves a grid: staff, branch, building groups, platforms, volunteers, law members."""
    moment = None if at is None else parse_moment(at)
    found = principal.visible(organisations.grid_organisations(conn, code, moment))
    households = found.party_member_households
    answer = GridOrganisationsAnswer(
        grid=found.grid_code,
        community=found.community_code,
        at=found.at,
        release=found.release,
        compound_ids=list(found.compound_ids),
        staff=[StaffInfo(role=s.role, person=_person(s.person)) for s in found.staff],  # type: ignore[arg-type]
        branch=None
        if found.branch is None
        else BranchInfo(name=found.branch.name, secretary=_person(found.branch.secretary)),
        building_groups=[
            BuildingGroupInfo(
                compound_id=g.compound_id,
                building=g.building,
                name=g.name,
                leader=_person(g.leader),
            )
            for g in found.building_groups
        ],
        party_member_households=None
        if households is None
        else [
            HouseholdInfo(
                compound_id=h.compound_id,
                building=h.building,
                group_name=h.group_name,
                person=_person(h.person),
            )
            for h in households
        ],
        platforms=[
            PlatformInfo(
                name=p.name,
                kind=p.kind,  # type: ignore[arg-type]
                grids=list(p.grid_codes),
                convener=_person(p.convener),
            )
            for p in found.platforms
        ],
        volunteer_teams=[
            VolunteerTeamInfo(
                name=t.name,
                compound_ids=list(t.compound_ids),
                members=[
                    VolunteerInfo(role=m.role, person=_person(m.person))  # type: ignore[arg-type]
                    for m in t.members
                ],
            )
            for t in found.volunteer_teams
        ],
        law_members=[
            LawMemberInfo(
                role=m.role,  # type: ignore[arg-type]
                unit=m.unit,
                communities=list(m.community_codes),
                person=_person(m.person),
            )
            for m in found.law_members
        ],
    )
    return Response(answer.model_dump_json(), media_type="application/json")


@router.get(
    "/organisations/mobile-grids", response_model=MobileGridsAnswer, responses=problems(422)
)
def read_mobile_grids(
    conn: ConnDep,
    principal: PrincipalDep,
    street: Annotated[Word | None, Query(description="Street code (9 digits)")] = None,
    at: AtQuery = None,
) -> Response:
    """The mobile grids (流动网格): street, leader, members and their members' reports."""
    moment = None if at is None else parse_moment(at)
    found = principal.visible(organisations.mobile_grids(conn, street=street, at=moment))
    answer = MobileGridsAnswer(
        street=found.street,
        at=found.at,
        mobile_grids=[
            MobileGridInfo(
                name=g.name,
                street=UnitRef(code=g.street.code, name=g.street.name),
                leader=_person(g.leader),
                members=g.members,
                party_members=g.party_members,
                reports=g.reports,
                open_reports=g.open_reports,
            )
            for g in found.grids
        ],
    )
    return Response(answer.model_dump_json(), media_type="application/json")
