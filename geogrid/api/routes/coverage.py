"""Coverage gaps of the 5/10/15-minute service areas (docs/architecture.md, "Service areas")."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from geogrid.api.caching import with_etag
from geogrid.api.deps import ReleaseConnDep
from geogrid.api.responses import content_crs
from geogrid.api.routes.collections import geometry
from geogrid.errors import InvalidInputError
from geogrid.geo.output import output_geometries
from geogrid.i18n import tr
from geogrid.io.spreadsheets import xlsx_table
from geogrid.limits import Id32, Kinds, Word
from geogrid.lookup import coverage
from geogrid.lookup.coverage import uncovered
from geogrid.lookup.service_areas import STATION_KINDS

router = APIRouter(prefix="/v1/coverage", tags=["coverage"])

FORMATS = ("json", "geojson", "h3")
#: The coordinates of gap geometries: storage's, longitude first.
GAPS_CRS = "cgcs2000"


class CoverageCounts(BaseModel):
    covered: int
    uncovered: int


class CoverageHouseholds(CoverageCounts):
    covered_share: float | None = Field(description="null where nobody lives")


class CoverageKindMethod(BaseModel):
    kind: str
    method: str
    minutes: int = Field(description="the tier this kind was counted at")
    distance_m: float
    detour_factor: float
    radius_m: float | None = Field(description="distance / detour factor; null for networks")
    stations: int


class CoverageMethodInfo(BaseModel):
    source: Literal["stored", "drawn"] = Field(
        description="stored service areas, or circles drawn for this request (detour_factor)"
    )
    method: str = Field(description='"circle", "network", or "mixed" when kinds differ')
    minutes: int | None = Field(description="the one tier asked for; null: each kind's own")
    tier_rule: Literal["per_kind", "minutes"] = Field(
        description="per_kind: each kind counted at its own tier (settings tier_by_kind); "
        "minutes: every kind at the tier asked for"
    )
    tiers: dict[str, int] = Field(description="the tier each station kind was counted at")
    tiers_m: dict[str, float] = Field(description="walking distance of every tier (m)")
    distance_m: float | None = Field(description="walking distance counted (m); null when mixed")
    detour_factor: float | None = Field(description="the one factor used; null when mixed")
    detour_factors: dict[str, float] = Field(description="detour factor per station kind")
    kinds: list[CoverageKindMethod]
    measured_from: dict[str, int] = Field(
        description="compounds measured from their nearest gate (gate) and, having none, from "
        "the nearest point of their footprint (footprint)"
    )


class UncoveredCompound(BaseModel):
    id: int
    name: str
    households: int
    measured_from: str = Field(
        description='"gate" (from its nearest gate) or "footprint" (the nearest point of its '
        "outline, when it has no gates)"
    )


class CoverageUnit(BaseModel):
    code: str
    name: str
    area_m2: float
    covered_area_m2: float
    gap_area_m2: float
    covered_share: float = Field(description="covered share of the unit's area")
    compounds: CoverageCounts
    households: CoverageHouseholds
    uncovered_compounds: list[UncoveredCompound] = Field(description="most households first")


class CoverageTotals(BaseModel):
    units: int
    area_m2: float
    covered_area_m2: float
    covered_share: float
    compounds: CoverageCounts
    households: CoverageHouseholds
    compounds_outside: int = Field(description="compounds whose point is in no grid (uncounted)")


class _Answer(BaseModel):
    release: int = Field(description="boundary release the compounds were assigned with")
    minutes: int | None = Field(description="the tier asked for; null: each kind at its own")
    level: str
    code: str | None
    kinds: list[str]
    method: CoverageMethodInfo


class CoverageAnswer(_Answer):
    units: list[CoverageUnit]
    totals: CoverageTotals


class GapProperties(BaseModel):
    code: str
    name: str
    level: str
    area_m2: float
    covered_area_m2: float
    gap_area_m2: float
    covered_share: float
    compounds_uncovered: int
    households_uncovered: int


class GapFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: str
    geometry: dict[str, Any] = Field(
        description="MultiPolygon, CGCS2000 (EPSG:4490) lon/lat, the answer's Content-Crs"
    )
    properties: GapProperties


class GapCollection(_Answer):
    """Units with a gap only; fully covered units are left out."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[GapFeature]


class H3CellCoverage(BaseModel):
    cell: str
    compounds: CoverageCounts
    households: CoverageHouseholds


class H3Totals(BaseModel):
    cells: int
    compounds: CoverageCounts
    households: CoverageHouseholds


class H3Answer(_Answer):
    resolution: int
    cells: list[H3CellCoverage] = Field(description="cells holding a compound, by index")
    totals: H3Totals


@router.get("", response_model=CoverageAnswer | GapCollection | H3Answer)
def read_coverage(
    request: Request,
    conn: ReleaseConnDep,
    minutes: Annotated[
        int | None,
        Query(
            description="Count every station kind at this walking-time tier (5, 10 or 15); "
            'default: each kind at its own tier (README, "The walking model")',
            json_schema_extra={"enum": list(coverage.TIERS)},
        ),
    ] = None,
    level: Annotated[
        Word, Query(description="Units reported", json_schema_extra={"enum": list(coverage.LEVELS)})
    ] = "district",
    code: Annotated[Word | None, Query(description="Only this unit of the level")] = None,
    kind: Annotated[
        Kinds | None,
        Query(
            description=f"Station kinds counted, comma-separated: {', '.join(STATION_KINDS)}; "
            "default the residents' services (not courier_rest)"
        ),
    ] = None,
    detour_factor: Annotated[
        float | None,
        Query(
            ge=coverage.DETOUR_FACTOR_RANGE[0],
            le=coverage.DETOUR_FACTOR_RANGE[1],
            description="Draw circles of walking distance / this factor instead of using the "
            "stored service areas",
        ),
    ] = None,
    release: Annotated[Id32 | None, Query(description="Boundary release; default current")] = None,
    output: Annotated[
        Word,
        Query(
            alias="format",
            description="json, geojson (gap polygons) or h3 (households per H3 cell)",
            json_schema_extra={"enum": list(FORMATS)},
        ),
    ] = "json",
    res: Annotated[int, Query(ge=0, le=15, description="H3 resolution (format=h3)")] = 9,
) -> Response:
    """What the 5/10/15-minute service areas leave out, per district, street, community or grid.

    Gap geometries (format=geojson) are CGCS2000 longitude, latitude: Content-Crs names them."""
    if output not in FORMATS:
        raise InvalidInputError(
            tr(
                'format was "{output}" but must be one of {FORMATS_join}',
                output=output,
                FORMATS_join=", ".join(FORMATS),
            ),
        )
    params: dict[str, Any] = {
        "minutes": minutes,
        "level": level,
        "code": code,
        "kinds": None if kind is None else kind.split(","),
        "detour_factor": detour_factor,
        "release": release,
        "settings": request.app.state.settings.service_areas,
    }
    answer: CoverageAnswer | GapCollection | H3Answer
    if output == "h3":
        answer = _h3(coverage.coverage_h3(conn, resolution=res, **params))
    else:
        report = coverage.coverage_gaps(conn, **params)
        answer = _gaps(report) if output == "geojson" else _report(report)
    response = Response(answer.model_dump_json(), media_type="application/json")
    if output == "geojson":
        response.headers["Content-Crs"] = content_crs(GAPS_CRS)
    return with_etag(request, response, answer.release)


def _method(method: coverage.CoverageMethod) -> CoverageMethodInfo:
    return CoverageMethodInfo(
        source=method.source,  # type: ignore[arg-type]
        method=method.method,
        minutes=method.minutes,
        tier_rule=method.tier_rule,  # type: ignore[arg-type]
        tiers=method.tiers,
        tiers_m={str(t): d for t, d in sorted(method.tiers_m.items())},
        distance_m=method.distance_m,
        detour_factor=method.detour_factor,
        detour_factors={k.kind: k.detour_factor for k in method.kinds},
        kinds=[
            CoverageKindMethod(
                kind=k.kind,
                method=k.method,
                minutes=k.minutes,
                distance_m=k.distance_m,
                detour_factor=k.detour_factor,
                radius_m=k.radius_m,
                stations=k.stations,
            )
            for k in method.kinds
        ],
        measured_from=method.measured_from,
    )


def _header(found: coverage.CoverageReport | coverage.H3Coverage) -> dict[str, Any]:
    return {
        "release": found.release,
        "minutes": found.minutes,
        "level": found.level,
        "code": found.code,
        "kinds": list(found.kinds),
        "method": _method(found.method),
    }


def _counts(tally: coverage.Tally) -> tuple[CoverageCounts, CoverageHouseholds]:
    return (
        CoverageCounts(covered=tally.compounds_covered, uncovered=tally.compounds_uncovered),
        CoverageHouseholds(
            covered=tally.households_covered,
            uncovered=tally.households_uncovered,
            covered_share=tally.households_covered_share,
        ),
    )


def _report(report: coverage.CoverageReport) -> CoverageAnswer:
    units = []
    for unit in report.units:
        compounds, households = _counts(unit.tally)
        units.append(
            CoverageUnit(
                code=unit.code,
                name=unit.name,
                area_m2=unit.area_m2,
                covered_area_m2=unit.covered_area_m2,
                gap_area_m2=unit.gap_area_m2,
                covered_share=unit.covered_share,
                compounds=compounds,
                households=households,
                uncovered_compounds=[
                    UncoveredCompound(
                        id=c.id, name=c.name, households=c.households, measured_from=c.measured_from
                    )
                    for c in unit.uncovered_compounds
                ],
            )
        )
    compounds, households = _counts(report.tally)
    area = report.area_m2
    totals = CoverageTotals(
        units=len(units),
        area_m2=area,
        covered_area_m2=report.covered_area_m2,
        covered_share=report.covered_area_m2 / area if area else 0.0,
        compounds=compounds,
        households=households,
        compounds_outside=report.compounds_outside,
    )
    return CoverageAnswer(**_header(report), units=units, totals=totals)


def _gaps(report: coverage.CoverageReport) -> GapCollection:
    units = [unit for unit in report.units if not unit.gap.is_empty]
    gaps = output_geometries([unit.gap for unit in units], GAPS_CRS)
    features = [
        GapFeature(
            id=unit.code,
            geometry=geometry(gap),
            properties=GapProperties(
                code=unit.code,
                name=unit.name,
                level=report.level,
                area_m2=unit.area_m2,
                covered_area_m2=unit.covered_area_m2,
                gap_area_m2=unit.gap_area_m2,
                covered_share=unit.covered_share,
                compounds_uncovered=unit.tally.compounds_uncovered,
                households_uncovered=unit.tally.households_uncovered,
            ),
        )
        for unit, gap in zip(units, gaps, strict=True)
    ]
    return GapCollection(**_header(report), features=features)


def _h3(found: coverage.H3Coverage) -> H3Answer:
    cells = []
    total = coverage.Tally()
    for cell in found.cells:
        compounds, households = _counts(cell.tally)
        cells.append(H3CellCoverage(cell=cell.cell, compounds=compounds, households=households))
        total = total + cell.tally
    compounds, households = _counts(total)
    return H3Answer(
        **_header(found),
        resolution=found.resolution,
        cells=cells,
        totals=H3Totals(cells=len(cells), compounds=compounds, households=households),
    )


class UncoveredRow(BaseModel):
    street: str
    community_code: str
    community: str
    compound_id: int
    name: str
    households: int
    measured_from: str = Field(description='"gate" or "footprint"')
    station_id: int | None = Field(description="the nearest counted station; null: none")
    station: str
    station_kind: str
    station_tier: int | None = Field(description="the tier that station is counted at")
    walk_distance_m: float | None
    walk_minutes: float | None
    method: str = Field(description='"network" or straight_line_x_detour_factor')


class UncoveredAnswer(BaseModel):
    release: int
    minutes: int | None = Field(description="the tier asked for; null: each kind's own")
    kinds: list[str]
    method: str
    households: int = Field(description="households of the compounds listed")
    compounds: list[UncoveredRow]


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get(
    "/uncovered",
    response_model=UncoveredAnswer,
    responses={200: {"content": {XLSX: {}}, "description": "JSON, or the XLSX (format=xlsx)"}},
)
def read_uncovered(
    request: Request,
    conn: ReleaseConnDep,
    minutes: Annotated[
        int | None,
        Query(
            description="One tier for every kind (5, 10, 15); default each kind's own",
            json_schema_extra={"enum": list(coverage.TIERS)},
        ),
    ] = None,
    kind: Annotated[
        Kinds | None,
        Query(description="Station kinds counted, comma-separated; default residents' services"),
    ] = None,
    community: Annotated[Word | None, Query(description="Only this community (12 digits)")] = None,
    output: Annotated[
        Word,
        Query(
            alias="format", description="json or xlsx", json_schema_extra={"enum": ["json", "xlsx"]}
        ),
    ] = "json",
) -> Response:
    """The compounds the service areas leave out, per community, most households first: each
    with its households, the nearest counted station and the walk to it (as coverage measures:
    from its gates, else its footprint). format=xlsx is the same list as a spreadsheet."""
    if output not in ("json", "xlsx"):
        raise InvalidInputError(
            tr(
                'format was "{output}" but must be one of {FORMATS_join}',
                output=output,
                FORMATS_join="json, xlsx",
            ),
        )
    found = uncovered.uncovered_compounds(
        conn,
        minutes=minutes,
        kinds=None if kind is None else kind.split(","),
        community=community,
        settings=request.app.state.settings.service_areas,
        walks=request.app.state.walks.current(),
    )
    if output == "xlsx":
        headers, rows = uncovered.table(found)
        return Response(
            xlsx_table(headers, rows, "未覆盖小区"),
            media_type=XLSX,
            headers={"Content-Disposition": 'attachment; filename="uncovered-compounds.xlsx"'},
        )
    answer = UncoveredAnswer(
        release=found.release,
        minutes=found.minutes,
        kinds=list(found.kinds),
        method=found.method,
        households=sum(c.households for c in found.compounds),
        compounds=[UncoveredRow(**vars(c)) for c in found.compounds],
    )
    return with_etag(
        request, Response(answer.model_dump_json(), media_type="application/json"), found.release
    )
