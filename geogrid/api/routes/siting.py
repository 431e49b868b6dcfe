"""Where to build next: k new station sites covering the most uncovered households."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from geogrid.access.roles import Permission
from geogrid.api.deps import LongConnDep, require
from geogrid.limits import Word
from geogrid.lookup import siting
from geogrid.lookup.coverage import TIERS
from geogrid.lookup.service_areas import STATION_KINDS

router = APIRouter(prefix="/v1/siting", tags=["coverage"])


class ProposedSite(BaseModel):
    id: str = Field(description='"compound:<id>", "land:<id>" or "h3:<cell>"')
    name: str
    lon: float = Field(description="CGCS2000 longitude")
    lat: float = Field(description="CGCS2000 latitude")
    households: int = Field(description="households it newly covers (each counted once)")
    compounds: list[int] = Field(description="the uncovered compounds it reaches")


class SitingAnswer(BaseModel):
    minutes: int
    kind: str
    k: int
    candidates: str
    candidates_considered: int = Field(description="candidates reaching an uncovered household")
    method: str = Field(description='"network" (walked) or "circle" (straight line)')
    reach_m: float = Field(description="the reach counted: walking distance, or its circle")
    households: int
    covered_before: int
    covered_after: int
    covered_share_before: float | None
    covered_share_after: float | None
    sites: list[ProposedSite]
    solver: str
    optimal: bool = Field(description="the solver proved the choice optimal")
    greedy_covered_after: int = Field(
        description="households covered after the greedy heuristic's k sites, for comparison"
    )


@router.get("", response_model=SitingAnswer, dependencies=[require(Permission.edit_plans)])
def read_siting(
    request: Request,
    conn: LongConnDep,
    minutes: Annotated[
        int,
        Query(
            description="Walking-time tier: 5, 10 or 15", json_schema_extra={"enum": list(TIERS)}
        ),
    ] = 15,
    kind: Annotated[
        Word,
        Query(
            description="The kind of station to build",
            json_schema_extra={"enum": list(STATION_KINDS)},
        ),
    ] = "party_mass",
    k: Annotated[int, Query(ge=1, le=siting.MAX_SITES, description="How many sites")] = 5,
    candidates: Annotated[
        Word,
        Query(
            description="compounds (a compound's point), land (vacant public land: geogrid load "
            "--layer land) or h3 (H3 resolution-9 cells)",
            json_schema_extra={"enum": list(siting.CANDIDATE_SOURCES)},
        ),
    ] = "compounds",
) -> SitingAnswer:
    """k sites for a new station that cover the most households the tier leaves uncovered
    (maximal covering location problem, solved exactly), with coverage before and after."""
    found = siting.propose_sites(
        conn,
        minutes=minutes,
        kind=kind,
        k=k,
        candidates=candidates,
        settings=request.app.state.settings.service_areas,
    )

    def share(n: int) -> float | None:
        return round(n / found.households, 4) if found.households else None

    return SitingAnswer(
        minutes=found.minutes,
        kind=found.kind,
        k=found.k,
        candidates=found.candidates,
        candidates_considered=found.candidates_considered,
        method=found.method,
        reach_m=found.reach_m,
        households=found.households,
        covered_before=found.covered_before,
        covered_after=found.covered_after,
        covered_share_before=share(found.covered_before),
        covered_share_after=share(found.covered_after),
        sites=[
            ProposedSite(
                id=s.candidate.id,
                name=s.candidate.name,
                lon=round(s.candidate.lon, 7),
                lat=round(s.candidate.lat, 7),
                households=s.households,
                compounds=list(s.compounds),
            )
            for s in found.sites
        ],
        solver=found.solver,
        optimal=found.optimal,
        greedy_covered_after=found.greedy_covered_after,
    )
