"""Request bodies of the write routes (the case report is the core's own model).

Plan edits are a union discriminated by ``op``. The models check the shape of a body (its
fields and their types); the plan's ops check what the values mean (a grid code exists, an
area touches the grid, the result tiles the district) and answer 422 naming the rule.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from geogrid.limits import Comment as CommentText
from geogrid.limits import Id, Id32, Name, Note, Phone, Title, Word

GridCode = Annotated[Word, Field(description="Grid code: 15 digits", examples=["340102006004001"])]
Crs = Annotated[
    Word,
    Field(description="Coordinate system of the geometry: wgs84, cgcs2000, gcj02, bd09 or EPSG:n"),
]
Comment = Annotated[CommentText, Field(description="Why, for the plan's history")]


class GeoJSONGeometry(BaseModel):
    """A GeoJSON geometry (RFC 7946) in the edit's ``crs``."""

    model_config = ConfigDict(extra="allow")

    type: Literal["Point", "LineString", "Polygon", "MultiLineString", "MultiPolygon"]
    coordinates: list[Any]


class PersonBody(BaseModel):
    name: Name | None = None
    phone: Phone | None = Field(
        default=None, description="5-20 digits; spaces, +, - and parentheses allowed"
    )


class _Edit(BaseModel):
    comment: Comment = ""


class TransferEdit(_Edit):
    """Give an area of one grid to an adjacent grid of the same community."""

    model_config = ConfigDict(populate_by_name=True)

    op: Literal["transfer"]
    from_: GridCode = Field(alias="from")
    to: GridCode
    area: GeoJSONGeometry
    crs: Crs = "wgs84"


class MergeEdit(_Edit):
    """Merge adjacent grids of one community into a new grid."""

    op: Literal["merge"]
    grids: list[GridCode] = Field(min_length=2, max_length=100)
    name: Title | None = None


class SplitEdit(_Edit):
    """Split a grid along a line into new grids."""

    op: Literal["split"]
    grid: GridCode
    line: GeoJSONGeometry
    crs: Crs = "wgs84"


class RevertEdit(_Edit):
    """Put grids (or, without ``grids``, the whole layer) back as they were in a release."""

    op: Literal["revert"]
    release: Id32 = Field(strict=True)
    grids: list[GridCode] | None = Field(default=None, max_length=1000)


class ReassignEdit(_Edit):
    """Change a grid's leader, party secretary or party branch."""

    op: Literal["reassign"]
    grid: GridCode
    leader: PersonBody | None = None
    party_secretary: PersonBody | None = None
    party_branch: Title | None = None


class MoveCompoundEdit(_Edit):
    """Move a compound, with the strip that joins it to the target grid."""

    op: Literal["move_compound"]
    compound: Id | Word = Field(description="The compound's id")
    to: GridCode


class CarveEdit(_Edit):
    """Carve a dedicated grid (a campus, hospital, market ...) out of the grids it covers."""

    op: Literal["carve"]
    area: GeoJSONGeometry
    crs: Crs = "wgs84"
    name: Title
    unit_name: Title
    unit_type: Word


class ReplaceEdit(_Edit):
    """Replace grids by a drawing (a GeoJSON FeatureCollection; or upload a file instead)."""

    op: Literal["replace"]
    grids: list[GridCode] = Field(min_length=1, max_length=1000)
    layer: dict[str, Any] = Field(description="A GeoJSON FeatureCollection in crs")
    crs: Crs = "wgs84"


class ReshapeEdit(_Edit):
    """Redraw one grid whole: neighbours of its community give and take the difference (what a
    desktop GIS sends through OGC API – Features Part 4)."""

    op: Literal["reshape"]
    grid: GridCode
    geometry: GeoJSONGeometry | None = Field(default=None, description="The new outline")
    crs: Crs = "wgs84"
    name: Title | None = None
    dedicated_unit_name: Title | None = None
    dedicated_unit_type: Word | None = None
    merge_into: GridCode | None = Field(
        default=None, description="The neighbour this grid merges into if it is deleted"
    )


class AbsorbEdit(_Edit):
    """Give all of one grid to a neighbour of its community, which keeps its code."""

    op: Literal["absorb"]
    grid: GridCode
    into: GridCode


PlanEdit = Annotated[
    TransferEdit
    | MergeEdit
    | SplitEdit
    | RevertEdit
    | ReassignEdit
    | MoveCompoundEdit
    | CarveEdit
    | ReplaceEdit
    | ReshapeEdit
    | AbsorbEdit,
    Field(discriminator="op"),
]


class PlanCreate(BaseModel):
    comment: Comment = ""


class Transition(BaseModel):
    to: Word = Field(description="The next status (see the case's ``next``)", examples=["accepted"])
    note: Note = ""
    urgency: Word | None = Field(
        default=None,
        description="On acceptance (立案) only: the urgency level, as the category's levels "
        "allow (GET /v1/case-categories); not given: the level it was reported at",
    )
    at: AwareDatetime | None = Field(
        default=None,
        description="Late entry (补录) only, where GEOGRID_LATE_ENTRY_DAYS allows it: when the "
        "step was taken, if earlier than now (not before the case's previous step)",
    )


class Merge(BaseModel):
    into: Id = Field(description="The case this one repeats; this one becomes void")
    note: Note = ""


class Reroute(BaseModel):
    grid: GridCode
    reason: Note = ""


class ReturnCase(BaseModel):
    reason: Note = Field(description="Why the department hands the case back (退单)")


class Escalation(BaseModel):
    level: Literal["street", "district"] = Field(
        description="吹哨报到 to the street or the district"
    )
    reason: Note = ""


class Assignment(BaseModel):
    department: Word = Field(description="The department's code", examples=["RQ"])
    reason: Note = ""


class DepartmentBody(BaseModel):
    name: Name = Field(examples=["合肥燃气集团瑶海服务所"])
    kind: Word = Field(
        description="城管, 市政, 燃气, 供电, 水务, 园林, 交通, 住建, 消防, 公安, 街道 …"
    )
    contact: Note = ""
    active: bool = True


class ResponsibilityBody(BaseModel):
    category: Word = Field(
        description="A category code (E0403), a major class (E04) or a type letter (E or C)",
        examples=["E0403"],
    )
    area: Word = Field(
        description="District (6 digits), street (9), community (12) or grid (15) code",
        examples=["340102"],
    )
    department: Word = Field(description="The responsible department's code", examples=["RQ"])
