"""Answers of Open311 GeoReport v2 (/open311/v2), as the specification names them.

Every answer also comes as XML (``.xml`` instead of ``.json``), with the same fields.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class Endpoint(BaseModel):
    specification: str
    url: str
    changeset: str
    type: Literal["production", "test"]
    formats: list[str]


class Discovery(BaseModel):
    changeset: str
    contact: str
    key_service: str
    endpoints: list[Endpoint]


class Service(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: Literal["realtime", "batch", "blackbox"]
    keywords: str
    group: str


class ServiceDefinition(BaseModel):
    service_code: str
    attributes: list[dict[str, Any]]


class ServiceRequest(BaseModel):
    """A service request (a case) as GeoReport shows it: public, so no reporter data."""

    service_request_id: int
    status: Literal["open", "closed"]
    status_notes: str
    service_name: str
    service_code: str
    description: str
    agency_responsible: str
    service_notice: str
    requested_datetime: str | None
    updated_datetime: str | None
    expected_datetime: str | None
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float
    long: float
    media_url: str | None


class RequestCreated(BaseModel):
    service_request_id: int
    service_notice: str
    account_id: str | None = Field(description="Always null: reporters have no accounts")


#: The XML alternative every Open311 route declares beside its JSON model.
XML: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/xml": {"schema": {"type": "string"}}}}
}
XML_CREATED: dict[int | str, dict[str, Any]] = {
    201: {"content": {"text/xml": {"schema": {"type": "string"}}}}
}
