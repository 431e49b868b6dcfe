"""What a reporter says: one typed model for every way a case comes in.

The API takes it as the body of ``POST /v1/cases`` (so the OpenAPI document shows it), the
importer and Open311 build it from their rows and forms with :meth:`CaseReport.from_mapping`.
Pydantic checks the shape once; the rest (the category exists, the point is in China, the
address names a compound) is checked where it is used.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from geogrid.errors import InvalidInputError, describe_validation
from geogrid.limits import NOTE, URL, WORD, Address, Latitude, Longitude, Name, Phone, Text, Word

#: Where cases come from (the 12345 hotline, residents' phones, riders' 随手拍, patrols, ...).
CHANNELS = {
    "hotline": "12345热线",
    "app": "居民手机",
    "rider": "骑手随手拍",
    "patrol": "网格员巡查",
    "open311": "Open311",
    "web": "网站",
    "other": "其他",
}
Channel = Literal["hotline", "app", "rider", "patrol", "open311", "web", "other"]

PhotoUrl = Annotated[str, Text(URL), StringConstraints(pattern=r"^https?://[^\s]+$")]

EXAMPLE: dict[str, Any] = {
    "category": "E0102",
    "description": "路口垃圾堆放两天无人清理",
    "lon": 117.3338,
    "lat": 31.8717,
    "crs": "gcj02",
    "channel": "hotline",
    "reporter": {"name": "张三", "phone": "13812340000"},
    "photos": ["https://example.org/photo/1.jpg"],
}


def _blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


class Reporter(BaseModel):
    """Who reported (personal data: masked for viewers)."""

    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    name: Name | None = None
    phone: Phone | None = Field(
        default=None, description="5-20 digits; spaces, +, - and parentheses allowed"
    )

    _blank = field_validator("name", "phone", mode="before")(_blank_to_none)


class CaseReport(BaseModel):
    """A report: what (category, description), where (a point or an address), who, how."""

    model_config = ConfigDict(
        frozen=True, str_strip_whitespace=True, json_schema_extra={"examples": [dict(EXAMPLE)]}
    )

    category: Annotated[str, Text(WORD, min_length=1)] = Field(
        description="Category code (E0102), see /v1/case-categories"
    )
    description: Annotated[str, Text(NOTE, min_length=1, multiline=True)]
    channel: Channel = "other"
    lon: Longitude | None = Field(default=None, strict=True, description="Longitude, in crs")
    lat: Latitude | None = Field(default=None, strict=True, description="Latitude, in crs")
    crs: Word = Field(default="wgs84", description="wgs84, cgcs2000, gcj02 or bd09")
    address: Address | None = Field(
        default=None, description="Instead of a point: text naming a compound"
    )
    reporter: Reporter = Reporter()
    photos: tuple[PhotoUrl, ...] = Field(default=(), max_length=20)
    urgency: Word | None = Field(
        default=None,
        description="urgent (紧急) or normal (一般), as the category's levels allow "
        "(GET /v1/case-categories); not given: the category's default level",
    )

    reported_at: AwareDatetime | None = Field(
        default=None,
        description="Late entry (补录) only, where GEOGRID_LATE_ENTRY_DAYS allows it: when the "
        "case was reported, if earlier than now (with its UTC offset); its deadlines count from "
        "then",
    )

    _blank_urgency = field_validator("urgency", "reported_at", mode="before")(_blank_to_none)

    @field_validator("channel", "crs", "reporter", "photos", "address", mode="before")
    @classmethod
    def _defaults_for_blanks(cls, value: Any, info: Any) -> Any:
        # A blank or null field means "not given", as in every file and form that feeds this.
        if value is None or (isinstance(value, str) and not value.strip()):
            return {"channel": "other", "crs": "wgs84", "reporter": {}, "photos": ()}.get(
                info.field_name
            )
        return value

    @model_validator(mode="after")
    def _a_place(self) -> CaseReport:
        if (self.lon is None) != (self.lat is None):
            raise ValueError("give both lon and lat, or an address")
        if self.lon is None and self.address is None:
            raise ValueError(
                "a case needs a location: lon and lat (with crs), or an address naming a compound"
            )
        return self

    @property
    def reporter_name(self) -> str | None:
        return self.reporter.name

    @property
    def reporter_phone(self) -> str | None:
        return self.reporter.phone

    @classmethod
    def from_mapping(cls, body: dict[str, Any]) -> CaseReport:
        """Check a mapping (an import row, an Open311 form); errors name the field."""
        try:
            return cls.model_validate(body)
        except ValidationError as exc:
            raise InvalidInputError(describe_validation(exc.errors())) from None

    def fingerprint(self) -> str:
        """A digest of the report, to tell a retry from a different report with the same key.

        The same digest as before the report was a pydantic model, so an Idempotency-Key
        retried across an upgrade still replays its case.
        """
        flat = {
            "category": self.category,
            "description": self.description,
            "channel": self.channel,
            "lon": self.lon,
            "lat": self.lat,
            "crs": self.crs,
            "address": self.address,
            "reporter_name": self.reporter.name,
            "reporter_phone": self.reporter.phone,
            "photos": list(self.photos),
        }
        if self.urgency is not None:  # absent from reports made before levels existed
            flat["urgency"] = self.urgency
        if self.reported_at is not None:
            flat["reported_at"] = self.reported_at.isoformat()
        return hashlib.sha256(
            json.dumps(flat, sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest()
