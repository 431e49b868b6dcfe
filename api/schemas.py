"""Response models: they document the API and validate what it sends."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel


class Health(BaseModel):
    status: Literal["ok"]
    database: bool
    postgres_version: str
    postgis_version: str
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
    role: Literal["viewer", "dispatcher", "planner", "admin"]
    sees_personal_data: bool


class KeyInfo(BaseModel):
    name: str
    role: str
    prefix: str
    created_at: str
    revoked_at: str | None
